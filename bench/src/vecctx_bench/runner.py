"""The per-backend benchmark: ingest, latency at several concurrencies, filtered search,
the recall-vs-QPS sweep, disk and memory, on each data set. Runs inside a worker process
(one per backend) so memory is measured per backend and backends cannot disturb each other."""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vecctx import Filter, SearchParams
from vecctx.contract.types import FloatArray

from .backends import UPSERT_BATCH, BackendDef, Target, du, open_target, remove_tree
from .data import FILTER_DEPTH, FILTERS, Dataset, recall
from .measures import MemoryWatch, concurrent_loop, load_average, spread, summary, timed_loop
from .profiles import Profile
from .servers import STARTERS, Server

WARMUP = 20


def _coll_name(dataset: str) -> str:
    return "bench_" + re.sub(r"[^A-Za-z0-9]", "_", dataset)


def _searcher(
    target: Target, *, k: int, params: SearchParams, flt: Filter | None
) -> Callable[[FloatArray], list[str]]:
    def fn(q: FloatArray) -> list[str]:
        return target.search(q, k=k, params=params, flt=flt)

    return fn


def _ingest(target: Target, ds: Dataset, *, repeats: int) -> dict[str, Any]:
    upserts: list[float] = []
    optimizes: list[float] = []
    for r in range(max(1, repeats)):
        if r:
            target.drop()
        target.create(ds.dim)
        t0 = time.perf_counter()
        for s in range(0, ds.n, UPSERT_BATCH):
            target.upsert(ds.X, s, min(ds.n, s + UPSERT_BATCH))
        t1 = time.perf_counter()
        target.optimize()
        t2 = time.perf_counter()
        upserts.append(t1 - t0)
        optimizes.append(t2 - t1)
    ready = [u + o for u, o in zip(upserts, optimizes, strict=True)]
    up = spread(upserts)
    rd = spread(ready)
    return {
        "n": ds.n,
        "batch": UPSERT_BATCH,
        "upsert_s": up,
        "optimize_s": spread(optimizes),
        "ready_s": rd,
        "upsert_per_s": ds.n / float(up["median"]) if up["median"] else None,
        "ready_per_s": ds.n / float(rd["median"]) if rd["median"] else None,
    }


def _concurrency(target: Target, ds: Dataset, prof: Profile, *, primary: bool = True) -> dict[str, Any]:
    fn = _searcher(target, k=10, params=SearchParams(), flt=None)
    out: dict[str, Any] = {}
    for threads in prof.concurrency if primary else prof.concurrency[:1]:
        qps: list[float] = []
        p50s: list[float] = []
        pooled: list[float] = []
        for _ in range(max(1, prof.repeats)):
            res = concurrent_loop(
                fn, ds.Q, threads=threads, budget_s=prof.budget_s, min_queries=prof.min_queries
            )
            qps.append(res.qps)
            s = summary(res.latencies_ms)
            p50s.append(float(s["p50"]))
            pooled.extend(res.latencies_ms)
        out[str(threads)] = {
            "threads": threads,
            "qps": spread(qps),
            "p50_ms": spread(p50s),
            "latency_ms": summary(pooled),
        }
    return out


def _filtered(target: Target, ds: Dataset, prof: Profile, *, primary: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for case in FILTERS:
        if not target.filters:
            out[case.label] = {"skipped": "no metadata filters"}
            continue
        flt = case.build()
        fn = _searcher(target, k=FILTER_DEPTH, params=SearchParams(), flt=flt)
        res = timed_loop(fn, ds.Q, budget_s=prof.budget_s, min_queries=prof.min_queries)
        out[case.label] = {
            "selectivity": case.selectivity,
            "filter": repr(flt),
            "latency_ms": summary(res.latencies_ms),
            "qps": res.qps,
            "recall@10": recall(res.results, ds.gt[case.label], FILTER_DEPTH),
        }
    return out


def _sweep(target: Target, ds: Dataset, prof: Profile, *, primary: bool = True) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    for label, params in target.settings(prof.efs):
        p = target.prepare(params)
        r10 = timed_loop(
            _searcher(target, k=10, params=p, flt=None),
            ds.Q,
            budget_s=prof.budget_s,
            min_queries=prof.min_queries,
        )
        r100 = timed_loop(
            _searcher(target, k=100, params=p, flt=None),
            ds.Q,
            budget_s=prof.budget_s / 2,
            min_queries=prof.min_queries,
        )
        points.append(
            {
                "setting": label,
                "ef": params.ef,
                "exact": params.exact,
                "recall@10": recall(r10.results, ds.gt["all"], 10),
                "recall@100": recall(r100.results, ds.gt["all"], 100),
                "qps": r10.qps,
                "latency_ms": summary(r10.latencies_ms),
                "latency_k100_ms": summary(r100.latencies_ms),
            }
        )
    return points


def bench_dataset(
    backend: BackendDef,
    ds: Dataset,
    prof: Profile,
    work: Path,
    server: Server | None,
    *,
    primary: bool = True,
) -> dict[str, Any]:
    """Every measure of ``backend`` on ``ds``. On a secondary data set (``primary=False``,
    unless the profile says otherwise) the concurrency levels above 1 and the filtered
    searches are left out."""
    primary = primary or prof.every_measure_everywhere
    t_start = time.perf_counter()
    res: dict[str, Any] = {"dataset": ds.name, "n": ds.n, "queries": int(ds.Q.shape[0]), "errors": []}
    res["load_before"] = load_average()
    watch = MemoryWatch(["self"] + ([server.pid] if server is not None else []))
    watch.start()
    store_dir = work / "store"
    target = open_target(
        backend,
        directory=store_dir,
        server_url=server.url if server else None,
        server_dir=server.data_dir if server else None,
        collection=_coll_name(ds.name),
    )
    res["config"] = target.describe()
    closed = False
    try:
        res["ingest"] = _ingest(target, ds, repeats=prof.ingest_repeats)
        warm = _searcher(target, k=10, params=SearchParams(), flt=None)
        timed_loop(warm, ds.Q[:WARMUP], budget_s=prof.budget_s, min_queries=min(WARMUP, 5))
        res["primary"] = primary
        measures: list[tuple[str, Callable[..., Any]]] = [("concurrency", _concurrency), ("sweep", _sweep)]
        if primary:
            measures.insert(1, ("filtered", _filtered))
        for key, fn in measures:
            try:
                res[key] = fn(target, ds, prof, primary=primary)
            except Exception as exc:
                res["errors"].append(f"{key}: {type(exc).__name__}: {exc}")
                res["errors"].append(traceback.format_exc(limit=4))
        res["memory"] = watch.peak_delta()
        if server is not None or backend.env is not None:
            res["disk_bytes"] = target.disk_bytes()
            target.drop()
        else:
            target.close()
            closed = True
            res["disk_bytes"] = (
                du(store_dir) if backend.name != "memory" and backend.kind == "vecctx" else None
            )
    finally:
        if not closed:
            try:
                target.close()
            except Exception as exc:  # a close failure must not hide the results
                res["errors"].append(f"close: {type(exc).__name__}: {exc}")
        remove_tree(store_dir)
    res["wall_s"] = time.perf_counter() - t_start
    res["load_after"] = load_average()
    return res


#: Index builds grow faster than linearly: projections from a smaller size take this headroom.
GROWTH_HEADROOM = 2.0


def _skip_reason(
    ds: Dataset, index: int, rate: float | None, rest: float, prof: Profile, deadline: float | None
) -> str | None:
    if index == 0 or rate is None:
        return None
    ingest = rate * ds.n * (GROWTH_HEADROOM if ds.name != "scifact" else 1.0)
    if ingest > prof.ingest_budget_s:
        return (
            f"projected ingest {ingest:.0f} s (from the sizes run, with {GROWTH_HEADROOM:g}x headroom for "
            f"larger sizes) is over the {prof.name} profile's {prof.ingest_budget_s:.0f} s budget"
        )
    if deadline is not None and time.time() + ingest + rest > deadline:
        left = max(0.0, deadline - time.time())
        return (
            f"projected {ingest + rest:.0f} s would overrun this backend's share of the {prof.name} "
            f"profile's time budget ({left:.0f} s left)"
        )
    return None


def bench_backend(
    backend: BackendDef,
    dataset_dirs: list[Path],
    prof: Profile,
    work: Path,
    *,
    log: Callable[[str], None],
    save: Callable[[dict[str, Any]], None] | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Run every data set on one backend: the smallest synthetic size first (every measure),
    then SciFact, then larger sizes, each skipped (with the reason kept) when its projected
    ingest exceeds the profile's ingest budget or its projected time runs past ``deadline``
    (a ``time.time()`` value)."""
    out: dict[str, Any] = {
        "backend": backend.name,
        "label": backend.label,
        "note": backend.note,
        "versions": backend.versions(),
        "datasets": {},
        "skipped": {},
        "errors": [],
    }
    server: Server | None = None
    try:
        if backend.server is not None:
            t = time.perf_counter()
            server = STARTERS[backend.server](work / "server-data")
            out["server"] = {"kind": server.kind, "url": server.url, "start_s": time.perf_counter() - t}
        rate: float | None = None  # seconds per record of the last ingest (upsert + optimize)
        rest: float = 0.0  # seconds the last data set spent on everything but its ingest
        loaded = [Dataset.load(d) for d in dataset_dirs]
        synthetic = sorted((d for d in loaded if d.name != "scifact"), key=lambda d: d.n)
        real = [d for d in loaded if d.name == "scifact"]
        # the first synthetic size gets every measure and always runs; SciFact and larger
        # sizes are skipped when their projected time overruns the budget or the deadline
        order = synthetic[:1] + real + synthetic[1:]
        for i, ds in enumerate(order):
            why = _skip_reason(ds, i, rate, rest, prof, deadline)
            if why:
                out["skipped"][ds.name] = why
                log(f"{backend.name}: skip {ds.name}: {why}")
                continue
            log(f"{backend.name}: {ds.name} ({ds.n:,} x {ds.dim})")
            try:
                r = bench_dataset(backend, ds, prof, work / ds.name, server, primary=i == 0)
            except Exception as exc:
                out["errors"].append(f"{ds.name}: {type(exc).__name__}: {exc}")
                out["errors"].append(traceback.format_exc(limit=6))
                log(f"{backend.name}: {ds.name} failed: {type(exc).__name__}: {exc}")
                continue
            out["datasets"][ds.name] = r
            if save is not None:
                save(out)
            ready = r.get("ingest", {}).get("ready_s", {}).get("median")
            if ready:
                rate = max(rate or 0.0, float(ready) / ds.n)
                rest = max(0.0, float(r["wall_s"]) - float(ready))
            log(f"{backend.name}: {ds.name} done in {r['wall_s']:.1f} s")
    finally:
        if server is not None:
            server.stop()
    return out


__all__ = ["bench_backend", "bench_dataset"]
