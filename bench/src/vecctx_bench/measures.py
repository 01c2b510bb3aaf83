"""Timed loops and summary statistics.

Every loop runs queries in a fixed order and stops after ``budget_s`` seconds once
``min_queries`` ran (never before), so a slow backend shortens the measure rather than the
run; the number of queries measured is kept with each figure. Latencies are in
milliseconds. Memory is read from ``/proc/<pid>/status`` (``VmHWM``, the peak resident set,
reset through ``/proc/<pid>/clear_refs``), which counts native allocations that
``tracemalloc`` cannot see.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from vecctx.contract.types import FloatArray

T = TypeVar("T")


def summary(ms: Sequence[float]) -> dict[str, float | int]:
    """Count, mean, p25/p50/p75/p95/p99 and IQR of latencies (ms)."""
    if not ms:
        return {"n": 0}
    a = np.asarray(ms, dtype=np.float64)
    p25, p50, p75, p95, p99 = (float(x) for x in np.percentile(a, [25, 50, 75, 95, 99]))
    return {
        "n": len(ms),
        "mean": float(a.mean()),
        "p25": p25,
        "p50": p50,
        "p75": p75,
        "p95": p95,
        "p99": p99,
        "iqr": p75 - p25,
    }


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Median and IQR of repeated measurements."""
    if not values:
        return {"n": 0}
    a = np.asarray(values, dtype=np.float64)
    p25, p50, p75 = (float(x) for x in np.percentile(a, [25, 50, 75]))
    return {"n": len(values), "median": p50, "p25": p25, "p75": p75, "iqr": p75 - p25, "values": list(values)}


@dataclass
class LoopResult:
    """Results and per-query latencies of a timed loop."""

    results: list[Any]
    latencies_ms: list[float]
    wall_s: float

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    @property
    def qps(self) -> float:
        return self.count / self.wall_s if self.wall_s > 0 else float("nan")


def timed_loop(
    fn: Callable[[FloatArray], T],
    queries: FloatArray,
    *,
    budget_s: float,
    min_queries: int,
) -> LoopResult:
    """One thread, queries in order, within the budget."""
    results: list[Any] = []
    lat: list[float] = []
    clock = time.perf_counter
    start = clock()
    for i in range(queries.shape[0]):
        if i >= min_queries and clock() - start > budget_s:
            break
        t0 = clock()
        results.append(fn(queries[i]))
        lat.append((clock() - t0) * 1000.0)
    return LoopResult(results, lat, clock() - start)


def concurrent_loop(
    fn: Callable[[FloatArray], object],
    queries: FloatArray,
    *,
    threads: int,
    budget_s: float,
    min_queries: int,
) -> LoopResult:
    """``threads`` threads take the next query from a shared counter until the queries run
    out or the budget is spent; QPS is queries done over the wall time."""
    lock = threading.Lock()
    state = {"next": 0}
    lat: list[float] = []
    clock = time.perf_counter
    n = queries.shape[0]
    start = clock()

    def worker() -> list[float]:
        mine: list[float] = []
        while True:
            with lock:
                i = state["next"]
                if i >= n or (i >= min_queries and clock() - start > budget_s):
                    return mine
                state["next"] = i + 1
            t0 = clock()
            fn(queries[i])
            mine.append((clock() - t0) * 1000.0)

    if threads == 1:
        lat = worker()
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vecctx-bench") as pool:
            for part in pool.map(lambda _: worker(), range(threads)):
                lat.extend(part)
    return LoopResult([], lat, clock() - start)


# -- memory and load ---------------------------------------------------------------------------

_STATUS = re.compile(r"^(VmHWM|VmRSS):\s+(\d+)\s+kB", re.MULTILINE)


def _status(pid: int | str) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {k: int(v) * 1024 for k, v in _STATUS.findall(text)}


def rss_bytes(pid: int | str = "self") -> int | None:
    return _status(pid).get("VmRSS")


def peak_rss_bytes(pid: int | str = "self") -> int | None:
    return _status(pid).get("VmHWM")


def reset_peak(pid: int | str = "self") -> bool:
    """Reset the peak RSS of ``pid`` to its current RSS (Linux >= 4.0)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class MemoryWatch:
    """Peak RSS growth of this process (and of a server process) over a phase."""

    def __init__(self, pids: Sequence[int | str]) -> None:
        self.pids = list(pids)
        self.base: dict[str, int] = {}
        self.exact = True

    def start(self) -> None:
        for pid in self.pids:
            self.exact = reset_peak(pid) and self.exact
            self.base[str(pid)] = rss_bytes(pid) or 0

    def peak_delta(self) -> dict[str, Any]:
        per: dict[str, int] = {}
        for pid in self.pids:
            peak = peak_rss_bytes(pid)
            if peak is not None:
                per["self" if pid == "self" else "server"] = max(0, peak - self.base[str(pid)])
        return {
            "peak_delta_bytes": sum(per.values()) if per else None,
            "by_process": per,
            "peak_reset": self.exact,
        }


def load_average() -> list[float]:
    try:
        import os

        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def median_or_nan(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


__all__ = [
    "LoopResult",
    "MemoryWatch",
    "concurrent_loop",
    "load_average",
    "median_or_nan",
    "peak_rss_bytes",
    "reset_peak",
    "rss_bytes",
    "spread",
    "summary",
    "timed_loop",
]
