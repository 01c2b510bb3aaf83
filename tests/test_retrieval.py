"""Retriever modes, client-side vs native fusion (sync and async retrievers alike), rerankers."""

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

import numpy as np
import pytest

from vecctx import (
    AsyncRetriever,
    CollectionSpec,
    ConfigError,
    F,
    Hit,
    HybridFusion,
    MemoryStore,
    Mode,
    Query,
    Record,
    Retrieval,
    Retriever,
    RetrieverConfig,
    ScoreKind,
    SparseVector,
    UnsupportedFeatureError,
)
from vecctx.contract.driver import CheckedSearch, InProcessAsyncDriver
from vecctx.contract.store import Capabilities, Fusion, HybridSupport, SearchParams, VectorStore
from vecctx.contract.types import FloatArray
from vecctx.front import AsyncStore, Store
from vecctx.memory import CAPABILITIES, MemoryDriver
from vecctx.retrieval.rerank import (
    BiEncoderReranker,
    Chain,
    CrossEncoderReranker,
    LostInTheMiddle,
    MMRReranker,
    RRFReranker,
    mmr_order,
)
from vecctx.retrieval.retriever import DEFAULT_FUSION

WORDS = ["apple", "banana", "cherry", "date", "elder", "fig", "grape", "honey"]


class BagEmbedder:
    """Bag-of-words over a fixed vocabulary: predictable dense similarities."""

    name = "bag"
    dimension = len(WORDS)

    def _vec(self, text: str) -> FloatArray:
        v = np.array([text.split().count(w) for w in WORDS], dtype=np.float32) + 0.01
        return v / np.linalg.norm(v)

    def embed_query(self, text: str) -> FloatArray:
        return self._vec(text)

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        return np.stack([self._vec(t) for t in texts])


class WordSparse:
    def encode_query(self, text: str) -> SparseVector:
        return SparseVector.from_dict({WORDS.index(w): 1.0 for w in set(text.split()) if w in WORDS})

    def encode_doc(self, text: str) -> SparseVector:
        counts: dict[int, float] = {}
        for w in text.split():
            if w in WORDS:
                counts[WORDS.index(w)] = counts.get(WORDS.index(w), 0.0) + 1.0
        return SparseVector.from_dict(counts)


DOCS = {
    "d1": "apple apple banana",
    "d2": "banana cherry",
    "d3": "cherry date elder",
    "d4": "fig grape",
    "d5": "apple honey",
    "d6": "apple apple banana",  # duplicate content of d1
}


def _fill(store: VectorStore, *, sparse: bool) -> None:
    """Create collection "docs" holding DOCS."""
    emb, sp = BagEmbedder(), WordSparse()
    store.create_collection(CollectionSpec(name="docs", dimension=emb.dimension, sparse=sparse))
    store.upsert(
        "docs",
        [
            Record(
                id=i,
                vector=emb.embed_query(t),
                text=t,
                metadata={"n": int(i[1:])},
                sparse=sp.encode_doc(t) if sparse else None,
            )
            for i, t in DOCS.items()
        ],
    )


def _store(sparse: bool = True) -> MemoryStore:
    """A MemoryStore holding DOCS (used by the pipeline tests too)."""
    store = MemoryStore()
    _fill(store, sparse=sparse)
    return store


class Docs(MemoryDriver):
    """The reference driver holding DOCS in collection "docs", with the capabilities given,
    recording every search it runs."""

    def __init__(self, capabilities: Capabilities = CAPABILITIES, *, sparse: bool = True) -> None:
        super().__init__()
        self._caps = capabilities
        self.searches: list[CheckedSearch] = []
        _fill(Store(self), sparse=sparse)  # through a front: the driver gets checked input

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        self.searches.append(query)
        return super().search(spec, query)


NO_SPARSE = replace(CAPABILITIES, sparse=False, hybrid=HybridSupport.EMULATED, fusions=frozenset())
RRF_ONLY = replace(CAPABILITIES, fusions=frozenset({Fusion.RRF}))


class Retrieves(Protocol):
    def retrieve(self, text: str, **kw: Any) -> Retrieval: ...


class BlockingRetriever:
    """Runs an AsyncRetriever's retrieve to completion (one event loop per call)."""

    def __init__(self, inner: AsyncRetriever) -> None:
        self.inner = inner

    def retrieve(self, text: str, **kw: Any) -> Retrieval:
        return asyncio.run(self.inner.retrieve(text, **kw))


class MakeRetriever(Protocol):
    def __call__(
        self,
        driver: Docs,
        *,
        embedder: BagEmbedder | None = ...,
        sparse_encoder: WordSparse | None = ...,
        config: RetrieverConfig | None = ...,
        sparse_store: Docs | None = ...,
    ) -> Retrieves: ...


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> MakeRetriever:
    """Builds a Retriever over ``Store(driver)`` or an AsyncRetriever over ``AsyncStore``
    (the same class, written once): every retrieval test runs on both."""

    def build(
        driver: Docs,
        *,
        embedder: BagEmbedder | None = None,
        sparse_encoder: WordSparse | None = None,
        config: RetrieverConfig | None = None,
        sparse_store: Docs | None = None,
    ) -> Retrieves:
        if request.param == "sync":
            return Retriever(
                Store(driver),
                "docs",
                embedder=embedder,
                sparse_encoder=sparse_encoder,
                config=config,
                sparse_store=Store(sparse_store) if sparse_store is not None else None,
            )
        return BlockingRetriever(
            AsyncRetriever(
                AsyncStore(InProcessAsyncDriver(driver)),
                "docs",
                embedder=embedder,
                sparse_encoder=sparse_encoder,
                config=config,
                sparse_store=AsyncStore(InProcessAsyncDriver(sparse_store))
                if sparse_store is not None
                else None,
            )
        )

    return build


def test_dense_sparse_hybrid_modes(make: MakeRetriever) -> None:
    r = make(Docs(), embedder=BagEmbedder(), sparse_encoder=WordSparse())
    dense = r.retrieve("apple banana", k=3)
    assert dense.mode is Mode.DENSE and {h.id for h in dense.hits[:2]} == {"d1", "d6"}
    assert dense.fusion is None and not dense.emulated
    sparse = r.retrieve("cherry", k=5, mode=Mode.SPARSE)
    assert {h.id for h in sparse.hits} == {"d2", "d3"}
    assert all(h.kind is ScoreKind.SPARSE_DOT for h in sparse.hits)
    hybrid = r.retrieve("cherry date", k=3, mode=Mode.HYBRID)  # fused by the recommended DBSF
    assert (
        hybrid.native_fusion and not hybrid.emulated and hybrid.fusion is DEFAULT_FUSION is HybridFusion.DBSF
    )
    assert hybrid.hits[0].id == "d3" and hybrid.hits[0].kind is ScoreKind.DBSF
    assert "embed_ms" in hybrid.timings and "search_ms" in hybrid.timings
    assert hybrid.query.text == "cherry date" and hybrid.query.vector is not None


def test_filter_applies_to_every_mode(make: MakeRetriever) -> None:
    r = make(Docs(), embedder=BagEmbedder(), sparse_encoder=WordSparse())
    for mode in Mode:
        got = r.retrieve("apple banana cherry", k=10, mode=mode, filter=F("n") >= 3)
        assert got.hits and all(int(h.id[1:]) >= 3 for h in got.hits), mode
        got = r.retrieve("apple banana cherry", k=10, mode=mode, filter={"n": {"$lt": 3}})
        assert got.hits and all(int(h.id[1:]) < 3 for h in got.hits), mode


def test_convex_fusion_is_client_side_and_marked(make: MakeRetriever) -> None:
    cfg = RetrieverConfig(mode=Mode.HYBRID, fusion=HybridFusion.CONVEX, weights=(0.3, 0.7))
    r = make(Docs(), embedder=BagEmbedder(), sparse_encoder=WordSparse(), config=cfg)
    got = r.retrieve("cherry date", k=3)
    assert got.emulated and got.hits[0].kind is ScoreKind.CONVEX
    assert got.hits[0].id == "d3" and got.hits[0].text == DOCS["d3"]


def test_fusion_the_backend_lacks_is_done_client_side(make: MakeRetriever) -> None:
    """A backend fusing natively, but not with the configured fusion: fused client-side."""
    driver = Docs(RRF_ONLY)
    cfg = RetrieverConfig(mode=Mode.HYBRID, fusion=HybridFusion.DBSF)
    got = make(driver, embedder=BagEmbedder(), sparse_encoder=WordSparse(), config=cfg).retrieve(
        "cherry date", k=3
    )
    assert got.emulated and got.fusion is HybridFusion.DBSF
    assert got.hits[0].id == "d3" and got.hits[0].kind is ScoreKind.DBSF
    assert all(q.vector is None or q.sparse is None for q in driver.searches)  # two one-sided searches


def test_search_params_reach_the_store_in_every_mode(make: MakeRetriever) -> None:
    driver = Docs()
    params = SearchParams(exact=True, ef=77, rrf_k=10)
    for fusion in (HybridFusion.RRF, HybridFusion.CONVEX):
        cfg = RetrieverConfig(mode=Mode.HYBRID, fusion=fusion, candidates=5, params=params)
        r = make(driver, embedder=BagEmbedder(), sparse_encoder=WordSparse(), config=cfg)
        for mode in Mode:
            driver.searches.clear()
            r.retrieve("apple cherry", k=2, mode=mode)
            dense = [q for q in driver.searches if q.vector is not None]
            assert dense or mode is Mode.SPARSE
            assert all(q.exact and q.ef == 77 for q in dense), (fusion, mode)
            if mode is Mode.HYBRID and fusion is HybridFusion.RRF:  # native: one fused search
                (q,) = driver.searches
                assert q.sparse is not None and (q.prefetch_k, q.rrf_k, q.k) == (5, 10, 2)
            if mode is Mode.HYBRID and fusion is HybridFusion.CONVEX:  # each side fetches candidates
                assert sorted(q.k for q in driver.searches) == [5, 5]


@pytest.mark.parametrize("fusion", list(HybridFusion))
def test_with_vectors_in_hybrid_retrieval(make: MakeRetriever, fusion: HybridFusion) -> None:
    for driver, sparse_store in ((Docs(), None), (Docs(NO_SPARSE, sparse=False), Docs())):
        cfg = RetrieverConfig(mode=Mode.HYBRID, fusion=fusion)
        r = make(
            driver, embedder=BagEmbedder(), sparse_encoder=WordSparse(), config=cfg, sparse_store=sparse_store
        )
        got = r.retrieve("cherry date fig", k=4, with_vectors=True)
        assert len(got.hits) == 4
        for h in got.hits:
            assert h.text == DOCS[h.id]
            assert h.vector is not None and np.allclose(
                h.vector, BagEmbedder().embed_query(DOCS[h.id]), atol=1e-5
            )


def test_hybrid_on_a_backend_without_sparse_uses_a_sparse_store(make: MakeRetriever) -> None:
    main = Docs(NO_SPARSE, sparse=False)
    with pytest.raises(UnsupportedFeatureError, match="sparse_store"):
        make(
            main,
            embedder=BagEmbedder(),
            sparse_encoder=WordSparse(),
            config=RetrieverConfig(mode=Mode.HYBRID),
        )
    r = make(
        main,
        embedder=BagEmbedder(),
        sparse_encoder=WordSparse(),
        config=RetrieverConfig(mode=Mode.HYBRID),
        sparse_store=Docs(),
    )
    got = r.retrieve("cherry date", k=3)
    assert got.emulated and got.hits[0].id == "d3"
    assert all(h.text for h in got.hits)  # hits found only by the sparse side got their payload
    sparse = r.retrieve("cherry", k=5, mode=Mode.SPARSE)
    assert {h.id for h in sparse.hits} == {"d2", "d3"}


def test_config_errors(make: MakeRetriever) -> None:
    with pytest.raises(ConfigError, match="embedder"):
        make(Docs())
    with pytest.raises(ConfigError, match="sparse encoder"):
        make(Docs(), embedder=BagEmbedder(), config=RetrieverConfig(mode=Mode.HYBRID))
    dense_only = make(Docs(), embedder=BagEmbedder())
    with pytest.raises(ConfigError, match="sparse encoder"):
        dense_only.retrieve("apple", mode=Mode.SPARSE)  # checked per call, before any I/O
    no_sparse = make(Docs(NO_SPARSE, sparse=False), embedder=BagEmbedder(), sparse_encoder=WordSparse())
    with pytest.raises(UnsupportedFeatureError, match="sparse_store"):
        no_sparse.retrieve("apple", mode=Mode.HYBRID)


def test_mmr_diversifies_duplicates(make: MakeRetriever) -> None:
    r = make(Docs(), embedder=BagEmbedder())
    got = r.retrieve("apple banana", k=6, with_vectors=True)
    assert {got.hits[0].id, got.hits[1].id} == {"d1", "d6"}
    mmr = MMRReranker(lambda_=0.5).rerank(got.query, got.hits, k=3)
    assert len({h.text for h in mmr}) == 3  # the duplicate is pushed out of the top 3
    assert MMRReranker(lambda_=1.0).rerank(got.query, got.hits, k=3) == got.hits[:3]


def test_mmr_order_math() -> None:
    vecs = np.array([[1, 0], [1, 0.01], [0, 1]], dtype=np.float32)
    q = np.array([1, 0.2], dtype=np.float32)
    assert mmr_order(q, vecs, 2, 0.5) == [1, 2]  # the near-duplicate of 1 loses to 2
    assert mmr_order(q, vecs, 2, 1.0) == [1, 0]  # pure relevance


def _hits(n: int) -> list[Hit]:
    return [
        Hit(id=f"h{i}", score=1 - i / 10, relevance=1 - i / 10, kind=ScoreKind.COSINE, text=f"t{i}")
        for i in range(n)
    ]


def test_lost_in_the_middle() -> None:
    out = LostInTheMiddle().rerank(Query("q"), _hits(5), k=5)
    assert [h.id for h in out] == ["h0", "h2", "h4", "h3", "h1"]


def test_bi_encoder_rescoring_and_chain() -> None:
    emb = BagEmbedder()
    hits = [Hit(id=i, score=0.0, relevance=0.5, kind=ScoreKind.COSINE, text=t) for i, t in DOCS.items()]
    out = BiEncoderReranker(emb).rerank(Query("fig grape"), hits, k=2)
    assert out[0].id == "d4" and out[0].kind is ScoreKind.RERANK and 0 <= out[0].relevance <= 1
    chain = Chain([BiEncoderReranker(emb), LostInTheMiddle()])
    assert len(chain.rerank(Query("fig grape"), hits, k=3)) == 3
    fused = RRFReranker([BiEncoderReranker(emb)]).rerank(Query("fig grape"), hits, k=6)
    assert fused[0].kind is ScoreKind.RRF and len(fused) == 6


def test_cross_encoder_plumbing_with_a_local_model() -> None:
    class FakeModel:  # stands in for CrossEncoder weights we cannot download here
        def predict(self, pairs: list[tuple[str, str]], batch_size: int) -> list[float]:
            return [float(len(set(q.split()) & set(d.split()))) - 0.5 for q, d in pairs]

    hits = [Hit(id=i, score=0.0, relevance=0.5, kind=ScoreKind.COSINE, text=t) for i, t in DOCS.items()]
    out = CrossEncoderReranker(FakeModel()).rerank(Query("cherry date"), hits, k=2)
    assert out[0].id == "d3" and out[0].relevance > out[1].relevance


def test_cross_encoder_missing_model_is_a_config_error() -> None:
    hits = _hits(2)
    with pytest.raises(ConfigError, match="cannot load cross-encoder"):
        CrossEncoderReranker("/nonexistent/cross-encoder").rerank(Query("q"), hits, k=1)
