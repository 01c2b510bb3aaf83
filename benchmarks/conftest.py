"""pytest-benchmark wiring for ``benchmarks/``::

    pytest benchmarks/ --benchmark-only                    # every backend that runs here
    VECCTX_BENCH_BACKENDS=qdrant,chroma pytest benchmarks/bench_search.py --benchmark-only
    VECCTX_BENCH_N=100000 pytest benchmarks/bench_search.py --benchmark-only

* Files named ``bench_*.py`` are collected here (pytest's default is ``test_*.py``).
* ``--benchmark-only`` wins over the ``--benchmark-disable`` of the root ``addopts`` (which
  keeps benchmarks from timing anything in the ordinary test run): pytest-benchmark would
  otherwise refuse the pair.
* Thread counts are pinned before numpy loads: one BLAS/OpenMP thread (faiss and torch too).
* Servers (``milvus-lite server``, ``chroma run``) start on 127.0.0.1 at a free port once per
  session and are stopped by their PID.

Environment: ``VECCTX_BENCH_N`` (synthetic size, default 10,000), ``VECCTX_BENCH_QUERIES``
(default 200), ``VECCTX_BENCH_BACKENDS`` (comma-separated names from
``vecctx_bench.backends.BACKENDS``; default every one that can run here).
"""

from __future__ import annotations

import os

from vecctx_bench.profiles import PINNED_ENV

for _key, _value in PINNED_ENV.items():
    os.environ.setdefault(_key, _value)

import tempfile  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from vecctx_bench.backends import BACKENDS, remove_tree  # noqa: E402
from vecctx_bench.data import Dataset, synthetic  # noqa: E402
from vecctx_bench.servers import STARTERS, Server  # noqa: E402
from vecctx_bench.suite import Built, bench_n, bench_queries, ingest, open_for, size_for  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("benchmark_only", default=False):
        config.option.benchmark_enable = True


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("bench_")
        and file_path.parent == Path(__file__).parent
        and not parent.session.isinitpath(file_path)  # named on the command line: collected already
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture(scope="session")
def bench_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="vecctx-pytest-bench-"))
    yield root
    remove_tree(root)


@pytest.fixture(scope="session")
def datasets() -> Callable[[int], Dataset]:
    """Synthetic data sets by size, generated once (fixed seed, exact ground truth)."""
    made: dict[int, Dataset] = {}

    def get(n: int) -> Dataset:
        if n not in made:
            made[n] = synthetic(n, queries=bench_queries())
        return made[n]

    return get


@pytest.fixture(scope="session")
def servers(bench_root: Path) -> Iterator[Callable[[str], Server]]:
    """Lazily started servers by kind (``milvus``, ``chroma``), stopped by PID at the end."""
    running: dict[str, Server] = {}

    def get(kind: str) -> Server:
        if kind not in running:
            running[kind] = STARTERS[kind](bench_root / f"{kind}-server")
        return running[kind]

    yield get
    for server in running.values():
        server.stop()


@pytest.fixture(scope="session")
def built(
    bench_root: Path, datasets: Callable[[int], Dataset], servers: Callable[[str], Server]
) -> Iterator[Callable[[str], Built]]:
    """``built(name)``: the backend's collection of ``VECCTX_BENCH_N`` vectors, ingested and
    optimised once per session."""
    cache: dict[str, Built] = {}

    def get(name: str) -> Built:
        if name not in cache:
            backend = BACKENDS[name]
            data = datasets(size_for(name, bench_n()))
            target = open_for(backend, data, bench_root, servers, "search")
            ingest(target, data)
            cache[name] = Built(backend, target, data)
        return cache[name]

    yield get
    for b in cache.values():
        b.target.close()
