"""One benchmark task in its own process: ``python -m vecctx_bench.worker TASK.json OUT.json``.

The parent (:func:`vecctx_bench.run_bench`) starts one worker per backend (so peak memory
is per backend and one backend's threads or leftovers cannot disturb the next), with the
BLAS/OpenMP thread counts pinned to 1 in the environment. A worker writes its result JSON
after every step, and what it is doing (``doing``: its last log line) as it goes, so a worker
stopped at its time budget still reports what it finished and what it was busy with.
SIGTERM stops it cleanly (servers it started are stopped by PID).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from . import _log, two_paths


def _write(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")


_partial: dict[str, Any] = {}


def _save(path: Path, obj: dict[str, Any]) -> None:
    doing = _partial.get("doing")
    _partial.clear()
    _partial.update(obj)
    if doing is not None:
        _partial.setdefault("doing", doing)
    _write(path, _partial)


def _reporter(path: Path) -> Callable[[str], None]:
    """A log function that also records ``msg`` as what the worker is doing (in its result
    file, read by the parent when the worker runs past its budget)."""

    def report(msg: str) -> None:
        _log(msg)
        _partial["doing"] = msg
        _write(path, _partial)

    return report


def run_task(task: dict[str, Any], out_path: Path) -> dict[str, Any]:
    from .profiles import Profile

    kind = task["task"]
    prof = Profile.from_dict(task["profile"])
    work = Path(task["work"])
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"task": kind, "pid": os.getpid(), "started": time.time()}
    _partial.update(result)
    log = _reporter(out_path)
    if kind == "prepare":
        from .data import Dataset, scifact, synthetic

        made: dict[str, Any] = {}

        def save(ds: Dataset, started: float) -> None:
            ds.save(work / ds.name)
            seconds = time.perf_counter() - started
            made[ds.name] = {"dir": str(work / ds.name), "n": ds.n, "seconds": seconds, **ds.source}
            _save(out_path, {**result, "datasets": made})  # a step stopped later keeps these

        sci = task.get("scifact")
        if sci:
            t = time.perf_counter()
            cache = Path(sci["cache"]) if sci.get("cache") else None
            ds = scifact(
                Path(sci["directory"]),
                cache_dir=cache,
                limit=sci.get("docs"),
                queries=sci.get("queries"),
                progress=log,
            )
            save(ds, t)
            log(f"data: scifact {ds.n:,} chunks, {ds.Q.shape[0]} queries ({ds.source})")
        for n in task["sizes"]:
            log(f"data: generating lowrank-{n} and its exact ground truth")
            t = time.perf_counter()
            d = synthetic(int(n), dim=prof.dim, queries=prof.queries, seed=prof.seed)
            save(d, t)
            log(f"data: {d.name} in {time.perf_counter() - t:.1f} s")
        result["datasets"] = made
    elif kind == "backend":
        from .backends import BACKENDS
        from .runner import bench_backend

        result.update(
            bench_backend(
                BACKENDS[task["backend"]],
                [Path(p) for p in task["datasets"]],
                prof,
                work,
                log=log,
                save=lambda partial: _save(out_path, {**result, **partial}),
                deadline=task.get("deadline"),
            )
        )
    elif kind == "quality":
        from .backends import BACKENDS
        from .quality import bench_quality

        result.update(
            bench_quality(
                BACKENDS[task["backend"]],
                directory=Path(task["directory"]),
                cache_dir=Path(task["cache"]) if task.get("cache") else None,
                work=work,
                prof=prof,
                log=log,
            )
        )
    elif kind == "overhead":
        from .overhead import bench_overhead

        result.update(
            bench_overhead(
                prof.overhead_backends if task.get("backends") is None else tuple(task["backends"]),
                n=prof.overhead_n,
                queries=prof.overhead_queries,
                rounds=prof.overhead_rounds,
                work=work,
                log=log,
            )
        )
    elif kind == "ingest_cpu":
        from .ingest_cpu import bench_ingest_cpu

        result.update(
            bench_ingest_cpu(
                Path(task["directory"]),
                docs=int(task["docs"]),
                queries=int(task["queries"]),
                repeats=int(task.get("repeats", 1)),
                work=work,
                log=log,
                progress=log,
            )
        )
    else:
        raise ValueError(f"unknown task {kind!r}")
    result["finished"] = time.time()
    result["seconds"] = result["finished"] - result["started"]
    return result


def main(argv: list[str] | None = None) -> int:
    paths = two_paths(argv, "worker TASK.json OUT.json")
    if paths is None:
        return 2
    signal.signal(signal.SIGTERM, _on_term)
    task_path, out = paths
    task = json.loads(task_path.read_text(encoding="utf-8"))
    try:
        result = run_task(task, out)
    except BaseException as exc:
        import traceback

        failed = {**_partial, "task": task.get("task"), "error": f"{type(exc).__name__}: {exc}"}
        failed["trace"] = traceback.format_exc()
        _write(out, failed)
        if isinstance(exc, KeyboardInterrupt):
            return 130
        return 1
    _write(out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
