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
    CollectionNotFoundError,
    ConfigError,
    DimensionMismatchError,
    InvalidFilterError,
    InvalidInputError,
    StoreClosedError,
    UnsupportedFeatureError,
)
from vecctx.contract.filters import F
from vecctx.contract.store import VectorStore
from vecctx.contract.types import MAX_COLLECTION_NAME, CollectionSpec, Metric, Record, SparseVector
from vecctx.testing.data import FLAT_METADATA, records_for
from vecctx.testing.suite_base import DIM, SuiteBase, new_name

#: Names the one collection-name rule refuses (the spec raises ``ConfigError``).
INVALID_NAMES = [
    "données",
    "名前",
    "x" * (MAX_COLLECTION_NAME + 1),
    "1abc",
    "_abc",
    "-abc",
    "a.b",
    "a b",
    "../x",
    "a/b",
    ".",
    "a\x00b",
    "\uff41\uff42\uff43",  # full-width letters
]
#: Values that are not the text of a name at all (``InvalidInputError``).
NOT_NAMES: list[Any] = ["", "\ud800", "a\udfff", 5, None, b"abc", ["a"]]


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

    def test_every_valid_collection_name_works(self, store: VectorStore) -> None:
        """A name the spec accepts works on every backend (each maps it to a name its engine
        takes), and names differing only in case or in '-' / '_' are distinct collections."""
        stem = new_name()
        names = [
            "a",
            "Z",
            f"{stem}-",
            f"{stem}_",
            f"{stem}-x_y",
            f"{stem}_x-y",
            f"Up{stem}",
            f"up{stem}",
            f"vxh_{stem}",  # Milvus's prefix for its encoded names
            f"vecctx-{stem}-0123456789",  # the shape of Chroma's stand-ins
            (stem + "x" * MAX_COLLECTION_NAME)[:MAX_COLLECTION_NAME],
            (stem + "-" * MAX_COLLECTION_NAME)[:MAX_COLLECTION_NAME],
        ]
        try:
            for n, name in enumerate(names):
                store.create_collection(CollectionSpec(name=name, dimension=DIM))
                store.upsert(name, records_for(FLAT_METADATA[: n + 1], DIM))
            listed = store.list_collections()
            for n, name in enumerate(names):
                assert name in listed, name
                assert store.has_collection(name), name
                assert store.collection_spec(name).name == name
                assert store.count(name) == n + 1, name  # its own records, no other's
        finally:
            dropped = [name for name in names if self._dropped(store, name)]
        assert not set(dropped) & set(store.list_collections())

    def test_invalid_collection_names_are_refused(self, store: VectorStore, collection: str) -> None:
        """A name outside the one rule is refused by the spec itself and names no collection on
        any backend; a name that is not text at all is an ``InvalidInputError``."""
        self._fill(store, collection, records_for(FLAT_METADATA[:2], DIM))
        for name in INVALID_NAMES:
            with pytest.raises(ConfigError):
                CollectionSpec(name=name, dimension=DIM)
            assert not store.has_collection(name)
            with pytest.raises(CollectionNotFoundError):
                store.count(name)
            if self._dropped(store, name):
                with pytest.raises(CollectionNotFoundError):
                    store.drop_collection(name)
        for junk in NOT_NAMES:
            with pytest.raises(InvalidInputError):
                store.count(junk)
            with pytest.raises(InvalidInputError):
                store.has_collection(junk)
            with pytest.raises(InvalidInputError):
                store.get(junk, ["x"])
            if self._dropped(store, collection + "-missing"):
                with pytest.raises(InvalidInputError):
                    store.drop_collection(junk, missing_ok=True)
        assert store.count(collection) == 2

    def test_lone_surrogates_are_refused(self, store: VectorStore, collection: str) -> None:
        """A string that is not text (a lone surrogate: it cannot be encoded as UTF-8) is refused
        wherever it appears, before anything is written; a real surrogate pair is text."""
        self._fill(store, collection, records_for(FLAT_METADATA[:2], DIM))
        v = np.ones(DIM)
        bad = [
            Record(id="bad\ud800", vector=v),
            Record(id="bad", vector=v, text="x\udfff"),
            Record(id="bad", vector=v, metadata={"k\ud83d": 1}),
            Record(id="bad", vector=v, metadata={"k": "\udc80"}),
            Record(id="bad", vector=v, metadata={"k": {"l": ["x", "\ud800"]}}),
        ]
        for record in bad:
            with pytest.raises(InvalidInputError):
                store.upsert(collection, [Record(id="fine", vector=v), record])
        for call in (
            lambda: store.get(collection, ["\ud800"]),
            lambda: store.delete(collection, ids=["\ud800"]),
            lambda: store.count(collection, filter={"year": "\ud800"}),
            lambda: store.count(collection, filter={"\ud800": 1}),
            lambda: store.delete(collection, filter=F("tag").in_(["a", "\udfff"])),
            lambda: store.search(collection, vector=v, filter=F("tag") == "\ud800"),
        ):
            with pytest.raises(InvalidInputError):
                call()
        assert store.count(collection) == 2
        emoji = "\U0001f600"
        store.upsert(collection, [Record(id=emoji, vector=v, text=emoji, metadata={"e": emoji})])
        assert [r.metadata["e"] for r in store.get(collection, [emoji])] == [emoji]

    def test_vectors_of_strings_or_booleans_are_refused(self, store: VectorStore, collection: str) -> None:
        """Booleans and numeric strings are not coerced into numbers: the batch is refused."""
        self._fill(store, collection, records_for(FLAT_METADATA[:2], DIM))
        bad: list[Any] = [
            [True, False] * (DIM // 2),
            np.ones(DIM, dtype=bool),
            ["1"] * DIM,
            np.array(["0.5"] * DIM),
            np.array(["1"] * DIM, dtype=object),
            np.array([True] * DIM, dtype=object),
            np.ones(DIM, dtype=np.complex64),
        ]
        for vector in bad:
            with pytest.raises(InvalidInputError):
                store.upsert(collection, [Record(id="new", vector=vector)])
            with pytest.raises(InvalidInputError):
                store.upsert(collection, RecordBatch(["new"], [vector]))
            with pytest.raises(InvalidInputError):
                store.search(collection, vector=vector, k=1)
        with pytest.raises(InvalidInputError):
            store.upsert(collection, RecordBatch(["n1", "n2"], np.ones((2, DIM), dtype=bool)))
        with pytest.raises(InvalidInputError):
            store.count(collection, filter={"year": 2**64})  # no stored integer is that large
        assert store.count(collection) == 2

    @staticmethod
    def _dropped(store: VectorStore, name: str) -> bool:
        """Drop ``name`` if it exists; false for a store that never drops (a tenant scope)."""
        try:
            store.drop_collection(name, missing_ok=True)
        except UnsupportedFeatureError:
            return False
        return True

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
