"""Compile the vecctx filter tree into weaviate-client v4 ``Filter`` objects.

The reference semantics (:mod:`vecctx.filters`) map onto the schema of :mod:`.schema` as:

============  ===========================================================================
``eq v``      ``<typed prop of v's type>`` ContainsAny [v] (the documented operator for
              "any element of an array property equals"); numbers always as floats
              (Weaviate refuses ``valueInt`` on a ``number`` property)
``lt``...     ``mn_<path>`` LessThan ... (any element in range; strings/bools never match)
``in``        one ContainsAny per value type, OR-ed
``exists``    ``vecctx_keys`` ContainsAny [``<path>``] (the paths present, not null, not ``[]``)
``ne``/``nin``  ``Not`` of eq/in, so missing fields match as in the reference
``and/or``    And / Or
``not``       Not (Weaviate >= 1.33; older servers do not declare ne, nin and not)
============  ===========================================================================

A comparison on a property that does not exist in the class (no record ever stored a value
of that type under that path) cannot match anything: it is folded to a constant before any
request, because Weaviate rejects filters on unknown properties. Constants fold through
And/Or/Not; a whole filter may therefore compile to ``True`` (no filter) or ``False``
(nothing matches: no request is needed).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeAlias

from weaviate.classes.query import Filter as WFilter
from weaviate.classes.query import FilterReturn

from vecctx.errors import UnsupportedFeatureError
from vecctx.filters import And, Cmp, Exists, Filter, In, Not, Op, Or, Scalar
from vecctx_weaviate.schema import PROP_KEYS, Kind, key_token, prop_name, wrap_text

#: A compiled filter: a Weaviate filter, or a constant.
Compiled: TypeAlias = FilterReturn | bool

_RANGE: dict[Op, Callable[[str, float], FilterReturn]] = {
    Op.LT: lambda p, v: WFilter.by_property(p).less_than(v),
    Op.LTE: lambda p, v: WFilter.by_property(p).less_or_equal(v),
    Op.GT: lambda p, v: WFilter.by_property(p).greater_than(v),
    Op.GTE: lambda p, v: WFilter.by_property(p).greater_or_equal(v),
}


def kind_of(value: Scalar) -> Kind:
    if isinstance(value, bool):
        return "b"
    if isinstance(value, str):
        return "s"
    return "n"


def stored(value: Scalar) -> str | float | bool:
    """The value as stored in its typed property."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return wrap_text(value)
    return float(value)


class FilterCompiler:
    """Compiles filters against the set of property names a class has.

    ``native_not`` says whether the server has the ``Not`` operator (Weaviate >= 1.33).
    """

    __slots__ = ("native_not", "properties")

    def __init__(self, properties: Collection[str], *, native_not: bool) -> None:
        self.properties = properties
        self.native_not = native_not

    def compile(self, flt: Filter | None) -> Compiled:
        if flt is None:
            return True
        return self._node(flt)

    def missing(self, flt: Filter | None) -> set[str]:
        """Typed properties the filter reads that the class lacks (folded to ``False``)."""
        out: set[str] = set()
        if flt is None:
            return out
        for node in flt.walk():
            if isinstance(node, Cmp):
                name = prop_name(node.key, "n" if node.cmp not in (Op.EQ, Op.NE) else kind_of(node.value))
                if name not in self.properties:
                    out.add(name)
            elif isinstance(node, In):
                for v in node.values:
                    name = prop_name(node.key, kind_of(v))
                    if name not in self.properties:
                        out.add(name)
        return out

    # -- nodes -------------------------------------------------------------------------
    def _node(self, node: Filter) -> Compiled:
        if isinstance(node, Cmp):
            return self._cmp(node)
        if isinstance(node, In):
            hit = self._in(node)
            return self._not(hit) if node.negate else hit
        if isinstance(node, Exists):
            return WFilter.by_property(PROP_KEYS).contains_any([key_token(node.key)])
        if isinstance(node, And):
            return self._and([self._node(c) for c in node.children])
        if isinstance(node, Or):
            return self._or([self._node(c) for c in node.children])
        if isinstance(node, Not):
            return self._not(self._node(node.child))
        raise UnsupportedFeatureError(f"cannot compile filter node {type(node).__name__}")

    def _cmp(self, node: Cmp) -> Compiled:
        if node.cmp in (Op.EQ, Op.NE):
            name = prop_name(node.key, kind_of(node.value))  # the value's type picks the property
            kind = kind_of(node.value)
            eq: Compiled = (
                _contains_any(name, kind, [stored(node.value)]) if name in self.properties else False
            )
            return self._not(eq) if node.cmp is Op.NE else eq
        name = prop_name(node.key, "n")
        if name not in self.properties:
            return False
        return _RANGE[node.cmp](name, float(node.value))

    def _in(self, node: In) -> Compiled:
        by_kind: dict[Kind, list[str | float | bool]] = {}
        for v in node.values:
            s = stored(v)
            bucket = by_kind.setdefault(kind_of(v), [])
            if not any(type(s) is type(x) and s == x for x in bucket):
                bucket.append(s)
        parts: list[Compiled] = []
        for kind, values in by_kind.items():
            name = prop_name(node.key, kind)
            if name in self.properties:
                parts.append(_contains_any(name, kind, values))
        return self._or(parts)

    def _and(self, parts: list[Compiled]) -> Compiled:
        if any(p is False for p in parts):
            return False
        live = [p for p in parts if not isinstance(p, bool)]
        if not live:
            return True
        return live[0] if len(live) == 1 else WFilter.all_of(live)

    def _or(self, parts: list[Compiled]) -> Compiled:
        if any(p is True for p in parts):
            return True
        live = [p for p in parts if not isinstance(p, bool)]
        if not live:
            return False
        return live[0] if len(live) == 1 else WFilter.any_of(live)

    def _not(self, part: Compiled) -> Compiled:
        if isinstance(part, bool):
            return not part
        if not self.native_not:
            raise UnsupportedFeatureError(
                "this Weaviate server has no Not operator (added in 1.33): ne, nin and not "
                "cannot be compiled with the reference semantics"
            )
        return WFilter.not_(part)


def _contains_any(name: str, kind: Kind, values: list[str | float | bool]) -> FilterReturn:
    prop = WFilter.by_property(name)
    if kind == "s":
        return prop.contains_any([str(v) for v in values])
    if kind == "b":
        return prop.contains_any([bool(v) for v in values])
    return prop.contains_any([float(v) for v in values])


__all__ = ["Compiled", "FilterCompiler", "kind_of", "stored"]
