"""Citation markers: one grammar shared by the assembler (which neutralises markers found in
retrieved text) and the checker (which reads an answer's markers).

A marker is a bracketed list of source numbers: ``[1]``, ``[1, 3]``, ``[1; 3]``, ``[1-3]``
(ranges with ``-``, en or em dash, ``~``), ``[ 2 ]``, ``[Source 2]``, ``[source: 2]``,
``[#2]``, ``[^2]``. Adjacent markers ``[1][2]`` are two markers. Numbers have at most six
digits. The grammar is matched on what a bracketed span reads as
(:func:`vecctx.prompt.fold.fold`), so full-width, lenticular, tortoise-shell and other
look-alike brackets, superscript, subscript, full-width and circled digits, look-alike letters
in the prefix and invisible characters inside a marker are read as the plain form
(``\uff3b\u00b9\u200b\uff3d`` is ``[1]``). Markers inside Markdown code (``` fences or `inline`) are
not citations and are ignored by the checker.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vecctx.chunking import sentence_ends
from vecctx.contract.errors import InvalidInputError
from vecctx.prompt.fold import chars_reading_as, fold

if TYPE_CHECKING:
    from vecctx.prompt import AugmentedPrompt, Source

_OPEN = chars_reading_as("[")
_CLOSE = chars_reading_as("]")
# A bracketed span: a candidate marker, read on its fold.
_SPAN_RE = re.compile(rf"[{_OPEN}][^{_OPEN}{_CLOSE}]*[{_CLOSE}]")
_NUM = r"\d{1,6}"
_RANGE = r"\s*[-~]\s*"
_SEP = r"\s*[,;]\s*"
_PREFIX = r"(?:(?:sources?|src|ref)\s*[:#]?\s*|[#^]\s*)?"
_ITEM = rf"{_PREFIX}{_NUM}(?:{_RANGE}{_NUM})?"

MARKER_RE = re.compile(rf"\[\s*{_ITEM}(?:{_SEP}{_ITEM})*\s*\]", re.IGNORECASE)
"""The marker grammar, on folded text (:func:`vecctx.prompt.fold.fold`)."""

_ITEM_RE = re.compile(rf"(?<!\d)({_NUM})(?:{_RANGE}({_NUM}))?(?!\d)")
_SPACE_BEFORE_STOP_RE = re.compile(r"\s+([.,;:!?])")
_CODE_RE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)

# A range longer than this is not expanded: only its two ends are taken as cited numbers.
MAX_RANGE = 100


def _is_marker(span: str) -> bool:
    return MARKER_RE.fullmatch(fold(span)) is not None


def replace_markers(text: str, repl: Callable[[str], str]) -> str:
    """``text`` with every citation marker (look-alike forms included; code not excepted)
    replaced by ``repl(marker)``, e.g. ``replace_markers(text, lambda _: " ")`` to drop them."""
    return _SPAN_RE.sub(lambda m: repl(m.group(0)) if _is_marker(m.group(0)) else m.group(0), text)


def neutralise_markers(text: str) -> str:
    """Rewrite every citation-shaped marker in ``text`` with parentheses: ``[2]`` -> ``(2)``
    (the brackets are swapped one for one, whatever look-alikes they were).

    Afterwards :func:`find_markers` finds nothing in the text, so retrieved passages cannot
    forge a citation; only the assembler emits markers.
    """
    return replace_markers(text, lambda marker: f"({marker[1:-1]})")


def parse_marker(marker: str) -> tuple[int, ...]:
    """The source numbers a marker names, in order, ranges expanded (``[1-3]`` -> 1, 2, 3)."""
    numbers: list[int] = []
    for m in _ITEM_RE.finditer(fold(marker)):
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
    for m in _SPAN_RE.finditer(answer):
        if not _is_marker(m.group(0)):
            continue
        while span_i < len(code_spans) and code_spans[span_i][1] <= m.start():
            span_i += 1
        if span_i < len(code_spans) and code_spans[span_i][0] <= m.start() < code_spans[span_i][1]:
            continue
        numbers = parse_marker(m.group(0))
        invalid = tuple(n for n in numbers if not 1 <= n <= n_sources)
        out.append(CitationMarker(m.group(0), m.start(), m.end(), numbers, invalid))
    return out


@dataclass(frozen=True, slots=True)
class CitedSentence:
    """One sentence of an answer and the markers that belong to it. ``start``/``end`` are
    character offsets in the answer (``text == answer[start:end]``, markers included)."""

    text: str
    start: int
    end: int
    markers: tuple[CitationMarker, ...] = ()

    @property
    def numbers(self) -> tuple[int, ...]:
        """The valid source numbers the sentence cites, each once, in order of first citation."""
        return tuple(dict.fromkeys(n for m in self.markers for n in m.numbers if n not in m.invalid))

    @property
    def claim(self) -> str:
        """The sentence without its markers, whitespace collapsed: what the sources should support."""
        cut = self.text
        for m in reversed(self.markers):
            cut = cut[: m.start - self.start] + " " + cut[m.end - self.start :]
        return _SPACE_BEFORE_STOP_RE.sub(r"\1", " ".join(cut.split()))


def cited_sentences(answer: str, markers: Sequence[CitationMarker]) -> list[CitedSentence]:
    """``answer`` split into sentences, each with its markers (``markers`` from
    :func:`find_markers` on the same text).

    Markers are blanked before splitting, so ``rose.[2] Then`` ends a sentence after the
    marker. A marker before a sentence's first word belongs to the sentence before it; a piece
    holding only markers joins the sentence before it (or, at the start, the one after).
    """
    chars = list(answer)
    for m in markers:
        chars[m.start : m.end] = " " * (m.end - m.start)
    masked = "".join(chars)
    pieces: list[list[int]] = []  # [first char, end of last char] of each sentence's words
    begin = 0
    for end in sentence_ends(masked):
        words = masked[begin:end]
        if words.strip():
            lead = len(words) - len(words.lstrip())
            pieces.append([begin + lead, begin + len(words.rstrip())])
        begin = end
    if not pieces:  # no words: the markers alone, if any, are one sentence
        start, end = (markers[0].start, markers[-1].end) if markers else (0, 0)
        return [CitedSentence(answer[start:end], start, end, tuple(markers))] if markers else []
    owned: list[list[CitationMarker]] = [[] for _ in pieces]
    i = 0
    for m in markers:
        while i + 1 < len(pieces) and pieces[i + 1][0] <= m.start:
            i += 1
        owner = i - 1 if i > 0 and m.start < pieces[i][0] else i
        owned[owner].append(m)
    out: list[CitedSentence] = []
    for (start, end), own in zip(pieces, owned, strict=True):
        if own:
            start, end = min(start, own[0].start), max(end, own[-1].end)
        out.append(CitedSentence(answer[start:end], start, end, tuple(own)))
    return out


@dataclass(slots=True)
class CitationReport:
    """What an answer cites, against the sources of the prompt it answered.

    ``cited``: source numbers cited at least once (ascending); ``uncited``: source numbers
    never cited; ``invalid``: numbers that cite no source (e.g. 7 with 5 sources, or 0);
    ``invalid_markers``: the markers holding such numbers; ``counts``: citations per number;
    ``sentences``: the answer's sentences with their markers (:func:`cited_sentences`), and
    ``uncited_sentences`` those citing no source (no marker, or markers naming no valid number).
    """

    markers: list[CitationMarker]
    cited: list[int]
    uncited: list[int]
    invalid: list[int]
    sources: Sequence[Source] = field(repr=False)
    counts: dict[int, int] = field(default_factory=dict)
    sentences: list[CitedSentence] = field(default_factory=list)

    @property
    def uncited_sentences(self) -> list[CitedSentence]:
        return [s for s in self.sentences if not s.numbers]

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


def source_label(source: Source, *, marker: bool = True) -> str:
    """Where a source comes from, for a reader: ``[1] report.pdf, p. 3`` (a passage over pages
    3 and 4: ``pp. 3-4``), ``[2] guide.md \u00a7 Install > Linux``, else just the document,
    ``[3] notes.txt``. The document is the chunk's ``source`` metadata (the file loaded), else
    its ``doc_id``, else the record id; the page and section are the chunk's ``page`` /
    ``page_end`` and ``section`` metadata (:mod:`vecctx.loaders`). ``marker=False`` leaves out
    the ``[n]``."""
    meta = source.metadata
    doc = meta.get("source") or source.doc_id or source.id
    page, last, section = meta.get("page"), meta.get("page_end"), meta.get("section")
    if page is not None:
        where = f", pp. {page}-{last}" if last is not None and last != page else f", p. {page}"
    elif section:
        where = f" \u00a7 {section}"
    else:
        where = ""
    return f"{source.marker} {doc}{where}" if marker else f"{doc}{where}"


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
        sentences=cited_sentences(answer, markers),
    )


__all__ = [
    "MARKER_RE",
    "CitationMarker",
    "CitationReport",
    "CitedSentence",
    "check_citations",
    "cited_sentences",
    "find_markers",
    "neutralise_markers",
    "parse_marker",
    "replace_markers",
    "source_label",
]
