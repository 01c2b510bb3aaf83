"""The study's report: ``report.md`` (tables, conclusion drawn from the figures) and plots."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GROUP_STYLE: dict[str, tuple[str, str]] = {
    "context": ("#1f77b4", "o"),
    "human": ("#d62728", "s"),
    "synthetic": ("#2ca02c", "^"),
    "self-consuming": ("#9467bd", "v"),
    "fine-tuned + context": ("#ff7f0e", "D"),
}


def pareto(
    arms: Sequence[dict[str, Any]], cost: str = "setup_cpu_seconds", quality: str = "ndcg@10"
) -> list[str]:
    """Names of the arms no other arm beats on both cost (lower) and quality (higher)."""
    front: list[str] = []
    chosen: list[dict[str, Any]] = []
    for a in arms:
        dominated = any(
            b is not a
            and b[cost] <= a[cost]
            and b[quality] >= a[quality]
            and (b[cost] < a[cost] or b[quality] > a[quality])
            for b in arms
        )
        if not dominated and not any(a[cost] == f[cost] and a[quality] == f[quality] for f in chosen):
            front.append(a["name"])
            chosen.append(a)
    return front


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f}"


def _arms_table(arms: Sequence[dict[str, Any]], front: set[str]) -> list[str]:
    rows = [
        "| arm | group | nDCG@10 | recall@100 | MRR@10 | labelled pairs | train pairs | steps | "
        "train s (CPU s) | index s | model MB | p50 ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for a in arms:
        name = f"**{a['name']}**" if a["name"] in front else a["name"]
        rows.append(
            f"| {name} | {a['group']} | {a['ndcg@10']:.3f} | {a['recall@100']:.3f} | {a['mrr@10']:.3f} | "
            f"{a['labelled_pairs']} | {a['train_pairs']} | {a['train_steps']} | "
            f"{a['train_seconds']:.0f} ({a['train_cpu_seconds']:.0f}) | {a['index_seconds']:.0f} | "
            f"{_mb(a['model_bytes'])} | {a['latency_p50_ms']:.1f} |"
        )
    return rows


def best_of(arms: Sequence[dict[str, Any]], groups: Sequence[str]) -> dict[str, Any] | None:
    pool = [a for a in arms if a["group"] in groups]
    return max(pool, key=lambda a: a["ndcg@10"]) if pool else None


def _context_arm(arms: Sequence[dict[str, Any]], recipe: str) -> dict[str, Any] | None:
    """The untrained (context) arm of ``recipe``, if it ran."""
    return next((a for a in arms if a["recipe"] == recipe and a["group"] == "context"), None)


@dataclass(frozen=True)
class _Arms:
    """A run's arms, and those the report and the plots single out."""

    all: list[dict[str, Any]]
    chosen: str  # the hybrid recipe whose fusion won on the dev claims
    base: dict[str, Any] | None  # the base embedder, dense, untrained
    hybrid: dict[str, Any] | None  # the chosen hybrid recipe, untrained
    loop: list[dict[str, Any]]  # the self-consuming generations, in order

    @classmethod
    def of(cls, result: dict[str, Any]) -> _Arms:
        arms = result["arms"]
        chosen = f"hybrid/{result['settings']['best_fusion']}"
        loop = sorted((a for a in arms if a["group"] == "self-consuming"), key=lambda a: a["generation"])
        return cls(arms, chosen, _context_arm(arms, "dense"), _context_arm(arms, chosen), loop)


def conclusion(result: dict[str, Any]) -> list[str]:
    """Sentences that follow from the figures, whatever they are."""
    view = _Arms.of(result)
    arms, base, ctx, loop = view.all, view.base, view.hybrid, view.loop
    out: list[str] = []
    top = best_of(arms, ["context"])
    ft = best_of(arms, ["human", "synthetic", "self-consuming"])
    both = best_of(arms, ["fine-tuned + context"])
    if ctx and ft:
        verdict = "beat" if ctx["ndcg@10"] > ft["ndcg@10"] else "did not beat"
        out.append(
            f"The context recipe chosen on the dev claims, with no training ({ctx['name']}, nDCG@10 "
            f"{ctx['ndcg@10']:.3f}), {verdict} the best fine-tuned embedder used alone, picked on the "
            f"test claims, which favours fine-tuning ({ft['name']}, {ft['ndcg@10']:.3f}); that fine-tuning "
            f"cost {ft['train_cpu_seconds']:.0f} CPU s of training, {ft['labelled_pairs']} labelled pairs "
            f"and a {ft['index_seconds']:.0f} s re-index of the corpus."
        )
    if top and ctx and top is not ctx:
        out.append(f"The best no-training arm on test was {top['name']} ({top['ndcg@10']:.3f}).")
    if both and ctx:
        delta = both["ndcg@10"] - ctx["ndcg@10"]
        out.append(
            f"Fine-tuning plus context ({both['name']}, {both['ndcg@10']:.3f}) is "
            f"{'+' if delta >= 0 else ''}{delta:.3f} nDCG@10 against the best context recipe alone."
        )
    if base:
        human = sorted((a for a in arms if a["group"] == "human"), key=lambda a: a["labelled_pairs"])
        if human:
            curve = ", ".join(f"{a['labelled_pairs']} pairs {a['ndcg@10']:.3f}" for a in human)
            out.append(f"Learning curve (dense, nDCG@10): base {base['ndcg@10']:.3f}; {curve}.")
        if loop:
            gens = ", ".join(
                f"gen{a['generation']} {a['ndcg@10']:.3f} (labels {a['label_accuracy']:.0%} right)"
                for a in loop
            )
            trend = loop[-1]["ndcg@10"] - loop[0]["ndcg@10"]
            out.append(
                f"Self-consuming loop (dense, nDCG@10): gen0 {base['ndcg@10']:.3f}; {gens}; from the first to "
                f"the last generation {'+' if trend >= 0 else ''}{trend:.3f}."
            )
    gen = result.get("generative")
    if gen and gen.get("arms"):
        accs = ", ".join(f"{a['name']} {a['accuracy']:.2f}" for a in gen["arms"])
        out.append(f"Answering model ({gen.get('model')}, {gen.get('questions')} cloze questions): {accs}.")
    return out


def write_report(result: dict[str, Any], out: Path) -> Path:
    arms = result["arms"]
    front = set(pareto(arms))
    data, settings = result["data"], result["settings"]
    lines = [
        f"# Fine-tuning or context? Study report ({result['profile']} profile)",
        "",
        f"Started {result['started']}, {result['wall_seconds'] / 60:.1f} min wall. "
        f"{data['indexed_documents']} of {data['corpus_documents']} documents indexed; "
        f"{data['test_claims']} test claims evaluated; {data['train_claims']} train claims for training "
        f"({data['dev_claims']} of them, with every judged document indexed, used as dev to choose recipes). "
        f"Base embedder `{Path(settings['base_model']).parent.name}/{Path(settings['base_model']).name}`, store `{settings['store']}`, "
        f"{settings['threads']} thread(s), seed {settings['seed']}; best hybrid fusion on dev: "
        f"**{settings['best_fusion']}**.",
        "",
        "## Conclusion from these figures",
        "",
        *[f"- {s}" for s in conclusion(result)],
        "",
        "## Every arm (test claims)",
        "",
        "Bold: on the Pareto front of quality (nDCG@10) against setup cost (training plus indexing "
        "CPU seconds). `index s` is the wall time to embed and store the corpus with that arm's "
        "model (a fine-tuned embedder must re-index everything), plus any passage-side work of a "
        "reranker or SPLADE.",
        "",
        *_arms_table(arms, front),
        "",
    ]
    gen = result.get("generative")
    if gen:
        lines += [
            "## The answering model",
            "",
            f"Model `{gen.get('model')}`, {gen.get('questions')} cloze questions built from the indexed "
            f"abstracts; the retriever found the source abstract in its top k for "
            f"{gen.get('retrieval_hit_rate', 0.0):.0%} of them.",
            "",
            "| arm | accuracy | exact match | train steps | train s (CPU s) | model MB | p50 ms |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for a in gen.get("arms", []):
            lines.append(
                f"| {a['name']} | {a.get('accuracy', 0.0):.3f} | {a.get('exact_match', 0.0):.3f} | "
                f"{a.get('train_steps', 0)} | {a.get('train_seconds', 0.0):.0f} ({a.get('train_cpu_seconds', 0.0):.0f}) | "
                f"{_mb(a.get('model_bytes', 0))} | {a.get('latency_p50_ms', 0.0):.0f} |"
            )
        lines += ["", *[f"- {n}" for n in gen.get("notes", [])], ""]
    lines += ["## Notes", "", *[f"- {n}" for n in result.get("notes", [])], ""]
    env = result["environment"]
    lines += [
        "## Environment",
        "",
        f"Python {env['python']} on {env['platform']} ({env['cpus']} CPUs); "
        + ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v),
        "",
        "Plots: " + ", ".join(f"`{file}`" for file, *_ in _PLOTS) + ".",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    write_plots(result, out)
    return path


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (files only, no display), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def _figure(path: Path, size: tuple[float, float]) -> Iterator[Any]:
    """A matplotlib axes saved to ``path`` with its legend on exit."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=size)
    try:
        yield ax
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def _cost(a: dict[str, Any]) -> float:
    return max(float(a["setup_cpu_seconds"]), 1.0)


def _quality_vs_cost(ax: Any, view: _Arms) -> None:
    ax.set(
        title="Quality against cost, one point per arm",
        xlabel="setup cost: training + indexing CPU seconds (log)",
        ylabel="nDCG@10 (test claims)",
    )
    for group, (colour, marker) in GROUP_STYLE.items():
        pts = [a for a in view.all if a["group"] == group]
        if pts:
            ax.scatter(
                [_cost(a) for a in pts], [a["ndcg@10"] for a in pts], c=colour, marker=marker, label=group
            )
    front = sorted((a for a in view.all if a["name"] in set(pareto(view.all))), key=_cost)
    if front:
        ax.step([_cost(a) for a in front], [a["ndcg@10"] for a in front], where="post", c="k", lw=1, ls="--",
                label="Pareto front")  # fmt: skip
        for a in front:
            ax.annotate(a["name"], (_cost(a), a["ndcg@10"]), fontsize=7)
    ax.set_xscale("log")


def _learning_curve(ax: Any, view: _Arms) -> None:
    ax.set(title="Learning curve", xlabel="labelled (claim, abstract) pairs", ylabel="nDCG@10 (test claims)")
    for group, label, start in (
        ("human", "fine-tuned, dense", view.base),
        ("fine-tuned + context", f"fine-tuned + {view.chosen}", view.hybrid),
    ):
        pts = sorted(
            (a for a in view.all if a["group"] == group and a.get("source_group", "human") == "human"),
            key=lambda a: a["labelled_pairs"],
        )
        first = [start] if start else []
        ax.plot([0 if a is start else a["labelled_pairs"] for a in first + pts],
                [a["ndcg@10"] for a in first + pts], marker="o", label=label)  # fmt: skip


def _generations(ax: Any, view: _Arms) -> None:
    ax.set(
        title="Self-consuming loop: each generation trained on the previous one's labels",
        xlabel="generation",
        ylabel="score",
    )
    loop = view.loop
    first = [view.base] if view.base else []
    ax.plot([0] * len(first) + [a["generation"] for a in loop], [a["ndcg@10"] for a in first + loop],
            marker="o", label="nDCG@10 (dense)")  # fmt: skip
    ax.plot([a["generation"] for a in loop], [a["label_accuracy"] for a in loop], marker="s", ls=":",
            label="its own labels that were right")  # fmt: skip


#: The study's plots: file name, figure size (inches), caption on the docs page, and what draws it.
_PLOTS: tuple[tuple[str, tuple[float, float], str, Callable[[Any, _Arms], None]], ...] = (
    ("quality_vs_cost.png", (8, 5.5), "Quality against setup cost, Pareto front dashed", _quality_vs_cost),
    ("learning_curve.png", (6.5, 4.5), "Learning curve over labelled pairs", _learning_curve),
    ("generations.png", (6.5, 4.5), "Self-consuming generations", _generations),
)


def write_plots(result: dict[str, Any], out: Path) -> list[Path]:
    view = _Arms.of(result)
    paths = []
    for file, size, _caption, draw in _PLOTS:
        path = out / file
        with _figure(path, size) as ax:
            draw(ax, view)
        paths.append(path)
    return paths


DOCS_INTRO = """# Fine-tuning or context? The study

vecctx exists to make one claim measurable: for most teams, context from a vector database
beats fine-tuning a model on their data, on cost and on quality, and fine-tuning on poor or
model-generated data makes models worse. `vecctx study` runs that comparison on any
BEIR-format data set (a corpus, a test split to report on, a train split of labelled claims to
learn from) and writes a report with every figure and its cost. This page is one real run on
SciFact, regenerated by the command below; the conclusion is whatever its figures say.

```bash
vecctx study ../shared/data/scifact --train ../shared/data/scifact-train \\
    --profile {profile} --threads {threads} --out study-results --docs docs/study.md
```

Python: `vecctx.study.run_study(test_dir, train_dir, out, profile="quick")`. Profiles: `tiny`
(a few documents, runs in the test suite), `quick` (a seeded cut of the corpus that keeps
every test document; under 30 minutes on 2 idle cores), `full` (the whole corpus, bigger synthetic
sets, more generations and epochs; hours on 2 cores). `--threads` pins torch's threads; the
default is every core the process may use (2 on an idle 2-core machine was 1.85x faster than
1 here; on a loaded machine give 1). `--model` takes another sentence-transformers directory as
the base embedder, `--llm` another local GGUF file or model directory as the answering model
(a user with a GPU would give a 1-8 B instruct model here), `--store` any vecctx URL.

## What runs (every arm a real run)

- **Context, no training**: the base embedder (all-MiniLM-L6-v2) dense; BM25 (vecctx's sparse
  BM25); hybrid with each fusion (RRF, DBSF, convex); the hybrid recipe whose fusion won on the
  dev claims with each offline reranker (late interaction over MiniLM token vectors,
  e5-small bi-encoder rescoring, MMR, lost-in-the-middle); SPLADE-tiny alone and fused with the
  dense side.
- **Fine-tuned on curated human pairs**: MiniLM fine-tuned with sentence-transformers'
  `MultipleNegativesRankingLoss` (in-batch negatives plus one BM25-mined hard negative per
  pair) on 25 %, 50 % and 100 % of the labelled train claims (nested subsets: a learning curve).
- **Fine-tuned on synthetic pairs**: no label at all; a sentence of an abstract is the query
  for the rest of its abstract (the inverse cloze task), at two sizes.
- **Self-consuming loop**: generation g+1 is fine-tuned from generation g on synthetic queries
  labelled by generation g's own top hit, as in the "Model Autophagy Disorder" setting; each
  generation's label accuracy is recorded.
- **Fine-tuned plus context**: every fine-tuned embedder inside the hybrid recipe chosen on dev.
- **The answering model**: SmolLM2-135M-Instruct closed-book, fine-tuned on the corpus text
  (closed-book), given retrieved passages (open-book), and fine-tuned with passages, on cloze
  questions made from the abstracts (a held-out key term of a sentence).

Rules the run keeps: fine-tuning never sees a test claim (the study refuses a train directory
that shares a claim, by id or by text, with the test split); recipes are chosen on dev claims
(train claims whose documents are indexed) and reported on the test claims; training
hyperparameters were fixed in advance (sentence-transformers' usual small-data recipe), not
tuned on test; torch runs on a pinned number of threads; every sample and every training run
is seeded.
Cost columns: labelled pairs, training pairs and steps, training wall and CPU seconds, the
time to (re-)index the corpus with that arm's model, model bytes on disk, query latency p50
(query embedding, search and reranking, in process, exact in-memory search).

"""

DOCS_LIMITS = """
## Limits of this run

- One corpus, one base embedder, one seed: differences of a few thousandths of nDCG@10 are
  within noise (300 claims); rerun with other `--seed` values before trusting them.
- The quick profile indexes a seeded cut of the corpus ({indexed} of {corpus} abstracts: every
  test document plus distractors) and trains for one epoch at 128 tokens; absolute scores are
  higher than on the whole corpus, and the `full` profile trains longer. Only the ranking of
  the arms is what this page is for.
- Fine-tuning here is CPU fine-tuning of a 22 M-parameter embedder; a larger model, a GPU and a
  hyperparameter search would do better, and cost more: the columns say how much this did cost.
- The answering model has 135 M parameters: it shows whether passages in the prompt help a
  small model and whether a few hundred steps of fine-tuning put the corpus into its weights;
  it cannot show what a 7 B model would do. Cloze accuracy is a lenient string match.
"""


def render_docs(result: dict[str, Any], docs_path: Path, img_dir: Path) -> Path:
    """Write the docs page of a run (``docs/study.md``) and copy its plots into ``img_dir``."""
    import shutil

    out = Path(result["out"])
    img_dir.mkdir(parents=True, exist_ok=True)
    rel = img_dir.resolve().relative_to(docs_path.parent.resolve())
    body = (out / "report.md").read_text(encoding="utf-8").splitlines()
    body = [ln for ln in body if not ln.startswith("Plots: ")]
    body[0] = "## This run"
    body = [("#" + ln if ln.startswith("## ") and i else ln) for i, ln in enumerate(body)]
    figures = []
    for name, _size, caption, _draw in _PLOTS:
        target = img_dir / f"study-{name}"
        shutil.copyfile(out / name, target)
        figures.append(f"![{caption}]({(rel / target.name).as_posix()})")
    data = result["data"]
    text = (
        DOCS_INTRO.format(profile=result["profile"], threads=result["settings"]["threads"])
        + "\n".join(body)
        + "\n\n### Plots\n\n"
        + "\n\n".join(figures)
        + "\n"
        + DOCS_LIMITS.format(indexed=data["indexed_documents"], corpus=data["corpus_documents"])
    )
    docs_path.write_text(text, encoding="utf-8")
    return docs_path


__all__ = ["best_of", "conclusion", "pareto", "pyplot", "render_docs", "write_plots", "write_report"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vecctx.study.report OUT DOCS_PAGE``: render a finished run's docs page again
    (and its report and plots) from ``OUT/results.json``, without rerunning anything."""
    import json
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m vecctx.study.report OUT DOCS_PAGE", file=sys.stderr)
        return 2
    out, page = Path(args[0]), Path(args[1])
    result = json.loads((out / "results.json").read_text(encoding="utf-8"))
    result["out"] = str(out)
    write_report(result, out)
    render_docs(result, page, page.parent / "img")
    print(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
