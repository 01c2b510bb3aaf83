"""Retrieved text is data: make it safe to place inside a source block.

Any ``<source``/``</source`` (and every other tag name the template uses) in a passage or a
title is neutralised (``<`` -> ``&lt;``) so a passage cannot close its block, and any
citation-shaped marker (``[2]``, ``[1-3]``...; see :mod:`vecctx.prompt.citations`) is
rewritten with parentheses (``(2)``), so only the assembler emits markers.
"""

from __future__ import annotations

import functools
import html
import re

from vecctx.prompt.citations import neutralise_markers
from vecctx.prompt.template import DEFAULT_TEMPLATE

_INVISIBLE = "[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]*"
_LT = "[<\uff1c\ufe64\u2039\u3008\u27e8]"  # < and look-alikes


@functools.lru_cache(maxsize=64)
def tag_pattern(names: frozenset[str]) -> re.Pattern[str]:
    """A pattern matching the opening or closing of any tag in ``names`` (case-insensitive,
    look-alikes of ``<`` and invisible characters between letters, as in ``</sou\u200brce>``)."""
    alts = sorted(names, key=len, reverse=True)  # longest names first
    parts = [_INVISIBLE.join(re.escape(ch) for ch in name) for name in alts]
    return re.compile(
        rf"{_LT}{_INVISIBLE}\s*{_INVISIBLE}/?{_INVISIBLE}\s*{_INVISIBLE}(?:{'|'.join(parts)})",
        re.IGNORECASE,
    )


_DEFAULT_TAG_RE = tag_pattern(DEFAULT_TEMPLATE.tag_names())


def neutralise_tags(text: str, pattern: re.Pattern[str] = _DEFAULT_TAG_RE) -> str:
    """Replace the opening ``<`` of every reserved tag in ``text`` with ``&lt;``."""
    return pattern.sub(lambda m: "&lt;" + m.group(0)[1:], text)


def escape_passage(text: str, pattern: re.Pattern[str] = _DEFAULT_TAG_RE) -> str:
    """Make retrieved text safe to place inside a source block: reserved tags neutralised,
    citation markers rewritten ``[n]`` -> ``(n)``."""
    return neutralise_markers(neutralise_tags(text, pattern))


def escape_attribute(value: str, *, limit: int = 300) -> str:
    """An attribute value: one line, at most ``limit`` characters, markers neutralised and
    HTML-escaped (so ``"``, ``<`` and ``>`` cannot leave the attribute or open a tag)."""
    value = " ".join(value.split())
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "\u2026"
    return html.escape(neutralise_markers(value), quote=True)


__all__ = ["escape_attribute", "escape_passage", "neutralise_tags", "tag_pattern"]
