"""Regenerate ``docs/benchmarks.md`` (and ``docs/img/bench-*.png``) from a benchmark run::

    vecctx bench --profile quick --out bench-results
    python -m vecctx_bench.docs bench-results docs

The page keeps the method and the commands, and takes every figure from ``results.json``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import report, two_paths

PLOTS = ("recall_qps", "latency_size", "concurrency", "quality_latency")

METHOD = """\
## What is measured, and how

* **Data.** Low-rank Gaussian vectors (`vecctx.testing.lowrank`, 384-d, rank 32, seed 0:
  uniform random vectors are the worst case for every graph index and mislead) at 10k and
  100k (1M with `VECCTX_BENCH_1M=1 vecctx bench --profile full`), and real embeddings: the
  9.6k chunks of SciFact and its 300 test claims through all-MiniLM-L6-v2 (the default
  offline embedder, served from the on-disk embedding cache). Every record carries an id,
  a short text and an integer `bucket = row % 100` declared in
  `CollectionSpec.indexed_fields`.
* **Ground truth** is exact: numpy over unit vectors (candidates in float32, order in
  float64), unfiltered top-100 and filtered top-10.
* **Every database is opened with `vecctx.connect(url)`**; faiss `IndexFlatIP` and
  `IndexHNSWFlat` (M 16, efConstruction 128) are library baselines without vecctx, payloads
  or filters. Each backend runs in its own worker process (so peak memory is per backend);
  the servers (`milvus-lite server`, `chroma run`) run on 127.0.0.1 and are stopped by PID.
* **Threads are pinned**: `OMP/OPENBLAS/MKL_NUM_THREADS=1`, one torch thread, faiss one
  OpenMP thread; the engines' own pools are left at their defaults.
* **Ingest**: records upserted 5,000 per call, then `optimize` (index build, flush):
  *ready* = upsert + optimize.
* **Latency and QPS** at 1, 4 and 16 client threads (k = 10, default settings), repeated
  (medians with the IQR over repeats); every timed loop stops after the profile's time
  budget once its minimum number of queries ran, and the query count is reported.
* **Recall vs QPS**: the HNSW beam `SearchParams(ef=...)` swept per query where the backend
  takes it, Chroma's `ef_search` changed on the collection and the store reopened (a
  loaded index keeps the value it was loaded with), plus `SearchParams(exact=True)`;
  recall@10 and recall@100 against the exact top-k.
* **Filtered search** at 1 %, 50 % and 99 % selectivity (`bucket == 7`, `< 50`, `< 99`).
* **Disk**: `du` of the store directory after close (the server's data directory for
  servers). **Peak memory**: growth of the peak RSS (`VmHWM`, reset through
  `/proc/<pid>/clear_refs`) of the benchmark process plus the server process over the
  phase, which counts native allocations that `tracemalloc` cannot see.
* **Retrieval quality**: SciFact ingested through `vecctx.cli.session` (chunking, cached
  MiniLM vectors, BM25 sparse vectors), queried through the retriever with
  `vecctx.eval.runner.run_queries` and scored with `vecctx.eval.metrics.evaluate_run`
  (nDCG@10 as BEIR and pytrec_eval define it). Reranking with
  `vecctx.retrieval.rerank.LateInteractionReranker` reads every candidate passage through the model,
  so the quick profile reranks the top 10 on the first 30 claims and shows the base recipe
  on the same claims beside it. Two latencies per recipe: *search*, with the query vectors
  served from the on-disk embedding cache, and *end to end*, with the model embedding each
  query (one CPU thread).
* **Ingest CPU against the raw model** (`ingest_cpu`, also `python -m vecctx_bench.ingest_cpu`):
  process CPU seconds of `Ingestor.ingest` with the default embedder into embedded Qdrant Edge,
  against the model's own runtime encoding the same chunks (longest first, one call) and the
  documents; the chunks' model tokens against the documents' own; and query p50 with the model
  running, through vecctx and through the raw runtime plus the native `qdrant_edge` query.
* **Budgets**: every step (data, SciFact embedding, each backend, quality, overhead, ingest
  CPU) runs in its own worker process within its time budget; a step past it is stopped and
  reported as "skipped: ran past its N s budget (what it was doing)" and the run goes on.
  SciFact vectors land in the embedding cache as they are computed, so the next run resumes.
* **SDK overhead**: the same search and upsert through vecctx and through the native client
  (`qdrant_edge` on the shard `store.driver.native_shard(name)` returns, `chromadb` through
  `store.driver.client`, `pymilvus`), A/B interleaved on the same engine instance.
"""

RUN = """\
## Run it

```bash
vecctx bench --profile quick --out bench-results         # under 10 minutes on 2 cores
vecctx bench --backends qdrant,chroma --n 50000 --out bench-results
vecctx bench --profile full --out bench-results          # a quiet machine; VECCTX_BENCH_1M=1 adds 1M
pytest benchmarks/ --benchmark-only                       # the same measures under pytest-benchmark
python -m vecctx_bench.docs bench-results docs           # regenerate this page from a run
python -m vecctx_bench.ingest_cpu --docs 500             # ingest CPU and query latency vs the raw model
```

`--backends` takes `memory`, `qdrant`, `qdrant+local`, `milvus`, `milvus+server`, `chroma`,
`chroma+http`, `weaviate` (only when `VECCTX_WEAVIATE_URL` points at a server),
`faiss-flat` and `faiss-hnsw`; by default every one that can run. `--n N` makes N the largest
synthetic size (the latency-growth curve uses N/10 and N). Each run writes `results.json`
(every figure, the machine, its load, every client's version, the profile and seeds),
`report.md` (all tables) and the plots.
"""


def render_docs(results: Mapping[str, Any], *, img: str = "img/bench-") -> str:
    m = results.get("machine", {})
    prof = results.get("profile", {})
    out: list[str] = ["# Benchmarks", ""]
    out.append(
        "Which backend and which retrieval recipe win on recall, latency, throughput and quality, "
        "measured by `vecctx bench` (the suite is its own distribution, `vecctx-bench`, in `bench/`: "
        "`pip install vecctx-bench`). The figures below come from one real run of the quick profile; "
        "run it on your machine and your data before choosing."
    )
    out.append("")
    out.append(RUN)
    out += ["## The run shown here", ""]
    out.append(
        f"`{results.get('command', 'vecctx bench')}` on {report.fmt_when(results.get('started'))}: "
        f"{m.get('cpus')} vCPUs ({m.get('cpu', '?')}), {m.get('memory_gb', '?')} GB RAM, Python "
        f"{m.get('python', '?')}, git `{m.get('git_commit') or '?'}`; {report.fmt(results.get('seconds'))} s in all."
    )
    out.append("")
    out.append(
        '!!! warning "A shared, loaded machine"\n'
        f"    Other developers' builds and tests ran on the same two cores during this run: the load "
        f"average was {m.get('load_average')} at the start and {m.get('load_average_end')} at the end "
        "(1, 5, 15 minutes). Absolute timings are pessimistic and noisy; the orderings and the "
        "recall figures are the robust part."
    )
    out.append("")
    out.append(
        f"Profile `{prof.get('name')}`: sizes {prof.get('sizes')}, {prof.get('queries')} queries per data set, "
        f"timed loops capped at {prof.get('budget_s')} s once {prof.get('min_queries')} queries ran, "
        f"{prof.get('repeats')} repeats of the concurrency runs."
    )
    out.append("")
    out += report.bullets(results.get("notes") or [])
    primary = report.primary_dataset(results)
    if primary:
        n = dict(report.datasets_in(results)).get(primary, 0)
        out += [f"### Headline: {primary} ({n:,} vectors, k = 10)", ""]
        out.append(report.table(report.HEADLINE, report.headline_rows(results, primary)))
        out.append(
            "*ready* = upsert + optimize; QPS (threads) = the best thread count's median; recall@10 at "
            "the default settings; peak RSS = growth of the process (and server) peak resident set.\n"
        )
    out += ["### Recall vs throughput", "", f"![recall vs QPS]({img}recall_qps.png)", ""]
    n = dict(report.datasets_in(results)).get("scifact", 0)
    rows = report.sweep_rows(results, "scifact")
    if rows:
        out += [f"On SciFact's real embeddings ({n:,} chunks, 300 claims):", ""]
        out.append(report.table(report.SWEEP_COLUMNS, rows))
    header, grows = report.growth_rows(results)
    if grows:
        out += ["### Latency as the collection grows", "", f"![latency vs size]({img}latency_size.png)", ""]
        out.append(report.table(header, grows))
    if primary:
        out += ["### Concurrency and filtered search", "", f"![QPS vs threads]({img}concurrency.png)", ""]
        out.append(report.table(report.FILTERED_COLUMNS, report.filtered_rows(results, primary)))
    qrows = report.quality_rows(results)
    if qrows:
        out += [
            "### Retrieval quality on SciFact",
            "",
            f"![quality vs latency]({img}quality_latency.png)",
            "",
        ]
        out.append(report.LATENCY_NOTE + "\n")
        out.append(report.table(report.QUALITY_COLUMNS, qrows))
    irows, iq = report.ingest_cpu_rows(results)
    if irows:
        out += ["### Ingest CPU and query latency against the raw model", ""]
        if iq:
            out.append(report.ingest_cpu_note(results))
        out.append(report.table(report.INGEST_CPU_COLUMNS, irows))
        if iq:
            out.append(report.table(report.INGEST_QUERY_COLUMNS, iq))
    orows = report.overhead_rows(results)
    if orows:
        ov = results.get("overhead") or {}
        out += ["### What vecctx costs over the native clients", ""]
        out.append(
            f"{ov.get('n', 0):,} vectors, {ov.get('queries', '?')} queries A/B interleaved (alternating which "
            "side goes first) on the same engine instance; ratio = vecctx / native (search p50; upsert "
            "throughput).\n"
        )
        out.append(report.table(report.OVERHEAD_COLUMNS, orows))
    probs = report.problems(results)
    if probs:
        out += ["### Not measured in this run", "", *report.bullets(probs)]
    out.append(METHOD)
    return "\n".join(out).rstrip() + "\n"


def write_docs(run_dir: Path, docs_dir: Path) -> Path:
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    img = docs_dir / "img"
    img.mkdir(parents=True, exist_ok=True)
    for name in PLOTS:
        src = run_dir / f"{name}.png"
        if src.is_file():
            shutil.copyfile(src, img / f"bench-{name}.png")
    page = docs_dir / "benchmarks.md"
    page.write_text(render_docs(results), encoding="utf-8")
    return page


def main(argv: list[str] | None = None) -> int:
    paths = two_paths(argv, "docs RUN_DIR DOCS_DIR")
    if paths is None:
        return 2
    print(write_docs(*paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
