"""Helpers shared by the pytest-benchmark files in ``benchmarks/`` (their fixtures live in
``benchmarks/conftest.py``): settings from the environment and a backend's collection
ingested once per session."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .backends import UPSERT_BATCH, BackendDef, Target, open_target, select
from .data import Dataset
from .servers import Server

#: qdrant-client local mode is pure Python: its collection is capped at this size.
LOCAL_CAP = 2_000


def bench_n() -> int:
    """``VECCTX_BENCH_N``: the synthetic collection size (default 10,000)."""
    return int(os.environ.get("VECCTX_BENCH_N", "10000"))


def bench_queries() -> int:
    """``VECCTX_BENCH_QUERIES``: queries per data set (default 200)."""
    return int(os.environ.get("VECCTX_BENCH_QUERIES", "200"))


def backend_names() -> list[str]:
    """``VECCTX_BENCH_BACKENDS`` (comma-separated), else every backend that runs here."""
    raw = os.environ.get("VECCTX_BENCH_BACKENDS")
    chosen, _ = select(raw.split(",") if raw else None)
    return [b.name for b in chosen]


def size_for(name: str, n: int) -> int:
    return min(n, LOCAL_CAP) if name == "qdrant+local" else n


class Built:
    """A backend's collection, ingested once per session, and a query cycle."""

    def __init__(self, backend: BackendDef, target: Target, data: Dataset) -> None:
        self.backend = backend
        self.target = target
        self.data = data
        self._i = 0

    def next_query(self) -> Any:
        q = self.data.Q[self._i % self.data.Q.shape[0]]
        self._i += 1
        return q


def open_for(
    backend: BackendDef, data: Dataset, root: Path, servers: Callable[[str], Server], tag: str
) -> Target:
    """A target with an empty collection named after ``tag``."""
    server = servers(backend.server) if backend.server else None
    target = open_target(
        backend,
        directory=root / f"{backend.name.replace('+', '_')}-{tag}",
        server_url=server.url if server else None,
        server_dir=server.data_dir if server else None,
        collection=f"pytestbench_{tag}",
    )
    target.create(data.dim)
    return target


def ingest(target: Target, data: Dataset) -> None:
    for s in range(0, data.n, UPSERT_BATCH):
        target.upsert(data.X, s, min(data.n, s + UPSERT_BATCH))
    target.optimize()


__all__ = [
    "LOCAL_CAP",
    "Built",
    "backend_names",
    "bench_n",
    "bench_queries",
    "ingest",
    "open_for",
    "size_for",
]
