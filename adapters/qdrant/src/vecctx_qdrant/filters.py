"""One filter compiler for both Qdrant APIs (Qdrant Edge and qdrant-client).

The compiler walks vecctx's filter tree once and asks a small *model factory* for each native
node, so the same logic produces ``qdrant_edge`` objects or ``qdrant_client.models`` objects.
It follows the reference semantics of :mod:`vecctx.filters` exactly; the translation (each
rule was checked against both engines, see ``tests/test_qdrant_filters.py``):

* user metadata lives under the payload key ``meta``: ``year`` is ``meta.year`` and
  ``author.name`` is ``meta.author.name`` (path segments that are not plain identifiers are
  quoted: ``meta."first name"``). Qdrant paths do not descend into lists either.
* ``eq`` on a string: ``MatchValue``. On a bool: ``MatchValue`` with a *bool* (Qdrant's
  Python bindings would otherwise take ``True`` for the integer 1). On a number:
  ``Range(gte=v, lte=v)``, because ``MatchValue`` has no floats and an integer match misses
  ``1.0`` stored for ``1``; a range never matches booleans or strings, as the reference wants.
  Integers beyond 2**53 (not exact as doubles) use an integer ``MatchValue``.
* ``in``: strings as one ``MatchAny``, numbers as ranges, bools as values, OR-ed.
* ``ne`` / ``nin``: ``must_not`` of ``eq`` / ``in`` (so a missing field matches).
* ranges: ``Range``; Qdrant's ranges, like the reference, match any numeric list element.
  Qdrant compares them as doubles, so an integer operand beyond 2**53 (not exact as a double)
  raises ``UnsupportedFeatureError`` rather than match the wrong records. Stored integers
  beyond 2**53 are compared as doubles too; that cannot be detected at query time.
* ``exists``: Qdrant's ``IsEmpty`` treats ``[null]`` as present and its ``IsNull`` matches
  any list holding a null, so ``exists`` is ``must_not IsEmpty`` AND (``must_not IsNull``
  OR the field holds some non-null value, written as ``MatchExcept([s]) OR MatchValue(s)``
  for a sentinel string ``s``).
* ``and`` / ``or`` / ``not``: ``must`` / ``should`` / ``must_not`` of nested filters.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from vecctx.errors import UnsupportedFeatureError
from vecctx.filters import And, Cmp, Exists, Filter, In, Not, Op, Or

C = TypeVar("C")
F_co = TypeVar("F_co", covariant=True)

#: Payload key under which the user's metadata is stored.
META = "meta"
#: A string no metadata is expected to hold; see ``exists`` above (correct even if it does).
SENTINEL = "\x00vecctx:exists\x00"
#: Largest integer a double represents exactly.
EXACT_INT = 2**53

_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


class ModelFactory(Protocol[C]):
    """Builds one API's native filter nodes. ``C`` is that API's condition type."""

    def match_value(self, key: str, value: str | int | bool) -> C: ...

    def match_any(self, key: str, values: list[str] | list[int]) -> C: ...

    def match_except(self, key: str, values: list[str]) -> C: ...

    def range(
        self,
        key: str,
        *,
        gt: float | None = None,
        gte: float | None = None,
        lt: float | None = None,
        lte: float | None = None,
    ) -> C: ...

    def is_empty(self, key: str) -> C: ...

    def is_null(self, key: str) -> C: ...

    def filter(
        self, *, must: list[C] | None = None, should: list[C] | None = None, must_not: list[C] | None = None
    ) -> C: ...

    def is_filter(self, node: C) -> bool: ...


def payload_path(key: str) -> str:
    """The Qdrant JSON path of a metadata key (a dotted path)."""
    parts = []
    for part in key.split("."):
        if _PLAIN.fullmatch(part):
            parts.append(part)
        elif '"' in part or "\\" in part:
            raise UnsupportedFeatureError(
                f"Qdrant cannot address the metadata key {key!r}: a path segment holds a quote or backslash"
            )
        else:
            parts.append(f'"{part}"')
    return META + "." + ".".join(parts)


class FilterCompiler(Generic[C]):
    """Compiles vecctx filters to one API's native ``Filter``; results are cached (filters are
    immutable and hashable)."""

    def __init__(self, models: ModelFactory[C], *, cache_size: int = 512) -> None:
        self.m = models
        self._cache: OrderedDict[tuple[Filter, tuple[type, ...]], C] = OrderedDict()
        self._cache_size = cache_size
        self._last: Filter | None = None
        self._last_out: C | None = None

    def __call__(self, flt: Filter) -> C:
        """The native top-level ``Filter`` for ``flt``."""
        if flt is self._last:  # the same filter object as the previous call: no hashing
            return self._last_out  # type: ignore[return-value]
        out = self._cached(flt)
        self._last, self._last_out = flt, out
        return out

    def _cached(self, flt: Filter) -> C:
        # Filters compare equal across 1, 1.0 and True (Python's ==), which compile
        # differently: the operand types are part of the cache key.
        key = (flt, _types(flt, []))
        try:
            hit = self._cache.get(key)
        except TypeError:  # an unhashable operand somewhere: compile without caching
            return self._top(flt)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        out = self._top(flt)
        self._cache[key] = out
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return out

    def _top(self, flt: Filter) -> C:
        node = self.node(flt)
        return node if self.m.is_filter(node) else self.m.filter(must=[node])

    def node(self, flt: Filter) -> C:
        m = self.m
        if isinstance(flt, Cmp):
            path = payload_path(flt.key)
            if flt.cmp is Op.EQ:
                return self._eq(path, flt.value)
            if flt.cmp is Op.NE:
                return m.filter(must_not=[self._eq(path, flt.value)])
            v = float(flt.value)
            if type(flt.value) is int and int(v) != flt.value:
                # Qdrant's ranges are doubles: 2**53 + 1 would become 2**53 and match wrongly.
                raise UnsupportedFeatureError(
                    f"Qdrant compares ranges as doubles: the integer {flt.value} in "
                    f"{flt.key!r} {flt.cmp.value} is beyond 2**53 and cannot be compared exactly"
                )
            if flt.cmp is Op.LT:
                return m.range(path, lt=v)
            if flt.cmp is Op.LTE:
                return m.range(path, lte=v)
            if flt.cmp is Op.GT:
                return m.range(path, gt=v)
            return m.range(path, gte=v)
        if isinstance(flt, In):
            cond = self._in(payload_path(flt.key), flt.values)
            return m.filter(must_not=[cond]) if flt.negate else cond
        if isinstance(flt, Exists):
            path = payload_path(flt.key)
            return m.filter(
                must_not=[m.is_empty(path)],
                should=[
                    m.filter(must_not=[m.is_null(path)]),
                    m.match_except(path, [SENTINEL]),
                    m.match_value(path, SENTINEL),
                ],
            )
        if isinstance(flt, And):
            return m.filter(must=[self.node(c) for c in flt.children])
        if isinstance(flt, Or):
            return m.filter(should=[self.node(c) for c in flt.children])
        if isinstance(flt, Not):
            return m.filter(must_not=[self.node(flt.child)])
        raise UnsupportedFeatureError(f"the Qdrant adapter cannot compile {type(flt).__name__}")

    def _eq(self, path: str, value: Any) -> C:
        if isinstance(value, bool | str):
            return self.m.match_value(path, value)
        if isinstance(value, int) and abs(value) > EXACT_INT:
            return self.m.match_value(path, value)
        v = float(value)
        return self.m.range(path, gte=v, lte=v)

    def _in(self, path: str, values: tuple[Any, ...]) -> C:
        strings: list[str] = []
        big_ints: list[int] = []
        parts: list[C] = []
        seen_num: set[float] = set()
        seen_bool: set[bool] = set()
        for v in values:
            if isinstance(v, str):
                if v not in strings:
                    strings.append(v)
            elif isinstance(v, bool):
                if v not in seen_bool:
                    seen_bool.add(v)
                    parts.append(self.m.match_value(path, v))
            elif isinstance(v, int) and abs(v) > EXACT_INT:
                if v not in big_ints:
                    big_ints.append(v)
            else:
                f = float(v)
                if f not in seen_num:
                    seen_num.add(f)
                    parts.append(self.m.range(path, gte=f, lte=f))
        if strings:
            parts.insert(
                0,
                self.m.match_value(path, strings[0])
                if len(strings) == 1
                else self.m.match_any(path, strings),
            )
        if big_ints:
            parts.append(self.m.match_any(path, big_ints))
        return parts[0] if len(parts) == 1 else self.m.filter(should=parts)


def _types(flt: Filter, acc: list[type]) -> tuple[type, ...]:
    if isinstance(flt, Cmp):
        acc.append(type(flt.value))
    elif isinstance(flt, In):
        acc.extend(map(type, flt.values))
    elif isinstance(flt, And | Or):
        for c in flt.children:
            _types(c, acc)
    elif isinstance(flt, Not):
        _types(flt.child, acc)
    return tuple(acc)


# -- Qdrant Edge ------------------------------------------------------------------------------


class EdgeModels:
    """Model factory for ``qdrant_edge``."""

    def __init__(self) -> None:
        import numpy as np
        import qdrant_edge as qe

        self.qe = qe
        self._bool: Callable[[bool], Any] = np.bool_

    def match_value(self, key: str, value: str | int | bool) -> Any:
        qe = self.qe
        # qdrant_edge extracts Python bools as integers; numpy.bool_ is taken as a bool.
        v = self._bool(value) if isinstance(value, bool) else value
        return qe.FieldCondition(key, match=qe.MatchValue(v))

    def match_any(self, key: str, values: list[str] | list[int]) -> Any:
        qe = self.qe
        return qe.FieldCondition(key, match=qe.MatchAny(values))

    def match_except(self, key: str, values: list[str]) -> Any:
        qe = self.qe
        return qe.FieldCondition(key, match=qe.MatchExcept(values))

    def range(
        self,
        key: str,
        *,
        gt: float | None = None,
        gte: float | None = None,
        lt: float | None = None,
        lte: float | None = None,
    ) -> Any:
        qe = self.qe
        return qe.FieldCondition(key, range=qe.RangeFloat(gte=gte, gt=gt, lte=lte, lt=lt))

    def is_empty(self, key: str) -> Any:
        return self.qe.IsEmptyCondition(key)

    def is_null(self, key: str) -> Any:
        return self.qe.IsNullCondition(key)

    def filter(
        self,
        *,
        must: list[Any] | None = None,
        should: list[Any] | None = None,
        must_not: list[Any] | None = None,
    ) -> Any:
        return self.qe.Filter(must=must, should=should, must_not=must_not)

    def is_filter(self, node: Any) -> bool:
        return isinstance(node, self.qe.Filter)


# -- qdrant-client -----------------------------------------------------------------------------


class ClientModels:
    """Model factory for ``qdrant_client.models`` (server, cluster and local mode)."""

    def __init__(self) -> None:
        from qdrant_client import models

        self.models = models

    def match_value(self, key: str, value: str | int | bool) -> Any:
        m = self.models
        return m.FieldCondition(key=key, match=m.MatchValue(value=value))

    def match_any(self, key: str, values: list[str] | list[int]) -> Any:
        m = self.models
        return m.FieldCondition(key=key, match=m.MatchAny(any=values))

    def match_except(self, key: str, values: list[str]) -> Any:
        m = self.models
        return m.FieldCondition(key=key, match=m.MatchExcept(**{"except": values}))

    def range(
        self,
        key: str,
        *,
        gt: float | None = None,
        gte: float | None = None,
        lt: float | None = None,
        lte: float | None = None,
    ) -> Any:
        m = self.models
        return m.FieldCondition(key=key, range=m.Range(gt=gt, gte=gte, lt=lt, lte=lte))

    def is_empty(self, key: str) -> Any:
        m = self.models
        return m.IsEmptyCondition(is_empty=m.PayloadField(key=key))

    def is_null(self, key: str) -> Any:
        m = self.models
        return m.IsNullCondition(is_null=m.PayloadField(key=key))

    def filter(
        self,
        *,
        must: list[Any] | None = None,
        should: list[Any] | None = None,
        must_not: list[Any] | None = None,
    ) -> Any:
        return self.models.Filter(must=must, should=should, must_not=must_not)

    def is_filter(self, node: Any) -> bool:
        return isinstance(node, self.models.Filter)


def edge_compiler() -> FilterCompiler[Any]:
    return FilterCompiler(EdgeModels())


def client_compiler() -> FilterCompiler[Any]:
    return FilterCompiler(ClientModels())


__all__ = [
    "META",
    "ClientModels",
    "EdgeModels",
    "FilterCompiler",
    "ModelFactory",
    "client_compiler",
    "edge_compiler",
    "payload_path",
]
