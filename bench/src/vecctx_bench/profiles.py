"""Benchmark profiles: how much of each measure a run does.

``tiny`` exists for the test suite (every case, a few hundred vectors, one repeat);
``quick`` is the default of ``vecctx bench`` (under ten minutes on two cores); ``full`` is
for a quiet machine (1M vectors too when ``VECCTX_BENCH_1M=1``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

from vecctx import ConfigError

#: Environment every worker starts with: one BLAS/OpenMP thread everywhere.
PINNED_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
}


@dataclass(frozen=True, slots=True)
class Profile:
    """Sizes, query counts and time budgets of one benchmark run; the defaults are the
    ``quick`` profile's.

    Every timed loop stops after ``budget_s`` seconds once ``min_queries`` queries ran, so a
    slow backend (or a loaded machine) shortens a measure instead of stalling the run; the
    number of queries actually measured is reported with each figure.
    """

    name: str
    sizes: tuple[int, ...] = (10_000, 100_000)
    dim: int = 384
    queries: int = 200
    min_queries: int = 20
    #: query settings swept for the recall-vs-QPS curve (HNSW beam width)
    efs: tuple[int, ...] = (16, 64, 256)
    concurrency: tuple[int, ...] = (1, 4, 16)
    repeats: int = 3
    ingest_repeats: int = 1
    budget_s: float = 1.0
    #: a backend skips a larger size when its projected ingest exceeds this
    ingest_budget_s: float = 90.0
    #: largest synthetic size per backend (slow backends), by backend name
    caps: dict[str, int] = field(default_factory=lambda: {"qdrant+local": 1_000})
    #: SciFact: documents ingested (None: the whole corpus) and test queries (None: all)
    scifact_docs: int | None = None
    scifact_queries: int | None = None
    scifact_ann: bool = True
    quality_backends: tuple[str, ...] = ("qdrant",)
    #: reranked recipes: candidates reranked per query, and how many judged queries they run
    #: on (None: all; the report then compares with the base recipe on the same queries)
    rerank_depth: int = 10
    rerank_queries: int | None = 20
    recipes: tuple[str, ...] = (
        "dense",
        "bm25",
        "hybrid-rrf",
        "hybrid-convex",
        "hybrid-dbsf",
        "hybrid-rrf+late",
    )
    overhead_backends: tuple[str, ...] = ("qdrant", "chroma", "milvus+server")
    overhead_n: int = 5_000
    overhead_queries: int = 300
    overhead_rounds: int = 2
    #: run every measure on every data set (else the filtered searches and the concurrency
    #: levels above 1 run on the first synthetic size only)
    every_measure_everywhere: bool = False
    #: the whole run's time budget (seconds; None: none): each backend gets a share, with
    #: what earlier backends leave over carried forward, for the data sets beyond its first;
    #: ``tail_reserve_s`` of it is kept for the quality and overhead measures
    total_budget_s: float | None = 540.0
    tail_reserve_s: float = 150.0
    #: backends that also run the SciFact ANN data set (None: all)
    scifact_ann_backends: tuple[str, ...] | None = (
        "memory",
        "qdrant",
        "milvus",
        "chroma",
        "weaviate",
        "faiss-flat",
        "faiss-hnsw",
    )
    #: worker processes run at once (1 for any timing worth reading)
    parallel: int = 1
    #: each step's budget (seconds): every step (task) runs in its own worker process, and a
    #: worker past its budget is stopped by PID and its entry reported as "skipped: ran past
    #: its N s budget (what it was doing)" while the rest of the run goes on. A step's own
    #: budget is in ``step_budgets`` (keys: ``data``, ``scifact``, ``backend``, ``quality``,
    #: ``overhead``, ``ingest_cpu``); the others get ``worker_timeout_s``.
    worker_timeout_s: float = 420.0
    step_budgets: dict[str, float] = field(default_factory=lambda: {"data": 840.0, "scifact": 840.0})
    #: the ``ingest_cpu`` step: vecctx ingest against the raw model on the first
    #: ``ingest_cpu_docs`` SciFact documents (None: not run), each CPU measure ``ingest_cpu_repeats``
    #: times, and the query latency of ``ingest_cpu_queries`` claims with the model running
    ingest_cpu_docs: int | None = 200
    ingest_cpu_queries: int = 100
    ingest_cpu_repeats: int = 1
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, dict) else v
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Profile:
        kw: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in d:
                v = d[f.name]
                kw[f.name] = tuple(v) if isinstance(v, list) else v
        return cls(**kw)

    def budget_for(self, step: str) -> float:
        """The time budget (seconds) of the step ``step`` (see ``step_budgets``)."""
        return float(self.step_budgets.get(step, self.worker_timeout_s))

    def size_for(self, backend: str, size: int) -> int:
        """The size ``backend`` runs instead of ``size`` (its cap, when lower)."""
        cap = self.caps.get(backend)
        return min(size, cap) if cap is not None else size


QUICK = Profile("quick")

TINY = Profile(
    name="tiny",
    sizes=(300,),
    queries=12,
    min_queries=5,
    efs=(16, 64),
    repeats=1,
    budget_s=2.0,
    ingest_budget_s=60.0,
    caps={"qdrant+local": 200},
    scifact_docs=120,
    scifact_queries=8,
    rerank_depth=5,
    rerank_queries=3,
    overhead_n=300,
    overhead_queries=20,
    overhead_rounds=1,
    total_budget_s=None,
    scifact_ann_backends=None,
    parallel=3,
    worker_timeout_s=240.0,
    step_budgets={"data": 480.0, "scifact": 480.0},
    ingest_cpu_docs=6,
    ingest_cpu_queries=8,
)

FULL = Profile(
    name="full",
    queries=1_000,
    min_queries=100,
    efs=(8, 16, 32, 64, 128, 256, 512),
    repeats=5,
    ingest_repeats=3,
    budget_s=60.0,
    ingest_budget_s=3_600.0,
    caps={"qdrant+local": 20_000},
    quality_backends=("qdrant", "milvus", "chroma", "memory"),
    rerank_depth=30,
    rerank_queries=None,
    recipes=(
        "dense",
        "bm25",
        "hybrid-rrf",
        "hybrid-convex",
        "hybrid-dbsf",
        "dense+late",
        "hybrid-rrf+late",
        "hybrid-convex+late",
    ),
    overhead_n=20_000,
    overhead_queries=2_000,
    overhead_rounds=3,
    every_measure_everywhere=True,
    total_budget_s=None,
    scifact_ann_backends=None,
    worker_timeout_s=14_400.0,
    step_budgets={"data": 28_800.0, "scifact": 28_800.0},
    ingest_cpu_docs=500,
    ingest_cpu_queries=300,
    ingest_cpu_repeats=3,
)

PROFILES = {p.name: p for p in (TINY, QUICK, FULL)}


def get_profile(name: str, *, n: int | None = None) -> Profile:
    """The named profile; ``n`` makes ``n`` the largest synthetic size (the latency-growth
    curve then uses ``n // 10`` and ``n``). ``VECCTX_BENCH_1M=1`` adds 1M to ``full``."""
    try:
        prof = PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown benchmark profile {name!r}: choose from {', '.join(PROFILES)}") from None
    if n is not None:
        if n < 10:
            raise ConfigError(f"--n must be at least 10, got {n}")
        sizes = (n,) if n < 1_000 else (n // 10, n)
        prof = replace(prof, sizes=sizes)
    elif prof.name == "full" and os.environ.get("VECCTX_BENCH_1M", "") not in ("", "0"):
        prof = replace(prof, sizes=(*prof.sizes, 1_000_000))
    return prof


__all__ = ["FULL", "PINNED_ENV", "PROFILES", "QUICK", "TINY", "Profile", "get_profile"]
