"""Filters for Milvus: a flat, typed index of each record's metadata and a compiler from the
vecctx filter tree to Milvus boolean expressions over that index.

Why an index rather than expressions over the JSON field itself
---------------------------------------------------------------
Milvus expressions compare JSON values with the engine's own rules, and Milvus Lite evaluates
them with Python's: ``true == 1`` holds, ``not (x == 1)`` is *unknown* (so false) when ``x`` is
missing, ranges cannot reach into lists, and any ``json["a"]["b"]`` path sends the whole segment
(vectors included) through a row-by-row interpreter (about 1.4 s per filtered query at 20k x
384). The reference semantics (:mod:`vecctx.filters`) need none of that. So every record also
carries dynamic fields, one per (path, type), each holding values of a single type:

=================  ===============================================================
``p.$x``           ``true`` when ``p`` exists (present, not null, not an empty list)
``p.$s``           ``p`` is a string: the string
``p.$n``           ``p`` is a number (never a bool): the number
``p.$b``           ``p`` is a bool: the bool
``p.$ls.<str>``    ``p`` is a list holding that string: ``true``
``p.$ln.<num>``    ``p`` is a list holding that number (canonical text): ``true``
``p.$lb.<bool>``   ``p`` is a list holding that bool: ``true``
``p.$lo/$hi``      ``p`` is a list holding numbers: their minimum / maximum
=================  ===============================================================

``p`` is the dotted path of user keys (``author.name``). User keys can hold neither ``.`` nor
a leading ``$`` (vecctx validates metadata), so ``.$`` marks where the path ends and no user
key can collide with these names or with the schema's own fields. Expressions then read these
fields as ``$meta["p.$n"] > 3``: Milvus Lite evaluates that with Arrow kernels after one JSON
parse per row (about 0.16 s per filtered query at 20k rows instead of 1.4 s), types never mix,
and "any element of a list" becomes a field lookup.

Compilation pushes negations down to the leaves (negation normal form) and gives every leaf a
negated form that is two-valued on missing fields (``not exists f or f != v``), so Milvus's
three-valued logic can never turn a reference ``True`` into ``False``. Every string is escaped
(Milvus Lite ignores pymilvus's ``filter_params`` templating, so values are written into the
expression; keys and values go through the same :func:`quote`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from vecctx.errors import UnsupportedFeatureError
from vecctx.filters import And, Cmp, Exists, Filter, In, Not, Op, Or, Scalar

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote(text: str) -> str:
    """A Milvus string literal that reads back as exactly ``text``.

    Backslash, double quote, newline, carriage return and tab are escaped (the escapes both
    Milvus and Milvus Lite understand); every other character stands for itself inside double
    quotes, so nothing in ``text`` can end the literal or change the expression.
    """
    if any(c in _ESCAPES for c in text):
        text = "".join(_ESCAPES.get(c, c) for c in text)
    return '"' + text + '"'


def number_literal(value: int | float) -> str:
    """A numeric literal Milvus parses back to the same value."""
    if isinstance(value, bool):  # pragma: no cover - callers pass numbers only
        raise TypeError("bool is not a number here")
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return str(value)
        as_float = float(value)
        if math.isfinite(as_float) and int(as_float) == value:
            return repr(as_float)
        raise UnsupportedFeatureError(
            f"Milvus cannot compare with the integer {value}: it is outside 64 bits and not exactly a float"
        )
    if not math.isfinite(value):
        raise UnsupportedFeatureError(f"Milvus cannot compare with {value!r}")
    return repr(float(value))


def canonical_number(value: int | float) -> str:
    """Text naming a number's value: equal numbers (``2`` and ``2.0``) get equal text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


# -- the index written with each record ----------------------------------------------------


def index_fields(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The dynamic fields that make ``metadata`` filterable (see the module docstring)."""
    out: dict[str, Any] = {}
    _index_object(metadata, "", out)
    return out


def _index_object(obj: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in obj.items():
        _index_value(value, prefix + key, out)


def _index_value(value: Any, path: str, out: dict[str, Any]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        out[path + ".$x"] = True
        out[path + ".$b"] = value
    elif isinstance(value, int | float):
        out[path + ".$x"] = True
        out[path + ".$n"] = value
    elif isinstance(value, str):
        out[path + ".$x"] = True
        out[path + ".$s"] = value
    elif isinstance(value, Mapping):
        out[path + ".$x"] = True
        _index_object(value, path + ".", out)
    elif isinstance(value, list | tuple):
        lo: int | float | None = None
        hi: int | float | None = None
        present = False
        for e in value:
            if e is None:
                continue
            present = True
            if isinstance(e, bool):
                out[f"{path}.$lb.{'true' if e else 'false'}"] = True
            elif isinstance(e, int | float):
                out[f"{path}.$ln.{canonical_number(e)}"] = True
                lo = e if lo is None or e < lo else lo
                hi = e if hi is None or e > hi else hi
            elif isinstance(e, str):
                out[f"{path}.$ls.{e}"] = True
            # objects and lists inside lists never equal a scalar and are not numbers
        if present:
            out[path + ".$x"] = True
        if lo is not None:
            out[path + ".$lo"] = lo
            out[path + ".$hi"] = hi


# -- the compiler ---------------------------------------------------------------------------


def _field(key: str, suffix: str) -> str:
    return "$meta[" + quote(key + suffix) + "]"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _eq_atoms(key: str, value: Scalar) -> list[tuple[str, str, bool]]:
    """(field, literal, membership) triples whose ``field == literal`` disjunction is
    ``key == value``. Membership fields hold only ``true``."""
    if isinstance(value, bool):
        return [
            (_field(key, ".$b"), _bool(value), False),
            (_field(key, ".$lb." + _bool(value)), "true", True),
        ]
    if isinstance(value, str):
        return [(_field(key, ".$s"), quote(value), False), (_field(key, ".$ls." + value), "true", True)]
    return [
        (_field(key, ".$n"), number_literal(value), False),
        (_field(key, ".$ln." + canonical_number(value)), "true", True),
    ]


def _pos_eq(atoms: list[tuple[str, str, bool]]) -> str:
    return " or ".join(f"{f} == {lit}" for f, lit, _ in atoms)


def _neg_eq(atoms: list[tuple[str, str, bool]]) -> str:
    return " and ".join(
        f"not exists {f}" if member else f"(not exists {f} or {f} != {lit})" for f, lit, member in atoms
    )


_RANGE = {
    Op.LT: ("<", ">=", ".$lo"),
    Op.LTE: ("<=", ">", ".$lo"),
    Op.GT: (">", "<=", ".$hi"),
    Op.GTE: (">=", "<", ".$hi"),
}


def _leaf(node: Cmp | In | Exists, positive: bool) -> str:
    if isinstance(node, Exists):
        f = _field(node.key, ".$x")
        return f"exists {f}" if positive else f"not exists {f}"
    if isinstance(node, In):
        atoms: list[tuple[str, str, bool]] = []
        seen: set[tuple[str, str, bool]] = set()
        for v in node.values:
            for atom in _eq_atoms(node.key, v):
                if atom not in seen:
                    seen.add(atom)
                    atoms.append(atom)
        want = positive != node.negate
        return _pos_eq(atoms) if want else _neg_eq(atoms)
    if node.cmp in (Op.EQ, Op.NE):
        atoms = _eq_atoms(node.key, node.value)
        want = positive == (node.cmp is Op.EQ)
        return _pos_eq(atoms) if want else _neg_eq(atoms)
    op, negated_op, list_suffix = _RANGE[node.cmp]
    assert not isinstance(node.value, bool | str)
    lit = number_literal(node.value)
    scalar, bound = _field(node.key, ".$n"), _field(node.key, list_suffix)
    if positive:
        return f"{scalar} {op} {lit} or {bound} {op} {lit}"
    return (
        f"(not exists {scalar} or {scalar} {negated_op} {lit}) and "
        f"(not exists {bound} or {bound} {negated_op} {lit})"
    )


def _compile(node: Filter, positive: bool) -> str:
    if isinstance(node, Not):
        return _compile(node.child, not positive)
    if isinstance(node, And | Or):
        conj = isinstance(node, And) == positive
        joiner = " and " if conj else " or "
        return joiner.join("(" + _compile(c, positive) + ")" for c in node.children)
    if isinstance(node, Cmp | In | Exists):
        return _leaf(node, positive)
    raise UnsupportedFeatureError(f"Milvus adapter cannot compile {type(node).__name__}")


def compile_filter(flt: Filter) -> str:
    """A Milvus boolean expression selecting exactly the records ``flt`` matches."""
    return _compile(flt, True)


__all__ = ["canonical_number", "compile_filter", "index_fields", "number_literal", "quote"]
