"""Near-duplicate passages: word-shingle Jaccard similarity, exact, against the passages kept."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from vecctx.contract.errors import ConfigError
from vecctx.contract.validation import check_count

_NORM_WORD_RE = re.compile(r"\w+")


def _normalised_words(text: str) -> list[str]:
    return _NORM_WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())


def _shingles_of(words: list[str], fallback: str, k: int) -> frozenset[int]:
    if len(words) < k:
        return frozenset({hash(tuple(words))}) if words else frozenset({hash(fallback.strip())})
    return frozenset(map(hash, zip(*(words[i:] for i in range(k)), strict=False)))


def shingles(text: str, *, k: int = 3) -> frozenset[int]:
    """Hashed word ``k``-shingles of the NFKC-casefolded text (punctuation ignored). Hashes
    are Python's (salted per process): compare shingle sets within one process only."""
    return _shingles_of(_normalised_words(text), text, k)


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """Jaccard similarity of two shingle sets (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


class DedupeIndex:
    """Incremental near-duplicate detection: :meth:`check` a text against the texts added so
    far; identical after normalisation (similarity 1.0), or word ``k``-shingle Jaccard
    similarity >= ``threshold`` (in (0, 1]; ``None``: exact duplicates only). Similarities are
    exact (an inverted index from shingle to texts, no sampling); it is sized for the tens to
    hundreds of passages of a prompt: the 5,183 SciFact abstracts took 15 s on a loaded
    machine, so use MinHash LSH for corpus-scale dedupe."""

    def __init__(self, *, threshold: float | None = 0.8, k: int = 3) -> None:
        if threshold is not None and not (isinstance(threshold, int | float) and 0.0 < threshold <= 1.0):
            raise ConfigError(f"dedupe threshold must be in (0, 1] or None, got {threshold!r}")
        self.threshold = threshold
        self.k = check_count(k, "shingle size", minimum=1, error=ConfigError)
        self._exact: dict[str, int] = {}
        self._sizes: dict[int, int] = {}
        self._order: dict[int, int] = {}
        self._postings: dict[int, list[int]] = {}

    def check(self, key: int, text: str, *, add: bool = True) -> tuple[int, float] | None:
        """``(key, similarity)`` of the first added text that ``text`` duplicates, else None
        (and ``text`` is added under ``key`` when ``add``; keys must be distinct)."""
        words = _normalised_words(text)
        norm = " ".join(words) or text.strip()
        if norm in self._exact:
            return self._exact[norm], 1.0
        sh: frozenset[int] = frozenset()
        threshold = self.threshold
        if threshold is not None:
            sh = _shingles_of(words, text, self.k)
            shared: dict[int, int] = {}
            for shingle in sh:
                for other in self._postings.get(shingle, ()):
                    shared[other] = shared.get(other, 0) + 1
            n = len(sh)
            best: tuple[int, float] | None = None
            for other, inter in shared.items():
                sim = inter / (n + self._sizes[other] - inter)
                if sim >= threshold and (best is None or self._order[other] < self._order[best[0]]):
                    best = (other, sim)  # the earliest added (best-ranked) match
            if best is not None:
                return best
        if add:
            self._exact[norm] = key
            self._sizes[key] = len(sh)
            self._order[key] = len(self._order)
            for shingle in sh:
                self._postings.setdefault(shingle, []).append(key)
        return None


def near_duplicates(
    texts: Sequence[str], *, threshold: float | None = 0.8, k: int = 3
) -> list[tuple[int, float] | None]:
    """For each text, ``(index, similarity)`` of the first earlier *kept* text it duplicates
    (see :class:`DedupeIndex`), else None."""
    index = DedupeIndex(threshold=threshold, k=k)
    return [index.check(i, text) for i, text in enumerate(texts)]


__all__ = ["DedupeIndex", "jaccard", "near_duplicates", "shingles"]
