"""PNG plots of a benchmark run (matplotlib, Agg backend): recall vs QPS per backend, latency
vs collection size, QPS vs threads, and retrieval quality vs latency per recipe."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .report import datasets_in, label, primary_dataset

#: One colour and marker per backend, the same in every plot.
STYLE: dict[str, tuple[str, str]] = {
    "memory": ("#7f7f7f", "s"),
    "qdrant": ("#d62728", "o"),
    "qdrant+local": ("#ff9896", "v"),
    "milvus": ("#1f77b4", "D"),
    "milvus+server": ("#aec7e8", "d"),
    "chroma": ("#2ca02c", "^"),
    "chroma+http": ("#98df8a", "<"),
    "weaviate": ("#9467bd", "P"),
    "faiss-flat": ("#17becf", "X"),
    "faiss-hnsw": ("#bcbd22", "*"),
}


def _style(name: str) -> tuple[str, str]:
    return STYLE.get(name, ("#8c564b", "o"))


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ok(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def recall_qps(results: Mapping[str, Any], path: Path) -> bool:
    plt = _pyplot()
    dsets = [(ds, n) for ds, n in datasets_in(results)]
    ran = {
        ds: sum(1 for b in results["backends"].values() if (b.get("datasets") or {}).get(ds, {}).get("sweep"))
        for ds, _ in dsets
    }
    shared = [(ds, n) for ds, n in dsets if ran[ds] > 1]  # a capped backend's own size gets no panel
    dsets = shared or [(ds, n) for ds, n in dsets if ran[ds]]
    if not dsets:
        return False
    cols = len(dsets)
    fig, axes = plt.subplots(1, cols, figsize=(5.6 * cols, 5.0), squeeze=False)
    handles: dict[str, Any] = {}
    for ax, (ds, n) in zip(axes[0], dsets, strict=True):
        for name, b in results["backends"].items():
            sweep = (b.get("datasets") or {}).get(ds, {}).get("sweep") or []
            pts = [p for p in sweep if _ok(p.get("qps")) and isinstance(p.get("recall@10"), float)]
            if not pts:
                continue
            color, marker = _style(name)
            swept = sorted((p for p in pts if p.get("ef") is not None), key=lambda p: int(p["ef"]))
            if swept:
                xs = [p["recall@10"] for p in swept]
                ys = [p["qps"] for p in swept]
                (line,) = ax.plot(
                    xs, ys, marker=marker, color=color, lw=1.6, ms=5, label=label(results, name)
                )
                handles[name] = line
            for p in pts:
                if p.get("exact"):
                    h = ax.scatter(
                        [p["recall@10"]],
                        [p["qps"]],
                        marker=marker,
                        s=80,
                        facecolors="none",
                        edgecolors=color,
                        lw=1.8,
                    )
                elif p.get("ef") is None:  # the backend's default settings
                    h = ax.scatter(
                        [p["recall@10"]],
                        [p["qps"]],
                        marker=marker,
                        s=80,
                        color=color,
                        edgecolors="black",
                        lw=1.0,
                        zorder=3,
                    )
                else:
                    continue
                handles.setdefault(name, h)
        ax.set_yscale("log")
        ax.set_xlabel("recall@10 (vs exact)")
        ax.set_ylabel("queries / s (1 thread, log)")
        ax.set_title(
            f"SciFact, MiniLM ({n:,} chunks)" if ds == "scifact" else f"low-rank synthetic, {n:,} vectors"
        )
        ax.grid(True, which="both", alpha=0.3)
        lo, hi = ax.get_xlim()
        ax.set_xlim(max(lo, 0.0), min(1.005, max(hi, 1.0)))
    fig.legend(
        list(handles.values()),
        [label(results, k) for k in handles],
        loc="lower center",
        ncol=min(5, max(1, len(handles))),
        frameon=False,
    )
    fig.suptitle(
        "Recall vs throughput: lines = HNSW ef sweep, black-edged marker = default settings, hollow = exact search"
    )
    fig.tight_layout(rect=(0, 0.1 if len(handles) <= 5 else 0.16, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def latency_size(results: Mapping[str, Any], path: Path) -> bool:
    plt = _pyplot()
    sizes = [(ds, n) for ds, n in datasets_in(results) if ds != "scifact"]
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    drawn = 0
    for name, b in results["backends"].items():
        xs: list[int] = []
        ys: list[float] = []
        y95: list[float] = []
        for ds, n in sizes:
            lat = (
                ((b.get("datasets") or {}).get(ds, {}).get("concurrency") or {})
                .get("1", {})
                .get("latency_ms", {})
            )
            if _ok(lat.get("p50")):
                xs.append(n)
                ys.append(float(lat["p50"]))
                y95.append(float(lat.get("p95") or lat["p50"]))
        if not xs:
            continue
        color, marker = _style(name)
        ax.plot(xs, ys, marker=marker, color=color, lw=1.6, label=f"{label(results, name)} p50")
        ax.plot(xs, y95, marker=marker, color=color, lw=1.0, ls="--", alpha=0.6, ms=4)
        drawn += 1
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("collection size (vectors, log)")
    ax.set_ylabel("latency per query, ms (log)")
    ax.set_title("Search latency vs collection size\n(k = 10, one client thread; solid p50, dashed p95)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def concurrency(results: Mapping[str, Any], path: Path) -> bool:
    plt = _pyplot()
    ds = primary_dataset(results)
    if ds is None:
        return False
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    drawn = 0
    for name, b in results["backends"].items():
        conc = (b.get("datasets") or {}).get(ds, {}).get("concurrency") or {}
        pts = sorted((int(k), v) for k, v in conc.items() if _ok(v.get("qps", {}).get("median")))
        if len(pts) < 2:
            continue
        color, marker = _style(name)
        xs = [t for t, _ in pts]
        ys = [float(v["qps"]["median"]) for _, v in pts]
        lo = [max(0.0, y - float(v["qps"].get("p25", y))) for y, (_, v) in zip(ys, pts, strict=True)]
        hi = [max(0.0, float(v["qps"].get("p75", y)) - y) for y, (_, v) in zip(ys, pts, strict=True)]
        ax.errorbar(
            xs, ys, yerr=[lo, hi], marker=marker, color=color, lw=1.6, capsize=3, label=label(results, name)
        )
        drawn += 1
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(
        sorted(
            {
                int(k)
                for b in results["backends"].values()
                for k in ((b.get("datasets") or {}).get(ds, {}).get("concurrency") or {})
            }
        )
    )
    ax.get_xaxis().set_major_formatter(_int_formatter())
    ax.set_xlabel("client threads")
    ax.set_ylabel("queries / s (log; bars = IQR over repeats)")
    ax.set_title(f"Throughput vs concurrency ({ds}, k = 10)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _int_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: f"{int(x)}")


def quality_latency(results: Mapping[str, Any], path: Path) -> bool:
    plt = _pyplot()
    quality = results.get("quality") or {}
    fig, ax = plt.subplots(figsize=(8, 5))
    drawn = 0
    for name, q in quality.items():
        color, marker = _style(name)
        for recipe, r in (q.get("recipes") or {}).items():
            lat = (r.get("latency_ms") or {}).get("p50")
            nd = r.get("ndcg@10")
            if not _ok(lat) or not isinstance(nd, float):
                continue
            ax.scatter([lat], [nd], marker=marker, color=color, s=60, zorder=3)
            base = r.get("base") or {}
            base_run = (q.get("recipes") or {}).get(str(base.get("recipe")), {})
            base_lat = (base_run.get("latency_ms") or {}).get("p50")
            text = recipe
            if isinstance(base.get("ndcg@10"), float) and _ok(base_lat):
                # a reranked recipe scored on a subset: show its base on the same claims
                text = f"{recipe} ({r.get('queries')} claims)"
                ax.scatter(
                    [base_lat], [base["ndcg@10"]], marker=marker, s=60, facecolors="none", edgecolors=color
                )
                ax.annotate(
                    f"{base['recipe']}, same {r.get('queries')} claims",
                    (base_lat, base["ndcg@10"]),
                    textcoords="offset points",
                    xytext=(6, -12),
                    fontsize=8,
                    color="#555555",
                )
                ax.annotate(
                    "",
                    xy=(lat, nd),
                    xytext=(base_lat, base["ndcg@10"]),
                    arrowprops={"arrowstyle": "->", "color": color, "lw": 1.0, "ls": "--"},
                )
            ax.annotate(text, (lat, nd), textcoords="offset points", xytext=(6, 4), fontsize=9)
            drawn += 1
    if not drawn:
        plt.close(fig)
        return False
    for name in quality:
        color, marker = _style(name)
        ax.scatter([], [], marker=marker, color=color, label=label(results, name))
    ax.set_xscale("log")
    ax.set_xlabel("latency per query, p50 ms (log): cached query vector, retrieval, fusion, rerank")
    ax.text(
        0.01,
        0.98,
        "hollow: the base recipe on the subset a reranked recipe was scored on",
        transform=ax.transAxes,
        fontsize=8,
        va="top",
        color="#555555",
    )
    ax.set_ylabel("nDCG@10 on SciFact (test)")
    ax.set_title("Retrieval quality vs latency per recipe")
    ax.grid(True, which="both", alpha=0.3)
    lo, hi = ax.get_xlim()
    ax.set_xlim(lo, hi * 2.5)  # room for the labels
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_plots(results: Mapping[str, Any], out: Path) -> dict[str, str]:
    """Write every plot that has data; returns {plot name: file name}."""
    made: dict[str, str] = {}
    for name, fn in (
        ("recall_qps", recall_qps),
        ("latency_size", latency_size),
        ("concurrency", concurrency),
        ("quality_latency", quality_latency),
    ):
        path = out / f"{name}.png"
        try:
            if fn(results, path):
                made[name] = path.name
        except Exception as exc:  # a plot must not lose the run's results
            print(f"vecctx bench: plot {name} failed: {type(exc).__name__}: {exc}")
    return made


__all__ = ["STYLE", "write_plots"]
