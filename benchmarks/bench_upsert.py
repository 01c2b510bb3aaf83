"""Ingest per backend: time until the collection is ready to serve (upsert of every vector
with its id, text and metadata, then ``optimize``, which builds the index), into a fresh
collection every round.

    pytest benchmarks/bench_upsert.py --benchmark-only
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from vecctx_bench.backends import BACKENDS, Target
from vecctx_bench.data import Dataset
from vecctx_bench.servers import Server
from vecctx_bench.suite import backend_names, bench_n, ingest, open_for, size_for

ROUNDS = 2


@pytest.fixture
def fresh(
    bench_root: Path, datasets: Callable[[int], Dataset], servers: Callable[[str], Server]
) -> Iterator[Callable[[str], tuple[Dataset, Callable[[], tuple[tuple[Target], dict[str, Any]]]]]]:
    """``fresh(name)``: the data and a pedantic ``setup`` opening an empty collection per round."""
    opened: list[Target] = []

    def make(name: str) -> tuple[Dataset, Callable[[], tuple[tuple[Target], dict[str, Any]]]]:
        data = datasets(size_for(name, bench_n()))

        def setup() -> tuple[tuple[Target], dict[str, Any]]:
            while opened:  # the previous round's collection
                old = opened.pop()
                old.drop()
                old.close()
            d = open_for(BACKENDS[name], data, bench_root, servers, f"ingest{len(opened)}")
            opened.append(d)
            return (d,), {}

        return data, setup

    yield make
    for d in opened:
        d.drop()
        d.close()


@pytest.mark.parametrize("name", backend_names())
def test_ingest_until_ready(benchmark: Any, fresh: Any, name: str) -> None:
    data, setup = fresh(name)
    benchmark.group = "ingest: upsert + optimize"
    benchmark.pedantic(lambda d: ingest(d, data), setup=setup, rounds=ROUNDS, iterations=1)
    median = benchmark.stats.stats.median
    benchmark.extra_info.update({"backend": name, "n": data.n, "points_per_s": data.n / median})
