"""Token-aware chunking with the embedder's own tokenizer.

A :class:`Chunker` splits a :class:`Document` into :class:`Chunk` s that never exceed the
model's input limit (``max_input_tokens`` minus the special tokens and the passage prefix),
packing whole sentences where it can and cutting inside a sentence only when the sentence
alone is too long. Consecutive chunks share up to ``overlap`` tokens (whole trailing
sentences when they fit, else a token window). Every chunk records its document id, its
index, character offsets with ``document.text[start:end] == chunk.text``, and the
document's metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.embedders.base import Embedder, TextTokenizer

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace,
# or at a blank line.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n\s*\n")


@dataclass(frozen=True, slots=True)
class Document:
    """A source document: a stable id, its text and metadata (JSON data, flat keys)."""

    id: str
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


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


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (whitespace between them excluded)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


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
        tokens = self.tokenizer.spans(text)
        if not tokens:
            return []
        units = self._units(text, tokens) if self.sentences else [(0, len(tokens))]
        windows = self._pack(units)
        chunks: list[Chunk] = []
        for first, last in windows:
            chunks.extend(self._emit(document, tokens, first, last, len(chunks)))
        return [
            Chunk(document.id, i, c.text, c.start, c.end, c.n_tokens, document.metadata)
            for i, c in enumerate(chunks)
        ]

    # -- internals ------------------------------------------------------------------------
    def _units(self, text: str, tokens: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Sentences as token index ranges ``[first, last)``; sentences longer than the budget
        are cut into windows of at most ``max_tokens`` tokens."""
        units: list[tuple[int, int]] = []
        spans = sentence_spans(text)
        ti = 0
        n = len(tokens)
        for _, send in spans:
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
        self, document: Document, tokens: list[tuple[int, int]], first: int, last: int, index: int
    ) -> list[Chunk]:
        """Chunks covering tokens ``[first, last)``. Each is re-checked by tokenizing its text
        alone (a tokenizer may merge differently at the edges) and cut again if it is over."""
        text = document.text
        out: list[Chunk] = []
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
            out.append(Chunk(document.id, index + len(out), piece, start, end, count, document.metadata))
            cur = stop
        return out


__all__ = ["Chunk", "Chunker", "Document", "sentence_spans"]
