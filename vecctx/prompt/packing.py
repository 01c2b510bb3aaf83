"""Cutting a passage to the room left in the token budget: at a sentence end, else at a word end."""

from __future__ import annotations

from collections.abc import Callable

from vecctx.chunking import sentence_ends
from vecctx.prompt.tokens import TokenCounter


def cut_to_fit(
    text: str,
    cost: Callable[[str], int],
    room: int,
    counter: TokenCounter,
    *,
    ellipsis: str | None = None,
) -> tuple[str, int] | None:
    """Cut ``text`` (strictly shorter) so that ``cost(kept) <= room``; ``cost`` is what the
    kept text adds to the prompt (its block and separator) and grows with the text.

    Returns the text to include and how many characters of ``text`` it holds: the longest
    prefix ending at a sentence end (:func:`~vecctx.chunking.sentence_ends`, abbreviations and
    line breaks considered), or, with an ``ellipsis`` and no sentence fitting, the longest
    prefix ending at a word end followed by the ellipsis. None if nothing fits.
    """
    ends = sentence_ends(text, abbreviations=True, line_breaks=True)[:-1]  # the last end is the whole text
    lo, hi, best = 0, len(ends) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        prefix = text[: ends[mid]].rstrip()
        if cost(prefix) <= room:
            best = prefix
            lo = mid + 1
        else:
            hi = mid - 1
    if best is not None:
        return best, len(best)
    if ellipsis is None:
        return None
    # Word fallback: the longest token prefix, backed off to a word boundary.
    budget_for_text = room - cost("") - counter.count(ellipsis)
    while budget_for_text > 0:
        prefix = counter.truncate(text, budget_for_text)
        if len(prefix) >= len(text.rstrip()):
            prefix = text.rstrip()[:-1]  # must be strictly shorter: back off one word
        if not text[len(prefix)].isspace():
            cut_at = max(prefix.rfind(" "), prefix.rfind("\n"), prefix.rfind("\t"))
            prefix = prefix[:cut_at] if cut_at > 0 else ""
        prefix = prefix.rstrip()
        if not prefix:
            return None
        excess = cost(prefix + ellipsis) - room
        if excess <= 0:
            return prefix + ellipsis, len(prefix)
        budget_for_text = min(budget_for_text - excess, counter.count(prefix) - 1)
    return None


__all__ = ["cut_to_fit"]
