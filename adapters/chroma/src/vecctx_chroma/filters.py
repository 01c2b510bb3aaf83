"""Metadata encoding and the filter compiler: vecctx filter tree -> Chroma ``where``.

Chroma metadata is flat and its ``where`` has no ``$not`` and no "field is missing" test, so
user metadata is flattened into typed keys per dotted path ``p``, tabled in the README ("How the
filter semantics are kept exact"): ``v:p`` (str or bool), ``ni:p``/``nf:p`` (int/float, apart
because Chroma truncates a float operand compared with an int), ``ls: li: lf: lb:`` (a list's
elements by type), ``xi: xf: mi: mf:`` (a list's largest/smallest number), ``vx:keys`` (the
paths that exist, and ``$n:p`` for those holding a number), ``vx:meta`` (the JSON, when the
flat keys cannot give the object back) and ``vx:notext``. :class:`WhereCompiler` compiles every
operator of a filter in negation normal form; none is evaluated client-side.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from vecctx.contract.compiler import FilterCompiler, to_nnf
from vecctx.contract.filters import Cmp, Exists, Filter, In, Op, Scalar

Where: TypeAlias = dict[str, Any]

META, KEYS, NOTEXT = "vx:meta", "vx:keys", "vx:notext"
#: Key prefixes (see the module docstring): a scalar, a list's largest and smallest number, a
#: list's elements, and the ``vx:keys`` entry of a path that holds a number.
VAL, INT, FLT = "v:", "ni:", "nf:"
MAX_INT, MAX_FLT, MIN_INT, MIN_FLT = "xi:", "xf:", "mi:", "mf:"
LSTR, LINT, LFLT, LBOOL = "ls:", "li:", "lf:", "lb:"
HAS_NUMBER = "$n:"

_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1
_F64_MIN = -sys.float_info.max

#: A key vecctx never writes: ``$ne`` on it matches every record, ``$eq`` none.
_UNSET = "vx:unset"
_ALWAYS: Where = {_UNSET: {"$ne": 0}}
_NEVER: Where = {_UNSET: {"$eq": 0}}

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
            out[(INT if isinstance(value, int) else FLT) + path] = value
    return exact


def _flatten_list(path: str, values: Sequence[Any], out: dict[str, Any], keys: list[str]) -> None:
    present = [v for v in values if v is not None]
    if not present:
        return
    keys.append(path)
    strs, bools, ints, floats = _by_type(present)
    numbers: list[int | float] = [*ints, *floats]
    if numbers:
        keys.append(HAS_NUMBER + path)
        top, bottom = max(numbers), min(numbers)
        out[(MAX_INT if isinstance(top, int) else MAX_FLT) + path] = top
        out[(MIN_INT if isinstance(bottom, int) else MIN_FLT) + path] = bottom
    for prefix, group in ((LSTR, strs), (LBOOL, bools), (LINT, ints), (LFLT, floats)):
        if group:
            out[prefix + path] = group


def _by_type(values: Sequence[Any]) -> tuple[list[str], list[bool], list[int], list[float]]:
    """The distinct strings, bools, ints and floats among ``values``, in order; other values
    (objects and lists nested in a list are not addressable by a path) are left out."""
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
        elif isinstance(v, float):
            floats[v] = None
    return list(strs), list(bools), list(ints), list(floats)


# -- read side ----------------------------------------------------------------------------


def decode_metadata(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The user's metadata from a record's Chroma metadata (as Chroma holds it for a record
    another tool wrote: one without vecctx keys)."""
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
    for key, value in stored.items():  # the scalar keys: "v:<path>", "ni:<path>", "nf:<path>"
        if key[:2] == VAL:
            path = key[2:]
        elif key[:3] == INT or key[:3] == FLT:
            path = key[3:]
        else:
            continue
        *parents, leaf = path.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def decode_text(document: str | None, stored: Mapping[str, Any] | None) -> str | None:
    if stored and stored.get(NOTEXT) is True:
        return None
    return document


# -- filter compiler ----------------------------------------------------------------------


class WhereCompiler(FilterCompiler[Where]):
    """A vecctx filter in negation normal form -> a Chroma ``where``."""

    def visit_cmp(self, node: Cmp) -> Where:
        if node.cmp in (Op.EQ, Op.NE):
            return _equals(node.key, (node.value,), node.cmp is Op.EQ)
        return _range(node.key, node.cmp, node.value, False)

    def visit_in(self, node: In) -> Where:
        return _equals(node.key, node.values, not node.negate)

    def visit_exists(self, node: Exists) -> Where:
        return {KEYS: {"$contains": node.key}}

    def visit_not(self, node: Cmp | Exists) -> Where:
        if isinstance(node, Exists):
            return {KEYS: {"$not_contains": node.key}}
        return _range(node.key, node.cmp, node.value, True)

    def visit_and(self, children: list[Where]) -> Where:
        return _join("$and", children)

    def visit_or(self, children: list[Where]) -> Where:
        return _join("$or", children)


WHERE = WhereCompiler()


def compile_filter(flt: Filter | None) -> Where | None:
    """Compile any filter tree to a Chroma ``where`` (``None`` for no filter)."""
    return WHERE.compile(to_nnf(flt)) if flt is not None else None


#: Most operand values one filter may hold here (``Capabilities.max_filter_values``). Measured on
#: 200 records with OMP_NUM_THREADS=1, embedded: ``in_`` of 1,000 ints 0.24 s (2,000: 1.2 s),
#: of 1,000 strings 0.11 s, ``nin`` of 1,000 ints 0.41 s, an ``$or`` of 1,000 int ``eq`` 2.6 s
#: (four parts each); past ~5,000 ints SQLite refuses "too many SQL variables".
MAX_FILTER_VALUES = 1_000
#: Most parts one ``$and``/``$or`` holds. Chroma's SQLite nests a list of parts as deep as it
#: is long and refuses an expression deeper than 1,000 (and past ~5,000 parts the process dies
#: with SIGSEGV); longer lists are grouped into a tree of this fan-out, as deep as its logarithm.
FAN_OUT = 32


def _join(op: str, parts: list[Where]) -> Where:
    """``$and``/``$or`` of ``parts``: nested ones of the same operator merged, duplicates
    dropped, a single part as itself (Chroma wants at least two), more than ``FAN_OUT`` parts
    grouped into a balanced tree of the same operator."""
    flat = [q for p in parts for q in (p[op] if len(p) == 1 and isinstance(p.get(op), list) else [p])]
    unique = list({json.dumps(p, sort_keys=True): p for p in flat}.values())
    while len(unique) > FAN_OUT:
        groups = [unique[i : i + FAN_OUT] for i in range(0, len(unique), FAN_OUT)]
        unique = [g[0] if len(g) == 1 else {op: g} for g in groups]
    return unique[0] if len(unique) == 1 else {op: unique}


def _range(key: str, op: Op, value: Scalar, negate: bool) -> Where:
    """Some number at ``key`` (a scalar, or a list element) is in range; or, negated, none is.

    A path holds a scalar or a list, never both, so the negation is "the scalar is out of
    range, or the list's extreme is, or there is no number at all"."""
    assert isinstance(value, int | float) and not isinstance(value, bool)
    upward = op in (Op.GT, Op.GTE)  # which extreme decides, for the operator as written
    if negate:
        op = _COMPLEMENT[op]
    ints, floats = _int_bound(op, value), _float_bound(op, value)
    parts: list[Where] = [
        {prefix + key: {bound[0]: bound[1]}}
        for prefix, bound in (
            (INT, ints),
            (FLT, floats),
            (MAX_INT if upward else MIN_INT, ints),
            (MAX_FLT if upward else MIN_FLT, floats),
        )
        if bound is not None
    ]
    if negate:
        parts.append({KEYS: {"$not_contains": HAS_NUMBER + key}})
    return _join("$or", parts) if parts else _NEVER


def _int_bound(op: Op, v: int | float) -> tuple[str, int] | None:
    """The same condition on int values with an int operand (``None``: no int matches)."""
    b = v if isinstance(v, int) else math.floor(v) if op in (Op.GT, Op.LTE) else math.ceil(v)
    if op is Op.GT:
        if b >= _I64_MAX:
            return None
        return ("$gte", _I64_MIN) if b < _I64_MIN else ("$gt", b)
    if op is Op.GTE:
        if b > _I64_MAX:
            return None
        return ("$gte", max(b, _I64_MIN))
    if op is Op.LT:
        if b <= _I64_MIN:
            return None
        return ("$lte", _I64_MAX) if b > _I64_MAX else ("$lt", b)
    if b < _I64_MIN:  # LTE
        return None
    return ("$lte", min(b, _I64_MAX))


def _float_bound(op: Op, v: int | float) -> tuple[str, float] | None:
    """The same condition on float values with a float operand (``None``: none match)."""
    if isinstance(v, float):
        return (op.value, v)
    try:
        f = float(v)
    except OverflowError:  # an int beyond every float
        above = v > 0
        if op in (Op.GT, Op.GTE):
            return None if above else ("$gte", _F64_MIN)
        return ("$gte", _F64_MIN) if above else None
    if f == v:
        return (op.value, f)
    # f is the float nearest to v; no float lies strictly between them
    if op in (Op.GT, Op.GTE):
        return ("$gte", f) if f > v else ("$gt", f)
    return ("$lte", f) if f < v else ("$lt", f)


def _equals(key: str, values: Sequence[Scalar], positive: bool) -> Where:
    """``key`` equals one of ``values`` (positive) or none of them (negated)."""
    strs, bools, ints, floats = _by_type(values)
    # each number as it may be stored: an int (exactly equal) or a float (exactly equal)
    numbers = [*ints, *floats]
    ints = list(dict.fromkeys(i for v in numbers if (i := _as_int(v)) is not None))
    floats = list(dict.fromkeys(f for v in numbers if (f := _as_float(v)) is not None))
    eq, any_of, contains = ("$eq", "$in", "$contains") if positive else ("$ne", "$nin", "$not_contains")
    parts: list[Where] = [
        {field: {eq: group[0]} if len(group) == 1 else {any_of: group}}
        for field, group in ((VAL + key, strs), (VAL + key, bools), (INT + key, ints), (FLT + key, floats))
        if group
    ]
    for field, elems in ((LSTR + key, strs), (LBOOL + key, bools), (LINT + key, ints), (LFLT + key, floats)):
        parts.extend({field: {contains: e}} for e in elems)
    if not parts:  # numbers no stored value can equal (e.g. an int beyond 64 bits)
        return _NEVER if positive else _ALWAYS
    return _join("$or" if positive else "$and", parts)


def _as_int(v: int | float) -> int | None:
    """The 64-bit int equal to ``v`` (Python's ``==`` between int and float), if any."""
    i = v if isinstance(v, int) else int(v) if math.isfinite(v) and v.is_integer() else None
    return i if i is not None and _I64_MIN <= i <= _I64_MAX else None


def _as_float(v: int | float) -> float | None:
    """The float equal to ``v``, if any."""
    if isinstance(v, float):
        return v
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if int(f) == v else None


__all__ = [
    "FAN_OUT",
    "KEYS",
    "MAX_FILTER_VALUES",
    "META",
    "NOTEXT",
    "WHERE",
    "Where",
    "WhereCompiler",
    "compile_filter",
    "decode_metadata",
    "decode_text",
    "encode_metadata",
]
