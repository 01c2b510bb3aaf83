"""Compile vecctx filters (in negation normal form) into weaviate-client v4 ``Filter`` objects.

The reference semantics (:mod:`vecctx.contract.filters`) map onto the schema of :mod:`.schema` as:

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
(nothing matches: no request is needed). The compiler records the properties it lacked in
:attr:`FilterCompiler.missing`, so that the driver can re-read a schema another writer may
have extended.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeAlias

from weaviate.classes.query import Filter as WFilter
from weaviate.classes.query import FilterReturn

from vecctx.contract import compiler
from vecctx.contract.errors import UnsupportedFeatureError
from vecctx.contract.filters import Cmp, Exists, In, Op, Scalar
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
    return "s" if isinstance(value, str) else "n"


def stored(value: Scalar) -> str | float | bool:
    """The value as stored in its typed property."""
    if isinstance(value, bool):
        return value
    return wrap_text(value) if isinstance(value, str) else float(value)


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
            kind = kind_of(node.value)  # the value's type picks the property
            name = self._prop(node.key, kind)
            eq = _contains_any(name, kind, [stored(node.value)]) if name else False
            return self._negate(eq) if node.cmp is Op.NE else eq
        name = self._prop(node.key, "n")
        return _RANGE[node.cmp](name, float(node.value)) if name else False

    def visit_in(self, node: In) -> Compiled:
        by_kind: dict[Kind, list[str | float | bool]] = {}
        for v in node.values:
            bucket = by_kind.setdefault(kind_of(v), [])
            if stored(v) not in bucket:  # one type per bucket: equality is exact
                bucket.append(stored(v))
        parts: list[Compiled] = []
        for kind, values in by_kind.items():
            name = self._prop(node.key, kind)
            if name:
                parts.append(_contains_any(name, kind, values))
        hit = self.visit_or(parts)
        return self._negate(hit) if node.negate else hit

    def visit_exists(self, node: Exists) -> Compiled:
        return WFilter.by_property(PROP_KEYS).contains_any([key_token(node.key)])

    def visit_not(self, node: Cmp | Exists) -> Compiled:
        return self._negate(self.compile(node))

    def visit_and(self, children: list[Compiled]) -> Compiled:
        if any(p is False for p in children):
            return False
        live = [p for p in children if not isinstance(p, bool)]
        if not live:
            return True
        return live[0] if len(live) == 1 else WFilter.all_of(live)

    def visit_or(self, children: list[Compiled]) -> Compiled:
        if any(p is True for p in children):
            return True
        live = [p for p in children if not isinstance(p, bool)]
        if not live:
            return False
        return live[0] if len(live) == 1 else WFilter.any_of(live)

    def _negate(self, part: Compiled) -> Compiled:
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
