"""Terminal rendering of prompts and sources (rich).

On a terminal, output wraps to the terminal's width; written to a pipe or a file (a log), lines
are never wrapped and tables and panels become plain lines, so nothing is cut at 80 columns.
"""

from __future__ import annotations

import sys
from collections.abc import Container
from typing import Any

from vecctx.prompt import AugmentedPrompt
from vecctx.prompt.citations import source_label


def make_console(*, stderr: bool = False) -> Any:
    """A rich console on stdout (``stderr``: on stderr): the terminal's width on a terminal; on a
    pipe or a file, text is not wrapped at all."""
    from rich.console import Console

    console = Console(highlight=False, stderr=stderr)
    if not console.is_terminal:
        console.soft_wrap = True
    return console


def note(text: str) -> None:
    """A progress note (what loaded, how long it took) on stderr, apart from the command's output."""
    print(text, file=sys.stderr, flush=True)


def print_prompt(
    console: Any, prompt: AugmentedPrompt, *, relevant: Container[str] = (), show_prompt: bool = True
) -> None:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    rows = []
    for s in prompt.sources:
        doc = s.doc_id or s.id
        rows.append(
            (
                f"[{s.number}]",
                source_label(s, marker=False),
                " [green]✓ judged relevant[/]" if doc in relevant else "",
                s.title or "",
                f"{s.chunk} ({s.start}-{s.end})" if s.chunk is not None else "-",
                f"{s.relevance:.3f}",
            )
        )
    heading = f"prompt: {prompt.token_count}/{prompt.budget} tokens ({prompt.counter})"
    if console.is_terminal:
        table = Table(title=f"Sources for: {escape(prompt.question)}", title_justify="left", expand=True)
        table.add_column("#", justify="right")
        table.add_column("document")
        table.add_column("title", ratio=3, overflow="ellipsis", no_wrap=True)
        table.add_column("chunk", justify="right")
        table.add_column("relevance", justify="right")
        for number, doc, mark, title, chunk, relevance in rows:
            table.add_row(Text(number), escape(doc) + mark, Text(title), chunk, relevance)
        console.print(table)
        if show_prompt:
            console.print(Panel(Text(prompt.prompt), title=heading))
    else:  # a pipe or a log: plain lines, never wrapped
        console.print(f"Sources for: {escape(prompt.question)}")
        for number, doc, mark, title, chunk, relevance in rows:
            console.print(
                f"  {escape(number)} {escape(doc)} chunk {chunk} relevance {relevance}: {escape(title)}{mark}"
            )
        if show_prompt:
            console.print(f"--- {heading}")
            console.print(Text(prompt.prompt))
            console.print("---")
    timings = "  ".join(f"{k.removesuffix('_ms')} {v:.1f} ms" for k, v in prompt.timings.items())
    dropped = f"  dropped {prompt.dropped_count} ({', '.join(prompt.drop_reasons)})" if prompt.dropped else ""
    console.print(f"[dim]timings: {timings}{dropped}[/]")


__all__ = ["make_console", "note", "print_prompt"]
