"""Measure the Chroma adapter on low-rank vectors: ingest, query latency, filtered latency,
and recall@10 against the exact reference for a sweep of ``ef_search`` values.

    python adapters/chroma/bench/bench_chroma.py [--n 20000] [--dim 384] [--http URL]

``ef_search`` is fixed when a collection is created (``?ef_search=`` in the store URL). The
sweep changes it on the built collection with chromadb's ``collection.modify`` and reopens
the store, because an index that is already loaded keeps the value it was loaded with.
Not part of the test suite: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
from vecctx_chroma import ChromaStore, open_store
from vecctx_chroma.common import chroma_name

from vecctx import CollectionSpec, F, MemoryStore, Record
from vecctx.testing import lowrank, lowrank_queries, recall_at_k


def _p50_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def _measure(store: ChromaStore, queries: np.ndarray, truth: list[list[str]], filtered: bool) -> str:
    found, times, ftimes = [], [], []
    for q in queries:
        t = time.perf_counter()
        hits = store.search("bench", vector=q, k=10, with_payload=False)
        times.append(time.perf_counter() - t)
        found.append([h.id for h in hits])
        if filtered:
            t = time.perf_counter()
            store.search("bench", vector=q, k=10, filter=F("g") == 3, with_payload=False)
            ftimes.append(time.perf_counter() - t)
    out = f"recall@10 {recall_at_k(found, truth, 10):.4f}  p50 {_p50_ms(times):.2f} ms"
    if ftimes:
        out += f"  filtered p50 {_p50_ms(ftimes):.2f} ms"
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ef", type=int, nargs="*", default=[10, 20, 40, 60, 100, 200])
    ap.add_argument("--http", help="also query through a server, e.g. http://127.0.0.1:8000")
    args = ap.parse_args()

    vecs = lowrank(args.n, args.dim, seed=0)
    queries = lowrank_queries(args.queries, args.dim, seed=0)
    recs = [Record(id=f"d{i}", vector=vecs[i], metadata={"g": i % 10}) for i in range(args.n)]
    spec = CollectionSpec(name="bench", dimension=args.dim)
    ref = MemoryStore()
    ref.create_collection(spec)
    ref.upsert("bench", recs)
    truth = [[h.id for h in ref.search("bench", vector=q, k=10, with_payload=False)] for q in queries]

    url = "chroma://" + tempfile.mkdtemp(prefix="vecctx-chroma-bench-")
    print(f"{args.n} x {args.dim} low-rank vectors, {args.queries} queries, k=10")
    with open_store(url) as store:
        store.create_collection(spec)
        t = time.perf_counter()
        store.upsert("bench", recs)
        print(f"upsert: {time.perf_counter() - t:.1f} s (max batch {store.capabilities.max_batch})")
        print("default ef_search (100):", _measure(store, queries, truth, filtered=True))
    for ef in args.ef:
        with open_store(url) as store:
            col = store.client.get_collection(chroma_name("bench"), embedding_function=None)
            col.modify(configuration={"hnsw": {"ef_search": ef}})
        with open_store(url) as store:  # reopened: the index loads with the new ef_search
            print(f"ef_search {ef:>4}:", _measure(store, queries, truth, filtered=False))
    if args.http:
        with open_store("chroma+" + args.http) as store:
            store.drop_collection("bench", missing_ok=True)
            store.create_collection(spec)
            t = time.perf_counter()
            store.upsert("bench", recs)
            print(f"HTTP upsert: {time.perf_counter() - t:.1f} s")
            print("HTTP default ef_search:", _measure(store, queries, truth, filtered=True))
            store.drop_collection("bench")


if __name__ == "__main__":
    main()
