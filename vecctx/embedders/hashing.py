"""A deterministic, model-free embedder for plumbing tests (not for retrieval quality)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from vecctx.contract.types import FloatArray
from vecctx.embedders.base import EmbedderBase, normalize_rows


class HashingEmbedder(EmbedderBase):
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
        super().__init__(
            name=f"hashing-{dimension}-s{seed}",
            dimension=dimension,
            max_input_tokens=max_input_tokens,
            query_prefix=query_prefix,
            passage_prefix=passage_prefix,
        )
        self._seed = seed
        self.calls = 0
        self.texts_embedded = 0

    def __repr__(self) -> str:
        return f"HashingEmbedder(dimension={self.dimension}, seed={self._seed})"

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        if not isinstance(texts, str):
            self.calls += 1
            self.texts_embedded += len(texts)
        return super().embed_documents(texts)

    def _embed(self, texts: list[str]) -> FloatArray:
        dimension, limit = self.dimension, self.max_input_tokens
        out = np.zeros((len(texts), dimension), dtype=np.float32)
        salt = self._seed.to_bytes(8, "little", signed=True)
        for row, text in enumerate(texts):
            spans = self.tokenizer.spans(text)[:limit]
            if not spans:
                out[row, 0] = 1.0
                continue
            for start, end in spans:
                digest = hashlib.blake2b(text[start:end].lower().encode(), digest_size=8, salt=salt).digest()
                h = int.from_bytes(digest, "little")
                out[row, h % dimension] += 1.0 if (h >> 63) & 1 else -1.0
        return normalize_rows(out)


__all__ = ["HashingEmbedder"]
