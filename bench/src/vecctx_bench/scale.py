"""Scale checks of Qdrant Edge through vecctx: recall@10 against exact by search beam width,
and the peak RSS of one bulk ``upsert``.

``python -m vecctx_bench.scale recall --n 100000 --efs 32,64,128,256,512`` builds one index
(m=16, ef_construct=128) over ``n`` low-rank 384-d vectors and measures recall@10 and p50 of
three query kinds on it: in-distribution queries (:func:`vecctx.testing.lowrank_queries`),
queries from another subspace (a harder, out-of-distribution case) and held-out documents.
``None`` in the output is the driver's default beam width for the collection's size. It also
reports the upsert and index-build time (wall and the build's CPU), the time to a searchable
index, the store's size on disk, p99 latency and the peak RSS of this process and of the build.

``python -m vecctx_bench.scale memory --n 200000`` measures the peak RSS growth and the time
of one ``upsert`` of an ``(n, 384)`` float32 ``RecordBatch``, and of native Edge writing the
same points 2048 at a time (ids mapped as the A/B benchmark's native side maps them:
:func:`.overhead.uuid5_ids`), each in a fresh process. Pin threads (``OMP_NUM_THREADS=1``)
as for every benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import vecctx
from vecctx import CollectionSpec, Metric, RecordBatch, SearchParams
from vecctx.testing import lowrank, lowrank_queries

from .data import exact_top_k
from .measures import MemoryWatch
from .overhead import uuid5_ids

DIM = 384


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def recall_by_ef(n: int, efs: list[int], queries: int = 200) -> dict[str, Any]:
    """Recall@10 and p50 (ms) of each query kind at each ef (``None``: the default)."""
    xa = lowrank(n + queries, DIM, seed=0)
    X = xa[:n]
    sets = {
        "in-distribution": lowrank_queries(queries, DIM, seed=0),
        "other-subspace": lowrank_queries(queries, DIM, seed=1),
        "held-out-docs": xa[n:],
    }
    truth = {k: exact_top_k(X, Q, 10) for k, Q in sets.items()}
    out: dict[str, Any] = {"n": n, "dim": DIM, "queries": queries, "sweep": {}}
    with tempfile.TemporaryDirectory(prefix="vecctx-scale-") as d:
        store = vecctx.connect(f"qdrant://{d}?auto_optimize=0")
        store.create_collection(CollectionSpec(name="c", dimension=DIM, metric=Metric.COSINE))
        t0 = time.perf_counter()
        for s in range(0, n, 5000):
            rows = range(s, min(n, s + 5000))
            store.upsert("c", RecordBatch([f"d{i}" for i in rows], X[s : s + 5000]))
        t1 = time.perf_counter()
        c0 = _children_cpu()
        store.optimize("c")  # the build runs in a child process: its CPU time is a child's
        out.update(upsert_s=t1 - t0, optimize_s=time.perf_counter() - t1, optimize_cpu_s=_children_cpu() - c0)
        out["ready_s"] = out["upsert_s"] + out["optimize_s"]  # from the first write to a searchable index
        out["disk_bytes"] = sum(f.stat().st_size for f in Path(d).rglob("*") if f.is_file())
        print(
            f"n={n}: upsert {out['upsert_s']:.0f} s, index build {out['optimize_s']:.0f} s "
            f"({out['optimize_cpu_s']:.0f} CPU s), disk {out['disk_bytes'] / 2**30:.2f} GiB",
            flush=True,
        )
        for ef in [None, *efs]:
            row: dict[str, Any] = {}
            for name, Q in sets.items():
                found: list[set[int]] = []
                lat: list[float] = []
                for q in Q:
                    t = time.perf_counter()
                    hits = store.search("c", vector=q, k=10, params=SearchParams(ef=ef), with_payload=False)
                    lat.append(time.perf_counter() - t)
                    found.append({int(h.id[1:]) for h in hits})
                rec = float(
                    np.mean([len(f & set(g.tolist())) / 10 for f, g in zip(found, truth[name], strict=True)])
                )
                row[name] = {
                    "recall@10": rec,
                    "p50_ms": float(np.percentile(lat, 50) * 1000),
                    "p99_ms": float(np.percentile(lat, 99) * 1000),
                }
            out["sweep"][str(ef)] = row
            print(f"ef={ef}: " + ", ".join(f"{k} {v['recall@10']:.4f}" for k, v in row.items()), flush=True)
        store.close()
    # peak resident memory: this process (data, exact answers, store) and the build's child
    out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["build_peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return out


def _upsert_side(side: str, n: int) -> dict[str, Any]:
    """One side of :func:`upsert_memory`, run in a fresh process: its seconds and peak RSS growth."""
    import qdrant_edge as qe

    X = lowrank(n, DIM, seed=0)
    ids = [f"d{i}" for i in range(n)]
    d = Path(tempfile.mkdtemp(prefix="vecctx-scale-"))
    watch = MemoryWatch(["self"])
    try:
        if side == "vecctx":
            store = vecctx.connect(f"qdrant://{d / 'vecctx'}?auto_optimize=0")
            store.create_collection(CollectionSpec(name="c", dimension=DIM, metric=Metric.COSINE))
            batch = RecordBatch(ids, X)
            watch.start()
            t = time.perf_counter()
            store.upsert("c", batch)
            out = {"seconds": time.perf_counter() - t, **watch.peak_delta(), "pid": os.getpid()}
            store.close()
            return out
        vectors = qe.EdgeVectorParams(size=DIM, distance=qe.Distance.Cosine)
        shard = qe.EdgeShard.create(str(d / "native"), qe.EdgeConfig(vectors={"dense": vectors}))
        watch.start()
        t = time.perf_counter()
        pids = uuid5_ids(ids)  # Qdrant takes only integer and UUID ids: the careful mapping
        for s in range(0, n, 2048):
            points = [
                qe.Point(pids[i], {"dense": X[i].tolist()}, {"id": ids[i]})
                for i in range(s, min(n, s + 2048))
            ]
            shard.update(qe.UpdateOperation.upsert_points(points))
        out = {"seconds": time.perf_counter() - t, **watch.peak_delta(), "pid": os.getpid()}
        shard.close()
        return out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def upsert_memory(n: int) -> dict[str, Any]:
    """Peak RSS growth (bytes) and seconds of one vecctx ``upsert`` of ``n`` x 384 float32 and
    of native Edge writing the same points in 2048-point chunks. Each side runs in a fresh
    process (``spawn``): in one process, the side that ran second started with the first
    one's freed memory still mapped and grew less (at 100k, 42 MiB less)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    out: dict[str, Any] = {"n": n, "dim": DIM, "matrix_bytes": n * DIM * 4}
    for side in ("vecctx", "native"):
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            out[side] = pool.submit(_upsert_side, side, n).result()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m vecctx_bench.scale", description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("recall", "memory"))
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--efs", default="32,64,128,256,512", help="comma-separated beam widths (recall)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    a = ap.parse_args(argv)
    if a.what == "recall":
        res = recall_by_ef(a.n, [int(e) for e in a.efs.split(",") if e], a.queries)
    else:
        res = upsert_memory(a.n)
    text = json.dumps(res, indent=1)
    if a.out is not None:
        a.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
