"""``vecctx ask`` and the demo's last step: stream a model's answer, then its sources and checks."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from vecctx.answers import Answer, AnswerStream
from vecctx.cli.settings import DEFAULT_FUSION, DEFAULT_MODE, Settings
from vecctx.contract.store import FilterArg
from vecctx.prompt.citations import source_label


def _label(text: str, words: int = 10) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def print_answer(console: Any, stream: AnswerStream, *, relevant: Container[str] = ()) -> Answer:
    """Write the answer as the model streams it, then its sources (cited or not, with their
    document id and title or first words) and the citation and support summary."""
    from functools import partial

    from rich.markup import escape

    say = partial(console.print, soft_wrap=True)  # no wrapping: one line per source or check
    out = console.file
    for piece in stream:
        out.write(piece)
        out.flush()
    out.write("\n\n")
    out.flush()
    answer = stream.answer
    cites = answer.citations
    say("[bold]Sources[/]")
    for s in answer.sources:
        doc = s.doc_id or s.id
        used = "cited" if s.number in cites.counts else "not cited"
        mark = " [green]judged relevant[/]" if doc in relevant else ""
        chunk = f"chunk {s.chunk}, " if s.chunk is not None else ""
        say(f"  {escape(source_label(s))}: {escape(_label(s.title or s.text))} ({chunk}{used}){mark}")
    if answer.abstained:
        say('The model abstained ("I don\'t know").')
    invalid = ", ".join(m.text for m in cites.invalid_markers) or "none"
    say(
        escape(
            f"citations: {len(cites.markers)} markers citing {cites.cited or 'no source'}; "
            f"citing nothing: {invalid}; sentences citing nothing: {len(cites.uncited_sentences)} "
            f"of {len(cites.sentences)}; sources never used: {cites.uncited or 'none'}"
        )
    )
    checked = [s for s in answer.support if s.supported is not None]
    supported = sum(1 for s in checked if s.supported)
    say(f"support: {supported} of {len(checked)} checked sentences supported by their sources")
    for u in answer.unsupported:
        emb = "" if u.embedding is None else f", embedding {u.embedding:.2f}"
        say(f"  [red]unsupported[/]: {escape(_label(u.sentence, 16))} (lexical {u.lexical:.2f}{emb})")
    timings = "  ".join(f"{k.removesuffix('_ms')} {v:.0f} ms" for k, v in answer.timings.items())
    say(
        f"[dim]{escape(answer.model)}: {answer.usage.prompt_tokens} prompt + "
        f"{answer.usage.completion_tokens} answer tokens ({answer.finish_reason}); {timings}[/]"
    )
    return answer


def run_ask(
    settings: Settings,
    question: str,
    *,
    llm: str | None,
    filter: FilterArg = None,
    mode: str = DEFAULT_MODE,
    fusion: str = DEFAULT_FUSION,
    k: int = 3,
    max_tokens: int = 256,
    abstain: bool = False,
    judge: bool = False,
    cite: bool | None = None,
) -> Answer:
    """Retrieve from the settings' store and collection, answer with the model at URL ``llm``
    (``None``: the offline local model) and print it as it streams. ``cite`` constrains the
    answer to cite its sources (``None``: only for a local model)."""
    import time

    from vecctx.cli.render import make_console, note
    from vecctx.cli.session import open_session
    from vecctx.llm import connect_llm

    console = make_console()
    t0 = time.perf_counter()
    with connect_llm(llm) as model:
        llm_s = time.perf_counter() - t0
        with open_session(settings, sparse=mode != "dense", create=False) as sess:
            aug = sess.augmenter(mode=mode, fusion=fusion, k=k)
            note(f"language model {model.name} ready in {llm_s:.1f} s")
            note(f"embedding model {sess.embedder.name} ready in {sess.load_model():.1f} s")
            if cite is None:
                from vecctx.llm import LlamaCppLLM

                cite = isinstance(model, LlamaCppLLM)
            stream = aug.stream_answer(
                question,
                llm=model,
                filter=filter,
                max_tokens=max_tokens,
                abstain=abstain,
                judge=judge,
                cite=cite,
            )
            with stream:
                return print_answer(console, stream)


__all__ = ["print_answer", "run_ask"]
