"""The conformance suite every adapter runs (ours and third parties').

Use it by subclassing and providing a ``store`` fixture::

    from vecctx.testing import ConformanceSuite

    class TestMyStore(ConformanceSuite):
        @pytest.fixture
        def store(self, tmp_path):
            with MyStore(tmp_path) as s:
                yield s

Optional fixtures: ``reopen`` (a callable that closes the given store and returns a new
one over the same storage; enables the persistence test) and ``async_store`` (a native
async store over the same backend; enables the async parity test). Tests that need a
capability the store does not declare are skipped with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from vecctx.batch import RecordBatch
from vecctx.errors import (
    CollectionNotFoundError,
    ConfigError,
    DimensionMismatchError,
    InvalidFilterError,
    InvalidInputError,
    StoreClosedError,
    UnsupportedFeatureError,
)
from vecctx.filters import ALL_OPS, F, Filter, Op
from vecctx.memory import MemoryStore
from vecctx.store import AsyncVectorStore, Capabilities, Fusion, HybridSupport, SearchParams, VectorStore
from vecctx.testing.cases import FLAT_CASES, LIST_CASES, NESTED_CASES
from vecctx.testing.data import (
    FLAT_METADATA,
    LIST_METADATA,
    NESTED_METADATA,
    lowrank,
    lowrank_queries,
    recall_at_k,
    records_for,
)
from vecctx.types import CollectionSpec, FieldType, Metric, Record, ScoreKind, SparseVector

DIM = 8
EXACT = SearchParams(exact=True)


def _name() -> str:
    return "c" + uuid.uuid4().hex[:12]


def _ids(hits: list[Any]) -> list[str]:
    return [h.id for h in hits]


class ConformanceSuite:
    """Pytest mixin: the contract every :class:`~vecctx.store.VectorStore` must meet."""

    # -- fixtures the adapter may override ---------------------------------------------
    @pytest.fixture
    def reopen(self) -> Callable[[VectorStore], VectorStore] | None:
        return None

    @pytest.fixture
    def async_store(self) -> AsyncVectorStore | None:
        return None

    @pytest.fixture
    def collection(self, store: VectorStore) -> Iterator[str]:
        """A unique collection name, dropped after the test when the store is still open."""
        name = _name()
        yield name
        with contextlib.suppress(StoreClosedError):
            store.drop_collection(name, missing_ok=True)

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def caps(store: VectorStore) -> Capabilities:
        caps = store.capabilities
        assert isinstance(caps, Capabilities)
        return caps

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
        params = EXACT if caps.exact_search else SearchParams(ef=256)
        hits = store.search(name, vector=q, filter=flt, k=50, params=params)
        assert sorted(_ids(hits)) == want, f"search for {flt.to_dict()}"

    # -- collections -------------------------------------------------------------------
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

    # -- records -----------------------------------------------------------------------
    def test_upsert_get_roundtrip(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA, DIM)
        self._fill(store, collection, recs)
        assert store.count(collection) == len(recs)
        want = [recs[3], recs[0], recs[7]]
        got = store.get(collection, [r.id for r in want] + ["absent"], with_vectors=True)
        assert [g.id for g in got] == [r.id for r in want]
        for g, r in zip(got, want, strict=True):
            assert g.text == r.text
            assert dict(g.metadata) == r.metadata
            for key, value in r.metadata.items():
                assert type(g.metadata[key]) is type(value), f"type of {key} changed"
            v, w = np.asarray(g.vector, dtype=np.float64), np.asarray(r.vector, dtype=np.float64)
            cos = float(v @ w / (np.linalg.norm(v) * np.linalg.norm(w)))
            assert cos > 0.9999

    def test_upsert_is_idempotent_and_replaces(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA, DIM)
        self._fill(store, collection, recs)
        store.upsert(collection, recs)
        assert store.count(collection) == len(recs)
        changed = Record(id=recs[0].id, vector=recs[1].vector, text="new", metadata={"lang": "xx"})
        store.upsert(collection, [changed])
        assert store.count(collection) == len(recs)
        (got,) = store.get(collection, [recs[0].id])
        assert got.text == "new"
        assert dict(got.metadata) == {"lang": "xx"}
        assert store.count(collection, filter=F("lang") == "xx") == 1

    def test_delete(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA, DIM)
        ref = self._fill(store, collection, recs)
        store.delete(collection, ids=[recs[0].id, "absent"])
        assert store.count(collection) == len(recs) - 1
        assert store.get(collection, [recs[0].id]) == []
        flt = F("lang") == "de"
        n_de = ref.count(collection, filter=flt)
        assert n_de > 0
        store.delete(collection, filter=flt)
        assert store.count(collection, filter=flt) == 0
        assert store.count(collection) == len(recs) - 1 - n_de
        store.delete(collection, filter={"lang": {"$in": ["nobody"]}})
        assert store.count(collection) == len(recs) - 1 - n_de

    def test_scroll(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA, DIM)
        self._fill(store, collection, recs)
        got = list(store.scroll(collection, batch_size=5))
        assert sorted(r.id for r in got) == sorted(r.id for r in recs)
        by_id = {r.id: r for r in recs}
        for r in got:
            assert r.text == by_id[r.id].text
            assert dict(r.metadata) == by_id[r.id].metadata

    def test_metadata_roundtrip_types(self, store: VectorStore, collection: str) -> None:
        caps = self.caps(store)
        meta: dict[str, Any] = {
            "s": "ünïcødé ✓ \"'\\",
            "i": 7,
            "f": 2.5,
            "whole_float": 3.0,
            "t": True,
            "big": 2**53 + 1,
        }
        if caps.nested_keys:
            meta["obj"] = {"a": {"b": 1}}
        if caps.list_values:
            meta["l"] = ["x", "y"]
        self._fill(store, collection, [Record(id="ü/id with spaces", vector=np.ones(DIM), metadata=meta)])
        (got,) = store.get(collection, ["ü/id with spaces"])
        assert dict(got.metadata) == meta
        assert type(got.metadata["i"]) is int and type(got.metadata["whole_float"]) is float
        assert got.metadata["t"] is True

    def test_record_batch_equals_records(self, store: VectorStore, collection: str) -> None:
        """A RecordBatch (columns, vectors as one float64 matrix) stores exactly what the
        equivalent list of records stores; texts and metadata may be left out."""
        recs = records_for(FLAT_METADATA, DIM, seed=5)
        spec = CollectionSpec(name=collection, dimension=DIM)
        store.create_collection(spec)
        matrix = np.stack([np.asarray(r.vector, dtype=np.float64) for r in recs])
        store.upsert(
            collection,
            RecordBatch([r.id for r in recs], matrix, [r.text for r in recs], [r.metadata for r in recs]),
        )
        ref = MemoryStore()
        ref.create_collection(spec)
        ref.upsert(collection, recs)
        assert store.count(collection) == len(recs)
        got = store.get(collection, [r.id for r in recs], with_vectors=True)
        assert [g.id for g in got] == [r.id for r in recs]
        for g, r in zip(got, recs, strict=True):
            assert (g.text, dict(g.metadata)) == (r.text, r.metadata)
            v, w = np.asarray(g.vector, dtype=np.float64), np.asarray(r.vector, dtype=np.float64)
            assert float(v @ w / (np.linalg.norm(v) * np.linalg.norm(w))) > 0.9999
        for q in lowrank_queries(2, DIM, seed=5):
            want = ref.search(collection, vector=q, k=5, filter=F("lang") == "de")
            assert _ids(store.search(collection, vector=q, k=5, filter=F("lang") == "de")) == _ids(want)
        # Columns left out: no text, empty metadata; replaces the first two records.
        store.upsert(collection, RecordBatch([recs[0].id, recs[1].id], matrix[:2].tolist()))
        assert store.count(collection) == len(recs)
        for g in store.get(collection, [recs[0].id, recs[1].id]):
            assert g.text is None and dict(g.metadata) == {}

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

    # -- bad input ---------------------------------------------------------------------
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

    def test_closed_store_raises(self, store: VectorStore, collection: str) -> None:
        store.create_collection(CollectionSpec(name=collection, dimension=DIM))
        store.close()
        with pytest.raises(StoreClosedError):
            store.count(collection)
        with pytest.raises(StoreClosedError):
            store.upsert(collection, records_for(FLAT_METADATA[:1], DIM))

    def test_batch_larger_than_backend_limit(self, store: VectorStore, collection: str) -> None:
        caps = self.caps(store)
        n = (caps.max_batch or 4096) + 17
        vecs = lowrank(n, DIM, rank=4, seed=3)
        recs = [Record(id=f"b{i}", vector=vecs[i], metadata={"i": i}) for i in range(n)]
        store.create_collection(CollectionSpec(name=collection, dimension=DIM))
        store.upsert(collection, recs)
        assert store.count(collection) == n
        assert store.count(collection, filter=F("i") >= n - 17) == 17

    # -- filters -----------------------------------------------------------------------
    @pytest.mark.parametrize(("case", "flt"), FLAT_CASES, ids=[c for c, _ in FLAT_CASES])
    def test_filter_flat(self, store: VectorStore, collection: str, case: str, flt: Filter) -> None:
        ref = self._fill(store, collection, records_for(FLAT_METADATA, DIM))
        self._check_filter(store, collection, ref, flt)

    @pytest.mark.parametrize(("case", "flt"), NESTED_CASES, ids=[c for c, _ in NESTED_CASES])
    def test_filter_nested(self, store: VectorStore, collection: str, case: str, flt: Filter) -> None:
        if not self.caps(store).nested_keys:
            pytest.skip("backend declares nested_keys=False")
        ref = self._fill(store, collection, records_for(NESTED_METADATA, DIM))
        self._check_filter(store, collection, ref, flt)

    @pytest.mark.parametrize(("case", "flt"), LIST_CASES, ids=[c for c, _ in LIST_CASES])
    def test_filter_lists(self, store: VectorStore, collection: str, case: str, flt: Filter) -> None:
        if not self.caps(store).list_values:
            pytest.skip("backend declares list_values=False")
        ref = self._fill(store, collection, records_for(LIST_METADATA, DIM))
        self._check_filter(store, collection, ref, flt)

    def test_filter_on_indexed_fields(self, store: VectorStore, collection: str) -> None:
        indexed = {"year": FieldType.FLOAT, "lang": FieldType.KEYWORD, "draft": FieldType.BOOL}
        ref = self._fill(store, collection, records_for(FLAT_METADATA, DIM), indexed=indexed)
        for flt in [
            F("lang") == "en",
            (F("year") >= 2020) & (F("draft") == True),  # noqa: E712
            F("year") == 2020,
            F("lang") != "de",
        ]:
            self._check_filter(store, collection, ref, flt)

    def test_unsupported_operator_raises_before_io(self, store: VectorStore, collection: str) -> None:
        caps = self.caps(store)
        missing = ALL_OPS - caps.filter_ops
        if not missing:
            pytest.skip("backend supports every operator")
        store.create_collection(CollectionSpec(name=collection, dimension=DIM))
        op = sorted(missing)[0]
        flt = _filter_using(op)
        with pytest.raises(UnsupportedFeatureError):
            store.search(collection, vector=np.ones(DIM), filter=flt)

    # -- scores ------------------------------------------------------------------------
    @pytest.mark.parametrize("metric", list(Metric))
    def test_scores_follow_reference(self, store: VectorStore, collection: str, metric: Metric) -> None:
        caps = self.caps(store)
        if metric not in caps.metrics:
            pytest.skip(f"{caps.name} has no {metric.value} metric")
        recs = records_for(FLAT_METADATA, DIM, seed=5)
        ref = self._fill(store, collection, recs, metric=metric)
        scale = 1.5 if metric is Metric.COSINE else 1.0
        q = np.asarray(recs[4].vector, dtype=np.float32) * scale
        params = EXACT if caps.exact_search else SearchParams(ef=256)
        hits = store.search(collection, vector=q, k=len(recs), params=params)
        want = ref.search(collection, vector=q, k=len(recs))
        assert _ids(hits) == _ids(want)
        if metric is not Metric.DOT:
            assert hits[0].id == recs[4].id
        for h, w in zip(hits, want, strict=True):
            assert h.kind is ScoreKind(metric.value)
            assert h.score == pytest.approx(w.score, rel=1e-3, abs=1e-3)
            assert 0.0 <= h.relevance <= 1.0
        rel = [h.relevance for h in hits]
        assert rel == sorted(rel, reverse=True)
        top = next(r for r in recs if r.id == hits[0].id)
        assert hits[0].text == top.text and dict(hits[0].metadata or {}) == top.metadata
        bare = store.search(collection, vector=q, k=3, params=params, with_payload=False)
        assert _ids(bare) == _ids(want)[:3]

    @pytest.mark.parametrize("metric", list(Metric))
    def test_plain_search_matches_reference(
        self, store: VectorStore, collection: str, metric: Metric
    ) -> None:
        """The plainest call (a numpy vector, default parameters) is the one adapters give a
        fast path; it must return what the reference returns, field by field, and the same
        for a float64 array and a list."""
        caps = self.caps(store)
        if metric not in caps.metrics:
            pytest.skip(f"{caps.name} has no {metric.value} metric")
        recs = records_for(FLAT_METADATA, DIM, seed=9)
        ref = self._fill(store, collection, recs, metric=metric)
        for q in lowrank_queries(3, DIM, seed=9):
            got = store.search(collection, vector=q, k=4)
            want = ref.search(collection, vector=q, k=4)
            assert _ids(got) == _ids(want)
            for h, w in zip(got, want, strict=True):
                assert (h.kind, h.text, dict(h.metadata or {})) == (w.kind, w.text, dict(w.metadata or {}))
                assert h.score == pytest.approx(w.score, rel=1e-3, abs=1e-3)
                assert h.relevance == pytest.approx(w.relevance, rel=1e-3, abs=1e-3)
                assert h.vector is None and h.sparse is None
            assert _ids(store.search(collection, vector=q.astype(np.float64), k=4)) == _ids(got)
            assert _ids(store.search(collection, vector=q.tolist(), k=4)) == _ids(got)

    @pytest.mark.parametrize("metric", list(Metric))
    def test_bad_query_vectors_raise(self, store: VectorStore, collection: str, metric: Metric) -> None:
        """Every bad query vector raises InvalidInputError, as numpy float32 or float64, on an
        empty collection and on a filled one, whatever fast path the adapter takes."""
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

    def test_exact_search_matches_reference(self, store: VectorStore, collection: str) -> None:
        caps = self.caps(store)
        if not caps.exact_search:
            pytest.skip(f"{caps.name} has no exact search")
        vecs = lowrank(500, 16, rank=8, seed=7)
        recs = [Record(id=f"e{i}", vector=vecs[i], metadata={"g": i % 3}) for i in range(500)]
        ref = self._fill(store, collection, recs)
        for q in lowrank_queries(10, 16, rank=8, seed=7):
            got = store.search(collection, vector=q, k=10, params=EXACT)
            want = ref.search(collection, vector=q, k=10)
            assert _ids(got) == _ids(want)
            got_f = store.search(collection, vector=q, k=10, params=EXACT, filter=F("g") == 1)
            want_f = ref.search(collection, vector=q, k=10, filter=F("g") == 1)
            assert _ids(got_f) == _ids(want_f)

    def test_approximate_recall(self, store: VectorStore, collection: str) -> None:
        vecs = lowrank(3000, 32, rank=16, seed=11)
        recs = [Record(id=f"a{i}", vector=vecs[i]) for i in range(len(vecs))]
        ref = self._fill(store, collection, recs)
        store.optimize(collection)
        queries = lowrank_queries(50, 32, rank=16, seed=11)
        found = [_ids(store.search(collection, vector=q, k=10)) for q in queries]
        truth = [_ids(ref.search(collection, vector=q, k=10)) for q in queries]
        assert recall_at_k(found, truth, 10) >= 0.95

    # -- sparse and hybrid -------------------------------------------------------------
    def _sparse_fixture(self, store: VectorStore, collection: str) -> MemoryStore:
        vecs = lowrank(40, DIM, rank=4, seed=13)
        rng = np.random.default_rng(13)
        recs = []
        for i in range(40):
            terms = sorted(rng.choice(50, size=5, replace=False).tolist())
            weights = [round(float(w), 3) for w in rng.uniform(0.1, 3.0, size=5)]
            recs.append(
                Record(
                    id=f"s{i}",
                    vector=vecs[i],
                    text=f"doc {i}",
                    metadata={"even": i % 2 == 0},
                    sparse=SparseVector(tuple(terms), tuple(weights)),
                )
            )
        return self._fill(store, collection, recs, sparse=True)

    def test_sparse_search(self, store: VectorStore, collection: str) -> None:
        caps = self.caps(store)
        if not caps.sparse:
            pytest.skip(f"{caps.name} has no sparse vectors")
        ref = self._sparse_fixture(store, collection)
        q = SparseVector((3, 7, 11, 20), (1.0, 0.5, 2.0, 1.5))
        got = store.search(collection, sparse=q, k=10)
        want = ref.search(collection, sparse=q, k=10)
        assert _ids(got) == _ids(want)
        for g, w in zip(got, want, strict=True):
            assert g.kind is ScoreKind.SPARSE_DOT
            assert g.score == pytest.approx(w.score, rel=1e-3)
        got_f = store.search(collection, sparse=q, k=10, filter=F("even") == True)  # noqa: E712
        want_f = ref.search(collection, sparse=q, k=10, filter=F("even") == True)  # noqa: E712
        assert _ids(got_f) == _ids(want_f)

    def test_sparse_record_batch(self, store: VectorStore, collection: str) -> None:
        """Sparse vectors given as a RecordBatch column are stored like the records' own."""
        caps = self.caps(store)
        if not caps.sparse:
            pytest.skip(f"{caps.name} has no sparse vectors")
        ref = self._sparse_fixture(store, collection + "_ref")
        recs = [r for r in ref.scroll(collection + "_ref", with_vectors=True)]
        store.create_collection(CollectionSpec(name=collection, dimension=DIM, sparse=True))
        store.upsert(
            collection,
            RecordBatch(
                [r.id for r in recs],
                np.stack([np.asarray(r.vector) for r in recs]),
                metadata=[r.metadata for r in recs],
                sparse=[None if i == 0 else r.sparse for i, r in enumerate(recs)],
            ),
        )
        q = SparseVector((3, 7, 11, 20), (1.0, 0.5, 2.0, 1.5))
        want = [h for h in ref.search(collection + "_ref", sparse=q, k=41) if h.id != recs[0].id][:10]
        got = store.search(collection, sparse=q, k=10)
        assert _ids(got) == _ids(want)
        assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-3)

    @pytest.mark.parametrize("fusion", list(Fusion))
    def test_native_hybrid(self, store: VectorStore, collection: str, fusion: Fusion) -> None:
        caps = self.caps(store)
        if caps.hybrid is not HybridSupport.NATIVE or fusion not in caps.fusions:
            pytest.skip(f"{caps.name} has no native {fusion.value} hybrid search")
        ref = self._sparse_fixture(store, collection)
        q = SparseVector((3, 7, 11, 20), (1.0, 0.5, 2.0, 1.5))
        dense = np.asarray(lowrank(1, DIM, rank=4, seed=13)[0])
        params = SearchParams(exact=caps.exact_search, prefetch_k=40)
        got = store.search(collection, vector=dense, sparse=q, k=5, fusion=fusion, params=params)
        want = ref.search(collection, vector=dense, sparse=q, k=5, fusion=fusion, params=params)
        assert len(got) == 5
        assert all(h.kind is ScoreKind(fusion.value) for h in got)
        assert all(0.0 <= h.relevance <= 1.0 for h in got)
        assert [h.score for h in got] == sorted((h.score for h in got), reverse=True)
        if fusion is Fusion.RRF:
            # RRF scores are exact; ties may be ordered differently, so compare scores per id.
            every = {
                h.id: h.score
                for h in ref.search(collection, vector=dense, sparse=q, k=40, fusion=fusion, params=params)
            }
            assert [h.score for h in got] == pytest.approx([w.score for w in want], rel=1e-6)
            for h in got:
                assert h.score == pytest.approx(every[h.id], rel=1e-6)
        else:
            assert got[0].id == want[0].id

    def test_sparse_rejected_without_sparse_collection(self, store: VectorStore, collection: str) -> None:
        self._fill(store, collection, records_for(FLAT_METADATA[:2], DIM))
        with pytest.raises((InvalidInputError, UnsupportedFeatureError)):
            store.search(collection, sparse=SparseVector((1,), (1.0,)), k=1)

    # -- persistence and async -----------------------------------------------------------
    def test_persistence_roundtrip(
        self, store: VectorStore, reopen: Callable[[VectorStore], VectorStore] | None
    ) -> None:
        caps = self.caps(store)
        if not caps.persistent:
            pytest.skip(f"{caps.name} is not persistent")
        if reopen is None:
            pytest.skip("the adapter's tests provide no reopen fixture")
        name = _name()
        recs = records_for(FLAT_METADATA, DIM)
        spec = CollectionSpec(
            name=name, dimension=DIM, metric=Metric.DOT, indexed_fields={"lang": FieldType.KEYWORD}
        )
        store.create_collection(spec)
        store.upsert(name, recs)
        before = _ids(store.search(name, vector=np.ones(DIM), k=5, filter=F("lang") == "en"))
        again = reopen(store)
        try:
            got = again.collection_spec(name)
            assert (got.dimension, got.metric) == (DIM, Metric.DOT)
            assert again.count(name) == len(recs)
            assert _ids(again.search(name, vector=np.ones(DIM), k=5, filter=F("lang") == "en")) == before
            (r,) = again.get(name, [recs[2].id])
            assert dict(r.metadata) == recs[2].metadata
        finally:
            again.drop_collection(name, missing_ok=True)
            again.close()

    def test_async_parity(self, store: VectorStore, async_store: AsyncVectorStore | None) -> None:
        caps = self.caps(store)
        if not caps.async_native:
            pytest.skip(f"{caps.name} has no native async client")
        if async_store is None:
            pytest.skip("the adapter's tests provide no async_store fixture")
        name = _name()
        recs = records_for(FLAT_METADATA, DIM)
        q = np.ones(DIM, dtype=np.float32)

        async def run() -> tuple[list[str], int, list[str]]:
            await async_store.create_collection(CollectionSpec(name=name, dimension=DIM))
            await async_store.upsert(name, recs)
            params = EXACT if caps.exact_search else SearchParams(ef=256)
            hits = await async_store.search(name, vector=q, k=5, params=params, filter=F("lang") == "en")
            n = await async_store.count(name, filter=F("year") >= 2020)
            scrolled = [r.id async for r in async_store.scroll(name)]
            await async_store.drop_collection(name)
            return _ids(hits), n, scrolled

        hits, n, scrolled = asyncio.run(run())
        ref = MemoryStore()
        ref.create_collection(CollectionSpec(name=name, dimension=DIM))
        ref.upsert(name, recs)
        assert hits == _ids(ref.search(name, vector=q, k=5, filter=F("lang") == "en"))
        assert n == ref.count(name, filter=F("year") >= 2020)
        assert sorted(scrolled) == sorted(r.id for r in recs)


def _filter_using(op: Op) -> Filter:
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


__all__ = ["ConformanceSuite"]
