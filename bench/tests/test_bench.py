"""The benchmark suite: a tiny run of every case on every backend that runs here (so none
rots), its three artefacts, and the pieces it is built from (data, ground truth, stats,
report, CLI wiring, its reach into the adapters). Timings are not asserted: only that each
figure exists and is sane."""

from __future__ import annotations

import gc
import json
import math
import os
import re
import struct
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest
import vecctx_bench
from vecctx_bench import run_bench
from vecctx_bench.backends import BACKENDS, driver_extra, select
from vecctx_bench.data import FILTERS, buckets, exact_top_k, lowrank_chunked, recall, row_id, synthetic
from vecctx_bench.measures import MemoryWatch, concurrent_loop, spread, summary, timed_loop
from vecctx_bench.overhead import uuid5_ids
from vecctx_bench.profiles import QUICK, TINY, Profile, get_profile
from vecctx_bench.report import render
from vecctx_bench.suite import backend_names

from vecctx import CollectionSpec, ConfigError, Hit, MemoryStore, Query, Record, ScoreKind
from vecctx.eval.runner import run_queries
from vecctx.testing import lowrank

PLOTS = ("recall_qps.png", "latency_size.png", "concurrency.png", "quality_latency.png")
#: Every backend that runs here, or those of ``VECCTX_BENCH_BACKENDS`` (comma-separated: e.g.
#: ``memory,qdrant,faiss-flat,faiss-hnsw`` while another adapter is being worked on).
RUNNABLE = backend_names()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench")
    chosen = RUNNABLE if os.environ.get("VECCTX_BENCH_BACKENDS") else None
    assert run_bench(backends=chosen, n=None, profile="tiny", out=out) == out
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


# -- the end-to-end tiny run ---------------------------------------------------------------------


def test_three_artefacts(tiny: tuple[Path, dict[str, Any]]) -> None:
    out, results = tiny
    report = (out / "report.md").read_text(encoding="utf-8")
    assert results["profile"]["name"] == "tiny"
    assert results["schema"] == 1 and results["seconds"] > 0
    for name in PLOTS:
        w, h = _png_size(out / name)
        assert 500 <= w <= 3000 and 300 <= h <= 2000, (name, w, h)
        assert f"]({name})" in report, f"{name} is not in the report"
    for section in (
        "## Headline",
        "## Recall vs QPS",
        "## Ingest",
        "## Latency and throughput vs concurrency",
        "## Filtered search",
        "## Latency growth",
        "## Retrieval quality on SciFact",
        "## SDK overhead",
        "## Ingest CPU and query latency against the raw model",
        "## Backends and versions",
    ):
        assert section in report, section
    for name in RUNNABLE:
        assert BACKENDS[name].label in report


def test_machine_and_versions_recorded(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, results = tiny
    m = results["machine"]
    assert m["cpus"] >= 1 and len(m["load_average"]) == 3 and len(m["load_average_end"]) == 3
    assert results["versions"]["vecctx"] != "not installed"
    assert results["threads"]["OMP_NUM_THREADS"] == "1"
    assert results["profile"]["seed"] == 0
    assert results["command"].startswith("vecctx bench --profile tiny")


def test_every_runnable_backend_ran_cleanly(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, results = tiny
    assert list(results["backends"]) == RUNNABLE
    assert "faiss-flat" in RUNNABLE and "qdrant" in RUNNABLE  # installed here: never silently absent
    for name, b in results["backends"].items():
        assert b["returncode"] == 0 and not b["timed_out"], (name, b.get("error"))
        assert not b["errors"], (name, b["errors"])
        assert b["datasets"], name
        for ds, d in b["datasets"].items():
            assert not d["errors"], (name, ds, d["errors"])


def test_measures_are_sane(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, results = tiny
    for name, b in results["backends"].items():
        primary = [d for d in b["datasets"].values() if d["primary"]]
        assert len(primary) == 1, name
        for ds, d in b["datasets"].items():
            ing = d["ingest"]
            assert ing["n"] == d["n"] > 0
            assert ing["upsert_per_s"] > 0 and ing["ready_s"]["median"] >= ing["upsert_s"]["median"]
            threads = {1, 4, 16} if d["primary"] else {1}
            assert {int(k) for k in d["concurrency"]} == threads, (name, ds)
            for c in d["concurrency"].values():
                lat = c["latency_ms"]
                assert c["qps"]["median"] > 0 and lat["n"] >= TINY.min_queries
                assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"]
            settings = {p["setting"]: p for p in d["sweep"]}
            for p in settings.values():
                assert 0.0 <= p["recall@10"] <= 1.0 and 0.0 <= p["recall@100"] <= 1.0 and p["qps"] > 0
            if "exact" in settings:
                assert settings["exact"]["recall@10"] >= 0.99, (name, ds)
                assert settings["exact"]["recall@100"] >= 0.99, (name, ds)
            best = max(p["recall@10"] for p in settings.values())
            assert best >= 0.99, (name, ds, settings)
            persistent = BACKENDS[name].kind == "vecctx" and name != "memory"
            assert (d["disk_bytes"] or 0) > 0 if persistent else d["disk_bytes"] is None, (
                name,
                d["disk_bytes"],
            )
            assert d["memory"]["peak_delta_bytes"] >= 0
        flt = primary[0]["filtered"]
        assert set(flt) == {c.label for c in FILTERS}
        for case in flt.values():
            if BACKENDS[name].kind == "faiss":
                assert "skipped" in case
            else:
                assert case["latency_ms"]["n"] > 0 and 0.5 <= case["recall@10"] <= 1.0, (name, case)
    mem = results["backends"]["memory"]["datasets"]
    for d in mem.values():  # the reference is exact, filtered or not
        assert all(f["recall@10"] == 1.0 for f in (d.get("filtered") or {}).values())


def test_caps_and_growth(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, results = tiny
    if "qdrant+local" in results["backends"]:
        local = results["backends"]["qdrant+local"]["datasets"]
        assert set(local) == {f"lowrank-{TINY.caps['qdrant+local']}"}  # capped, and SciFact is over the cap
        assert any("capped" in note for note in results["notes"])
    assert "scifact" in results["backends"]["qdrant"]["datasets"]
    sci = results["data"]["scifact"]
    assert sci["kind"] == "scifact" and sci["chunks"] > (TINY.scifact_docs or 0)


def test_quality_recipes(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, results = tiny
    q = results["quality"]["qdrant"]
    assert q["returncode"] == 0 and not q["errors"], q.get("errors")
    assert set(q["recipes"]) == set(TINY.recipes)
    for name, r in q["recipes"].items():
        assert 0.0 < r["ndcg@10"] <= 1.0, name
        assert r["latency_ms"]["n"] == r["queries"] > 0
        if r["rerank"] is None:  # both latencies: cached query vectors, and the model embedding each
            assert r["latency_e2e_ms"]["n"] == r["queries"], name
    assert q["recipes"]["hybrid-rrf"]["native_fusion"] is True
    assert q["recipes"]["hybrid-convex"]["native_fusion"] is False
    late = q["recipes"]["hybrid-rrf+late"]
    assert late["rerank_depth"] == TINY.rerank_depth and late["queries"] == TINY.rerank_queries
    assert late["base"]["recipe"] == "hybrid-rrf" and 0.0 < late["base"]["ndcg@10"] <= 1.0


def test_ingest_cpu_step(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, results = tiny
    r = results["ingest_cpu"]
    assert r["returncode"] == 0 and not r["timed_out"] and "status" not in r, r.get("error")
    assert r["documents"] == TINY.ingest_cpu_docs and r["chunks"] >= r["documents"]
    assert all(r["cpu_s"][k] > 0 for k in ("vecctx_ingest", "raw_chunks_sorted", "raw_documents"))
    assert r["query"]["vecctx_ms"]["n"] == r["query"]["native_ms"]["n"] == TINY.ingest_cpu_queries


def test_sdk_overhead_ab(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, results = tiny
    ov = results["overhead"]
    assert ov["returncode"] == 0
    for name in ("qdrant", "chroma", "milvus+server"):
        if name not in RUNNABLE:
            continue
        c = ov["cases"][name]
        assert "error" not in c, c.get("error")
        assert c["search_ms"]["native"]["n"] == c["search_ms"]["vecctx"]["n"] == TINY.overhead_queries
        assert 0.1 < c["search_ratio"] < 10 and 0.05 < c["upsert_ratio"] < 20


# -- the pieces ------------------------------------------------------------------------------------


def test_ground_truth_matches_the_reference_store() -> None:
    ds = synthetic(400, dim=16, queries=6, seed=3)
    again = synthetic(400, dim=16, queries=6, seed=3)
    assert np.array_equal(ds.X, again.X) and np.array_equal(ds.gt["all"], again.gt["all"])
    ref = MemoryStore()
    ref.create_collection(CollectionSpec(name="gt", dimension=16))
    b = buckets(ds.n)
    ref.upsert("gt", [Record(row_id(i), ds.X[i], metadata={"bucket": int(b[i])}) for i in range(ds.n)])
    for qi, q in enumerate(ds.Q):
        hits = ref.search("gt", vector=q, k=100)
        assert [h.id for h in hits] == [row_id(int(r)) for r in ds.gt["all"][qi]]
        for case in FILTERS:
            fh = ref.search("gt", vector=q, k=10, filter=case.build())
            assert [h.id for h in fh] == [row_id(int(r)) for r in ds.gt[case.label][qi] if r >= 0]


def test_exact_top_k_pads_when_the_filter_keeps_few_rows() -> None:
    X = lowrank(50, 8, rank=4, seed=1)
    mask = np.zeros(50, dtype=bool)
    mask[[3, 9]] = True
    got = exact_top_k(X, X[:2], 5, mask)
    assert got.shape == (2, 5) and set(got[0, :2]) == {3, 9} and (got[:, 2:] == -1).all()
    assert recall([[row_id(3), row_id(9)]], got[:1], 10) == 1.0
    assert recall([[row_id(3)]], got[:1], 10) == 0.5


def test_lowrank_in_slices_is_the_same_data() -> None:
    assert np.array_equal(lowrank(40, 12, seed=5), lowrank_chunked(40, 12, seed=5, step=7, above=0))


def test_stats_and_loops() -> None:
    s = summary([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["n"] == 5 and s["p50"] == 3.0 and s["p25"] <= s["p50"] <= s["p75"] <= s["p95"] <= s["p99"]
    sp = spread([3.0, 1.0, 2.0])
    assert sp["median"] == 2.0 and sp["iqr"] == 1.0 and sp["values"] == [3.0, 1.0, 2.0]
    Q = np.zeros((30, 4), dtype=np.float32)
    res = timed_loop(lambda q: float(q.sum()), Q, budget_s=0.0, min_queries=7)
    assert res.count == 7 and res.results == [0.0] * 7  # the budget stops it, never before min_queries
    full = concurrent_loop(lambda q: None, Q, threads=4, budget_s=60.0, min_queries=0)
    assert full.count == 30 and full.qps > 0
    # Free what earlier tests left for the collector first: memory released after start()
    # lowers RSS below the baseline and hides the blob (seen once in a full run: delta 0).
    gc.collect()
    watch = MemoryWatch(["self"])
    watch.start()
    blob = np.ones(16_000_000)  # 128 MB, touched
    assert watch.peak_delta()["peak_delta_bytes"] >= 64_000_000
    del blob


def test_reranked_recipes_reorder_only_the_head() -> None:
    """The quality run reranks the top ``rerank_depth`` hits (``run_queries``); the rest keep
    their order."""

    class Reverse:
        name = "reverse"

        def rerank(self, query: Query, hits: Sequence[Hit], *, k: int) -> list[Hit]:
            return list(reversed(hits))[:k]

    hits = [Hit(id=str(i), score=1.0 - i / 10, relevance=0.5, kind=ScoreKind.COSINE) for i in range(6)]

    class Fixed:
        def retrieve(self, text: str, *, k: int, with_vectors: bool = False) -> SimpleNamespace:
            return SimpleNamespace(query=Query(text), hits=hits[:k])

    run, latencies = run_queries(cast(Any, Fixed()), {"q": "text"}, rerankers=[Reverse()], rerank_depth=3)
    assert sorted(run["q"], key=run["q"].__getitem__, reverse=True) == ["2", "1", "0", "3", "4", "5"]
    assert len(latencies) == 1


def test_profiles() -> None:
    assert get_profile("quick") is QUICK
    assert get_profile("quick", n=50_000).sizes == (5_000, 50_000)
    assert get_profile("tiny", n=500).sizes == (500,)
    assert Profile.from_dict(QUICK.to_dict()) == QUICK
    assert QUICK.size_for("qdrant+local", 100_000) == QUICK.caps["qdrant+local"]
    with pytest.raises(ConfigError):
        get_profile("huge")


def test_backend_selection() -> None:
    chosen, skipped = select(["memory", "weaviate"])
    names = [b.name for b in chosen]
    assert "memory" in names and ("weaviate" in names) != ("weaviate" in skipped)
    with pytest.raises(ConfigError, match="unknown backend"):
        select(["nosuch"])
    with pytest.raises(ConfigError, match="unknown backend"):
        run_bench(backends=["nosuch"], n=None, profile="tiny", out=Path("/nonexistent/never-written"))


def test_report_renders_an_empty_run() -> None:
    text = render({"backends": {}, "machine": {}, "profile": {"name": "tiny"}})
    assert text.startswith("# vecctx benchmark report")


def test_cli_passes_its_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from vecctx.cli import main

    seen: dict[str, Any] = {}

    def fake(*, backends: list[str] | None, n: int | None, profile: str, out: Path) -> Path:
        seen.update(backends=backends, n=n, profile=profile, out=out)
        return out

    monkeypatch.setattr(vecctx_bench, "run_bench", fake)
    args = [
        "bench",
        "--backends",
        "memory,qdrant",
        "--n",
        "5000",
        "--profile",
        "full",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    assert seen == {"backends": ["memory", "qdrant"], "n": 5000, "profile": "full", "out": tmp_path}


def test_cli_runs_the_reference_backend_end_to_end(tmp_path: Path) -> None:
    from vecctx.cli import main

    assert (
        main(["bench", "--backends", "memory", "--n", "200", "--profile", "tiny", "--out", str(tmp_path)])
        == 0
    )
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert (
        list(results["backends"]) == ["memory"] and results["quality"] == {} and results["overhead"] is None
    )
    d = results["backends"]["memory"]["datasets"]["lowrank-200"]
    assert d["ingest"]["n"] == 200 and not math.isnan(d["sweep"][0]["recall@10"])
    assert (tmp_path / "report.md").is_file() and (tmp_path / "recall_qps.png").is_file()


def test_larger_sizes_are_skipped_by_projection_and_deadline() -> None:
    import time

    from vecctx_bench.data import Dataset
    from vecctx_bench.runner import GROWTH_HEADROOM, _skip_reason

    big = Dataset("lowrank-100000", np.zeros((100_000, 2), np.float32), np.zeros((1, 2), np.float32), {})
    prof = QUICK
    assert _skip_reason(big, 0, 1.0, 0.0, prof, None) is None  # the first data set always runs
    assert _skip_reason(big, 1, None, 0.0, prof, None) is None
    rate = prof.ingest_budget_s / big.n / GROWTH_HEADROOM
    assert _skip_reason(big, 1, rate * 0.9, 0.0, prof, None) is None
    assert "budget" in (_skip_reason(big, 1, rate * 1.1, 0.0, prof, None) or "")
    soon = time.time() + 1.0
    assert "overrun" in (_skip_reason(big, 1, rate * 0.5, 5.0, prof, soon) or "")
    assert _skip_reason(big, 1, rate * 0.5, 5.0, prof, soon + 3600) is None


# -- a distribution of its own, reaching adapters through public entry points only ----------------


def test_core_does_not_import_the_benchmark() -> None:
    code = "import sys, vecctx, vecctx.cli; sys.exit('vecctx_bench' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_cli_says_how_to_install_the_benchmark(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from vecctx.cli import main

    monkeypatch.setitem(sys.modules, "vecctx_bench", None)  # as if not installed
    assert main(["bench", "--out", str(tmp_path)]) == 2
    assert "pip install vecctx-bench" in capsys.readouterr().err


def test_adapters_only_through_public_entry_points() -> None:
    """No adapter module (nor a private ``_common``, ``_sync`` or ``_async`` one) is imported and
    no private attribute of a store or driver is read: adapters are reached through
    ``vecctx.connect`` and ``store.driver.<extra>``."""
    src = Path(vecctx_bench.__file__).parent
    pattern = re.compile(
        r"vecctx_(qdrant|milvus|chroma|weaviate)\b|\b_(common|sync|async)\b|(store|driver)\._|\._driver\b"
    )
    found = [
        f"{path.name}:{i}: {line.strip()}"
        for path in sorted(src.glob("*.py"))
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, found


def test_driver_extra() -> None:
    store = MemoryStore()
    assert driver_extra(store, "target") == "memory://"
    with pytest.raises(ConfigError, match=r"has no driver\.native_shard"):
        driver_extra(store, "native_shard")


def test_native_uuid_mapping_is_uuid5() -> None:
    ids = [f"doc-{i}" for i in range(50)] + ["", "é", "a" * 300]
    assert uuid5_ids(ids) == [str(uuid.uuid5(uuid.NAMESPACE_URL, i)) for i in ids]


# -- budgets, the embedding cache, honest latencies, ingest CPU (#18) ------------------------------


def _scifact() -> Path:
    sci = vecctx_bench.scifact_dir()
    assert sci is not None, "SciFact is part of the test data here (VECCTX_DATA)"
    return sci


def test_a_step_past_its_budget_is_skipped_and_the_run_completes(tmp_path: Path) -> None:
    _scifact()
    prof = replace(
        TINY,
        name="tiny",
        sizes=(200,),
        step_budgets={**TINY.step_budgets, "scifact": 0.5, "ingest_cpu": 0.5},
        quality_backends=(),
        overhead_backends=(),
        parallel=1,
    )
    assert run_bench(backends=["memory"], n=None, profile=prof, out=tmp_path) == tmp_path
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    skipped = "skipped: ran past its 0.5 s budget ("
    assert results["steps"]["scifact"].startswith(skipped), results["steps"]
    assert "scifact" not in results["data"] and "lowrank-200" in results["data"]
    ingest_cpu = results["ingest_cpu"]
    assert ingest_cpu["status"].startswith(skipped) and ingest_cpu["timed_out"], ingest_cpu
    assert "error" not in ingest_cpu
    memory = results["backends"]["memory"]  # the rest of the run went on
    assert memory["returncode"] == 0 and set(memory["datasets"]) == {"lowrank-200"}
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"data step scifact: {skipped}" in report and f"ingest_cpu: {skipped}" in report


def test_scifact_vectors_come_from_the_cache_the_second_time(tmp_path: Path) -> None:
    from vecctx_bench.data import scifact

    heard: list[str] = []
    first = scifact(_scifact(), cache_dir=tmp_path, limit=3, queries=2, progress=heard.append)
    assert first.source["cache_misses"] > 0 and heard and "chunks done" in heard[-1]
    again = scifact(_scifact(), cache_dir=tmp_path, limit=3, queries=2)
    assert again.source["cache_misses"] == 0 and again.source["cache_hits"] == first.source["cache_misses"]
    assert np.allclose(first.X, again.X, atol=1e-6) and np.allclose(first.Q, again.Q, atol=1e-6)


def test_quality_reuses_the_cache_and_reports_both_latencies(tmp_path: Path) -> None:
    from vecctx_bench.quality import bench_quality

    prof = replace(TINY, recipes=("dense", "hybrid-rrf"), scifact_docs=3, scifact_queries=3)
    runs = []
    for r in range(2):
        runs.append(
            bench_quality(
                BACKENDS["qdrant"],
                directory=_scifact(),
                cache_dir=tmp_path / "cache",
                work=tmp_path / f"q{r}",
                prof=prof,
                log=lambda _m: None,
            )
        )
    first, second = runs
    assert first["ingest"]["cache_misses"] > 0
    assert second["ingest"]["cache_misses"] == 0  # the second run never runs the model on a document
    assert second["ingest"]["cache_hits"] == second["ingest"]["chunks"] > 0
    for name, r in second["recipes"].items():
        assert r["latency_ms"]["n"] == r["latency_e2e_ms"]["n"] == r["queries"] == 3, name
        assert r["latency_e2e_ms"]["p50"] > 0 and r["latency_ms"]["p50"] > 0


def test_report_labels_both_latencies_and_shows_ingest_cpu() -> None:
    from vecctx_bench.report import E2E_P50, SEARCH_P50

    lat = {"n": 3, "p50": 4.0, "p95": 5.0}
    results: dict[str, Any] = {
        "backends": {},
        "machine": {},
        "profile": {"name": "tiny"},
        "quality": {
            "qdrant": {
                "recipes": {
                    "dense": {
                        "ndcg@10": 0.5,
                        "queries": 3,
                        "latency_ms": lat,
                        "latency_e2e_ms": {"p50": 19.0},
                    }
                }
            },
            "milvus": {"status": "skipped: ran past its 420 s budget (ingesting)", "recipes": {}},
        },
        "ingest_cpu": {
            "documents": 5,
            "chunks": 9,
            "doc_tokens": 1000,
            "chunk_tokens": 1200,
            "token_ratio": 1.2,
            "cpu_s": {"vecctx_ingest": 3.0, "raw_chunks_sorted": 2.0, "raw_documents": 1.5},
            "ratios": {"ingest_vs_raw_chunks": 1.5, "ingest_vs_raw_documents": 2.0},
            "query": {"queries": 4, "vecctx_ms": lat, "native_ms": lat, "p50_ratio": 1.0},
            "targets": {"ingest_cpu": 1.15, "tokens": 1.1, "query_p50": 1.1},
        },
    }
    text = render(results)
    assert f"| {SEARCH_P50} |" in text and f"| {E2E_P50} |" in text
    row = next(line for line in text.splitlines() if line.startswith("| qdrant | dense |"))
    assert "| 4.00 | 5.00 | 19.0 | 3 |" in row
    assert "skipped: ran past its 420 s budget (ingesting)" in text
    assert "## Ingest CPU and query latency against the raw model" in text
    assert "| 5 | 9 | 1,000 | 1,200 | 1.200 | 3.00 | 2.00 | 1.50 | 1.500 | 2.000 |" in text


@pytest.mark.benchmark(group="ingest_cpu")
def test_ingest_cpu_against_the_raw_model(benchmark: Any, tmp_path: Path) -> None:
    """pytest-benchmark: ``vecctx_bench.ingest_cpu`` on a handful of SciFact abstracts (the
    figures are printed; only their sanity is asserted, never a timing)."""
    from vecctx_bench.ingest_cpu import bench_ingest_cpu, lines

    r = benchmark.pedantic(
        bench_ingest_cpu,
        args=(_scifact(),),
        kwargs={"docs": 4, "queries": 6, "work": tmp_path},
        rounds=1,
        iterations=1,
    )
    print("\n".join(lines(r)))
    assert r["documents"] == 4 and r["chunks"] >= 4
    assert r["doc_tokens"] > 0 and r["chunk_tokens"] >= 0.95 * r["doc_tokens"]  # the chunks cover the text
    for name in ("vecctx_ingest", "raw_chunks_sorted", "raw_documents"):
        assert r["cpu_s"][name] > 0, name
    assert r["ratios"]["ingest_vs_raw_chunks"] > 0 and r["ingest_report"]["written"] == r["chunks"]
    q = r["query"]
    assert q["queries"] == 6 and q["vecctx_ms"]["n"] == q["native_ms"]["n"] == 6 and q["p50_ratio"] > 0
    assert not (tmp_path / "store").exists()


def test_upsert_memory_runs_each_side_in_its_own_process() -> None:
    import os

    from vecctx_bench import scale

    res = scale.upsert_memory(3000)
    assert res["n"] == 3000 and res["matrix_bytes"] == 3000 * 384 * 4
    for side in ("vecctx", "native"):
        assert res[side]["seconds"] > 0
        assert res[side]["peak_delta_bytes"] is not None
    pids = {res["vecctx"]["pid"], res["native"]["pid"], os.getpid()}
    assert len(pids) == 3  # each side in a fresh process of its own
