"""Retrieval quality and latency per recipe on SciFact (dense, BM25, hybrid RRF, hybrid
convex, reranked with late interaction), through vecctx's own pipeline on the embedded
default store; nDCG@10, recall@100 and MRR@10 are kept in ``extra_info``.

    pytest benchmarks/bench_quality.py --benchmark-only

``VECCTX_BENCH_RERANK_QUERIES`` (default 50) and ``VECCTX_BENCH_RERANK_DEPTH`` (default 10)
bound the reranked recipe, whose model reads every candidate passage.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vecctx_bench import cache_dir, scifact_dir
from vecctx_bench.quality import RECIPES, subset

from vecctx.cli.settings import Settings
from vecctx.eval.beir import load_judgements
from vecctx.eval.metrics import evaluate_run
from vecctx.eval.runner import DEPTH, RERANK_DEPTH, run_queries
from vecctx.retrieval.rerank import LateInteractionReranker, Reranker
from vecctx.retrieval.retriever import Query

SCIFACT = scifact_dir()
pytestmark = pytest.mark.skipif(SCIFACT is None, reason="SciFact not found: set VECCTX_DATA")


@pytest.fixture(scope="module")
def session(bench_root: Path) -> Iterator[tuple[Any, dict[str, str], dict[str, dict[str, int]]]]:
    from vecctx.cli.session import Session

    assert SCIFACT is not None
    docs, judged = subset(SCIFACT, docs=None, queries=None)
    qrels = load_judgements(SCIFACT).qrels
    store = bench_root / "quality-qdrant"
    store.mkdir(parents=True, exist_ok=True)
    with Session(Settings(store=f"qdrant://{store}", collection="scifact", cache=str(cache_dir()))) as sess:
        sess.ingest(iter(docs), progress=False)
        yield sess, judged, {q: qrels[q] for q in judged}


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_recipe(benchmark: Any, session: Any, recipe: str) -> None:
    sess, judged, qrels = session
    mode, fusion, rerank = RECIPES[recipe]
    retriever = sess.augmenter(mode=mode, fusion=fusion, k=DEPTH, candidates=DEPTH).retriever
    rerankers: list[Reranker] = []
    asked = judged
    depth = min(int(os.environ.get("VECCTX_BENCH_RERANK_DEPTH", "10")), RERANK_DEPTH)
    if rerank:
        asked = dict(list(judged.items())[: int(os.environ.get("VECCTX_BENCH_RERANK_QUERIES", "50"))])
        late = LateInteractionReranker()
        first = next(iter(asked.values()))
        late.rerank(Query(first), retriever.retrieve(first, k=2).hits, k=2)  # loads the model
        rerankers.append(late)
    retriever.retrieve(next(iter(asked.values())), k=DEPTH)  # warm-up
    benchmark.group = "SciFact recipes: all judged queries per round"
    run, lat = benchmark.pedantic(
        lambda: run_queries(retriever, asked, rerankers=rerankers, rerank_depth=depth), rounds=1, iterations=1
    )
    metrics = evaluate_run(run, {q: qrels[q] for q in asked})
    benchmark.extra_info.update({"recipe": recipe, "queries": len(asked), **metrics})
    benchmark.extra_info["p50_ms_per_query"] = sorted(lat)[len(lat) // 2]
    assert 0.0 < metrics["ndcg@10"] <= 1.0
