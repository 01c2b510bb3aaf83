"""Retriever modes, client-side vs native fusion, rerankers (plumbing and behaviour)."""

from collections.abc import Sequence

import numpy as np
import pytest

from vecctx import (
    CollectionSpec,
    ConfigError,
    F,
    Hit,
    MemoryStore,
    Record,
    ScoreKind,
    SparseVector,
    UnsupportedFeatureError,
)
from vecctx.rerank import (
    BiEncoderReranker,
    Chain,
    CrossEncoderReranker,
    LostInTheMiddle,
    MMRReranker,
    RRFReranker,
    mmr_order,
)
from vecctx.retriever import HybridFusion, Mode, Query, Retriever, RetrieverConfig
from vecctx.store import Capabilities, HybridSupport
from vecctx.types import FloatArray

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


def _store(sparse: bool = True) -> MemoryStore:
    emb, sp = BagEmbedder(), WordSparse()
    s = MemoryStore()
    s.create_collection(CollectionSpec(name="docs", dimension=emb.dimension, sparse=sparse))
    s.upsert(
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
    return s


def test_dense_sparse_hybrid_modes() -> None:
    r = Retriever(_store(), "docs", embedder=BagEmbedder(), sparse_encoder=WordSparse())
    dense = r.retrieve("apple banana", k=3)
    assert dense.mode is Mode.DENSE and {h.id for h in dense.hits[:2]} == {"d1", "d6"}
    sparse = r.retrieve("cherry", k=5, mode=Mode.SPARSE)
    assert {h.id for h in sparse.hits} == {"d2", "d3"}
    assert all(h.kind is ScoreKind.SPARSE_DOT for h in sparse.hits)
    hybrid = r.retrieve("cherry date", k=3, mode=Mode.HYBRID)
    assert hybrid.native_fusion and not hybrid.emulated
    assert hybrid.hits[0].id == "d3" and hybrid.hits[0].kind is ScoreKind.RRF
    assert "embed_ms" in hybrid.timings and "search_ms" in hybrid.timings


def test_filter_applies_to_every_mode() -> None:
    r = Retriever(_store(), "docs", embedder=BagEmbedder(), sparse_encoder=WordSparse())
    for mode in Mode:
        got = r.retrieve("apple banana cherry", k=10, mode=mode, filter=F("n") >= 3)
        assert got.hits and all(int(h.id[1:]) >= 3 for h in got.hits), mode


def test_convex_fusion_is_client_side_and_marked() -> None:
    cfg = RetrieverConfig(mode=Mode.HYBRID, fusion=HybridFusion.CONVEX, weights=(0.3, 0.7))
    r = Retriever(_store(), "docs", embedder=BagEmbedder(), sparse_encoder=WordSparse(), config=cfg)
    got = r.retrieve("cherry date", k=3)
    assert got.emulated and got.hits[0].kind is ScoreKind.CONVEX
    assert got.hits[0].id == "d3" and got.hits[0].text == DOCS["d3"]


class NoSparseStore(MemoryStore):
    @property
    def capabilities(self) -> Capabilities:
        from dataclasses import replace

        return replace(super().capabilities, sparse=False, hybrid=HybridSupport.EMULATED, fusions=frozenset())


def test_hybrid_on_a_backend_without_sparse_uses_a_sparse_store() -> None:
    main = NoSparseStore()
    src = _store()
    main.create_collection(CollectionSpec(name="docs", dimension=len(WORDS)))
    main.upsert(
        "docs",
        [
            Record(id=r.id, vector=r.vector, text=r.text, metadata=r.metadata)
            for r in src.scroll("docs", with_vectors=True)
        ],
    )
    with pytest.raises(UnsupportedFeatureError, match="sparse_store"):
        Retriever(
            main,
            "docs",
            embedder=BagEmbedder(),
            sparse_encoder=WordSparse(),
            config=RetrieverConfig(mode=Mode.HYBRID),
        )
    r = Retriever(
        main,
        "docs",
        embedder=BagEmbedder(),
        sparse_encoder=WordSparse(),
        config=RetrieverConfig(mode=Mode.HYBRID),
        sparse_store=src,
    )
    got = r.retrieve("cherry date", k=3)
    assert got.emulated and got.hits[0].id == "d3"
    assert all(h.text for h in got.hits)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="embedder"):
        Retriever(_store(), "docs")
    with pytest.raises(ConfigError, match="sparse encoder"):
        Retriever(_store(), "docs", embedder=BagEmbedder(), config=RetrieverConfig(mode=Mode.HYBRID))


def test_mmr_diversifies_duplicates() -> None:
    r = Retriever(_store(), "docs", embedder=BagEmbedder())
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
