"""SciFact ingest benchmark: total time, and the share spent in the model vs the store.

    python benchmarks/bench_ingest.py                      # full corpus, Qdrant Edge in a temp dir
    python benchmarks/bench_ingest.py --limit 500 --no-cache --store memory://
    python benchmarks/bench_ingest.py --bm25-eval          # also nDCG@10 of BM25 via sparse dot

``--no-cache`` measures the model (a fresh, empty cache directory is used); without it the
embedding cache (``$VECCTX_CACHE``) is used, so a second run measures chunking + store only.
Threads are pinned (``--threads``, default 1: two threads ran slower than one on the shared
2-core machines). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

import vecctx
from vecctx.embedders import default_embedder
from vecctx.embedders.cache import CachedEmbedder
from vecctx.eval.beir import load_judgements
from vecctx.eval.metrics import evaluate_run
from vecctx.eval.runner import doc_scores
from vecctx.ingest import Ingestor
from vecctx.loaders import data_root, load_beir
from vecctx.retrieval.sparse import BM25Encoder


def run(
    *, limit: int | None, store_url: str | None, cache: bool, threads: int, batch_size: int, bm25_eval: bool
) -> dict[str, Any]:
    root = data_root() / "scifact"
    tmp = tempfile.mkdtemp(prefix="vecctx-bench-")
    url = store_url or f"qdrant://{tmp}/qdrant"
    cache_arg: bool | str = True if cache else os.path.join(tmp, "empty-cache")
    t_load = time.perf_counter()
    embedder = default_embedder(threads=threads)
    embedder.embed_query("warm up")  # model load is not ingest time
    load_s = time.perf_counter() - t_load
    docs = list(load_beir(root, limit=limit))
    store = vecctx.connect(url)
    ing = Ingestor(
        store,
        "scifact",
        embedder=embedder,
        sparse=BM25Encoder(),
        sparse_path=os.path.join(tmp, "scifact.bm25.json"),
        cache=cache_arg,
        batch_size=batch_size,
    )
    r = ing.ingest(docs)
    t = time.perf_counter()
    store.optimize("scifact")
    optimize_s = time.perf_counter() - t
    again = ing.ingest(docs)
    out: dict[str, Any] = {
        "store": url.split("://")[0],
        "documents": r.documents,
        "chunks": r.chunks,
        "threads": threads,
        "cache": cache,
        "model_load_s": round(load_s, 2),
        "ingest_s": round(r.seconds, 2),
        "scan_s": round(r.scan_seconds, 3),
        "chunk_s": round(r.chunk_seconds, 2),
        "embed_s": round(r.embed_seconds, 2),
        "sparse_s": round(r.sparse_seconds, 2),
        "store_s": round(r.store_seconds, 2),
        "optimize_s": round(optimize_s, 2),
        "model_share": round(r.embed_seconds / r.seconds, 3) if r.seconds else None,
        "store_share": round(r.store_seconds / r.seconds, 3) if r.seconds else None,
        "chunks_per_s": round(r.chunks_per_second, 1),
        "rerun_noop_s": round(again.seconds, 2),
        "rerun_written": again.written,
    }
    emb = ing.embedder
    if isinstance(emb, CachedEmbedder):
        out["cache_hits"] = emb.hits
        out["cache_misses"] = emb.misses
        if emb.misses:
            out["model_ms_per_chunk"] = round(1000 * r.embed_seconds / emb.misses, 1)
    if bm25_eval and limit is None:
        judged = load_judgements(root)
        enc = r.bm25
        assert enc is not None
        run = {  # a document ranks by its best chunk
            q: doc_scores(store.search("scifact", sparse=enc.encode_query(judged.queries[q]), k=100))
            for q in judged.qrels
        }
        out["bm25_chunks_ndcg@10"] = round(evaluate_run(run, judged.qrels)["ndcg@10"], 4)
    store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, default=None, help="first N documents (default: all 5,183)")
    p.add_argument("--store", default=None, help="store URL (default: Qdrant Edge in a temp dir)")
    p.add_argument("--no-cache", action="store_true", help="measure the model: start from an empty cache")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--bm25-eval", action="store_true")
    a = p.parse_args(argv)
    result = run(
        limit=a.limit,
        store_url=a.store,
        cache=not a.no_cache,
        threads=a.threads,
        batch_size=a.batch_size,
        bm25_eval=a.bm25_eval,
    )
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
