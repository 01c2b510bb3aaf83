"""Retrieved text is data: make it safe to place inside a source block.

Any ``<source``/``</source`` (and every other tag name the template uses) in a passage or a
title is neutralised (its ``<`` becomes ``&lt;``) so a passage cannot close its block, and any
citation-shaped marker (``[2]``, ``[1-3]``...; see :mod:`vecctx.prompt.citations`) is
rewritten with parentheses (``(2)``), so only the assembler emits markers. Both are found on
what the text reads as (:func:`vecctx.prompt.fold.fold`): look-alike ``<``, ``/`` and letters,
compatibility forms and invisible characters cannot hide a tag or a marker.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass

from vecctx.prompt.citations import neutralise_markers
from vecctx.prompt.fold import IGNORABLE, chars_reading_as, fold
from vecctx.prompt.template import DEFAULT_TEMPLATE


@dataclass(frozen=True, slots=True)
class TagPattern:
    """Finds reserved tags. ``openers`` matches each character that reads as ``<`` and captures
    the next visible characters (up to a slash and the longest name, with any spaces and
    invisible characters between them); ``names`` matches, on their fold, an optional slash
    and a reserved name (case-insensitive; a name followed by more letters counts too)."""

    openers: re.Pattern[str]
    names: re.Pattern[str]


@functools.lru_cache(maxsize=64)
def tag_pattern(names: frozenset[str]) -> TagPattern:
    """The :class:`TagPattern` of the reserved tag ``names`` (lower-case)."""
    alts = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    width = 1 + max(map(len, names))  # a slash, then the longest name
    visible = rf"[\s{IGNORABLE}]*[^\s{IGNORABLE}]"
    return TagPattern(
        openers=re.compile(rf"[{chars_reading_as('<')}](?=((?:{visible}){{1,{width}}}))"),
        names=re.compile(rf"\s*/?\s*(?:{alts})"),
    )


_DEFAULT_TAGS = tag_pattern(DEFAULT_TEMPLATE.tag_names())


def neutralise_tags(text: str, pattern: TagPattern = _DEFAULT_TAGS) -> str:
    """Replace the ``<`` (or look-alike) opening every reserved tag in ``text`` with ``&lt;``."""
    return pattern.openers.sub(
        lambda m: "&lt;" if pattern.names.match(fold(m.group(1))) else m.group(0), text
    )


def escape_passage(text: str, pattern: TagPattern = _DEFAULT_TAGS) -> str:
    """Make retrieved text safe to place inside a source block: reserved tags neutralised,
    citation markers rewritten ``[n]`` -> ``(n)``."""
    return neutralise_markers(neutralise_tags(text, pattern))


def escape_attribute(value: str, *, limit: int = 300, pattern: TagPattern = _DEFAULT_TAGS) -> str:
    """An attribute value: one line, at most ``limit`` characters, markers neutralised,
    HTML-escaped (so ``"``, ``<`` and ``>`` cannot leave the attribute or open a tag) and
    look-alike openings of reserved tags neutralised."""
    value = " ".join(value.split())
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "\u2026"
    return neutralise_tags(html.escape(neutralise_markers(value), quote=True), pattern)


__all__ = ["TagPattern", "escape_attribute", "escape_passage", "neutralise_tags", "tag_pattern"]
