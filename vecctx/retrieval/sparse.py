"""BM25 as sparse vectors, so a plain sparse dot product in any store ranks like BM25.

For a document ``d`` and a query ``q`` (Lucene's BM25, as in ``bm25s``)::

    score(q, d) = sum over terms t of q:  idf(t) * tf(t,d) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

:meth:`BM25Encoder.encode_documents` puts the saturated, length-normalised term weight (the
fraction; Lucene 8+ dropped classic BM25's constant factor ``k1 + 1``, which does not change
rankings) in the document vector and :meth:`BM25Encoder.encode_query` puts ``idf(t)`` in the
query vector, so their dot product is exactly the BM25 score. Keeping IDF on the query side
means documents never have to be re-encoded when the corpus grows: only the statistics
(``N``, ``df``, ``avgdl``) change, and they are saved with the collection as JSON
(:meth:`BM25Encoder.save` / :meth:`BM25Encoder.load`). Documents use ``avgdl`` as it was when
they were encoded; re-ingesting with ``sync`` refreshes it.

Term ids are stable without a vocabulary: a term's id is a 32-bit BLAKE2b hash of the
(stemmed) term, below ``2**32 - 1`` as every sparse backend accepts. Tokenisation follows
``bm25s``: lower-case, the regex ``\\b\\w\\w+\\b``, English stopwords (``bm25s``' list) and the
Snowball English stemmer (``PyStemmer``, which ``bm25s`` uses too).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vecctx.contract.errors import ConfigError
from vecctx.contract.types import SparseVector
from vecctx.embedders.offline import require

FORMAT = "vecctx-bm25/1"
_MAX_ID = 2**32 - 1
_MEMO_SIZE = 50_000


@functools.lru_cache(maxsize=1 << 18)
def term_id(term: str) -> int:
    """The stable sparse index of a term."""
    h = int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")
    return h % _MAX_ID


def english_stopwords() -> list[str]:
    """``bm25s``' English stopword list."""
    try:
        from bm25s.stopwords import STOPWORDS_EN
    except ImportError as exc:
        raise ConfigError(f"English stopwords come from bm25s: pip install bm25s ({exc})") from exc
    return sorted(str(w) for w in STOPWORDS_EN)


def _stemmer(language: str) -> Callable[[list[str]], list[str]]:
    Stemmer = require("Stemmer", "PyStemmer (or pass stemmer=None)")
    try:
        stem = Stemmer.Stemmer(language)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"PyStemmer has no stemmer for {language!r}") from exc
    words: Callable[[list[str]], list[str]] = stem.stemWords
    return words


@dataclass
class BM25Stats:
    """Corpus statistics: number of documents, total length in terms, document frequencies."""

    n_docs: int = 0
    total_len: int = 0
    df: dict[int, int] = field(default_factory=dict)

    @property
    def avgdl(self) -> float:
        return self.total_len / self.n_docs if self.n_docs else 0.0


class BM25Encoder:
    """Encode documents and queries as BM25 sparse vectors (see the module docstring)."""

    def __init__(
        self,
        *,
        k1: float = 1.2,
        b: float = 0.75,
        stopwords: str | Iterable[str] | None = "en",
        stemmer: str | None = "english",
        lowercase: bool = True,
        token_pattern: str = r"(?u)\b\w\w+\b",
    ) -> None:
        if k1 < 0 or not 0.0 <= b <= 1.0:
            raise ConfigError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1 = float(k1)
        self.b = float(b)
        if stopwords is None:
            self.stopwords: frozenset[str] = frozenset()
        elif isinstance(stopwords, str):
            if stopwords not in ("en", "english"):
                raise ConfigError(f"unknown stopword list {stopwords!r}: use 'en' or pass the words")
            self.stopwords = frozenset(english_stopwords())
        else:
            self.stopwords = frozenset(stopwords)
        self.stemmer = stemmer
        self._stem = _stemmer(stemmer) if stemmer else None
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self._re = re.compile(token_pattern)
        self.stats = BM25Stats()
        self._memo: dict[str, Counter[int]] = {}

    def __repr__(self) -> str:
        return (
            f"BM25Encoder(k1={self.k1}, b={self.b}, stemmer={self.stemmer!r}, "
            f"n_docs={self.stats.n_docs}, terms={len(self.stats.df)})"
        )

    # -- tokenisation -------------------------------------------------------------------
    def tokenize(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        words = [w for w in self._re.findall(text) if w not in self.stopwords]
        if self._stem is not None and words:
            words = self._stem(words)
        return words

    def term_counts(self, text: str) -> Counter[int]:
        """Term id -> frequency in ``text`` (memoised: ``fit`` then ``encode_documents`` of the
        same texts tokenises once)."""
        counts = self._memo.get(text)
        if counts is None:
            counts = Counter(map(term_id, self.tokenize(text)))
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[text] = counts
        return counts

    # -- statistics ---------------------------------------------------------------------
    def fit(self, texts: Iterable[str]) -> BM25Encoder:
        """Reset the statistics to those of ``texts`` (the whole collection)."""
        self.stats = BM25Stats()
        return self.add(texts)

    def add(self, texts: Iterable[str]) -> BM25Encoder:
        """Count ``texts`` into the statistics (documents added to the collection)."""
        self._update(texts, +1)
        return self

    def remove(self, texts: Iterable[str]) -> BM25Encoder:
        """Take ``texts`` out of the statistics (documents deleted from the collection)."""
        self._update(texts, -1)
        return self

    def _update(self, texts: Iterable[str], sign: int) -> None:
        st = self.stats
        df = st.df
        for text in texts:
            counts = self.term_counts(text)
            st.n_docs += sign
            st.total_len += sign * sum(counts.values())
            for t in counts:
                n = df.get(t, 0) + sign
                if n > 0:
                    df[t] = n
                else:
                    df.pop(t, None)
        if st.n_docs < 0 or st.total_len < 0:
            raise ConfigError("BM25 statistics went negative: removed texts that were never added")

    def idf(self, term: int) -> float:
        n = self.stats.n_docs
        d = self.stats.df.get(term, 0)
        return math.log(1.0 + (n - d + 0.5) / (d + 0.5))

    # -- encoding -----------------------------------------------------------------------
    def encode_documents(self, texts: Sequence[str]) -> list[SparseVector]:
        if isinstance(texts, str):
            raise TypeError("encode_documents takes a sequence of strings, not one string")
        avgdl = self.stats.avgdl
        if avgdl <= 0:
            raise ConfigError("BM25Encoder has no statistics: call fit() on the corpus (or load()) first")
        k1, b = self.k1, self.b
        out: list[SparseVector] = []
        for text in texts:
            counts = self.term_counts(text)
            norm = k1 * (1.0 - b + b * sum(counts.values()) / avgdl)
            weights = {t: tf / (tf + norm) for t, tf in counts.items()}
            out.append(SparseVector.from_dict(weights))
        return out

    def encode_query(self, text: str) -> SparseVector:
        """IDF per distinct query term present in the corpus (absent terms cannot match)."""
        if self.stats.n_docs <= 0:
            raise ConfigError("BM25Encoder has no statistics: call fit() on the corpus (or load()) first")
        df = self.stats.df
        weights = {t: self.idf(t) for t in set(self.term_counts(text)) if t in df}
        return SparseVector.from_dict(weights)

    def score(self, query: str, document: str) -> float:
        """The BM25 score of one document for a query (the dot product of their vectors)."""
        return self.encode_query(query).dot(self.encode_documents([document])[0])

    # -- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "term_ids": "blake2b-32",
            "k1": self.k1,
            "b": self.b,
            "lowercase": self.lowercase,
            "token_pattern": self.token_pattern,
            "stopwords": sorted(self.stopwords),
            "stemmer": self.stemmer,
            "n_docs": self.stats.n_docs,
            "total_len": self.stats.total_len,
            "df": {str(k): v for k, v in sorted(self.stats.df.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BM25Encoder:
        if data.get("format") != FORMAT:
            raise ConfigError(f"not a vecctx BM25 statistics file (format {data.get('format')!r})")
        enc = cls(
            k1=float(data["k1"]),
            b=float(data["b"]),
            stopwords=list(data["stopwords"]),
            stemmer=data["stemmer"],
            lowercase=bool(data["lowercase"]),
            token_pattern=str(data["token_pattern"]),
        )
        enc.stats = BM25Stats(
            n_docs=int(data["n_docs"]),
            total_len=int(data["total_len"]),
            df={int(k): int(v) for k, v in data["df"].items()},
        )
        return enc

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the settings and statistics as JSON, atomically (temp file, then rename)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.to_dict(), separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, p)
        return p

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BM25Encoder:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"no BM25 statistics at {path}") from exc
        except ValueError as exc:
            raise ConfigError(f"BM25 statistics at {path} are not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def same_settings(self, other: BM25Encoder) -> bool:
        a, b = self.to_dict(), other.to_dict()
        keys = ("k1", "b", "lowercase", "token_pattern", "stopwords", "stemmer")
        return all(a[k] == b[k] for k in keys)


__all__ = ["BM25Encoder", "BM25Stats", "english_stopwords", "term_id"]
