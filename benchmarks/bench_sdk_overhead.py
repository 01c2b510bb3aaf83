"""vecctx's overhead over each native client (qdrant_edge, chromadb, pymilvus): the same
search through both on the same engine instance, and the interleaved A/B comparison whose
ratios land in ``extra_info`` (see :mod:`vecctx_bench.overhead`).

    pytest benchmarks/bench_sdk_overhead.py --benchmark-only
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from vecctx_bench.backends import BACKENDS
from vecctx_bench.overhead import CASES, ABCase, Data, make_data, search_ab, upsert_ab
from vecctx_bench.suite import backend_names, bench_n, bench_queries

NAMES = [n for n in CASES if n in backend_names()]


@pytest.fixture(scope="module")
def ab_data() -> Data:
    return make_data(bench_n(), max(bench_queries(), 200))


@pytest.fixture(scope="module")
def cases(bench_root: Path, ab_data: Data) -> Iterator[Callable[[str], ABCase]]:
    made: dict[str, ABCase] = {}

    def get(name: str) -> ABCase:
        if name not in made:
            work = bench_root / f"ab-{name.replace('+', '_')}"
            work.mkdir(parents=True, exist_ok=True)
            made[name] = CASES[name](ab_data, work)
        return made[name]

    yield get
    for case in made.values():
        case.close()


@pytest.mark.parametrize("side", ["native", "vecctx"])
@pytest.mark.parametrize("name", NAMES)
def test_search(benchmark: Any, cases: Callable[[str], ABCase], ab_data: Data, name: str, side: str) -> None:
    case = cases(name)
    fn = case.search_native if side == "native" else case.search_vecctx
    state = {"i": 0}

    def one() -> Any:
        q = ab_data.Q[state["i"] % ab_data.Q.shape[0]]
        state["i"] += 1
        return fn(q)

    benchmark.group = f"sdk overhead: search on {BACKENDS[name].label} ({ab_data.n:,} vectors)"
    benchmark.extra_info.update({"backend": name, "side": side, "native": case.native})
    benchmark(one)


@pytest.mark.parametrize("name", NAMES)
def test_ab_interleaved(benchmark: Any, cases: Callable[[str], ABCase], ab_data: Data, name: str) -> None:
    """Search and upsert A/B interleaved in one run; ratios vecctx / native in extra_info."""
    import statistics

    case = cases(name)

    def run() -> dict[str, float]:
        s = search_ab(case, ab_data.Q)
        u = upsert_ab(case, 2)
        p50 = {k: statistics.median(v) for k, v in s.items()}
        tput = {k: ab_data.n / statistics.median(v) for k, v in u.items()}
        return {
            "search_p50_native_ms": p50["native"],
            "search_p50_vecctx_ms": p50["vecctx"],
            "search_ratio": p50["vecctx"] / p50["native"],
            "upsert_native_per_s": tput["native"],
            "upsert_vecctx_per_s": tput["vecctx"],
            "upsert_ratio": tput["vecctx"] / tput["native"],
        }

    benchmark.group = "sdk overhead: A/B interleaved"
    result = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update({"backend": name, **result})
