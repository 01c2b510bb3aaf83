"""What every area of the conformance suite shares: fixtures, the reference comparison, data.

Each area is a mixin class (:mod:`vecctx.testing.conformance` lists them) deriving from
:class:`SuiteBase`; a test class combines the areas it runs and provides a ``store`` fixture.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from vecctx.contract.errors import StoreClosedError, UnsupportedFeatureError
from vecctx.contract.filters import F, Filter, Op
from vecctx.contract.store import Capabilities, SearchParams, VectorStore
from vecctx.contract.types import CollectionSpec, FieldType, Metric, Record
from vecctx.memory import MemoryStore

DIM = 8
EXACT = SearchParams(exact=True)


def new_name() -> str:
    """A collection name no other test uses."""
    return "c" + uuid.uuid4().hex[:12]


def ids_of(items: Any) -> list[str]:
    return [x.id for x in items]


def filter_using(op: Op) -> Filter:
    """A small filter whose operators are ``op`` (and ``eq`` for the connectives)."""
    table: dict[Op, Filter] = {
        Op.EQ: F("a") == 1,
        Op.NE: F("a") != 1,
        Op.LT: F("a") < 1,
        Op.LTE: F("a") <= 1,
        Op.GT: F("a") > 1,
        Op.GTE: F("a") >= 1,
        Op.IN: F("a").in_([1]),
        Op.NIN: F("a").nin([1]),
        Op.EXISTS: F("a").exists(),
        Op.AND: (F("a") == 1) & (F("b") == 1),
        Op.OR: (F("a") == 1) | (F("b") == 1),
        Op.NOT: ~F("a").exists(),
    }
    return table[op]


class SuiteBase:
    """Fixtures and helpers of every conformance area. The test class provides ``store``."""

    # -- fixtures the adapter may override ---------------------------------------------
    @pytest.fixture
    def reopen(self) -> Callable[[VectorStore], VectorStore] | None:
        """A callable that closes the given store and returns a new one over the same
        storage (enables the persistence test)."""
        return None

    @pytest.fixture
    def collection(self, store: VectorStore) -> Iterator[str]:
        """A unique collection name, dropped after the test when the store is still open."""
        name = new_name()
        yield name
        with contextlib.suppress(StoreClosedError):
            store.drop_collection(name, missing_ok=True)

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def caps(store: VectorStore) -> Capabilities:
        caps = store.capabilities
        assert isinstance(caps, Capabilities)
        return caps

    def search_params(self, store: VectorStore) -> SearchParams:
        """Exact search where the backend has it, else a generous ``ef``."""
        return EXACT if self.caps(store).exact_search else SearchParams(ef=256)

    @staticmethod
    def _fill(
        store: VectorStore,
        name: str,
        records: list[Record],
        *,
        metric: Metric = Metric.COSINE,
        sparse: bool = False,
        indexed: dict[str, FieldType] | None = None,
    ) -> MemoryStore:
        """Create ``name`` in ``store`` with ``records``, and the same in a reference store
        (returned)."""
        spec = CollectionSpec(
            name=name,
            dimension=len(records[0].vector),
            metric=metric,
            sparse=sparse,
            indexed_fields=indexed or {},
        )
        store.create_collection(spec)
        store.upsert(name, records)
        ref = MemoryStore()
        ref.create_collection(spec)
        ref.upsert(name, records)
        return ref

    def _check_filter(self, store: VectorStore, name: str, ref: MemoryStore, flt: Filter) -> None:
        """count, scroll and search under ``flt`` agree with the reference (or the operator
        is refused, before any I/O, where the backend declares no support for it)."""
        caps = self.caps(store)
        missing = flt.ops() - caps.filter_ops
        if missing:
            with pytest.raises(UnsupportedFeatureError):
                store.count(name, filter=flt)
            pytest.skip(f"{caps.name} declares no support for {sorted(missing)}")
        want = sorted(r.id for r in ref.scroll(name, filter=flt))
        assert store.count(name, filter=flt) == len(want), f"count for {flt.to_dict()}"
        assert sorted(r.id for r in store.scroll(name, filter=flt)) == want
        q = np.ones(DIM, dtype=np.float32)
        hits = store.search(name, vector=q, filter=flt, k=50, params=self.search_params(store))
        assert sorted(ids_of(hits)) == want, f"search for {flt.to_dict()}"


__all__ = ["DIM", "EXACT", "SuiteBase", "filter_using", "ids_of", "new_name"]
