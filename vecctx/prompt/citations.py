"""Citation markers: one grammar shared by the assembler (which neutralises markers found in
retrieved text) and the checker (which reads an answer's markers).

A marker is a bracketed list of source numbers: ``[1]``, ``[1, 3]``, ``[1; 3]``, ``[1-3]``
(ranges with ``-``, en or em dash, ``~``), ``[ 2 ]``, ``[Source 2]``, ``[source: 2]``,
``[#2]``, ``[^2]``; full-width (U+FF3B/U+FF3D) and lenticular (U+3010/U+3011) brackets too.
Adjacent markers ``[1][2]`` are two markers. Numbers have at most six digits. Markers inside
Markdown code (``` fences or `inline`) are not citations and are ignored by the checker.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vecctx.contract.errors import InvalidInputError

if TYPE_CHECKING:
    from vecctx.prompt import AugmentedPrompt, Source

_OPEN = "[\\[\uff3b\u3010]"  # [, full-width [, lenticular [
_CLOSE = "[\\]\uff3d\u3011]"  # ], full-width ], lenticular ]
_NUM = r"\d{1,6}"
_RANGE = r"\s*[-\u2010-\u2015\u2212~]\s*"
_SEP = r"\s*[,;\uff0c\u3001]\s*"
_PREFIX = r"(?:(?:sources?|src|ref)\s*[:#]?\s*|[#^]\s*)?"
_ITEM = rf"{_PREFIX}{_NUM}(?:{_RANGE}{_NUM})?"

MARKER_RE = re.compile(rf"{_OPEN}\s*{_ITEM}(?:{_SEP}{_ITEM})*\s*{_CLOSE}", re.IGNORECASE)
"""Matches one citation marker (see the module docstring)."""

_ITEM_RE = re.compile(rf"(?<!\d)({_NUM})(?:{_RANGE}({_NUM}))?(?!\d)")
_CODE_RE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_TRANSLATE_BRACKETS = str.maketrans(
    {"[": "(", "]": ")", "\uff3b": "(", "\uff3d": ")", "\u3010": "(", "\u3011": ")"}
)

# A range longer than this is not expanded: only its two ends are taken as cited numbers.
MAX_RANGE = 100


def neutralise_markers(text: str) -> str:
    """Rewrite every citation-shaped marker in ``text`` with parentheses: ``[2]`` -> ``(2)``.

    Afterwards :data:`MARKER_RE` finds nothing in the text, so retrieved passages cannot forge
    a citation; only the assembler emits markers.
    """
    return MARKER_RE.sub(lambda m: m.group(0).translate(_TRANSLATE_BRACKETS), text)


def parse_marker(marker: str) -> tuple[int, ...]:
    """The source numbers a marker names, in order, ranges expanded (``[1-3]`` -> 1, 2, 3)."""
    numbers: list[int] = []
    for m in _ITEM_RE.finditer(marker):
        lo = int(m.group(1))
        if m.group(2) is None:
            numbers.append(lo)
            continue
        hi = int(m.group(2))
        lo, hi = min(lo, hi), max(lo, hi)
        if hi - lo > MAX_RANGE:
            numbers.extend((lo, hi))
        else:
            numbers.extend(range(lo, hi + 1))
    return tuple(numbers)


@dataclass(frozen=True, slots=True)
class CitationMarker:
    """One marker found in an answer. ``start``/``end`` are character offsets in the answer."""

    text: str
    start: int
    end: int
    numbers: tuple[int, ...]
    invalid: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return not self.invalid


def find_markers(answer: str, *, n_sources: int) -> list[CitationMarker]:
    """Every citation marker in ``answer`` outside Markdown code, in order."""
    code_spans = [(m.start(), m.end()) for m in _CODE_RE.finditer(answer)]
    out: list[CitationMarker] = []
    span_i = 0
    for m in MARKER_RE.finditer(answer):
        while span_i < len(code_spans) and code_spans[span_i][1] <= m.start():
            span_i += 1
        if span_i < len(code_spans) and code_spans[span_i][0] <= m.start() < code_spans[span_i][1]:
            continue
        numbers = parse_marker(m.group(0))
        invalid = tuple(n for n in numbers if not 1 <= n <= n_sources)
        out.append(CitationMarker(m.group(0), m.start(), m.end(), numbers, invalid))
    return out


@dataclass(slots=True)
class CitationReport:
    """What an answer cites, against the sources of the prompt it answered.

    ``cited``: source numbers cited at least once (ascending); ``uncited``: source numbers
    never cited; ``invalid``: numbers that cite no source (e.g. 7 with 5 sources, or 0);
    ``invalid_markers``: the markers holding such numbers; ``counts``: citations per number.
    """

    markers: list[CitationMarker]
    cited: list[int]
    uncited: list[int]
    invalid: list[int]
    sources: Sequence[Source] = field(repr=False)
    counts: dict[int, int] = field(default_factory=dict)

    @property
    def invalid_markers(self) -> list[CitationMarker]:
        return [m for m in self.markers if m.invalid]

    @property
    def cited_sources(self) -> list[Source]:
        return [self.sources[n - 1] for n in self.cited]

    @property
    def uncited_sources(self) -> list[Source]:
        return [self.sources[n - 1] for n in self.uncited]

    @property
    def has_citations(self) -> bool:
        return bool(self.cited)

    @property
    def ok(self) -> bool:
        """At least one valid citation and none citing nothing."""
        return bool(self.cited) and not self.invalid

    @property
    def coverage(self) -> float:
        """Share of the prompt's sources cited at least once (1.0 when there were none)."""
        return len(self.cited) / len(self.sources) if self.sources else 1.0


def check_citations(answer: str, prompt: AugmentedPrompt) -> CitationReport:
    """Check an LLM answer's citation markers against the prompt's numbered sources."""
    if not isinstance(answer, str):
        raise InvalidInputError(f"answer must be a str, got {type(answer).__name__}")
    sources = list(prompt.sources)
    for i, s in enumerate(sources, start=1):
        if s.number != i:
            raise InvalidInputError(
                f"prompt sources must be numbered 1..n in order; source {i} has {s.number}"
            )
    n = len(sources)
    markers = find_markers(answer, n_sources=n)
    counts: Counter[int] = Counter()
    invalid: set[int] = set()
    for m in markers:
        counts.update(x for x in m.numbers if 1 <= x <= n)
        invalid.update(m.invalid)
    cited = sorted(counts)
    uncited = [i for i in range(1, n + 1) if i not in counts]
    return CitationReport(
        markers=markers,
        cited=cited,
        uncited=uncited,
        invalid=sorted(invalid),
        sources=sources,
        counts=dict(sorted(counts.items())),
    )


__all__ = [
    "MARKER_RE",
    "CitationMarker",
    "CitationReport",
    "check_citations",
    "find_markers",
    "neutralise_markers",
    "parse_marker",
]
