"""Metadata encoding and the filter compiler: vecctx filter tree -> Chroma ``where``.

Chroma metadata is flat (str / int / float / bool scalars and homogeneous, non-empty arrays
of them) and its ``where`` language has no ``$not`` and no "field is missing" test. To follow
the reference semantics of :mod:`vecctx.filters` exactly, user metadata is flattened into
typed keys. For every dotted path ``p`` (paths do not descend into lists):

==================  =======================================================================
``v:p``             a string or bool scalar
``n:p``             a number scalar (int or float, kept apart from bools)
``ls: li: lf: lb:`` a list's string / int / float / bool elements as Chroma arrays, matched
                    by ``$contains`` (type-strict in Chroma, so an int operand also probes
                    ``lf:`` with its exact float twin and vice versa)
``max:p / min:p``   the largest / smallest number in a list: "any element > x" is
                    ``max > x``, "any element < x" is ``min < x``
``vx:keys``         array of the paths that *exist* (present, not null, not an empty list,
                    not a list of nulls), plus ``$n:p`` for paths holding a number;
                    ``exists`` is ``$contains``, its negation ``$not_contains`` (which also
                    matches records without the array)
``vx:meta``         the user's object as JSON, written only when the flat keys cannot give
                    it back exactly (it holds a list, a ``null`` or an empty object)
``vx:notext``       ``True`` when the record's text is ``None`` (Chroma stores ``""``)
==================  =======================================================================

Reads unflatten ``v:``/``n:`` keys (user keys cannot contain dots) or load ``vx:meta``.
Negation is pushed down to the leaves (De Morgan); ``ne``/``nin`` compile to Chroma's
``$ne``/``$nin``/``$not_contains``, which match records missing the key, as the reference
requires; a negated range becomes "the complementary range, or no number at ``p``". Every
operator therefore compiles and none is evaluated client-side. ``$n:p`` can never be a
user path (a path segment cannot start with ``$``), and user keys only ever appear after a
fixed prefix, so they cannot collide with the bookkeeping.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from vecctx.filters import And, Cmp, Exists, Filter, In, Not, Op, Or, Scalar

Where: TypeAlias = dict[str, Any]

META = "vx:meta"
KEYS = "vx:keys"
NOTEXT = "vx:notext"
VAL = "v:"
NUM = "n:"
MAX = "max:"
MIN = "min:"
LSTR = "ls:"
LINT = "li:"
LFLT = "lf:"
LBOOL = "lb:"
HAS_NUMBER = "$n:"

#: Key prefixes this adapter writes into a record's Chroma metadata.
INTERNAL_PREFIXES = ("vx:", VAL, NUM, MAX, MIN, LSTR, LINT, LFLT, LBOOL)

_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1

_COMPLEMENT = {Op.GT: Op.LTE, Op.GTE: Op.LT, Op.LT: Op.GTE, Op.LTE: Op.GT}


# -- write side ---------------------------------------------------------------------------


def encode_metadata(metadata: Mapping[str, Any], text: str | None) -> dict[str, Any] | None:
    """The Chroma metadata for one record (``None`` when there is nothing to store)."""
    out: dict[str, Any] = {}
    keys: list[str] = []
    exact = _flatten(metadata, "", out, keys)
    if not exact:
        out[META] = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if keys:
        out[KEYS] = keys
    if text is None:
        out[NOTEXT] = True
    return out or None


def _flatten(obj: Mapping[str, Any], prefix: str, out: dict[str, Any], keys: list[str]) -> bool:
    """Write the flat keys; return whether they alone give ``obj`` back exactly."""
    exact = True
    for key, value in obj.items():
        path = prefix + key
        if value is None:
            exact = False
        elif isinstance(value, Mapping):
            keys.append(path)
            if not value:
                exact = False
            exact = _flatten(value, path + ".", out, keys) and exact
        elif isinstance(value, list | tuple):
            exact = False
            _flatten_list(path, value, out, keys)
        elif isinstance(value, bool | str):
            keys.append(path)
            out[VAL + path] = value
        else:  # int or float (validated upstream)
            keys.append(path)
            keys.append(HAS_NUMBER + path)
            out[NUM + path] = value
    return exact


def _flatten_list(path: str, values: Sequence[Any], out: dict[str, Any], keys: list[str]) -> None:
    present = [v for v in values if v is not None]
    if not present:
        return
    keys.append(path)
    strs: dict[str, None] = {}
    bools: dict[bool, None] = {}
    ints: dict[int, None] = {}
    floats: dict[float, None] = {}
    for v in present:
        if isinstance(v, bool):
            bools[v] = None
        elif isinstance(v, str):
            strs[v] = None
        elif isinstance(v, int):
            ints[v] = None
        elif isinstance(v, float):
            floats[v] = None
        # nested objects and lists are not addressable by a path: they only count for exists
    numbers: list[int | float] = [*ints, *floats]
    if numbers:
        keys.append(HAS_NUMBER + path)
        out[MAX + path] = max(numbers)
        out[MIN + path] = min(numbers)
    if strs:
        out[LSTR + path] = list(strs)
    if bools:
        out[LBOOL + path] = list(bools)
    if ints:
        out[LINT + path] = list(ints)
    if floats:
        out[LFLT + path] = list(floats)


def is_internal_key(key: str) -> bool:
    return key.startswith(INTERNAL_PREFIXES)


# -- read side ----------------------------------------------------------------------------


def decode_metadata(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The user's metadata from a record's Chroma metadata.

    A record written by another tool (no vecctx keys) is returned as Chroma holds it.
    """
    if not stored:
        return {}
    blob = stored.get(META)
    if isinstance(blob, str):
        loaded = json.loads(blob)
        if isinstance(loaded, dict):
            return loaded
    if KEYS not in stored and NOTEXT not in stored:
        return dict(stored)
    out: dict[str, Any] = {}
    for key, value in stored.items():
        if key.startswith(VAL):
            path = key[len(VAL) :]
        elif key.startswith(NUM):
            path = key[len(NUM) :]
        else:
            continue
        parts = path.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def decode_text(document: str | None, stored: Mapping[str, Any] | None) -> str | None:
    if stored and stored.get(NOTEXT) is True:
        return None
    return document


# -- filter compiler ----------------------------------------------------------------------


def compile_filter(flt: Filter | None) -> Where | None:
    """Compile a filter tree to a Chroma ``where`` (``None`` for no filter)."""
    if flt is None:
        return None
    return _compile(flt, False)


def _compile(node: Filter, negate: bool) -> Where:
    if isinstance(node, And):
        return _join("$or" if negate else "$and", [_compile(c, negate) for c in node.children])
    if isinstance(node, Or):
        return _join("$and" if negate else "$or", [_compile(c, negate) for c in node.children])
    if isinstance(node, Not):
        return _compile(node.child, not negate)
    if isinstance(node, Exists):
        return {KEYS: {"$not_contains" if negate else "$contains": node.key}}
    if isinstance(node, Cmp):
        if node.cmp in (Op.EQ, Op.NE):
            positive = (node.cmp is Op.EQ) != negate
            return _equals(node.key, (node.value,), positive)
        return _range(node.key, node.cmp, node.value, negate)
    if isinstance(node, In):
        return _equals(node.key, node.values, node.negate == negate)
    raise TypeError(f"unknown filter node {node!r}")  # pragma: no cover - closed hierarchy


def _join(op: str, parts: list[Where]) -> Where:
    flat: list[Where] = []
    for part in parts:
        inner = part.get(op)
        if len(part) == 1 and isinstance(inner, list):
            flat.extend(inner)
        else:
            flat.append(part)
    unique: list[Where] = []
    seen: set[str] = set()
    for part in flat:
        sig = json.dumps(part, sort_keys=True)
        if sig not in seen:
            seen.add(sig)
            unique.append(part)
    return unique[0] if len(unique) == 1 else {op: unique}


def _range(key: str, op: Op, value: Scalar, negate: bool) -> Where:
    """Some number at ``key`` (a scalar, or a list element) is in range; or, negated, none is.

    A path holds a scalar or a list, never both, so the negation is "the scalar is out of
    range, or the list's extreme is, or there is no number at all"."""
    extreme = (MAX if op in (Op.GT, Op.GTE) else MIN) + key
    if not negate:
        return {"$or": [{NUM + key: {op.value: value}}, {extreme: {op.value: value}}]}
    other = _COMPLEMENT[op].value
    return {
        "$or": [
            {NUM + key: {other: value}},
            {extreme: {other: value}},
            {KEYS: {"$not_contains": HAS_NUMBER + key}},
        ]
    }


def _equals(key: str, values: Sequence[Scalar], positive: bool) -> Where:
    """``key`` equals one of ``values`` (positive) or none of them (negated)."""
    strs: dict[str, None] = {}
    bools: dict[bool, None] = {}
    ints: dict[int, None] = {}
    floats: dict[float, None] = {}
    for v in values:
        if isinstance(v, bool):
            bools[v] = None
        elif isinstance(v, str):
            strs[v] = None
        elif isinstance(v, int):
            ints[v] = None
        else:
            floats[v] = None
    # the numbers a list element may hold, per Chroma array type
    list_ints: dict[int, None] = dict(ints)
    list_floats: dict[float, None] = dict(floats)
    for i in ints:
        f = _int_as_float(i)
        if f is not None:
            list_floats[f] = None
    for f in floats:
        j = _float_as_int(f)
        if j is not None:
            list_ints[j] = None

    scalar_in = "$in" if positive else "$nin"
    contains = "$contains" if positive else "$not_contains"
    parts: list[Where] = []
    for prefix, group in ((VAL, list(strs)), (VAL, list(bools)), (NUM, list(ints)), (NUM, list(floats))):
        if group:
            parts.append(_scalar(prefix + key, group, positive, scalar_in))
    for prefix, elems in (
        (LSTR, list(strs)),
        (LBOOL, list(bools)),
        (LINT, list(list_ints)),
        (LFLT, list(list_floats)),
    ):
        parts.extend({prefix + key: {contains: e}} for e in elems)
    return _join("$or" if positive else "$and", parts)


def _scalar(field: str, group: list[Any], positive: bool, op_in: str) -> Where:
    if len(group) == 1:
        return {field: {"$eq" if positive else "$ne": group[0]}}
    return {field: {op_in: group}}


def _int_as_float(i: int) -> float | None:
    """``float(i)`` when it equals ``i`` exactly (Python's ``==`` between int and float)."""
    try:
        f = float(i)
    except OverflowError:  # pragma: no cover - ints are bounded to 64 bits upstream
        return None
    return f if int(f) == i else None


def _float_as_int(f: float) -> int | None:
    if not math.isfinite(f) or not f.is_integer():
        return None
    i = int(f)
    return i if _I64_MIN <= i <= _I64_MAX else None


__all__ = [
    "KEYS",
    "META",
    "NOTEXT",
    "Where",
    "compile_filter",
    "decode_metadata",
    "decode_text",
    "encode_metadata",
    "is_internal_key",
]
