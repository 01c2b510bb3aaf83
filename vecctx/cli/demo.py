"""``vecctx demo``: SciFact into the embedded default store, cited prompts for sample claims, then
an answer to one of them from the offline local model (SmolLM2-135M-Instruct)."""

from __future__ import annotations

from collections.abc import Container
from pathlib import Path
from typing import Any

from vecctx.cli.settings import DEFAULT_MODE, ENV, Settings
from vecctx.contract.errors import ConfigError
from vecctx.pipeline import Augmenter


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
    with open_session(settings, sparse=True) as sess:
        con.print(
            f"embedder: {sess.embedder.name} (offline, cache {sess.embedder.cache.path}); "
            f"backend: {sess.store.capabilities.name}; BM25 sparse vectors: {sess.bm25 is not None}"
        )
        report = sess.ingest(load_beir(directory, limit=limit), progress=None)
        con.print(f"ingest: {report.summary()}")
        data = load_judgements(directory)
        claims = list(data.judged_queries().items())[:questions]
        aug = sess.augmenter(mode=DEFAULT_MODE if sess.bm25 is not None else "dense", k=4, candidates=50)
        note(f"embedding model {sess.embedder.name} ready in {sess.load_model():.1f} s")
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
