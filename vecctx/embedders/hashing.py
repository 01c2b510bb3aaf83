"""A deterministic, model-free embedder for plumbing tests (not for retrieval quality)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from vecctx.embedders.base import RegexTokenizer, TextTokenizer, normalize_rows
from vecctx.errors import ConfigError
from vecctx.types import FloatArray


class HashingEmbedder:
    """Signed feature hashing of lower-cased words into ``dimension`` buckets, L2-normalised.

    Same text, same vector, on every machine. Texts sharing words get similar vectors, which
    is enough to test ingestion and retrieval plumbing without a model.
    """

    def __init__(
        self,
        *,
        dimension: int = 64,
        max_input_tokens: int = 128,
        query_prefix: str = "",
        passage_prefix: str = "",
        seed: int = 0,
    ) -> None:
        if dimension < 1:
            raise ConfigError(f"dimension must be positive, got {dimension}")
        if max_input_tokens < 2:
            raise ConfigError(f"max_input_tokens must be at least 2, got {max_input_tokens}")
        self._dimension = dimension
        self._max = max_input_tokens
        self._qp = query_prefix
        self._pp = passage_prefix
        self._seed = seed
        self._tokenizer = RegexTokenizer(special_tokens=0)
        self.calls = 0
        self.texts_embedded = 0

    def __repr__(self) -> str:
        return f"HashingEmbedder(dimension={self._dimension}, seed={self._seed})"

    @property
    def name(self) -> str:
        return f"hashing-{self._dimension}-s{self._seed}"

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_input_tokens(self) -> int:
        return self._max

    @property
    def normalized(self) -> bool:
        return True

    @property
    def query_prefix(self) -> str:
        return self._qp

    @property
    def passage_prefix(self) -> str:
        return self._pp

    @property
    def tokenizer(self) -> TextTokenizer:
        return self._tokenizer

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        if isinstance(texts, str):
            raise TypeError("embed_documents takes a sequence of strings, not one string")
        self.calls += 1
        self.texts_embedded += len(texts)
        return self._embed([self._pp + t for t in texts])

    def embed_query(self, text: str) -> FloatArray:
        row: FloatArray = self._embed([self._qp + text])[0]
        return row

    def _embed(self, texts: list[str]) -> FloatArray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        salt = self._seed.to_bytes(8, "little", signed=True)
        for row, text in enumerate(texts):
            spans = self._tokenizer.spans(text)[: self._max]
            if not spans:
                out[row, 0] = 1.0
                continue
            for start, end in spans:
                digest = hashlib.blake2b(text[start:end].lower().encode(), digest_size=8, salt=salt).digest()
                h = int.from_bytes(digest, "little")
                out[row, h % self._dimension] += 1.0 if (h >> 63) & 1 else -1.0
        return normalize_rows(out)


__all__ = ["HashingEmbedder"]
