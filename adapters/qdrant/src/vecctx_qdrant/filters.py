"""One filter compiler for both Qdrant APIs (Qdrant Edge and qdrant-client).

:class:`QdrantFilterCompiler` holds the translation, spelling the nodes as
``qdrant_client.models`` builds them; :class:`EdgeFilterCompiler` re-spells the few that
``qdrant_edge`` constructs differently. The
front hands over filters in negation normal form, so the only ``Not`` left wraps a range or an
``exists``. The translation follows the reference semantics of :mod:`vecctx.contract.filters` (each
rule was checked against both engines, see ``tests/test_qdrant_filters.py``):

* user metadata lives under the payload key ``meta``: ``year`` is ``meta.year`` and
  ``author.name`` is ``meta.author.name`` (path segments that are not plain identifiers are
  quoted: ``meta."first name"``). Qdrant paths do not descend into lists either.
* ``eq`` on a string or a bool: ``MatchValue`` (a ``numpy.bool_`` on Edge, whose bindings read
  ``True`` as the integer 1). On a number: ``Range(gte=v, lte=v)``, because ``MatchValue`` has
  no floats and an integer match misses ``1.0`` stored for ``1``; a range never matches
  booleans or strings, as the reference wants. Integers of magnitude 2**53 or more use an
  integer ``MatchValue``: their double stands for more than one integer (2**53 + 1 becomes
  2**53), so a range would match the neighbours too (a float stored at that magnitude is not
  matched by an integer operand there).
* ``in``: strings as one ``MatchAny``, numbers as ranges (integers of 2**53 or more as one
  ``MatchAny``), bools as values, OR-ed.
* ``ne`` / ``nin``: ``must_not`` of ``eq`` / ``in`` (so a missing field matches).
* ranges: ``Range``; Qdrant's ranges, like the reference, match any numeric list element.
  Qdrant compares them as doubles, so an integer operand beyond 2**53 raises
  ``UnsupportedFeatureError`` rather than match the wrong records.
* ``exists``: Qdrant's ``IsEmpty`` treats ``[null]`` as present and its ``IsNull`` matches
  any list holding a null, so ``exists`` is ``must_not IsEmpty`` AND (``must_not IsNull``
  OR the field holds some non-null value, written as ``MatchExcept([s]) OR MatchValue(s)``
  for a sentinel string ``s``).
* ``and`` / ``or`` / ``not``: ``must`` / ``should`` / ``must_not`` of nested filters.
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

import numpy as np

from vecctx.contract.compiler import FilterCompiler
from vecctx.contract.errors import UnsupportedFeatureError
from vecctx.contract.filters import Cmp, Exists, Filter, In, Op

#: Payload key under which the user's metadata is stored.
META = "meta"
#: A string no metadata is expected to hold; see ``exists`` above (correct even if it does).
SENTINEL = "\x00vecctx:exists\x00"
#: Largest integer a double represents exactly.
EXACT_INT = 2**53

#: Most operand values one filter may hold (``Capabilities.max_filter_values``): each number in
#: an ``in`` list is a range of its own, checked against every record. Measured on 200 records
#: with OMP_NUM_THREADS=1: Qdrant Edge answers ``in_`` of 10,000 ints in 1.4 s (20,000: 3.2 s;
#: strings are one ``MatchAny``: 100,000 in 0.07 s); qdrant-client's local mode, pure Python,
#: takes 0.4 s for 200 ints and 3 s for 1,000.
MAX_FILTER_VALUES = 10_000
MAX_FILTER_VALUES_LOCAL = 1_000

_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


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


class QdrantFilterCompiler(FilterCompiler[Any]):
    """Compiles a filter in negation normal form into one API's ``Filter``; ``models`` is the
    API's module (``qdrant_edge`` or ``qdrant_client.models``)."""

    def __init__(self, models: Any) -> None:
        self.m = models

    def __call__(self, flt: Filter) -> Any:
        """The native top-level ``Filter`` for ``flt``."""
        node = self.compile(flt)
        return node if isinstance(node, self.m.Filter) else self.m.Filter(must=[node])

    # -- the nodes whose constructors differ between the two APIs (``qdrant_client``'s here) ---
    def match(self, key: str, value: str | int | bool) -> Any:
        return self.m.FieldCondition(key=key, match=self.m.MatchValue(value=value))

    def match_except(self, key: str, values: list[str]) -> Any:
        return self.m.FieldCondition(key=key, match=self.m.MatchExcept(**{"except": values}))

    def range(self, key: str, **bounds: float) -> Any:
        return self.m.FieldCondition(key=key, range=self.m.Range(**bounds))

    def is_empty(self, key: str) -> Any:
        return self.m.IsEmptyCondition(is_empty=self.m.PayloadField(key=key))

    def is_null(self, key: str) -> Any:
        return self.m.IsNullCondition(is_null=self.m.PayloadField(key=key))

    # -- the visitor ---------------------------------------------------------------------
    def visit_cmp(self, node: Cmp) -> Any:
        path = payload_path(node.key)
        if node.cmp is Op.EQ:
            return self._eq(path, node.value)
        if node.cmp is Op.NE:
            return self.m.Filter(must_not=[self._eq(path, node.value)])
        v = float(node.value)
        if type(node.value) is int and int(v) != node.value:
            # Qdrant's ranges are doubles: 2**53 + 1 would become 2**53 and match wrongly.
            raise UnsupportedFeatureError(
                f"Qdrant compares ranges as doubles: the integer {node.value} in "
                f"{node.key!r} {node.cmp.value} is beyond 2**53 and cannot be compared exactly"
            )
        bound = {Op.LT: "lt", Op.LTE: "lte", Op.GT: "gt", Op.GTE: "gte"}[node.cmp]
        return self.range(path, **{bound: v})

    def visit_in(self, node: In) -> Any:
        path = payload_path(node.key)
        # each group's values once, in order (dicts: linear in the list's length)
        strings: dict[str, None] = {}
        big_ints: dict[int, None] = {}
        numbers: dict[float, None] = {}
        bools: dict[bool, None] = {}
        for v in node.values:
            if isinstance(v, str):
                strings[v] = None
            elif isinstance(v, bool):
                bools[v] = None
            elif _inexact(v):
                big_ints[v] = None
            else:
                numbers[float(v)] = None
        parts = [self.match(path, b) for b in bools]
        if len(strings) == 1:
            parts.append(self.match(path, next(iter(strings))))
        elif strings:
            parts.append(self.m.FieldCondition(key=path, match=self.m.MatchAny(any=list(strings))))
        parts += [self.range(path, gte=f, lte=f) for f in numbers]
        if big_ints:
            parts.append(self.m.FieldCondition(key=path, match=self.m.MatchAny(any=list(big_ints))))
        cond = parts[0] if len(parts) == 1 else self.m.Filter(should=parts)
        return self.m.Filter(must_not=[cond]) if node.negate else cond

    def visit_exists(self, node: Exists) -> Any:
        path = payload_path(node.key)
        return self.m.Filter(
            must_not=[self.is_empty(path)],
            should=[
                self.m.Filter(must_not=[self.is_null(path)]),
                self.match_except(path, [SENTINEL]),
                self.match(path, SENTINEL),
            ],
        )

    def visit_not(self, node: Cmp | Exists) -> Any:
        return self.m.Filter(must_not=[self.compile(node)])

    def visit_and(self, children: list[Any]) -> Any:
        return self.m.Filter(must=children)

    def visit_or(self, children: list[Any]) -> Any:
        return self.m.Filter(should=children)

    def _eq(self, path: str, value: Any) -> Any:
        if isinstance(value, bool | str) or _inexact(value):
            return self.match(path, value)
        v = float(value)
        return self.range(path, gte=v, lte=v)


def _inexact(value: object) -> TypeGuard[int]:
    """Is ``value`` an integer whose double stands for more than one integer (2**53 + 1 becomes
    2**53)? Such an operand is matched as an integer: a range would match its neighbours."""
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) >= EXACT_INT


class EdgeFilterCompiler(QdrantFilterCompiler):
    """Writes ``qdrant_edge`` filters."""

    def __init__(self) -> None:
        import qdrant_edge

        super().__init__(qdrant_edge)

    def match(self, key: str, value: str | int | bool) -> Any:
        # qdrant_edge extracts Python bools as integers; numpy.bool_ is taken as a bool.
        return super().match(key, np.bool_(value) if isinstance(value, bool) else value)  # type: ignore[arg-type]

    def match_except(self, key: str, values: list[str]) -> Any:
        return self.m.FieldCondition(key=key, match=self.m.MatchExcept(values))

    def range(self, key: str, **bounds: float) -> Any:
        return self.m.FieldCondition(key=key, range=self.m.RangeFloat(**bounds))

    def is_empty(self, key: str) -> Any:
        return self.m.IsEmptyCondition(key)

    def is_null(self, key: str) -> Any:
        return self.m.IsNullCondition(key)


class ClientFilterCompiler(QdrantFilterCompiler):
    """Writes ``qdrant_client.models`` filters (server, cluster and local mode)."""

    def __init__(self) -> None:
        from qdrant_client import models

        super().__init__(models)


__all__ = [
    "MAX_FILTER_VALUES",
    "MAX_FILTER_VALUES_LOCAL",
    "META",
    "ClientFilterCompiler",
    "EdgeFilterCompiler",
    "QdrantFilterCompiler",
    "payload_path",
]
