"""Filters for Milvus: a flat, typed index of each record's metadata, written with the record as
dynamic fields (the package README, "Filters", lists them and says why), and a compiler from
vecctx filters to Milvus expressions over that index. Keys and values are written through
:func:`quote`; each negated leaf (``ne``, ``nin``, ``Not`` over a range or ``exists``) is written
two-valued on missing fields (``not exists f or f != v``), so Milvus's three-valued logic never
changes an answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from vecctx.contract.compiler import FilterCompiler, to_nnf
from vecctx.contract.errors import UnsupportedFeatureError
from vecctx.contract.filters import Cmp, Exists, Filter, In, Op, Scalar

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

#: Most operand values one filter may hold here (``Capabilities.max_filter_values``). Each value
#: names its own list-membership field, and Milvus Lite materialises every field it reads with a
#: copy of the table: the time grows with the square of the count (measured on 200 records with
#: OMP_NUM_THREADS=1: ``in_`` of 1,000 ints 0.16 s, 2,000 0.5-0.8 s, 4,000 2.0 s, 10,000 381 s; an
#: ``$or`` of 1,000 ``eq`` 0.6 s).
MAX_FILTER_VALUES = 1_000

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


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _kind(value: Any) -> str:
    """The type letter of an index field: ``b`` bool, ``n`` number, ``s`` string, else ``""``."""
    if isinstance(value, bool):
        return "b"
    if isinstance(value, int | float):
        return "n"
    return "s" if isinstance(value, str) else ""


def _text(value: Scalar) -> str:
    """A scalar as the end of a list-membership field name (``2`` and ``2.0`` get equal text)."""
    if isinstance(value, bool):
        return _bool(value)
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


# -- the index written with each record ----------------------------------------------------


def index_fields(metadata: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The dynamic fields that make ``metadata`` filterable (``p.$x``, ``p.$n``, ``p.$ls.<str>``, ...)."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        path = prefix + key
        if value is None:
            continue
        if isinstance(value, Mapping):
            out.update(index_fields(value, path + "."))
        elif isinstance(value, list | tuple):
            items = [(e, _kind(e)) for e in value if e is not None]
            if not items:
                continue
            for e, kind in items:
                if kind:  # objects and lists inside lists never equal a scalar
                    out[f"{path}.$l{kind}.{_text(e)}"] = True
            if numbers := [e for e, kind in items if kind == "n"]:
                out[path + ".$lo"], out[path + ".$hi"] = min(numbers), max(numbers)
        else:
            out[f"{path}.${_kind(value)}"] = value
        out[path + ".$x"] = True
    return out


# -- the compiler ---------------------------------------------------------------------------


def _field(key: str, suffix: str) -> str:
    return "$meta[" + quote(key + suffix) + "]"


Atom = tuple[str, str, bool]


def _eq_atoms(key: str, value: Scalar) -> list[Atom]:
    """(field, literal, membership) pairs whose ``field == literal`` disjunction is
    ``key == value``: the scalar field, and the list-membership field (holding ``true``)."""
    kind = _kind(value)
    if isinstance(value, bool):
        literal = _bool(value)
    else:
        literal = quote(value) if isinstance(value, str) else number_literal(value)
    return [
        (_field(key, f".${kind}"), literal, False),
        (_field(key, f".$l{kind}.{_text(value)}"), "true", True),
    ]


def _any_equal(atoms: list[Atom]) -> str:
    return " or ".join(f"{f} == {lit}" for f, lit, _ in atoms)


def _none_equal(atoms: list[Atom]) -> str:
    return " and ".join(
        f"not exists {f}" if member else f"(not exists {f} or {f} != {lit})" for f, lit, member in atoms
    )


#: A range's operator, its negation, and the list bound that decides "some element".
_RANGE = {
    Op.LT: ("<", ">=", ".$lo"),
    Op.LTE: ("<=", ">", ".$lo"),
    Op.GT: (">", "<=", ".$hi"),
    Op.GTE: (">=", "<", ".$hi"),
}


class MilvusFilterCompiler(FilterCompiler[str]):
    """Milvus boolean expressions over the index of :func:`index_fields`."""

    def visit_cmp(self, node: Cmp) -> str:
        if node.cmp is Op.EQ:
            return _any_equal(_eq_atoms(node.key, node.value))
        if node.cmp is Op.NE:
            return _none_equal(_eq_atoms(node.key, node.value))
        op, _, scalar, bound, lit = self._range(node)
        return f"{scalar} {op} {lit} or {bound} {op} {lit}"

    def visit_in(self, node: In) -> str:
        atoms = list(dict.fromkeys(a for v in node.values for a in _eq_atoms(node.key, v)))
        return _none_equal(atoms) if node.negate else _any_equal(atoms)

    def visit_exists(self, node: Exists) -> str:
        return f"exists {_field(node.key, '.$x')}"

    def visit_not(self, node: Cmp | Exists) -> str:
        """A negated range or ``exists``: also true where the field is missing."""
        if isinstance(node, Exists):
            return f"not exists {_field(node.key, '.$x')}"
        _, op, scalar, bound, lit = self._range(node)
        return f"(not exists {scalar} or {scalar} {op} {lit}) and (not exists {bound} or {bound} {op} {lit})"

    def visit_and(self, children: list[str]) -> str:
        return " and ".join(f"({c})" for c in children)

    def visit_or(self, children: list[str]) -> str:
        return " or ".join(f"({c})" for c in children)

    @staticmethod
    def _range(node: Cmp) -> tuple[str, str, str, str, str]:
        """The operator, its negation, the number field, the list bound and the literal."""
        op, negated, suffix = _RANGE[node.cmp]
        assert not isinstance(node.value, bool | str)  # the filter tree allows numbers only
        return op, negated, _field(node.key, ".$n"), _field(node.key, suffix), number_literal(node.value)


def compile_filter(flt: Filter) -> str:
    """A Milvus boolean expression selecting exactly the records ``flt`` matches."""
    return MilvusFilterCompiler().compile(to_nnf(flt))


__all__ = [
    "MAX_FILTER_VALUES",
    "MilvusFilterCompiler",
    "compile_filter",
    "index_fields",
    "number_literal",
    "quote",
]
