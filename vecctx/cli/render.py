"""Terminal rendering of prompts and sources (rich)."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from vecctx.prompt import AugmentedPrompt


def print_prompt(
    console: Any, prompt: AugmentedPrompt, *, relevant: Container[str] = (), show_prompt: bool = True
) -> None:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"Sources for: {escape(prompt.question)}", title_justify="left", expand=True)
    table.add_column("#", justify="right")
    table.add_column("document")
    table.add_column("title", ratio=3, overflow="ellipsis", no_wrap=True)
    table.add_column("chunk", justify="right")
    table.add_column("relevance", justify="right")
    for s in prompt.sources:
        doc = s.doc_id or s.id
        mark = " [green]✓ judged relevant[/]" if doc in relevant else ""
        table.add_row(
            Text(f"[{s.number}]"),
            escape(doc) + mark,
            Text(s.title or ""),
            f"{s.chunk} ({s.start}-{s.end})" if s.chunk is not None else "-",
            f"{s.relevance:.3f}",
        )
    console.print(table)
    if show_prompt:
        console.print(
            Panel(
                Text(prompt.prompt),
                title=f"prompt: {prompt.token_count}/{prompt.budget} tokens ({prompt.counter})",
            )
        )
    timings = "  ".join(f"{k.removesuffix('_ms')} {v:.1f} ms" for k, v in prompt.timings.items())
    dropped = f"  dropped {prompt.dropped_count} ({', '.join(prompt.drop_reasons)})" if prompt.dropped else ""
    console.print(f"[dim]timings: {timings}{dropped}[/]")


__all__ = ["print_prompt"]
