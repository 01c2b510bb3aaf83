"""Retrieval quality per recipe on SciFact: nDCG@10 (and recall, MRR) with the latency of
each query, through vecctx's own pipeline (:mod:`vecctx.cli.session`, the retriever, the
rerankers, :func:`vecctx.eval.runner.run_queries` and :func:`vecctx.eval.metrics.evaluate_run`).

Two latencies per recipe, labelled apart: *search* (``latency_ms``), with the query vectors
served from the on-disk embedding cache (as ``vecctx eval`` reruns see them), and *end to end*
(``latency_e2e_ms``), the same queries with the model embedding each one (what a user's first
query costs). Document vectors come from the embedding cache too (filled on the first run), so
a second run skips the model."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vecctx import Augmenter, Document, LateInteractionReranker, Query, Reranker
from vecctx.cli.settings import Settings
from vecctx.eval.beir import load_judgements
from vecctx.eval.metrics import evaluate_run
from vecctx.eval.runner import DEPTH, RERANK_DEPTH, run_queries

from .backends import BackendDef, remove_tree
from .measures import MemoryWatch, load_average, summary
from .profiles import Profile
from .servers import STARTERS, Server

#: recipe name -> (mode, fusion, rerank with late interaction)
RECIPES: dict[str, tuple[str, str, bool]] = {
    "dense": ("dense", "rrf", False),
    "bm25": ("sparse", "rrf", False),
    "hybrid-rrf": ("hybrid", "rrf", False),
    "hybrid-convex": ("hybrid", "convex", False),
    "hybrid-dbsf": ("hybrid", "dbsf", False),
    "dense+late": ("dense", "rrf", True),
    "hybrid-rrf+late": ("hybrid", "rrf", True),
    "hybrid-convex+late": ("hybrid", "convex", True),
}


def subset(
    directory: Path, *, docs: int | None, queries: int | None
) -> tuple[list[Document], dict[str, str]]:
    """The documents and judged test queries to use. With limits, the corpus is the first
    ``docs`` documents plus every document judged relevant to the chosen queries, so a small
    run still scores something real."""
    from vecctx.loaders import load_beir

    data = load_judgements(directory)
    judged = data.judged_queries()
    if queries is not None:
        judged = dict(list(judged.items())[:queries])
    if docs is None:
        return list(load_beir(directory)), judged
    wanted = {d for q in judged for d, g in data.qrels[q].items() if g > 0}
    out: list[Document] = []
    for i, doc in enumerate(load_beir(directory)):
        if i < docs or doc.id in wanted:
            out.append(doc)
    return out, judged


def bench_quality(
    backend: BackendDef,
    *,
    directory: Path,
    cache_dir: Path | None,
    work: Path,
    prof: Profile,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Ingest SciFact into ``backend`` and score every recipe on the judged test queries.

    Reranked recipes (``+late``) rerank the top ``prof.rerank_depth`` candidates (at most
    :data:`~vecctx.eval.runner.RERANK_DEPTH`; the rest keep their order) on the first
    ``prof.rerank_queries`` queries; their row then also holds the base recipe's figures on
    those same queries. Each recipe's ``latency_ms`` is per query with the query vector from the
    embedding cache; ``latency_e2e_ms`` (recipes without a rerank) has the model embed each
    query."""
    recipes, docs, queries = prof.recipes, prof.scifact_docs, prof.scifact_queries
    from vecctx.cli.session import Session

    out: dict[str, Any] = {
        "backend": backend.name,
        "label": backend.label,
        "versions": backend.versions(),
        "recipes": {},
        "errors": [],
        "load_before": load_average(),
    }
    server: Server | None = None
    store_dir = work / "store"
    try:
        if backend.server is not None:
            server = STARTERS[backend.server](work / "server-data")
        url = backend.store_url(store_dir, server.url if server else None)
        documents, judged = subset(directory, docs=docs, queries=queries)
        qrels = load_judgements(directory).qrels
        qrels = {q: qrels[q] for q in judged}
        settings = Settings(store=url, collection="scifact", cache=str(cache_dir) if cache_dir else None)
        watch = MemoryWatch(["self"] + ([server.pid] if server is not None else []))
        watch.start()
        with Session(settings, sparse=True) as sess:
            t = time.perf_counter()
            report = sess.ingest(iter(documents), progress=False)
            out["ingest"] = {
                "documents": report.documents,
                "chunks": report.chunks,
                "seconds": time.perf_counter() - t,
                "embed_s": report.embed_seconds,
                "store_s": report.store_seconds,
                "cache_hits": getattr(sess.embedder, "hits", None),
                "cache_misses": getattr(sess.embedder, "misses", None),
            }
            out["model_load_s"] = sess.load_model()  # end-to-end timings leave the loading out
            for text in judged.values():  # every query vector in the cache before any search is timed
                sess.embedder.embed_query(text)
            out["queries"] = len(judged)
            out["sparse"] = sess.bm25 is not None
            out["native_hybrid"] = sess.store.capabilities.hybrid.value
            late: LateInteractionReranker | None = None
            depth = min(prof.rerank_depth, RERANK_DEPTH)
            runs: dict[str, dict[str, dict[str, float]]] = {}
            for name in recipes:
                mode, fusion, rerank = RECIPES[name]
                base = name.split("+", 1)[0]
                asked = judged
                if rerank and prof.rerank_queries is not None:
                    asked = dict(list(judged.items())[: prof.rerank_queries])
                if mode != "dense" and sess.bm25 is None:
                    out["recipes"][name] = {"skipped": f"{backend.label} stores no sparse vectors"}
                    continue
                try:
                    aug = sess.augmenter(mode=mode, fusion=fusion, k=DEPTH, candidates=DEPTH)
                    retriever = aug.retriever
                    assert retriever is not None
                    first = next(iter(judged.values()))
                    warm = retriever.retrieve(first, k=DEPTH)  # warm-up, not timed
                    rerankers: list[Reranker] = []
                    if rerank:
                        if late is None:
                            late = LateInteractionReranker()
                            late.rerank(Query(first), warm.hits[:2], k=2)  # loads the model
                        rerankers.append(late)
                    run, lat = run_queries(retriever, asked, rerankers=rerankers, rerank_depth=depth)
                    runs[name] = run
                    e2e = None
                    if not rerank:  # a rerank costs seconds: a query's embedding is noise beside it
                        model = Augmenter(
                            store=sess.store,
                            collection=settings.collection,
                            embedder=sess.embedder.inner,  # no cache: the model embeds each query
                            sparse_encoder=sess.bm25,
                            mode=mode,
                            fusion=fusion,
                            k=DEPTH,
                            candidates=DEPTH,
                        ).retriever
                        assert model is not None
                        model.retrieve(first, k=DEPTH)  # warm-up, not timed
                        e2e = summary(run_queries(model, asked)[1])
                    metrics = evaluate_run(run, {q: qrels[q] for q in asked})
                    native = (
                        mode == "hybrid"
                        and fusion != "convex"
                        and sess.store.capabilities.hybrid.value == "native"
                    )
                    out["recipes"][name] = {
                        **metrics,
                        "mode": mode,
                        "fusion": fusion if mode == "hybrid" else None,
                        "rerank": "late-interaction" if rerank else None,
                        "rerank_depth": depth if rerank else None,
                        "native_fusion": native,
                        "queries": len(asked),
                        "latency_ms": summary(lat),
                        "latency_e2e_ms": e2e,
                    }
                    if rerank and len(asked) < len(judged):
                        if base not in runs:
                            b_aug = sess.augmenter(mode=mode, fusion=fusion, k=DEPTH, candidates=DEPTH)
                            assert b_aug.retriever is not None
                            runs[base] = run_queries(b_aug.retriever, asked)[0]
                        base_run = {q: runs[base][q] for q in asked if q in runs[base]}
                        out["recipes"][name]["base"] = {
                            "recipe": base,
                            **evaluate_run(base_run, {q: qrels[q] for q in asked}),
                        }
                    log(f"quality {backend.name} {name}: nDCG@10 {metrics['ndcg@10']:.4f}")
                except Exception as exc:
                    out["recipes"][name] = {"error": f"{type(exc).__name__}: {exc}"}
                    out["errors"].append(traceback.format_exc(limit=5))
            out["cache_hits_total"] = getattr(sess.embedder, "hits", None)
            out["cache_misses_total"] = getattr(sess.embedder, "misses", None)
        out["memory"] = watch.peak_delta()
    finally:
        if server is not None:
            server.stop()
        remove_tree(store_dir)
    out["load_after"] = load_average()
    out["depth"] = DEPTH
    return out


__all__ = ["RECIPES", "bench_quality", "subset"]
