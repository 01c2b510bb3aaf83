"""Token-aware chunking with the embedder's own tokenizer, and the sentence splitter it shares
with the prompt assembler.

A :class:`Chunker` splits a :class:`Document` into :class:`Chunk` s that never exceed the
model's input limit (``max_input_tokens`` minus the special tokens and the passage prefix),
packing whole sentences where it can and cutting inside a sentence only when the sentence
alone is too long. Consecutive chunks share up to ``overlap`` tokens (whole trailing
sentences when they fit, else a token window). Every chunk records its document id, its
index, character offsets with ``document.text[start:end] == chunk.text``, and the
document's metadata with that of the document's spans it overlaps (its page, its section).

:func:`sentence_ends` is the one sentence splitter of the package: the chunker packs the
sentences it finds, and the prompt assembler cuts an over-long passage at one of them.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.embedders.base import Embedder, TextTokenizer

_CLOSERS = "\"'\u201d\u2019)\\]\u00bb"  # closing quotes and brackets that stay with their sentence
_STOPS = (
    rf"[.!?\u2026]+[{_CLOSERS}]*(?=\s|$)"  # . ! ? ... then closing quotes, then a space
    rf"|[\u3002\uff01\uff1f]+[{_CLOSERS}\u300d\u300f]*"  # CJK full stops
)
_ENDS_AT_BLANK_LINES = re.compile(_STOPS + r"|\n\s*\n")
_ENDS_AT_LINE_BREAKS = re.compile(_STOPS + r"|\n")
_ABBREVIATIONS = frozenset(
    re.findall(
        r"\S+",
        "mr mrs ms dr prof sr jr st vs etc al fig figs eq eqs no nos vol cf ca approx dept est inc ltd "
        "co corp resp ref refs sec ch pp ed eds",
    )
)
_WORD_BEFORE_RE = re.compile(r"([\w.]+)$")


def _is_dotted_abbreviation(word: str) -> bool:
    parts = [p for p in word.split(".") if p]
    return len(parts) > 1 and all(p.isalpha() and len(p) <= 2 for p in parts)


def _not_a_full_stop(text: str, stop: re.Match[str]) -> bool:
    """A ``.`` after an initial ("J. Smith", "p. 3"), a common or dotted abbreviation ("et al.",
    "e.g.", "U.S.") or before a word in lower case."""
    before = _WORD_BEFORE_RE.search(text[max(0, stop.start() - 40) : stop.start()])
    word = (before.group(1) if before else "").lower()
    if (len(word) == 1 and word.isalpha()) or word.rstrip(".") in _ABBREVIATIONS:
        return True
    rest = text[stop.end() :].lstrip()
    return _is_dotted_abbreviation(word) or (bool(rest) and rest[0].islower())


def sentence_ends(text: str, *, abbreviations: bool = True, line_breaks: bool = True) -> list[int]:
    """Offsets just after each sentence of ``text`` (exclusive ends, ascending; the end of the
    stripped text is always last, and ``""`` has none).

    ``. ! ? ...`` (with any closing quotes or brackets) followed by a space, CJK full stops and
    blank lines end sentences. The defaults are the careful rule the prompt assembler cuts
    passages with: ``abbreviations`` - a ``.`` after an initial, a common or dotted
    abbreviation, or before a word in lower case does not end a sentence; ``line_breaks`` -
    every line break ends one (lists, headings). :class:`Chunker` turns both off: that is the
    rule its published retrieval figures were measured with (the abbreviation rule would move
    121 of the 4,442 chunk boundaries of SciFact), and hard-wrapped text is not cut at each line.
    """
    ends: list[int] = []
    pattern = _ENDS_AT_LINE_BREAKS if line_breaks else _ENDS_AT_BLANK_LINES
    for m in pattern.finditer(text):
        if abbreviations and m.group(0)[0] == "." and _not_a_full_stop(text, m):
            continue
        if not ends or m.end() > ends[-1]:
            ends.append(m.end())
    stripped = len(text.rstrip())
    return [e for e in ends if e < stripped] + ([stripped] if stripped else [])


@dataclass(frozen=True, slots=True)
class Span:
    """A labelled part ``text[start:end]`` of a document: a page of a PDF, a section of a
    Markdown file. ``metadata`` (JSON scalars, e.g. ``{"page": 3}`` or ``{"section": "Intro >
    Setup"}``) reaches every chunk that overlaps the span (see :class:`Document`)."""

    start: int
    end: int
    metadata: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Document:
    """A source document: a stable id, its text and metadata (JSON data, flat keys).

    ``spans`` (ascending, not overlapping) label parts of the text. A chunk's metadata is the
    document's, updated with the metadata of the first span the chunk overlaps; when the chunk
    runs into later spans, each key whose value differs in the last of them is added again with
    an ``_end`` suffix (a chunk over pages 3 and 4: ``page=3, page_end=4``). With
    ``break_at_spans`` no chunk crosses a span boundary (a section per chunk); otherwise spans
    leave chunk boundaries where they would be without them.
    """

    id: str
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    spans: Sequence[Span] = ()
    break_at_spans: bool = False


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document, ``document.text[start:end] == text``."""

    doc_id: str
    index: int
    text: str
    start: int
    end: int
    n_tokens: int
    metadata: Mapping[str, Any] = field(default_factory=dict)


def sentence_spans(
    text: str, *, abbreviations: bool = True, line_breaks: bool = True
) -> list[tuple[int, int]]:
    """Character spans of the sentences :func:`sentence_ends` finds (same options), without the
    white space between them."""
    spans: list[tuple[int, int]] = []
    start = 0
    for end in sentence_ends(text, abbreviations=abbreviations, line_breaks=line_breaks):
        piece = text[start:end]
        first, last = start + len(piece) - len(piece.lstrip()), start + len(piece.rstrip())
        if first < last:
            spans.append((first, last))
        start = end
    return spans


class Chunker:
    """Split documents into chunks of at most ``max_tokens`` tokens of ``tokenizer``.

    Use :meth:`for_embedder` to size chunks for a model. ``overlap`` is the number of tokens
    consecutive chunks may share (0 for none); it must be below ``max_tokens / 2``.
    """

    def __init__(
        self, tokenizer: TextTokenizer, *, max_tokens: int, overlap: int = 0, sentences: bool = True
    ) -> None:
        if max_tokens < 1:
            raise ConfigError(f"max_tokens must be positive, got {max_tokens}")
        if overlap < 0 or overlap * 2 >= max_tokens:
            raise ConfigError(f"overlap must be in [0, max_tokens / 2), got {overlap} for {max_tokens}")
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.sentences = sentences

    @classmethod
    def for_embedder(
        cls, embedder: Embedder, *, max_tokens: int | None = None, overlap: int = 0, sentences: bool = True
    ) -> Chunker:
        """A chunker whose chunks the embedder reads whole: the model's limit, less its special
        tokens and its passage prefix (``max_tokens`` may lower it further)."""
        tok = embedder.tokenizer
        budget = embedder.max_input_tokens - tok.special_tokens
        if embedder.passage_prefix:
            budget -= tok.count(embedder.passage_prefix) + 1  # +1: a prefix may merge with the text
        if max_tokens is not None:
            budget = min(budget, max_tokens)
        if budget < 1:
            raise ConfigError(f"{embedder.name} leaves no room for text after its special tokens and prefix")
        return cls(tok, max_tokens=budget, overlap=min(overlap, (budget - 1) // 2), sentences=sentences)

    def __repr__(self) -> str:
        return f"Chunker(max_tokens={self.max_tokens}, overlap={self.overlap}, sentences={self.sentences})"

    def split_all(self, documents: Iterable[Document]) -> Iterator[Chunk]:
        for doc in documents:
            yield from self.split(doc)

    def split(self, document: Document) -> list[Chunk]:
        if not isinstance(document.id, str) or not document.id:
            raise InvalidInputError(f"document id must be a non-empty string, got {document.id!r}")
        text = document.text
        spans = _checked_spans(document)
        ends = [s.end for s in spans]
        if spans and document.break_at_spans:
            cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
            pieces = [
                (a + start, a + end, count)
                for a, b in itertools.pairwise(cuts)
                for start, end, count in self._pieces(text[a:b])
            ]
        else:
            pieces = self._pieces(text)
        return [
            Chunk(
                document.id,
                i,
                text[start:end],
                start,
                end,
                count,
                _metadata(document, spans, ends, start, end),
            )
            for i, (start, end, count) in enumerate(pieces)
        ]

    def _pieces(self, text: str) -> list[tuple[int, int, int]]:
        """``(start, end, tokens)`` of the chunks of ``text``."""
        tokens = self.tokenizer.spans(text)
        if not tokens:
            return []
        units = self._units(text, tokens) if self.sentences else [(0, len(tokens))]
        pieces: list[tuple[int, int, int]] = []
        for first, last in self._pack(units):
            pieces.extend(self._emit(text, tokens, first, last))
        return pieces

    # -- internals ------------------------------------------------------------------------
    def _units(self, text: str, tokens: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Sentences as token index ranges ``[first, last)``; sentences longer than the budget
        are cut into windows of at most ``max_tokens`` tokens."""
        units: list[tuple[int, int]] = []
        ti = 0
        n = len(tokens)
        for send in sentence_ends(text, abbreviations=False, line_breaks=False):
            first = ti
            while ti < n and tokens[ti][0] < send:
                ti += 1
            if ti > first:
                units.append((first, ti))
        if ti < n:
            units.append((ti, n))
        out: list[tuple[int, int]] = []
        step = self.max_tokens - self.overlap
        for first, last in units:
            if last - first <= self.max_tokens:
                out.append((first, last))
                continue
            start = first
            while start < last:
                out.append((start, min(start + self.max_tokens, last)))
                if start + self.max_tokens >= last:
                    break
                start += step
        return out

    def _pack(self, units: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Greedy packing of consecutive units into windows of at most ``max_tokens`` tokens;
        each window after the first starts with trailing units of the previous one whose
        tokens fit in ``overlap``."""
        windows: list[tuple[int, int]] = []
        i = 0
        n = len(units)
        while i < n:
            first = units[i][0]
            j = i
            while j + 1 < n and units[j + 1][1] - first <= self.max_tokens:
                j += 1
            last = units[j][1]
            windows.append((first, last))
            if j + 1 >= n:
                break
            # next window: back up over whole trailing units that fit in the overlap budget
            k = j + 1
            while k - 1 > i and last - units[k - 1][0] <= self.overlap:
                k -= 1
            i = k
        return windows

    def _emit(
        self, text: str, tokens: list[tuple[int, int]], first: int, last: int
    ) -> list[tuple[int, int, int]]:
        """Chunks ``(start, end, tokens)`` covering tokens ``[first, last)``. Each is re-checked by
        tokenizing its text alone (a tokenizer may merge differently at the edges) and cut again
        if it is over."""
        out: list[tuple[int, int, int]] = []
        cur = first
        while cur < last:
            stop = last
            while True:
                start, end = tokens[cur][0], tokens[stop - 1][1]
                piece = text[start:end]
                count = self.tokenizer.count(piece)
                if count <= self.max_tokens or stop - cur <= 1:
                    break
                stop = max(cur + 1, stop - max(1, count - self.max_tokens))
            out.append((start, end, count))
            cur = stop
        return out


def _checked_spans(document: Document) -> Sequence[Span]:
    spans = document.spans
    previous_end = 0
    for span in spans:
        if not isinstance(span, Span):
            raise InvalidInputError(f"document {document.id!r}: spans must be Span objects, got {span!r}")
        if not previous_end <= span.start <= span.end <= len(document.text):
            raise InvalidInputError(
                f"document {document.id!r}: span ({span.start}, {span.end}) is out of order, overlaps the "
                f"one before it or lies outside the text of {len(document.text)} characters"
            )
        previous_end = span.end
    return spans


def _metadata(
    document: Document, spans: Sequence[Span], ends: list[int], start: int, end: int
) -> Mapping[str, Any]:
    """The document's metadata, updated from the spans the chunk ``[start, end)`` overlaps
    (``ends``: the spans' ends, ascending)."""
    hit: list[Span] = []
    for i in range(bisect_right(ends, start), len(spans)):  # skip the spans ending at or before start
        span = spans[i]
        if span.start >= end:
            break
        if span.start < span.end:
            hit.append(span)
    if not hit:
        return document.metadata
    meta = {**document.metadata, **hit[0].metadata}
    for key, value in hit[-1].metadata.items():
        if hit[0].metadata.get(key) != value:
            meta[f"{key}_end"] = value
    return meta


__all__ = ["Chunk", "Chunker", "Document", "Span", "sentence_ends", "sentence_spans"]
