"""``vecctx demo``: SciFact into the embedded default store, cited prompts for sample claims, then
an answer to one of them from the offline local model (SmolLM2-135M-Instruct).

The demo answers first and finishes later: it ingests a first slice of the corpus (as many
documents as fit in about :data:`FIRST_SLICE_SECONDS` of ingesting), shows one cited prompt
over that slice (saying so), then ingests the rest with a progress bar and an estimate of the
time it takes, and shows its prompts and the answer over the whole corpus. Everything already
stored or embedded is reused (the ingest manifest and the embedding cache), so a second run
goes straight to the prompts."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Container, Sequence
from pathlib import Path
from typing import Any

from vecctx.chunking import Document
from vecctx.cli.settings import DEFAULT_MODE, ENV, Settings
from vecctx.contract.errors import ConfigError
from vecctx.ingest import BatchDone, IngestReport
from vecctx.pipeline import Augmenter

#: Seconds of ingesting before the first prompt is shown (the slice grows in steps until then).
FIRST_SLICE_SECONDS = 30.0
#: Documents in the first step of the first slice.
FIRST_STEP = 32


def run_demo(
    settings: Settings,
    *,
    limit: int | None = None,
    questions: int = 3,
    budget: int = 1200,
    data_flag: bool = False,
) -> None:
    """``data_flag``: the data root came from ``--data`` (named in the error when SciFact is missing)."""
    from vecctx.cli.render import make_console, note, print_prompt
    from vecctx.cli.session import open_session
    from vecctx.eval.beir import load_judgements
    from vecctx.loaders import data_root, load_beir
    from vecctx.registry import default_url

    started = time.monotonic()
    con = make_console()
    root = Path(settings.data).expanduser() if settings.data else data_root()
    directory = root / "scifact"
    if not (directory / "corpus.jsonl").is_file():
        raise ConfigError(
            f"SciFact not found: no {directory / 'corpus.jsonl'} (data root {str(root)!r}, "
            f"{_data_source(settings, data_flag)}); set --data or {ENV['data']} to the folder holding scifact/"
        )
    url = settings.store or default_url()
    con.print(
        f"[bold]vecctx demo[/]: SciFact from {directory} into {url} (collection {settings.collection!r})"
    )
    docs = list(load_beir(directory, limit=limit))
    with open_session(settings, sparse=True) as sess:
        con.print(
            f"embedder: {sess.embedder.name} (offline, cache {sess.embedder.cache.path}); "
            f"backend: {sess.store.capabilities.name}; BM25 sparse vectors: {sess.bm25 is not None}"
        )
        data = load_judgements(directory)
        judged = list(data.judged_queries().items())
        claims = judged[:questions]
        aug = sess.augmenter(mode=DEFAULT_MODE if sess.bm25 is not None else "dense", k=4, candidates=50)
        recipe = "hybrid BM25 + dense" if sess.bm25 is not None else "dense"

        note(f"embedding model {sess.embedder.name} ready in {sess.load_model():.1f} s")

        # 1. a first slice, then one cited prompt over it
        n, first = _first_slice(sess, docs)
        stored = first[-1].collection_documents if first else 0
        written = sum(r.written for r in first)
        con.print(
            f"ingest, first slice: {n} documents ({written} chunks written) in {_took(first)}"
            if written
            else f"ingest: the first {n} documents are stored already"
        )
        if judged and n:
            sliced = {d.id for d in docs[:n]}
            early = next(
                ((q, c) for q, c in judged if stored >= len(docs) or set(data.qrels[q]) <= sliced), judged[0]
            )
            prompt = aug.augment(early[1], budget=budget)
            scope = f"all {stored} documents"
            if stored < len(docs):
                scope = (
                    f"only the {stored} documents stored so far, of {len(docs)} (the rest is ingested next"
                )
                covered = set(data.qrels[early[0]]) <= sliced
                scope += "; this claim's relevant abstracts are among them)" if covered else ")"
            con.rule(f"claim {early[0]}: first prompt")
            con.print(f"This prompt searched {scope}.")
            print_prompt(con, prompt, relevant=data.qrels.get(early[0], {}))
            note(
                f"first prompt after {time.monotonic() - started:.1f} s ({recipe}; BM25 statistics of "
                f"the {stored} documents stored)"
            )

        # 2. the rest, with a progress bar and an estimate
        if stored < len(docs):
            con.print(_estimate(first, n, len(docs)))
        report = sess.ingest(docs, progress=None, on_batch=None if sys.stderr.isatty() else _ticker())
        con.print(f"ingest: {report.summary()}")
        note(f"whole corpus stored after {time.monotonic() - started:.1f} s")

        # 3. the prompts and the answer over the whole corpus
        for qid, claim in claims:
            prompt = aug.augment(claim, budget=budget)
            con.rule(f"claim {qid}")
            print_prompt(con, prompt, relevant=data.qrels.get(qid, {}))
        if claims:
            qid, claim = claims[0]
            _answer(con, aug, f"Is it true that {claim.strip().rstrip('.')}?", data.qrels.get(qid, {}))
        con.print(
            '\nNext: `vecctx query "your question" --filter \'{"title": {"$exists": true}}\'`, '
            '`vecctx ask "your question" --abstain`, '
            f"`vecctx eval {directory}` (nDCG@10 of the default recipe), and examples/ for the Python API."
        )


def _first_slice(sess: Any, docs: Sequence[Document]) -> tuple[int, list[IngestReport]]:
    """Ingest ``docs`` from the start in growing steps until about :data:`FIRST_SLICE_SECONDS`
    were spent, or a step found everything stored already (a rerun). How many documents, and the
    report of each step."""
    t0 = time.monotonic()
    n, step = 0, FIRST_STEP
    reports: list[IngestReport] = []
    while n < len(docs):
        report = sess.ingest(docs[n : n + step], progress=False)
        reports.append(report)
        n = min(n + step, len(docs))
        elapsed = time.monotonic() - t0
        if report.written == 0 or elapsed >= FIRST_SLICE_SECONDS:
            break
        per_doc = elapsed / n
        step = max(1, min(2 * step, int((FIRST_SLICE_SECONDS - elapsed) / per_doc)))
        if (FIRST_SLICE_SECONDS - elapsed) < per_doc * min(step, FIRST_STEP) / 2:
            break
    return n, reports


def _took(reports: Sequence[IngestReport]) -> str:
    return f"{sum(r.seconds for r in reports):.1f} s"


def _estimate(first: Sequence[IngestReport], n: int, total: int) -> str:
    """How long the rest of the ingest will take, from the rate the first slice measured."""
    rest = total - n
    written = sum(r.written for r in first)
    seconds = sum(r.seconds for r in first)
    if not written or not n or seconds <= 0:
        return f"ingesting the other {rest} documents (whatever is stored or cached already is reused)"
    chunks = sum(r.chunks for r in first) / n * rest
    eta = chunks / (written / seconds)
    return (
        f"ingesting the other {rest} documents (~{chunks:.0f} chunks) at the {written / seconds:.1f} "
        f"chunks/s measured so far: about {_duration(eta)} (less for whatever is cached already)"
    )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _ticker(every: float = 15.0) -> Callable[[BatchDone], None]:
    """Progress lines on stderr when it is no terminal (no bar there): written, rate, time left."""
    from vecctx.cli.render import note

    t0 = last = time.monotonic()

    def tick(done: BatchDone) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < every and done.batch < done.batches:
            return
        last = now
        rate = done.written / (now - t0) if now > t0 else 0.0
        left = (done.to_write - done.written) / rate if rate > 0 else 0.0
        note(
            f"ingest: {done.written}/{done.to_write} chunks, {rate:.1f} chunks/s, "
            f"about {_duration(left)} left"
        )

    return tick


def _data_source(settings: Settings, data_flag: bool) -> str:
    """Where the data root came from, for the message when SciFact is not there."""
    import os

    if data_flag:
        return "from --data"
    if os.environ.get(ENV["data"]):
        return f"from {ENV['data']}"
    if settings.data:
        return "from the settings file"
    return f"{ENV['data']} unset: the default, ../shared/data beside {Path.cwd()}"


def _answer(con: Any, aug: Augmenter, question: str, relevant: Container[str]) -> None:
    """The local model's answer to ``question``, streamed (short: 96 tokens at most)."""
    from vecctx.cli.answer import print_answer
    from vecctx.llm import connect_llm

    con.rule("answer from the local model")
    try:
        model = connect_llm()
    except ConfigError as exc:  # the optional runtime is not installed
        con.print(f"[dim]no local model: {exc}[/]")
        return
    con.print(f"[bold]{question}[/]  [dim]({model.name}, offline)[/]")
    with model, aug.stream_answer(question, llm=model, max_tokens=96, cite=True) as stream:
        print_answer(con, stream, relevant=relevant)


__all__ = ["run_demo"]
