"""The Augmenter facade end to end on the reference store (toy embedder: plumbing)."""

import asyncio

import pytest

from tests.test_retrieval import DOCS, BagEmbedder, WordSparse, _store
from vecctx import AsyncMemoryStore, ConfigError, F
from vecctx.pipeline import Augmenter
from vecctx.retrieval.rerank import BiEncoderReranker, MMRReranker


def test_augment_builds_a_cited_prompt_with_timings() -> None:
    aug = Augmenter(store=_store(), collection="docs", embedder=BagEmbedder(), k=3, budget=400)
    p = aug.augment("cherry date")
    assert p.sources and p.sources[0].number == 1
    assert p.sources[0].id == "d3"
    assert f'<source id="1">\n{DOCS["d3"]}\n</source>' in p.prompt
    assert p.messages[-1]["content"].rstrip().endswith("citing them as [n].")
    assert p.token_count <= 400
    for stage in ("embed_ms", "search_ms", "assemble_ms", "total_ms"):
        assert stage in p.timings


def test_filter_and_rerank_and_mmr() -> None:
    aug = Augmenter(
        store=_store(),
        collection="docs",
        embedder=BagEmbedder(),
        sparse_encoder=WordSparse(),
        mode="hybrid",
        k=3,
        candidates=6,
        rerankers=[BiEncoderReranker(BagEmbedder()), MMRReranker(lambda_=0.5)],
    )
    p = aug.augment("apple banana", filter=F("n") != 4)
    ids = [s.id for s in p.sources]
    assert "d4" not in ids
    assert "rerank_ms" in p.timings


def test_aaugment_uses_the_async_store() -> None:
    sync = _store()
    aug = Augmenter(async_store=AsyncMemoryStore(sync), collection="docs", embedder=BagEmbedder(), k=2)
    p = asyncio.run(aug.aaugment("fig grape"))
    assert p.sources[0].id == "d4"
    with pytest.raises(ConfigError):
        aug.augment("fig grape")


def test_augmenter_needs_a_store() -> None:
    with pytest.raises(ConfigError):
        Augmenter(embedder=BagEmbedder())
