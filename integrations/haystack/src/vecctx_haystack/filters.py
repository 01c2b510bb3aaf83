"""Haystack 2 filters translated into vecctx's filter language.

Haystack writes a filter as nested dicts: comparisons ``{"field", "operator", "value"}`` with
``==, !=, >, >=, <, <=, in, not in`` and logic nodes ``{"operator": "AND" | "OR" | "NOT",
"conditions": [...]}``. :func:`translate_filters` turns one into a :class:`vecctx.Filter` that
the backend evaluates; nothing is filtered in Python. What vecctx cannot express raises
Haystack's :class:`~haystack.errors.FilterError` before any I/O.

Constants are folded while translating: a comparison that can match nothing (``> None``,
``in []``) is ``False`` and one that matches everything (``not in []``) is ``True``, so the
result of a whole filter is a :class:`~vecctx.contract.filters.Filter`, ``True`` (no filter) or
``False`` (nothing matches: the store is not queried).

Dates: a metadata string that is an ISO 8601 date (``YYYY-MM-DD``, optionally followed by a time
and an offset) is stored with a shadow copy as POSIX seconds under :data:`DATES_KEY` (naive
datetimes are read as UTC). Ranges with an ISO date string as value compare those numbers;
``==`` with an ISO date matches the same string or the same instant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeAlias

from haystack.errors import FilterError

from vecctx.contract.errors import InvalidFilterError
from vecctx.contract.filters import And, Cmp, Exists, Filter, In, Not, Op, Or, Scalar

#: Prefix of the metadata keys this integration writes for itself (user keys may not use it).
RESERVED_PREFIX = "_haystack"
#: Set to ``True`` on records stored for documents that have no embedding.
NO_EMBEDDING_KEY = "_haystack_no_embedding"
#: Shadow copies of ISO 8601 date strings as POSIX seconds, mirroring the meta structure.
DATES_KEY = "_haystack_dates"
#: The L2 norm of a document's embedding, in cosine collections (some backends store cosine
#: vectors normalised; the norm gives the embedding back as written, within float32 rounding).
NORM_KEY = "_haystack_norm"
#: A document's ``blob`` (base64 data, mime type and meta) as a JSON string.
BLOB_KEY = "_haystack_blob"

#: The :class:`haystack.Document` fields that are not metadata: vecctx filters read metadata only.
DOCUMENT_FIELDS = frozenset({"id", "content", "blob", "meta", "score", "embedding", "sparse_embedding"})

Translated: TypeAlias = Filter | bool

_COMPARISONS = ("==", "!=", ">", ">=", "<", "<=", "in", "not in")
_RANGES = {">": Op.GT, ">=": Op.GTE, "<": Op.LT, "<=": Op.LTE}
_LOGIC = ("AND", "OR", "NOT")


def looks_like_iso_date(value: object) -> bool:
    """A full ``YYYY-MM-DD`` prefix, then nothing or a time separator (as Haystack checks)."""
    return (
        isinstance(value, str)
        and len(value) >= 10
        and value[:4].isdigit()
        and value[4] == "-"
        and value[5:7].isdigit()
        and value[7] == "-"
        and value[8:10].isdigit()
        and (len(value) == 10 or value[10] in "Tt ")
    )


def iso_timestamp(value: object) -> float | None:
    """POSIX seconds of an ISO 8601 date string (naive read as UTC), else ``None``.

    The same function computes the stored shadow value and the filter operand, so both sides
    of a comparison are converted identically.
    """
    if isinstance(value, datetime):
        parsed = value
    elif looks_like_iso_date(value):
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def date_shadows(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`DATES_KEY` object for ``meta``: every ISO date string (or list of them) as
    POSIX seconds, at the same path. Empty when ``meta`` holds no date."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, str):
            ts = iso_timestamp(value)
            if ts is not None:
                out[key] = ts
        elif isinstance(value, list):
            stamps = [t for t in (iso_timestamp(v) for v in value if isinstance(v, str)) if t is not None]
            if stamps:
                out[key] = stamps
        elif isinstance(value, Mapping):
            nested = date_shadows(value)
            if nested:
                out[key] = nested
    return out


def translate_filters(filters: Mapping[str, Any] | None) -> Translated:
    """Translate a Haystack filter. ``None`` and ``{}`` give ``True`` (no filter)."""
    if filters is None:
        return True
    if not isinstance(filters, Mapping):
        raise FilterError(f"filters must be a dict, got {type(filters).__name__}")
    if not filters:
        return True
    try:
        return _node(filters)
    except InvalidFilterError as exc:  # a value vecctx refuses, e.g. a non-finite number
        raise FilterError(f"vecctx cannot express this filter: {exc}") from exc


def _node(node: Any) -> Translated:
    if not isinstance(node, Mapping):
        raise FilterError(f"a filter condition must be a dict, got {node!r}")
    if "field" in node:
        return _comparison(node)
    op = _operator(node, "logical", _LOGIC, "conditions")
    conditions = node["conditions"]
    if not isinstance(conditions, list):
        raise FilterError(f"'conditions' of {op} must be a list, got {type(conditions).__name__}")
    parts = [_node(c) for c in conditions]
    if op == "OR":
        return _junction(Or, parts)
    both = _junction(And, parts)
    return _not(both) if op == "NOT" else both


def _operator(node: Mapping[str, Any], kind: str, valid: tuple[str, ...], operand: str) -> str:
    """The ``operator`` of a node that must hold it and ``operand``, if it is a valid ``kind`` one."""
    for name in ("operator", operand):
        if name not in node:
            raise FilterError(f"'{name}' key missing in {dict(node)}")
    op = node["operator"]
    if op not in valid:
        raise FilterError(f"unknown {kind} operator {op!r}; valid operators are {', '.join(valid)}")
    return str(op)


def _junction(kind: type[And] | type[Or], parts: list[Translated]) -> Translated:
    """``parts`` joined by AND or OR, constants folded: the absorbing one (``False`` for AND,
    ``True`` for OR) decides alone, the neutral one drops out (all neutral: it is the result)."""
    absorbing = kind is Or
    if any(p is absorbing for p in parts):
        return absorbing
    kept = [p for p in parts if isinstance(p, Filter)]
    if not kept:
        return not absorbing
    return kept[0] if len(kept) == 1 else kind(tuple(kept))


def _not(part: Translated) -> Translated:
    if isinstance(part, bool):
        return not part
    return part.child if isinstance(part, Not) else Not(part)


def meta_key(field: Any) -> str:
    """The vecctx metadata key a Haystack filter field reads (``meta.a.b`` -> ``a.b``)."""
    if not isinstance(field, str) or not field:
        raise FilterError(f"'field' must be a non-empty string, got {field!r}")
    if field.startswith("meta."):
        key = field[len("meta.") :]
    elif field in DOCUMENT_FIELDS:
        raise FilterError(
            f"vecctx filters read document metadata only, not the {field!r} field: "
            "filter on 'meta.<key>' fields"
        )
    else:
        key = field  # Haystack reads an unknown bare field as a meta key (converted legacy filters)
    parts = key.split(".")
    if any(not p for p in parts) or key.startswith("$"):
        raise FilterError(f"field {field!r} is not a valid metadata path")
    if parts[0].startswith(RESERVED_PREFIX):
        raise FilterError(f"field {field!r} is reserved for vecctx-haystack's own bookkeeping")
    return key


def _comparison(node: Mapping[str, Any]) -> Translated:
    op = _operator(node, "comparison", _COMPARISONS, "value")
    key = meta_key(node["field"])
    value = node["value"]
    if op == "==":
        return _equal(key, value)
    if op == "!=":
        return _not(_equal(key, value))
    if op in ("in", "not in"):
        if not isinstance(value, list):
            raise FilterError(f"operator {op!r} needs a list value, got {type(value).__name__}")
        found = _in(key, value)
        return _not(found) if op == "not in" else found
    return _range(key, _RANGES[op], op, value)


def _scalar(value: Any, op: str) -> Scalar:
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FilterError(f"operator {op!r}: {value!r} is not a finite number")
        return value
    raise FilterError(
        f"operator {op!r}: vecctx compares strings, numbers and booleans, not {type(value).__name__} "
        f"({value!r})"
    )


def _equal(key: str, value: Any) -> Translated:
    if value is None:
        return Not(Exists(key))  # Haystack: the field is None or absent
    if isinstance(value, datetime):
        ts = iso_timestamp(value)
        assert ts is not None
        return Cmp(f"{DATES_KEY}.{key}", Op.EQ, ts)
    scalar = _scalar(value, "==")
    same = Cmp(key, Op.EQ, scalar)
    ts = iso_timestamp(scalar) if isinstance(scalar, str) else None
    if ts is None:
        return same
    # The same string, or another spelling of the same instant.
    return Or((same, Cmp(f"{DATES_KEY}.{key}", Op.EQ, ts)))


def _in(key: str, values: list[Any]) -> Translated:
    plain: list[Scalar] = []
    extra: list[Filter] = []
    for v in values:
        if v is None or isinstance(v, datetime) or (isinstance(v, str) and iso_timestamp(v) is not None):
            t = _equal(key, v)
            assert isinstance(t, Filter)
            extra.append(t)
        else:
            plain.append(_scalar(v, "in"))
    parts: list[Translated] = []
    if plain:
        parts.append(In(key, tuple(plain)))
    parts.extend(extra)
    return _junction(Or, parts)


def _range(key: str, op: Op, name: str, value: Any) -> Translated:
    if value is None:
        return False  # Haystack: ordering against None never matches
    if isinstance(value, list | tuple | dict | set):
        raise FilterError(f"operator {name!r} needs a number or an ISO 8601 date string, got {value!r}")
    if isinstance(value, bool):
        raise FilterError(f"operator {name!r}: vecctx never orders booleans (got {value!r})")
    if isinstance(value, int | float):
        return Cmp(key, op, _scalar(value, name))
    ts = iso_timestamp(value)
    if ts is None:
        raise FilterError(
            f"operator {name!r} compares numbers, or ISO 8601 dates (YYYY-MM-DD[THH:MM[:SS]][offset]) "
            f"given as strings; {value!r} is neither"
        )
    return Cmp(f"{DATES_KEY}.{key}", op, ts)


__all__ = [
    "BLOB_KEY",
    "DATES_KEY",
    "DOCUMENT_FIELDS",
    "NORM_KEY",
    "NO_EMBEDDING_KEY",
    "RESERVED_PREFIX",
    "Translated",
    "date_shadows",
    "iso_timestamp",
    "looks_like_iso_date",
    "meta_key",
    "translate_filters",
]
