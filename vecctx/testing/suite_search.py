"""Conformance areas: dense search (scores, exact and approximate, batches) and sparse/hybrid."""

from __future__ import annotations

import numpy as np
import pytest

from vecctx.contract.batch import RecordBatch
from vecctx.contract.filters import F
from vecctx.contract.store import Fusion, HybridSupport, SearchParams, SearchRequest, VectorStore
from vecctx.contract.types import CollectionSpec, Metric, Record, ScoreKind, SparseVector
from vecctx.memory import MemoryStore
from vecctx.testing.data import FLAT_METADATA, lowrank, lowrank_queries, recall_at_k, records_for
from vecctx.testing.suite_base import DIM, EXACT, SuiteBase, ids_of


class SearchTests(SuiteBase):
    """Dense search returns what the exact reference returns: ids, order, scores, payloads."""

    @pytest.mark.parametrize("metric", list(Metric))
    def test_scores_follow_reference(self, store: VectorStore, collection: str, metric: Metric) -> None:
        caps = self.caps(store)
        if metric not in caps.metrics:
            pytest.skip(f"{caps.name} has no {metric.value} metric")
        recs = records_for(FLAT_METADATA, DIM, seed=5)
        ref = self._fill(store, collection, recs, metric=metric)
        scale = 1.5 if metric is Metric.COSINE else 1.0
        q = np.asarray(recs[4].vector, dtype=np.float32) * scale
        params = self.search_params(store)
        hits = store.search(collection, vector=q, k=len(recs), params=params)
        want = ref.search(collection, vector=q, k=len(recs))
        assert ids_of(hits) == ids_of(want)
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
        assert ids_of(bare) == ids_of(want)[:3]

    @pytest.mark.parametrize("metric", list(Metric))
    def test_plain_search_matches_reference(
        self, store: VectorStore, collection: str, metric: Metric
    ) -> None:
        """The plainest call (a numpy vector, default parameters) returns what the reference
        returns, field by field, and the same for a float64 array and a list."""
        caps = self.caps(store)
        if metric not in caps.metrics:
            pytest.skip(f"{caps.name} has no {metric.value} metric")
        recs = records_for(FLAT_METADATA, DIM, seed=9)
        ref = self._fill(store, collection, recs, metric=metric)
        for q in lowrank_queries(3, DIM, seed=9):
            got = store.search(collection, vector=q, k=4)
            want = ref.search(collection, vector=q, k=4)
            assert ids_of(got) == ids_of(want)
            for h, w in zip(got, want, strict=True):
                assert (h.kind, h.text, dict(h.metadata or {})) == (w.kind, w.text, dict(w.metadata or {}))
                assert h.score == pytest.approx(w.score, rel=1e-3, abs=1e-3)
                assert h.relevance == pytest.approx(w.relevance, rel=1e-3, abs=1e-3)
                assert h.vector is None and h.sparse is None
            assert ids_of(store.search(collection, vector=q.astype(np.float64), k=4)) == ids_of(got)
            assert ids_of(store.search(collection, vector=q.tolist(), k=4)) == ids_of(got)

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
            assert ids_of(got) == ids_of(want)
            got_f = store.search(collection, vector=q, k=10, params=EXACT, filter=F("g") == 1)
            want_f = ref.search(collection, vector=q, k=10, filter=F("g") == 1)
            assert ids_of(got_f) == ids_of(want_f)

    def test_exact_search_ranks_every_record(self, store: VectorStore, collection: str) -> None:
        """Exact search is exhaustive after ``optimize()`` too: 500 identical vectors all come
        back (an HNSW graph over duplicates strands most of them), and so do far outliers, in
        the reference's order."""
        caps = self.caps(store)
        if not caps.exact_search:
            pytest.skip(f"{caps.name} has no exact search")
        dim = 16
        same = np.zeros(dim, dtype=np.float32)
        same[0] = 1.0
        recs = [Record(id=f"d{i:03}", vector=same, metadata={"g": i % 2}) for i in range(500)]
        rng = np.random.default_rng(3)
        for j in range(40):  # outliers at every angle, the farthest pointing away
            v = rng.standard_normal(dim).astype(np.float32)
            v[0] = -abs(v[0]) * j / 10
            recs.append(Record(id=f"o{j:02}", vector=v, metadata={"g": j % 2}))
        ref = self._fill(store, collection, recs)
        store.optimize(collection)
        for k, flt in ((len(recs), None), (500, None), (300, F("g") == 1)):
            got = store.search(collection, vector=same, k=k, params=EXACT, filter=flt)
            want = ref.search(collection, vector=same, k=k, filter=flt)
            # the equal vectors tie (a backend may order ties as it likes); the outliers do not
            assert sorted(ids_of(got)) == sorted(ids_of(want)), f"k={k}, filter={flt}"
            assert [h.score for h in got] == pytest.approx([w.score for w in want], rel=1e-4, abs=1e-4)
            outliers = [h.id for h in got if h.id[0] == "o"]
            assert outliers == [w.id for w in want if w.id[0] == "o"], f"k={k}, filter={flt}"

    def test_approximate_recall(self, store: VectorStore, collection: str) -> None:
        vecs = lowrank(3000, 32, rank=16, seed=11)
        recs = [Record(id=f"a{i}", vector=vecs[i]) for i in range(len(vecs))]
        ref = self._fill(store, collection, recs)
        store.optimize(collection)
        queries = lowrank_queries(50, 32, rank=16, seed=11)
        found = [ids_of(store.search(collection, vector=q, k=10)) for q in queries]
        truth = [ids_of(ref.search(collection, vector=q, k=10)) for q in queries]
        assert recall_at_k(found, truth, 10) >= 0.95

    def test_search_batch_matches_search(self, store: VectorStore, collection: str) -> None:
        """A batch answers each request as the reference answers it alone, in request order."""
        recs = records_for(FLAT_METADATA, DIM, seed=5)
        ref = self._fill(store, collection, recs)
        params = self.search_params(store)
        q1, q2, q3 = lowrank_queries(3, DIM, seed=5)
        requests = [
            SearchRequest(vector=q1, k=3, params=params),
            SearchRequest(vector=q2, k=5, params=params, filter=F("lang") == "en"),
            SearchRequest(vector=q3, k=len(recs), params=params, with_payload=False),
            SearchRequest(vector=q1, k=2, params=params, filter=F("lang") == "nobody"),
        ]
        got = store.search_batch(collection, requests)
        want = ref.search_batch(collection, requests)
        assert [ids_of(g) for g in got] == [ids_of(w) for w in want]
        assert [len(g) for g in got] == [3, 4, len(recs), 0]
        assert got[0][0].text is not None and all(h.metadata is None for h in got[2])
        for g, w in zip(got[0] + got[1], want[0] + want[1], strict=True):
            assert g.score == pytest.approx(w.score, rel=1e-3, abs=1e-3)
        assert store.search_batch(collection, []) == []


class SparseHybridTests(SuiteBase):
    """Sparse search and native hybrid fusion (skipped where the backend declares neither)."""

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
        assert ids_of(got) == ids_of(want)
        for g, w in zip(got, want, strict=True):
            assert g.kind is ScoreKind.SPARSE_DOT
            assert g.score == pytest.approx(w.score, rel=1e-3)
        got_f = store.search(collection, sparse=q, k=10, filter=F("even") == True)  # noqa: E712
        want_f = ref.search(collection, sparse=q, k=10, filter=F("even") == True)  # noqa: E712
        assert ids_of(got_f) == ids_of(want_f)

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
        assert ids_of(got) == ids_of(want)
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


__all__ = ["SearchTests", "SparseHybridTests"]
