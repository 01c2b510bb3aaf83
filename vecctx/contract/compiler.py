"""One filter compiler for every backend: negation normal form and a visitor.

The front parses a user's filter, checks its operators against the backend's capabilities and
rewrites it into **negation normal form** (:func:`to_nnf`): ``Not`` is pushed down through
``And``/``Or`` (De Morgan), double negations cancel, and negated equality and membership
become their exact opposites (``ne``, ``nin``; vecctx defines ``ne`` as ``not eq``). The only
``Not`` left wraps a range comparison or an ``exists``, whose negations a backend must spell
itself (they match records where the field is missing or not a number).

:func:`simplify` then folds the constants out of a filter in negation normal form: an empty
``in`` matches nothing and an empty ``nin`` everything, and ``And``/``Or`` propagate them, so a
backend never sees an empty list (the front answers a filter that matches nothing without
I/O, and drops one that matches everything).

A backend's compiler subclasses :class:`FilterCompiler` and overrides only the leaves it
spells differently (in the manner of SQLAlchemy's visitor compiler); ``compile`` walks the tree
once. :func:`flatten_metadata` is the one metadata flattening backends with flat filter fields
share.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from vecctx.contract.errors import UnsupportedFeatureError
from vecctx.contract.filters import And, Cmp, Exists, Filter, In, Not, Op, Or

C = TypeVar("C")


def to_nnf(flt: Filter) -> Filter:
    """``flt`` in negation normal form (same meaning under :meth:`Filter.matches`)."""
    if isinstance(flt, And):
        return And(tuple(to_nnf(c) for c in flt.children))
    if isinstance(flt, Or):
        return Or(tuple(to_nnf(c) for c in flt.children))
    if isinstance(flt, Not):
        return _negate(flt.child)
    return flt


def _negate(flt: Filter) -> Filter:
    if isinstance(flt, Not):
        return to_nnf(flt.child)
    if isinstance(flt, And):
        return Or(tuple(_negate(c) for c in flt.children))
    if isinstance(flt, Or):
        return And(tuple(_negate(c) for c in flt.children))
    if isinstance(flt, Cmp) and flt.cmp is Op.EQ:
        return Cmp(flt.key, Op.NE, flt.value)
    if isinstance(flt, Cmp) and flt.cmp is Op.NE:
        return Cmp(flt.key, Op.EQ, flt.value)
    if isinstance(flt, In):
        return In(flt.key, flt.values, negate=not flt.negate)
    return Not(flt)  # a range comparison or exists: the backend spells its negation


def simplify(flt: Filter) -> Filter | bool:
    """``flt`` (in negation normal form) without constants: ``True`` when it matches every
    record, ``False`` when it matches none, else the equivalent filter with no empty list."""
    if isinstance(flt, In):
        return flt.negate if not flt.values else flt
    if isinstance(flt, And | Or):
        absorbing = isinstance(flt, Or)  # True absorbs an Or, False an And
        kept: list[Filter] = []
        for child in flt.children:
            folded = simplify(child)
            if folded is absorbing:
                return absorbing
            if not isinstance(folded, bool):
                kept.append(folded)
        if not kept:
            return not absorbing
        if len(kept) == len(flt.children) and all(a is b for a, b in zip(kept, flt.children, strict=True)):
            return flt
        return kept[0] if len(kept) == 1 else type(flt)(tuple(kept))
    if isinstance(flt, Not):
        folded = simplify(flt.child)
        return (not folded) if isinstance(folded, bool) else flt if folded is flt.child else Not(folded)
    return flt


class FilterCompiler(Generic[C]):
    """Compile a filter in negation normal form into a backend's native form ``C``.

    Subclasses implement the leaves (:meth:`visit_cmp`, :meth:`visit_in`,
    :meth:`visit_exists`), the negated leaves (:meth:`visit_not`, given the range comparison
    or ``Exists`` under the ``Not``) and the connectives (:meth:`visit_and`,
    :meth:`visit_or`, given the compiled children)."""

    def compile(self, flt: Filter) -> C:
        if isinstance(flt, And):
            return self.visit_and([self.compile(c) for c in flt.children])
        if isinstance(flt, Or):
            return self.visit_or([self.compile(c) for c in flt.children])
        if isinstance(flt, Not):
            if isinstance(flt.child, Cmp | Exists):
                return self.visit_not(flt.child)
            return self.compile(to_nnf(flt))
        if isinstance(flt, Cmp):
            return self.visit_cmp(flt)
        if isinstance(flt, In):
            return self.visit_in(flt)
        if isinstance(flt, Exists):
            return self.visit_exists(flt)
        raise UnsupportedFeatureError(f"{type(self).__name__} cannot compile {type(flt).__name__}")

    def visit_cmp(self, node: Cmp) -> C:
        raise UnsupportedFeatureError(f"{type(self).__name__} cannot compile {node.cmp.value}")

    def visit_in(self, node: In) -> C:
        raise UnsupportedFeatureError(f"{type(self).__name__} cannot compile {node.op.value}")

    def visit_exists(self, node: Exists) -> C:
        raise UnsupportedFeatureError(f"{type(self).__name__} cannot compile $exists")

    def visit_not(self, node: Cmp | Exists) -> C:
        raise UnsupportedFeatureError(f"{type(self).__name__} cannot compile $not of {node.op.value}")

    def visit_and(self, children: list[C]) -> C:
        raise UnsupportedFeatureError(f"{type(self).__name__} cannot compile $and")

    def visit_or(self, children: list[C]) -> C:
        raise UnsupportedFeatureError(f"{type(self).__name__} cannot compile $or")


def flatten_metadata(metadata: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, value)`` for every non-object value in ``metadata``; lists are values
    (paths do not descend into lists, as in :mod:`vecctx.contract.filters`)."""
    for key, value in metadata.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from flatten_metadata(value, path + ".")
        else:
            yield path, value


__all__ = ["FilterCompiler", "flatten_metadata", "simplify", "to_nnf"]
