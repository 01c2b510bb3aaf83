"""PNG plots of a benchmark run (matplotlib, Agg backend): recall vs QPS per backend, latency
vs collection size, QPS vs threads, and retrieval quality vs latency per recipe."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .backends import ORDER
from .report import datasets_in, label, primary_dataset

#: The markers series take, in order (with the colours ``C0``-``C9`` of matplotlib's cycle).
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", "d")


def styles(names: Sequence[str]) -> dict[str, tuple[str, str]]:
    """One (colour, marker) per name, in order, so a series looks the same in every plot."""
    return {n: (f"C{i % 10}", MARKERS[i % len(MARKERS)]) for i, n in enumerate(names)}


@contextmanager
def figure(path: Path, *, size: tuple[float, float], ncols: int = 1) -> Iterator[tuple[Any, list[Any]]]:
    """A matplotlib figure (Agg backend) of ``ncols`` axes side by side, saved to ``path`` at
    110 dpi when the block ends without an error, and closed in any case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=size, squeeze=False)
    try:
        yield fig, list(axes[0])
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def labelled(ax: Any, *, title: str, xlabel: str, ylabel: str) -> None:
    """Title, axis labels and a light grid on ``ax``."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)


#: One colour and marker per backend, the same in every plot.
STYLE = styles(ORDER)


def _style(name: str) -> tuple[str, str]:
    return STYLE.get(name, ("#8c564b", "o"))


def _ok(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def _legend_right(ax: Any) -> None:
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=9)


def recall_qps(results: Mapping[str, Any], path: Path) -> bool:
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
    handles: dict[str, Any] = {}
    with figure(path, size=(5.6 * cols, 5.0), ncols=cols) as (fig, axes):
        for ax, (ds, n) in zip(axes, dsets, strict=True):
            for name, b in results["backends"].items():
                sweep = (b.get("datasets") or {}).get(ds, {}).get("sweep") or []
                pts = [p for p in sweep if _ok(p.get("qps")) and isinstance(p.get("recall@10"), float)]
                if pts:
                    _sweep_points(ax, handles, name, pts, label(results, name))
            ax.set_yscale("log")
            labelled(
                ax,
                title=f"SciFact, MiniLM ({n:,} chunks)"
                if ds == "scifact"
                else f"low-rank synthetic, {n:,} vectors",
                xlabel="recall@10 (vs exact)",
                ylabel="queries / s (1 thread, log)",
            )
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
    return True


def _sweep_points(ax: Any, handles: dict[str, Any], name: str, pts: list[Any], text: str) -> None:
    """One backend's sweep on ``ax``: the ef sweep as a line, the default settings as a
    black-edged marker, exact search hollow; its legend handle goes into ``handles``."""
    color, marker = _style(name)
    swept = sorted((p for p in pts if p.get("ef") is not None), key=lambda p: int(p["ef"]))
    if swept:
        xs = [p["recall@10"] for p in swept]
        ys = [p["qps"] for p in swept]
        (handles[name],) = ax.plot(xs, ys, marker=marker, color=color, lw=1.6, ms=5, label=text)
    for p in pts:
        xy = ([p["recall@10"]], [p["qps"]])
        if p.get("exact"):
            h = ax.scatter(*xy, marker=marker, s=80, facecolors="none", edgecolors=color, lw=1.8)
        elif p.get("ef") is None:  # the backend's default settings
            h = ax.scatter(*xy, marker=marker, s=80, color=color, edgecolors="black", lw=1.0, zorder=3)
        else:
            continue
        handles.setdefault(name, h)


def latency_size(results: Mapping[str, Any], path: Path) -> bool:
    sizes = [(ds, n) for ds, n in datasets_in(results) if ds != "scifact"]
    series: dict[str, list[tuple[int, float, float]]] = {}  # backend -> (size, p50, p95)
    for name, b in results["backends"].items():
        for ds, n in sizes:
            lat = (
                ((b.get("datasets") or {}).get(ds, {}).get("concurrency") or {})
                .get("1", {})
                .get("latency_ms", {})
            )
            if _ok(lat.get("p50")):
                p50 = float(lat["p50"])
                series.setdefault(name, []).append((n, p50, float(lat.get("p95") or p50)))
    if not series:
        return False
    with figure(path, size=(7.5, 4.8)) as (fig, (ax,)):
        for name, pts in series.items():
            color, marker = _style(name)
            xs = [n for n, _, _ in pts]
            ax.plot(
                xs,
                [p for _, p, _ in pts],
                marker=marker,
                color=color,
                lw=1.6,
                label=f"{label(results, name)} p50",
            )
            ax.plot(xs, [p for _, _, p in pts], marker=marker, color=color, lw=1.0, ls="--", alpha=0.6, ms=4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        labelled(
            ax,
            title="Search latency vs collection size\n(k = 10, one client thread; solid p50, dashed p95)",
            xlabel="collection size (vectors, log)",
            ylabel="latency per query, ms (log)",
        )
        _legend_right(ax)
        fig.tight_layout()
    return True


def concurrency(results: Mapping[str, Any], path: Path) -> bool:
    ds = primary_dataset(results)
    if ds is None:
        return False
    series: dict[str, list[tuple[int, Any]]] = {}  # backend -> (threads, qps spread)
    for name, b in results["backends"].items():
        conc = (b.get("datasets") or {}).get(ds, {}).get("concurrency") or {}
        pts = sorted((int(k), v["qps"]) for k, v in conc.items() if _ok(v.get("qps", {}).get("median")))
        if len(pts) >= 2:
            series[name] = pts
    if not series:
        return False
    with figure(path, size=(7.5, 4.8)) as (fig, (ax,)):
        for name, pts in series.items():
            color, marker = _style(name)
            xs = [t for t, _ in pts]
            ys = [float(q["median"]) for _, q in pts]
            lo = [max(0.0, y - float(q.get("p25", y))) for y, (_, q) in zip(ys, pts, strict=True)]
            hi = [max(0.0, float(q.get("p75", y)) - y) for y, (_, q) in zip(ys, pts, strict=True)]
            ax.errorbar(
                xs,
                ys,
                yerr=[lo, hi],
                marker=marker,
                color=color,
                lw=1.6,
                capsize=3,
                label=label(results, name),
            )
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
        labelled(
            ax,
            title=f"Throughput vs concurrency ({ds}, k = 10)",
            xlabel="client threads",
            ylabel="queries / s (log; bars = IQR over repeats)",
        )
        _legend_right(ax)
        fig.tight_layout()
    return True


def _int_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: f"{int(x)}")


def quality_latency(results: Mapping[str, Any], path: Path) -> bool:
    quality = results.get("quality") or {}
    points = [
        (name, recipe, r, (r.get("latency_ms") or {}).get("p50"), r.get("ndcg@10"))
        for name, q in quality.items()
        for recipe, r in (q.get("recipes") or {}).items()
    ]
    points = [p for p in points if _ok(p[3]) and isinstance(p[4], float)]
    if not points:
        return False
    with figure(path, size=(8, 5)) as (fig, (ax,)):
        for name, recipe, r, lat, nd in points:
            color, marker = _style(name)
            ax.scatter([lat], [nd], marker=marker, color=color, s=60, zorder=3)
            base = r.get("base") or {}
            base_run = (quality[name].get("recipes") or {}).get(str(base.get("recipe")), {})
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
        for name in quality:
            color, marker = _style(name)
            ax.scatter([], [], marker=marker, color=color, label=label(results, name))
        ax.set_xscale("log")
        ax.text(
            0.01,
            0.98,
            "hollow: the base recipe on the subset a reranked recipe was scored on",
            transform=ax.transAxes,
            fontsize=8,
            va="top",
            color="#555555",
        )
        labelled(
            ax,
            title="Retrieval quality vs latency per recipe",
            xlabel="latency per query, p50 ms (log): cached query vector, retrieval, fusion, rerank",
            ylabel="nDCG@10 on SciFact (test)",
        )
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo, hi * 2.5)  # room for the labels
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4, frameon=False)
        fig.tight_layout()
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


__all__ = ["STYLE", "figure", "labelled", "styles", "write_plots"]
