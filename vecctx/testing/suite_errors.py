"""Conformance area: bad input is refused whole (nothing written) and a closed store refuses
every call."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from vecctx.contract.batch import RecordBatch
from vecctx.contract.errors import (
    DimensionMismatchError,
    InvalidFilterError,
    InvalidInputError,
    StoreClosedError,
    UnsupportedFeatureError,
)
from vecctx.contract.store import VectorStore
from vecctx.contract.types import CollectionSpec, Metric, Record, SparseVector
from vecctx.testing.data import FLAT_METADATA, records_for
from vecctx.testing.suite_base import DIM, SuiteBase


class ErrorTests(SuiteBase):
    """Invalid records, batches, queries and filters raise the typed error and write nothing;
    a closed store raises ``StoreClosedError``."""

    def test_bad_input_writes_nothing(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA[:3], DIM)
        self._fill(store, collection, recs)
        good = records_for(FLAT_METADATA[3:6], DIM, prefix="new")
        nan = np.ones(DIM)
        nan[2] = math.nan
        inf = np.ones(DIM)
        inf[0] = math.inf
        bad_batches: list[tuple[type[Exception], list[Record]]] = [
            (DimensionMismatchError, [*good, Record(id="bad", vector=np.ones(DIM + 1))]),
            (InvalidInputError, [*good, Record(id="bad", vector=nan)]),
            (InvalidInputError, [*good, Record(id="bad", vector=inf)]),
            (InvalidInputError, [*good, Record(id="", vector=np.ones(DIM))]),
            (InvalidInputError, [*good, Record(id=good[0].id, vector=np.ones(DIM))]),
            (InvalidInputError, [*good, Record(id="bad", vector=np.ones(DIM), metadata={"o": object()})]),
            (InvalidInputError, [*good, Record(id="bad", vector=np.ones(DIM), metadata={"a.b": 1})]),
            (InvalidInputError, [*good, Record(id="bad", vector=np.ones(DIM), metadata={"x": math.nan})]),
            (InvalidInputError, [*good, Record(id="bad", vector=np.ones(DIM), metadata={"x": "y" * 70_000})]),
            (InvalidInputError, [*good, Record(id="bad", vector=["a"] * DIM)]),  # type: ignore[list-item]
        ]
        for exc, batch in bad_batches:
            with pytest.raises(exc):
                store.upsert(collection, batch)
            assert store.count(collection) == 3, f"a rejected batch wrote records ({exc.__name__})"
        with pytest.raises(DimensionMismatchError):
            store.search(collection, vector=np.ones(DIM - 1))
        with pytest.raises(InvalidInputError):
            store.search(collection, vector=np.ones(DIM), k=0)
        with pytest.raises(InvalidInputError):
            store.search(collection, vector=[math.nan] * DIM)
        with pytest.raises(InvalidFilterError):
            store.search(collection, vector=np.ones(DIM), filter={"year": {"$bogus": 1}})
        with pytest.raises(InvalidFilterError):
            store.count(collection, filter={"$or": []})
        with pytest.raises(InvalidFilterError):
            store.delete(collection, filter={"year": {"$gt": "2020"}})
        assert store.count(collection) == 3

    def test_bad_record_batch_writes_nothing(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA[:3], DIM)
        self._fill(store, collection, recs)
        ids = ["n1", "n2", "n3"]
        ok = np.ones((3, DIM))
        nan = ok.copy()
        nan[2, 1] = math.nan
        bad: list[tuple[type[Exception], Callable[[], RecordBatch]]] = [
            (InvalidInputError, lambda: RecordBatch(ids, nan)),
            (DimensionMismatchError, lambda: RecordBatch(ids, np.ones((3, DIM + 1)))),
            (InvalidInputError, lambda: RecordBatch(["n1", "n2", "n1"], ok)),
            (InvalidInputError, lambda: RecordBatch(ids, ok, metadata=[{}, {}, {"a.b": 1}])),
            (InvalidInputError, lambda: RecordBatch(ids, ok, texts=["a", "b", 3])),  # type: ignore[list-item]
            (InvalidInputError, lambda: RecordBatch(ids, ok[:2])),
        ]
        for exc, make in bad:
            with pytest.raises(exc):
                store.upsert(collection, make())
            assert store.count(collection) == 3, f"a rejected batch wrote records ({exc.__name__})"

    @pytest.mark.parametrize("metric", list(Metric))
    def test_bad_query_vectors_raise(self, store: VectorStore, collection: str, metric: Metric) -> None:
        """Every bad query vector raises InvalidInputError, as numpy float32 or float64, on an
        empty collection and on a filled one."""
        caps = self.caps(store)
        if metric not in caps.metrics:
            pytest.skip(f"{caps.name} has no {metric.value} metric")
        store.create_collection(CollectionSpec(name=collection, dimension=DIM, metric=metric))
        bad: list[Any] = []
        for dtype in (np.float32, np.float64):
            for value in (math.nan, math.inf, -math.inf):
                v = np.ones(DIM, dtype=dtype)
                v[DIM // 2] = value
                bad.append(v)
        huge = np.ones(DIM)
        huge[0] = 1e300  # finite as float64, infinite once stored as float32
        bad += [
            huge,
            np.ones((1, DIM), dtype=np.float32),
            np.ones((DIM, 2), dtype=np.float32),
            np.float32(1.0),
            np.ones(DIM + 1, dtype=np.float32),
        ]
        for filled in (False, True):
            if filled:
                store.upsert(collection, records_for(FLAT_METADATA, DIM))
            for v in bad:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow on the cast
                    with pytest.raises(InvalidInputError):
                        store.search(collection, vector=v, k=3)
        assert store.count(collection) == len(FLAT_METADATA)

    def test_sparse_rejected_without_sparse_collection(self, store: VectorStore, collection: str) -> None:
        self._fill(store, collection, records_for(FLAT_METADATA[:2], DIM))
        with pytest.raises((InvalidInputError, UnsupportedFeatureError)):
            store.search(collection, sparse=SparseVector((1,), (1.0,)), k=1)

    def test_closed_store_raises(self, store: VectorStore, collection: str) -> None:
        store.create_collection(CollectionSpec(name=collection, dimension=DIM))
        store.close()
        with pytest.raises(StoreClosedError):
            store.count(collection)
        with pytest.raises(StoreClosedError):
            store.upsert(collection, records_for(FLAT_METADATA[:1], DIM))
        with pytest.raises(StoreClosedError):
            store.search(collection, vector=np.ones(DIM), k=1)
        with pytest.raises(StoreClosedError):
            store.scroll(collection)
        with pytest.raises(StoreClosedError):
            store.list_collections()
        store.close()  # closing twice is harmless


__all__ = ["ErrorTests"]
