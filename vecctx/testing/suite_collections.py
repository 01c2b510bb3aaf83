"""Conformance areas: collections (capabilities, lifecycle) and persistence across a reopen."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from vecctx.contract.errors import CollectionNotFoundError, ConfigError
from vecctx.contract.filters import ALL_OPS, F
from vecctx.contract.store import HybridSupport, VectorStore
from vecctx.contract.types import CollectionSpec, FieldType, Metric
from vecctx.testing.data import FLAT_METADATA, records_for
from vecctx.testing.suite_base import DIM, SuiteBase, ids_of, new_name


class CollectionTests(SuiteBase):
    """Declared capabilities; create, ensure, list, describe and drop collections."""

    def test_capabilities_are_declared(self, store: VectorStore) -> None:
        caps = self.caps(store)
        assert caps.name
        assert caps.metrics
        assert caps.filter_ops <= ALL_OPS
        assert caps.exact_search or caps.approximate
        if caps.hybrid is HybridSupport.NATIVE:
            assert caps.sparse and caps.fusions

    def test_collection_lifecycle(self, store: VectorStore, collection: str) -> None:
        spec = CollectionSpec(name=collection, dimension=DIM)
        assert not store.has_collection(collection)
        store.create_collection(spec)
        assert store.has_collection(collection)
        assert collection in store.list_collections()
        with pytest.raises(ConfigError):
            store.create_collection(spec)
        got = store.collection_spec(collection)
        assert (got.name, got.dimension, got.metric, got.sparse) == (collection, DIM, Metric.COSINE, False)
        store.drop_collection(collection)
        assert not store.has_collection(collection)
        with pytest.raises(CollectionNotFoundError):
            store.drop_collection(collection)
        store.drop_collection(collection, missing_ok=True)

    def test_ensure_collection(self, store: VectorStore, collection: str) -> None:
        spec = CollectionSpec(name=collection, dimension=DIM)
        store.ensure_collection(spec)
        store.upsert(collection, records_for(FLAT_METADATA[:2], DIM))
        store.ensure_collection(spec)
        assert store.count(collection) == 2
        with pytest.raises(ConfigError):
            store.ensure_collection(CollectionSpec(name=collection, dimension=DIM + 1))
        assert store.count(collection) == 2

    def test_unknown_collection(self, store: VectorStore, collection: str) -> None:
        rec = records_for(FLAT_METADATA[:1], DIM)
        with pytest.raises(CollectionNotFoundError):
            store.upsert(collection, rec)
        with pytest.raises(CollectionNotFoundError):
            store.search(collection, vector=np.ones(DIM), k=1)
        with pytest.raises(CollectionNotFoundError):
            store.count(collection)
        with pytest.raises(CollectionNotFoundError):
            store.get(collection, ["x"])
        with pytest.raises(CollectionNotFoundError):
            store.collection_spec(collection)

    def test_dropped_collection_is_gone_for_every_call(self, store: VectorStore, collection: str) -> None:
        """A collection used (and so known to the store) then dropped is not served from any
        cache: every later call says it does not exist."""
        self._fill(store, collection, records_for(FLAT_METADATA[:3], DIM))
        assert store.count(collection) == 3
        store.drop_collection(collection)
        with pytest.raises(CollectionNotFoundError):
            store.count(collection)
        with pytest.raises(CollectionNotFoundError):
            store.upsert(collection, records_for(FLAT_METADATA[:1], DIM))
        store.create_collection(CollectionSpec(name=collection, dimension=DIM + 1))
        assert store.collection_spec(collection).dimension == DIM + 1
        assert store.count(collection) == 0


class PersistenceTests(SuiteBase):
    """Data and specs survive closing and reopening (needs a ``reopen`` fixture)."""

    def test_persistence_roundtrip(
        self, store: VectorStore, reopen: Callable[[VectorStore], VectorStore] | None
    ) -> None:
        caps = self.caps(store)
        if not caps.persistent:
            pytest.skip(f"{caps.name} is not persistent")
        if reopen is None:
            pytest.skip("the adapter's tests provide no reopen fixture")
        name = new_name()
        recs = records_for(FLAT_METADATA, DIM)
        spec = CollectionSpec(
            name=name, dimension=DIM, metric=Metric.DOT, indexed_fields={"lang": FieldType.KEYWORD}
        )
        store.create_collection(spec)
        store.upsert(name, recs)
        before = ids_of(store.search(name, vector=np.ones(DIM), k=5, filter=F("lang") == "en"))
        again = reopen(store)
        try:
            got = again.collection_spec(name)
            assert (got.dimension, got.metric) == (DIM, Metric.DOT)
            assert again.count(name) == len(recs)
            assert ids_of(again.search(name, vector=np.ones(DIM), k=5, filter=F("lang") == "en")) == before
            (r,) = again.get(name, [recs[2].id])
            assert dict(r.metadata) == recs[2].metadata
        finally:
            again.drop_collection(name, missing_ok=True)
            again.close()


__all__ = ["CollectionTests", "PersistenceTests"]
