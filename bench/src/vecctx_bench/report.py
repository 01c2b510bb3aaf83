"""``report.md``: the tables of a benchmark run, from its ``results.json`` dictionary."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .data import FILTERS

#: Columns of the recall-vs-QPS sweep table (report.md and docs/benchmarks.md).
SWEEP_COLUMNS = ["backend", "setting", "recall@10", "recall@100", "QPS", "p50 (ms)", "p95 (ms)", "queries"]
#: Columns of the filtered-search table (report.md and docs/benchmarks.md).
FILTERED_COLUMNS = ["backend", "selectivity", "p50 (ms)", "p95 (ms)", "recall@10", "p50 / unfiltered"]
#: The two latencies of a quality recipe: query vectors from the embedding cache, or embedded by
#: the model as part of the query.
SEARCH_P50 = "search p50, ms (cached query vectors)"
E2E_P50 = "end to end p50, ms (query embedded by the model)"
#: What the two quality latencies are (report.md and docs/benchmarks.md).
LATENCY_NOTE = (
    "Latency per query, two ways: *search* has the query vector served from the on-disk embedding "
    "cache (filled before timing; retrieval, fusion and reranking only), *end to end* has the model "
    "embed each query first (one CPU thread), which is what a new query costs (BM25 alone runs no "
    "model: both are the same work). Reranked recipes show search latency only (the rerank's seconds "
    "dwarf the query embedding)."
)
#: Columns of the retrieval-quality table (report.md and docs/benchmarks.md).
QUALITY_COLUMNS = [
    "backend",
    "recipe",
    "nDCG@10",
    "recall@100",
    "MRR@10",
    SEARCH_P50,
    "search p95, ms (cached query vectors)",
    E2E_P50,
    "queries",
    "base on same queries",
    "how",
]
#: Columns of the SDK-overhead table (report.md and docs/benchmarks.md).
OVERHEAD_COLUMNS = [
    "backend",
    "native side",
    "native p50 (ms)",
    "vecctx p50 (ms)",
    "search ratio",
    "paired diff (us)",
    "native upsert/s",
    "vecctx upsert/s",
    "upsert ratio",
]


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, int | float) and not (isinstance(x, float) and math.isnan(x)):
        return float(x)
    return None


def fmt(x: Any, digits: int = 2) -> str:
    v = _num(x)
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def fmt_ms(x: Any) -> str:
    v = _num(x)
    if v is None:
        return "-"
    if v < 1:
        return f"{v:.3f}"
    return fmt(v)


def fmt_mb(x: Any) -> str:
    v = _num(x)
    return "-" if v is None else f"{v / 1e6:,.1f}"


def fmt_spread(d: Mapping[str, Any] | None, formatter: Callable[[Any], str] = fmt) -> str:
    """``median [p25-p75]`` when there were repeats, else the value."""
    if not d or not d.get("n"):
        return "-"
    med = formatter(d.get("median"))
    if int(d.get("n", 0)) > 1:
        return f"{med} [{formatter(d.get('p25'))}-{formatter(d.get('p75'))}]"
    return med


def _ms(lat: Mapping[str, Any], *keys: str) -> list[str]:
    """The cells ``keys`` (``p50``, ``p95``, ...) of a ``latency_ms`` summary."""
    return [fmt_ms(lat.get(key)) for key in keys]


def bullets(items: Sequence[str]) -> list[str]:
    """Markdown list lines of ``items`` and a blank line (nothing when there are none)."""
    return [*(f"- {item}" for item in items), ""] if items else []


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(r) for r in rows]
    if not rows:
        return "_(nothing measured)_\n"
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def datasets_in(results: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(name, n) of every data set any backend ran: SciFact first, then by size."""
    seen: dict[str, int] = {}
    for b in results.get("backends", {}).values():
        for name, d in (b.get("datasets") or {}).items():
            seen[name] = int(d.get("n", 0))
    return sorted(seen.items(), key=lambda kv: (kv[0] != "scifact", kv[1]))


def label(results: Mapping[str, Any], name: str) -> str:
    notes = results.get("backend_notes", {})
    return str(notes.get(name, {}).get("label", name))


def _backends(results: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return list(results.get("backends", {}).items())


def _runs(results: Mapping[str, Any], dataset: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(backend name, its figures on ``dataset``) of every backend that ran ``dataset``."""
    for name, b in _backends(results):
        d = (b.get("datasets") or {}).get(dataset)
        if d:
            yield name, d


def primary_dataset(results: Mapping[str, Any]) -> str | None:
    """The data set that got every measure (the first synthetic size most backends ran)."""
    counts: dict[str, int] = {}
    for _, b in _backends(results):
        for name, d in (b.get("datasets") or {}).items():
            if d.get("primary"):
                counts[name] = counts.get(name, 0) + 1
    if not counts:
        return None
    return max(counts.items(), key=lambda kv: (kv[1], -len(kv[0])))[0]


def _default_point(d: Mapping[str, Any]) -> Mapping[str, Any] | None:
    sweep = d.get("sweep") or []
    for p in sweep:
        if p.get("setting") == "default":
            return dict(p)
    return dict(sweep[0]) if sweep else None


def headline_rows(results: Mapping[str, Any], dataset: str) -> list[list[str]]:
    rows = []
    for name, d in _runs(results, dataset):
        ing = d.get("ingest", {})
        conc = d.get("concurrency", {})
        c1 = conc.get("1", {})
        cmax = conc[max(conc, key=int)] if conc else {}
        point = _default_point(d) or {}
        f1 = (d.get("filtered") or {}).get("1%", {})
        rows.append(
            [
                label(results, name),
                fmt(ing.get("upsert_per_s")),
                fmt(ing.get("ready_s", {}).get("median")),
                *_ms(c1.get("latency_ms", {}), "p50", "p99"),
                fmt(c1.get("qps", {}).get("median")),
                fmt(cmax.get("qps", {}).get("median")) + (f" ({cmax.get('threads')})" if cmax else ""),
                fmt(point.get("recall@10"), 3),
                fmt_ms(f1.get("latency_ms", {}).get("p50")) if "latency_ms" in f1 else "-",
                fmt_mb(d.get("disk_bytes")),
                fmt_mb((d.get("memory") or {}).get("peak_delta_bytes")),
            ]
        )
    return rows


HEADLINE = [
    "backend",
    "upsert/s",
    "ready (s)",
    "p50 (ms)",
    "p99 (ms)",
    "QPS 1 thread",
    "QPS (threads)",
    "recall@10",
    "filtered 1% p50 (ms)",
    "disk (MB)",
    "peak RSS (MB)",
]


def ingest_rows(results: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for ds, n in datasets_in(results):
        for name, d in _runs(results, ds):
            if "ingest" not in d:
                continue
            ing = d["ingest"]
            rows.append(
                [
                    ds,
                    f"{n:,}",
                    label(results, name),
                    fmt(ing.get("upsert_per_s")),
                    fmt_spread(ing.get("upsert_s")),
                    fmt_spread(ing.get("optimize_s")),
                    fmt_spread(ing.get("ready_s")),
                    fmt_mb(d.get("disk_bytes")),
                    fmt_mb((d.get("memory") or {}).get("peak_delta_bytes")),
                ]
            )
    return rows


def concurrency_rows(results: Mapping[str, Any], dataset: str) -> list[list[str]]:
    rows = []
    for name, d in _runs(results, dataset):
        for _key, c in sorted((d.get("concurrency") or {}).items(), key=lambda kv: int(kv[0])):
            lat = c.get("latency_ms", {})
            cells = [str(c.get("threads")), fmt_spread(c.get("qps")), *_ms(lat, "p50", "p95", "p99", "iqr")]
            rows.append([label(results, name), *cells, str(lat.get("n", 0))])
    return rows


def sweep_rows(results: Mapping[str, Any], dataset: str) -> list[list[str]]:
    rows = []
    for name, d in _runs(results, dataset):
        for p in d.get("sweep") or []:
            lat = p.get("latency_ms", {})
            recall = [fmt(p.get("recall@10"), 3), fmt(p.get("recall@100"), 3)]
            cells = [*recall, fmt(p.get("qps")), *_ms(lat, "p50", "p95"), str(lat.get("n", 0))]
            rows.append([label(results, name), str(p.get("setting")), *cells])
    return rows


def filtered_rows(results: Mapping[str, Any], dataset: str) -> list[list[str]]:
    rows = []
    for name, d in _runs(results, dataset):
        if not d.get("filtered"):
            continue
        unfiltered = (d.get("concurrency") or {}).get("1", {}).get("latency_ms", {}).get("p50")
        for case in FILTERS:
            f = d["filtered"].get(case.label, {})
            if "skipped" in f:
                rows.append([label(results, name), case.label, *["-"] * 3, f["skipped"]])
                continue
            lat = f.get("latency_ms", {})
            cells = [
                *_ms(lat, "p50", "p95"),
                fmt(f.get("recall@10"), 3),
                fmt(_ratio(lat.get("p50"), unfiltered)),
            ]
            rows.append([label(results, name), case.label, *cells])
    return rows


def _ratio(a: Any, b: Any) -> float | None:
    x, y = _num(a), _num(b)
    if x is None or y is None or y == 0:
        return None
    return x / y


def growth_rows(results: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    sizes = [(ds, n) for ds, n in datasets_in(results) if ds != "scifact"]
    header = ["backend", *(f"p50 @ {n:,} (ms)" for _, n in sizes), "p95 @ largest (ms)", "growth"]
    rows = []
    for name, b in _backends(results):
        vals: list[float | None] = []
        p95: Any = None
        for ds, _ in sizes:
            d = (b.get("datasets") or {}).get(ds) or {}
            lat = (d.get("concurrency") or {}).get("1", {}).get("latency_ms", {})
            vals.append(_num(lat.get("p50")))
            if lat:
                p95 = lat.get("p95")
        have = [v for v in vals if v is not None]
        if not have:
            continue
        growth = f"x{have[-1] / have[0]:.1f}" if len(have) > 1 and have[0] else "-"
        rows.append([label(results, name), *(fmt_ms(v) for v in vals), fmt_ms(p95), growth])
    return header, rows


def quality_rows(results: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for name, q in (results.get("quality") or {}).items():
        if not q.get("recipes") and (q.get("status") or q.get("error")):
            rows.append([label(results, name), "-", *["-"] * 8, str(q.get("status") or q.get("error"))])
        for recipe, r in (q.get("recipes") or {}).items():
            if "skipped" in r or "error" in r:
                why = str(r.get("skipped") or r.get("error", ""))
                rows.append([label(results, name), recipe, *["-"] * 8, why])
                continue
            lat = r.get("latency_ms", {})
            how = "native" if r.get("native_fusion") else ("client-side" if r.get("mode") == "hybrid" else "")
            if r.get("rerank"):
                how = (how + ", " if how else "") + f"rerank top {r.get('rerank_depth')}"
            base = r.get("base") or {}
            rows.append(
                [
                    label(results, name),
                    recipe,
                    fmt(r.get("ndcg@10"), 4),
                    fmt(r.get("recall@100"), 3),
                    fmt(r.get("mrr@10"), 3),
                    *_ms(lat, "p50", "p95"),
                    fmt_ms((r.get("latency_e2e_ms") or {}).get("p50")),
                    str(r.get("queries", "")),
                    f"{fmt(base.get('ndcg@10'), 4)} ({base.get('recipe')})" if base else "",
                    how,
                ]
            )
    return rows


#: Columns of the ingest-CPU tables (report.md and docs/benchmarks.md).
INGEST_CPU_COLUMNS = [
    "documents",
    "chunks",
    "document tokens",
    "chunk tokens",
    "chunk / document tokens",
    "vecctx ingest (CPU s)",
    "raw model, same chunks sorted (CPU s)",
    "raw model, documents (CPU s)",
    "ingest / raw chunks",
    "ingest / raw documents",
]
INGEST_QUERY_COLUMNS = [
    "queries",
    "vecctx p50 (ms)",
    "raw embed + native search p50 (ms)",
    "p50 ratio",
    "vecctx p95 (ms)",
    "raw + native p95 (ms)",
]


def ingest_cpu_rows(results: Mapping[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    """The rows of the ingest-CPU table and of its query-latency table (none when the step did
    not run; one row saying why when it was skipped or failed)."""
    r = results.get("ingest_cpu") or {}
    if not r:
        return [], []
    why = r.get("status") or r.get("error")
    if why and "cpu_s" not in r:
        return [[str(why), *["-"] * (len(INGEST_CPU_COLUMNS) - 1)]], []
    cpu, ratios, q = r.get("cpu_s") or {}, r.get("ratios") or {}, r.get("query") or {}
    ingest = [
        [
            f"{r.get('documents', 0):,}",
            f"{r.get('chunks', 0):,}",
            f"{r.get('doc_tokens', 0):,}",
            f"{r.get('chunk_tokens', 0):,}",
            fmt(r.get("token_ratio"), 3),
            fmt(cpu.get("vecctx_ingest")),
            fmt(cpu.get("raw_chunks_sorted")),
            fmt(cpu.get("raw_documents")),
            fmt(ratios.get("ingest_vs_raw_chunks"), 3),
            fmt(ratios.get("ingest_vs_raw_documents"), 3),
        ]
    ]
    v, n = q.get("vecctx_ms") or {}, q.get("native_ms") or {}
    query = [
        [
            str(q.get("queries", "-")),
            fmt_ms(v.get("p50")),
            fmt_ms(n.get("p50")),
            fmt(q.get("p50_ratio"), 3),
            fmt_ms(v.get("p95")),
            fmt_ms(n.get("p95")),
        ]
    ]
    return ingest, query


def ingest_cpu_note(results: Mapping[str, Any]) -> str:
    """What the ingest-CPU tables measure, for the run in ``results``."""
    r = results.get("ingest_cpu") or {}
    t = r.get("targets") or {}
    return (
        f"The first {r.get('documents', '?')} SciFact documents, model {r.get('model', '?')} on "
        f"{r.get('runtime', '?')}, one thread everywhere; process CPU seconds (`time.process_time`, every "
        f"thread of the process), median of {r.get('repeats', 1)} interleaved runs. *vecctx ingest* = "
        "`Ingestor.ingest` with the default embedder (no embedding cache) into embedded Qdrant Edge; "
        "*raw model, same chunks sorted* = the model's own runtime encoding the very chunk texts the "
        "ingest embedded, longest first, in one call; *raw model, documents* = each document encoded "
        "once (cut at the model's input limit). Tokens are the model tokenizer's, without special "
        "tokens; chunk tokens count overlap. Query latency (the model embedding every query): "
        "vecctx's dense retriever against the raw runtime's embedding + `qdrant_edge` "
        "`EdgeShard.query` on the same shard, A/B interleaved. Targets (#18): ingest / raw chunks "
        f"<= {t.get('ingest_cpu', '?')}, chunk / document tokens <= {t.get('tokens', '?')}, query p50 "
        f"ratio <= {t.get('query_p50', '?')}.\n"
    )


def overhead_rows(results: Mapping[str, Any]) -> list[list[str]]:
    ov = results.get("overhead") or {}
    rows = []
    for name, c in (ov.get("cases") or {}).items():
        if "search_ratio" not in c:
            rows.append([label(results, name), *["-"] * 7, c.get("skipped") or c.get("error", "")])
            continue
        s = c["search_ms"]
        u = c["upsert_per_s"]
        rows.append(
            [
                label(results, name),
                str(c.get("native", "")),
                fmt_ms(s["native"].get("p50")),
                fmt_ms(s["vecctx"].get("p50")),
                f"{c['search_ratio']:.3f}",
                f"{c['search_paired_diff_us']:+.0f}",
                fmt(u.get("native")),
                fmt(u.get("vecctx")),
                f"{c['upsert_ratio']:.3f}",
            ]
        )
    return rows


def problems(results: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for name, why in (results.get("backends_unavailable") or {}).items():
        out.append(f"{label(results, name)} did not run: {why}.")
    for name, b in _backends(results):
        for ds, why in (b.get("skipped") or {}).items():
            out.append(f"{label(results, name)} skipped {ds}: {why}.")
        if b.get("error"):
            out.append(f"{label(results, name)}: {b['error']}")
        for e in b.get("errors") or []:
            if not e.startswith("Traceback"):
                out.append(f"{label(results, name)}: {e}")
        for ds, d in (b.get("datasets") or {}).items():
            for e in d.get("errors") or []:
                if not e.startswith("Traceback"):
                    out.append(f"{label(results, name)} on {ds}: {e}")
    for step, status in (results.get("steps") or {}).items():
        out.append(f"data step {step}: {status}.")
    for name, b in _backends(results):
        if b.get("status"):
            out.append(f"{label(results, name)}: {b['status']}.")
    for name, q in (results.get("quality") or {}).items():
        if q.get("status"):
            out.append(f"quality on {label(results, name)}: {q['status']}.")
        elif q.get("error"):
            out.append(f"quality on {label(results, name)}: {q['error']}")
    for section in ("overhead", "ingest_cpu"):
        entry = results.get(section) or {}
        if entry.get("status"):
            out.append(f"{section}: {entry['status']}.")
        elif entry.get("error"):
            out.append(f"{section}: {entry['error']}")
    return out


def fmt_when(ts: Any) -> str:
    v = _num(ts)
    if v is None:
        return "?"
    return _dt.datetime.fromtimestamp(v, tz=_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def render(
    results: Mapping[str, Any], *, plots: Mapping[str, str] | None = None, img_prefix: str = ""
) -> str:
    """The whole report as Markdown."""
    plots = plots or {}
    m = results.get("machine", {})
    prof = results.get("profile", {})
    lines: list[str] = ["# vecctx benchmark report", ""]
    lines.append(f"Command: `{results.get('command', 'vecctx bench')}`  ")
    lines.append(
        f"Run {fmt_when(results.get('started'))}, {fmt(results.get('seconds'))} s; "
        f"{m.get('cpus')} CPUs ({m.get('cpu', '?')}), {m.get('memory_gb', '?')} GB; "
        f"{m.get('platform', '')}, Python {m.get('python', '')}; git {m.get('git_commit') or '?'}.  "
    )
    lines.append(
        f"Load average (1/5/15 min) at start {m.get('load_average')}, at end {m.get('load_average_end')}: "
        "other work shared the machine, so treat timings as indicative.  "
    )
    lines.append(
        "Threads pinned: one BLAS/OpenMP thread (OMP/OPENBLAS/MKL_NUM_THREADS=1), one torch thread, "
        "faiss omp 1; engines' own thread pools (Qdrant, Milvus, Chroma) at their defaults."
    )
    lines.append("")
    lines.append(
        f"Profile `{prof.get('name')}`: synthetic sizes {prof.get('sizes')} x {prof.get('dim')} "
        f"(low-rank, seed {prof.get('seed')}), {prof.get('queries')} queries; each timed loop stops after "
        f"{prof.get('budget_s')} s once {prof.get('min_queries')} queries ran; {prof.get('repeats')} repeats "
        "(median [p25-p75] where repeated). Recall is against exact numpy ground truth."
    )
    lines.append("")
    lines += bullets(results.get("notes") or [])

    primary = primary_dataset(results)
    dsets = datasets_in(results)
    if primary:
        n = dict(dsets).get(primary, 0)
        lines += [f"## Headline ({primary}, {n:,} vectors, k = 10)", ""]
        lines.append(table(HEADLINE, headline_rows(results, primary)))
        lines.append(
            "ready = upsert + optimize (index built); recall@10 at the default search settings; "
            "disk = `du` of the store directory (the server's data directory for servers); "
            "peak RSS = growth of the benchmark process (plus the server process) over the phase.\n"
        )
    if "recall_qps" in plots:
        lines += ["## Recall vs QPS", "", f"![recall vs QPS]({img_prefix}{plots['recall_qps']})", ""]
    for ds, n in dsets:
        rows = sweep_rows(results, ds)
        if rows:
            lines += [f"### Sweep on {ds} ({n:,} vectors)", ""]
            lines.append(table(SWEEP_COLUMNS, rows))
    lines += ["## Ingest", ""]
    lines.append(
        table(
            [
                "data",
                "n",
                "backend",
                "upsert/s",
                "upsert (s)",
                "optimize (s)",
                "ready (s)",
                "disk (MB)",
                "peak RSS (MB)",
            ],
            ingest_rows(results),
        )
    )
    if primary:
        lines += [f"## Latency and throughput vs concurrency ({primary})", ""]
        if "concurrency" in plots:
            lines += [f"![QPS vs threads]({img_prefix}{plots['concurrency']})", ""]
        lines.append(
            table(
                ["backend", "threads", "QPS", "p50 (ms)", "p95 (ms)", "p99 (ms)", "IQR (ms)", "queries"],
                concurrency_rows(results, primary),
            )
        )
        lines += [f"## Filtered search ({primary})", ""]
        lines.append(
            "An integer `bucket = row % 100` in every record's metadata, declared in "
            "`CollectionSpec.indexed_fields`: `bucket == 7` (1 %), `bucket < 50` (50 %), `bucket < 99` (99 %).\n"
        )
        lines.append(table(FILTERED_COLUMNS, filtered_rows(results, primary)))
    header, rows = growth_rows(results)
    if rows:
        lines += ["## Latency growth with collection size", ""]
        if "latency_size" in plots:
            lines += [f"![latency vs size]({img_prefix}{plots['latency_size']})", ""]
        lines.append(table(header, rows))
    qrows = quality_rows(results)
    if qrows:
        lines += ["## Retrieval quality on SciFact", ""]
        for name, q in (results.get("quality") or {}).items():
            ing = q.get("ingest") or {}
            lines.append(
                f"{label(results, name)}: {ing.get('documents', '?')} documents, {ing.get('chunks', '?')} chunks, "
                f"{q.get('queries', '?')} judged test queries, depth {q.get('depth', '?')}; vectors from the "
                f"embedding cache ({q.get('cache_hits_total', '?')} hits, {q.get('cache_misses_total', '?')} misses "
                "embedded by the model).\n"
            )
        lines.append(LATENCY_NOTE + "\n")
        if "quality_latency" in plots:
            lines += [f"![quality vs latency]({img_prefix}{plots['quality_latency']})", ""]
        lines.append(table(QUALITY_COLUMNS, qrows))
    irows, iq = ingest_cpu_rows(results)
    if irows:
        lines += ["## Ingest CPU and query latency against the raw model", ""]
        if iq:
            lines.append(ingest_cpu_note(results))
        lines.append(table(INGEST_CPU_COLUMNS, irows))
        if iq:
            lines.append(table(INGEST_QUERY_COLUMNS, iq))
    orows = overhead_rows(results)
    if orows:
        ov = results.get("overhead") or {}
        lines += ["## SDK overhead: vecctx vs the native client (A/B interleaved)", ""]
        lines.append(
            f"{ov.get('n', '?'):,} x {ov.get('dim', '?')} vectors, {ov.get('queries', '?')} queries alternating "
            f"which side runs first, {ov.get('rounds', '?')} upsert rounds. search ratio = p50(vecctx) / "
            "p50(native), both on the same engine instance; paired diff = median per-query difference; "
            "upsert ratio = throughput(vecctx) / throughput(native).\n"
            if isinstance(ov.get("n"), int)
            else ""
        )
        lines.append(table(OVERHEAD_COLUMNS, orows))
    lines += ["## Backends and versions", ""]
    vrows = []
    for name, b in _backends(results):
        v = ", ".join(f"{k} {val}" for k, val in (b.get("versions") or {}).items())
        vrows.append(
            [
                label(results, name),
                name,
                v,
                str(results.get("backend_notes", {}).get(name, {}).get("note", "")),
            ]
        )
    lines.append(table(["backend", "name", "versions", "how it runs"], vrows))
    probs = problems(results)
    if probs:
        lines += ["## Not measured, skipped or failed", "", *bullets(probs)]
    return "\n".join(lines).rstrip() + "\n"


def write_report(results: Mapping[str, Any], out: Path, *, plots: Mapping[str, str] | None = None) -> Path:
    path = out / "report.md"
    path.write_text(render(results, plots=plots), encoding="utf-8")
    return path


__all__ = ["fmt", "headline_rows", "ingest_cpu_rows", "quality_rows", "render", "table", "write_report"]
