"""Compile vecctx filters (in negation normal form) into weaviate-client v4 ``Filter`` objects
over the typed properties of :mod:`.schema` (the mapping is tabled in the README, "Filters").

A comparison on a property the class lacks (no record ever stored that type under that path)
cannot match: Weaviate rejects unknown properties, so it folds to a constant, and constants fold
through And/Or/Not. A filter may thus compile to ``True`` (no filter) or ``False`` (nothing
matches: no request). :attr:`FilterCompiler.missing` names the lacking properties, so that the
driver can re-read a schema another writer may have extended.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeAlias, cast

from weaviate.classes.query import Filter as WFilter
from weaviate.classes.query import FilterReturn

from vecctx.contract import compiler
from vecctx.contract.errors import UnsupportedFeatureError
from vecctx.contract.filters import Cmp, Exists, In, Op
from vecctx_weaviate.schema import PROP_KEYS, Kind, key_token, kind_of, prop_name, stored

#: A compiled filter: a Weaviate filter, or a constant.
Compiled: TypeAlias = FilterReturn | bool

_RANGE: dict[Op, Callable[[str, float], FilterReturn]] = {
    Op.LT: lambda p, v: WFilter.by_property(p).less_than(v),
    Op.LTE: lambda p, v: WFilter.by_property(p).less_or_equal(v),
    Op.GT: lambda p, v: WFilter.by_property(p).greater_than(v),
    Op.GTE: lambda p, v: WFilter.by_property(p).greater_or_equal(v),
}


class FilterCompiler(compiler.FilterCompiler[Compiled]):
    """Compiles one filter against the property names a class has.

    ``native_not`` says whether the server has the ``Not`` operator (Weaviate >= 1.33).
    """

    def __init__(self, properties: Collection[str], *, native_not: bool) -> None:
        self.properties = properties
        self.native_not = native_not
        #: typed properties the compiled filters read that the class lacks (folded away)
        self.missing: set[str] = set()

    def _prop(self, key: str, kind: Kind) -> str | None:
        name = prop_name(key, kind)
        if name in self.properties:
            return name
        self.missing.add(name)
        return None

    def visit_cmp(self, node: Cmp) -> Compiled:
        if node.cmp in (Op.EQ, Op.NE):
            name = self._prop(node.key, kind_of(node.value))  # the value's type picks the property
            eq = _contains_any(name, [stored(node.value)]) if name else False
            return self._negate(eq) if node.cmp is Op.NE else eq
        name = self._prop(node.key, "n")
        return _RANGE[node.cmp](name, float(node.value)) if name else False

    def visit_in(self, node: In) -> Compiled:
        by_kind: dict[Kind, list[str | float | bool]] = {}
        for v in node.values:
            bucket = by_kind.setdefault(kind_of(v), [])
            if stored(v) not in bucket:  # one type per bucket: equality is exact
                bucket.append(stored(v))
        parts: list[Compiled] = [
            _contains_any(name, values)
            for kind, values in by_kind.items()
            if (name := self._prop(node.key, kind))
        ]
        hit = self.visit_or(parts)
        return self._negate(hit) if node.negate else hit

    def visit_exists(self, node: Exists) -> Compiled:
        return WFilter.by_property(PROP_KEYS).contains_any([key_token(node.key)])

    def visit_not(self, node: Cmp | Exists) -> Compiled:
        return self._negate(self.compile(node))

    def visit_and(self, children: list[Compiled]) -> Compiled:
        return _join(children, False, WFilter.all_of)

    def visit_or(self, children: list[Compiled]) -> Compiled:
        return _join(children, True, WFilter.any_of)

    def _negate(self, part: Compiled) -> Compiled:
        if isinstance(part, bool):
            return not part
        if not self.native_not:
            raise UnsupportedFeatureError(
                "this Weaviate server has no Not operator (added in 1.33): ne, nin and not "
                "cannot be compiled with the reference semantics"
            )
        return WFilter.not_(part)


def _join(
    parts: list[Compiled], absorbing: bool, join: Callable[[list[FilterReturn]], FilterReturn]
) -> Compiled:
    """``parts`` joined by And (``absorbing`` False) or Or (True), constants folded."""
    if any(p is absorbing for p in parts):
        return absorbing
    live = [p for p in parts if not isinstance(p, bool)]
    if not live:
        return not absorbing
    return live[0] if len(live) == 1 else join(live)


def _contains_any(name: str, values: list[str | float | bool]) -> FilterReturn:
    """``name`` ContainsAny ``values``, all of one type (the property's, as :func:`stored` gives it)."""
    return WFilter.by_property(name).contains_any(cast("list[str] | list[float] | list[bool]", values))


__all__ = ["Compiled", "FilterCompiler"]
