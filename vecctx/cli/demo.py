"""``vecctx demo``: SciFact into the embedded default store, cited prompts for sample claims, then
an answer to one of them from the offline local model (SmolLM2-135M-Instruct)."""

from __future__ import annotations

from collections.abc import Container
from pathlib import Path
from typing import Any

from vecctx.cli.settings import Settings
from vecctx.contract.errors import ConfigError
from vecctx.pipeline import Augmenter


def run_demo(settings: Settings, *, limit: int | None = None, questions: int = 3, budget: int = 1200) -> None:
    from rich.console import Console

    from vecctx.cli.render import print_prompt
    from vecctx.cli.session import open_session
    from vecctx.eval.beir import load_judgements
    from vecctx.loaders import data_root, load_beir
    from vecctx.registry import default_url

    con = Console(highlight=False)
    root = Path(settings.data) if settings.data else data_root()
    directory = root / "scifact"
    if not (directory / "corpus.jsonl").is_file():
        raise ConfigError(
            f"SciFact not found in {directory}: set VECCTX_DATA or --data to the folder holding scifact/"
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
        aug = sess.augmenter(mode="hybrid" if sess.bm25 is not None else "dense", k=4, candidates=50)
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
            "`vecctx eval ../shared/data/scifact --mode hybrid`, and examples/ for the Python API."
        )


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
