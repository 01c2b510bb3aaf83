"""Search latency per backend: default settings, the HNSW ef sweep, exact search, and
filtered search at 1 / 50 / 99 % selectivity; recall@10 against exact ground truth is kept
in each benchmark's ``extra_info``. Also QPS at 1, 4 and 16 client threads.

    pytest benchmarks/bench_search.py --benchmark-only
    pytest benchmarks/bench_search.py --benchmark-only -k "qdrant and ef"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from vecctx_bench.data import FILTER_DEPTH, FILTERS, recall
from vecctx_bench.measures import concurrent_loop, timed_loop
from vecctx_bench.suite import Built, backend_names

from vecctx.contract.store import SearchParams

BACKENDS = backend_names()
#: (case id, params, filter label or None)
CASES: list[tuple[str, SearchParams, str | None]] = [
    ("default", SearchParams(), None),
    ("ef=16", SearchParams(ef=16), None),
    ("ef=64", SearchParams(ef=64), None),
    ("ef=256", SearchParams(ef=256), None),
    ("exact", SearchParams(exact=True), None),
    *((f"filter-{c.label}", SearchParams(), c.label) for c in FILTERS),
]
RECALL_QUERIES = 50


def _applicable(b: Built, case: str, params: SearchParams, flt: str | None) -> str | None:
    """Why a case does not apply to a backend (None when it does)."""
    settings = {label for label, _ in b.target.settings([16, 64, 256])}
    if flt is not None and not b.target.filters:
        return "no metadata filters"
    if params.exact and "exact" not in settings:
        return "no exact search"
    if params.ef is not None and case not in settings:
        return "no per-query ef"
    return None


@pytest.mark.parametrize("case,params,flt", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("name", BACKENDS)
def test_search(
    benchmark: Any, built: Callable[[str], Built], name: str, case: str, params: SearchParams, flt: str | None
) -> None:
    b = built(name)
    why = _applicable(b, case, params, flt)
    if why:
        pytest.skip(f"{name}: {why}")
    filt = next((c.build() for c in FILTERS if c.label == flt), None)
    k = FILTER_DEPTH if flt else 10
    p = b.target.prepare(params)

    def one(q: Any) -> list[str]:
        return b.target.search(q, k=k, params=p, flt=filt)

    loop = timed_loop(one, b.data.Q[:RECALL_QUERIES], budget_s=30.0, min_queries=RECALL_QUERIES)
    truth = b.data.gt[flt] if flt else b.data.gt["all"]
    benchmark.group = f"search {case} (n={b.data.n:,})"
    benchmark.extra_info.update(
        {"backend": name, "n": b.data.n, "recall@10": recall(loop.results, truth, 10)}
    )
    benchmark(lambda: one(b.next_query()))


@pytest.mark.parametrize("threads", [1, 4, 16])
@pytest.mark.parametrize("name", BACKENDS)
def test_concurrent_qps(benchmark: Any, built: Callable[[str], Built], name: str, threads: int) -> None:
    """One round = every query once, spread over ``threads`` client threads; QPS in extra_info."""
    b = built(name)
    params = SearchParams()

    def fn(q: Any) -> list[str]:
        return b.target.search(q, k=10, params=params, flt=None)

    def round_() -> float:
        return concurrent_loop(fn, b.data.Q, threads=threads, budget_s=1e9, min_queries=0).qps

    benchmark.group = f"concurrency (n={b.data.n:,}, {b.data.Q.shape[0]} queries a round)"
    qps = benchmark.pedantic(round_, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update({"backend": name, "threads": threads, "qps_last_round": qps})
