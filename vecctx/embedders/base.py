"""The embedder contract and the tokenizers chunking relies on.

An :class:`Embedder` turns texts into dense vectors. Besides the two embedding calls it
declares what the rest of the pipeline needs to know about the model: its dimension, its
input limit in tokens (special tokens included), whether its vectors are unit-normalised,
the prefixes e5-like models expect, a ``name`` used as a cache key, and its tokenizer so a
chunker can split text into pieces the model will not truncate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

from vecctx.contract.errors import ConfigError
from vecctx.contract.types import FloatArray

T = TypeVar("T")


@runtime_checkable
class TextTokenizer(Protocol):
    """Counts a model's tokens and locates them in the text (for chunking).

    ``spans`` returns the ``(start, end)`` character offsets of each token of ``text``,
    without special tokens. ``special_tokens`` is how many tokens the model adds to every
    input (``[CLS]`` and ``[SEP]`` for BERT: 2).
    """

    @property
    def special_tokens(self) -> int: ...

    def count(self, text: str) -> int: ...

    def spans(self, text: str) -> list[tuple[int, int]]: ...


@runtime_checkable
class Embedder(Protocol):
    """The embedder contract.

    ``embed_documents`` applies ``passage_prefix`` and ``embed_query`` applies
    ``query_prefix`` (both empty for symmetric models such as MiniLM; ``"passage: "`` and
    ``"query: "`` for e5). Results are float32, one row per text.
    """

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_input_tokens(self) -> int: ...

    @property
    def normalized(self) -> bool: ...

    @property
    def query_prefix(self) -> str: ...

    @property
    def passage_prefix(self) -> str: ...

    @property
    def tokenizer(self) -> TextTokenizer: ...

    def embed_documents(self, texts: Sequence[str]) -> FloatArray: ...

    def embed_query(self, text: str) -> FloatArray: ...


class HFTokenizer:
    """A Hugging Face ``tokenizers.Tokenizer`` (e.g. loaded from a model's ``tokenizer.json``)
    with truncation and padding switched off, so long texts are counted in full."""

    def __init__(self, tokenizer: object) -> None:
        tok = tokenizer
        tok.no_truncation()  # type: ignore[attr-defined]
        tok.no_padding()  # type: ignore[attr-defined]
        self._tok = tok
        self._special = len(tok.encode("", add_special_tokens=True).ids)  # type: ignore[attr-defined]

    @classmethod
    def from_file(cls, path: str) -> HFTokenizer:
        from vecctx.embedders.offline import require

        tokenizers = require("tokenizers", "tokenizers")
        return cls(tokenizers.Tokenizer.from_file(str(path)))

    @property
    def special_tokens(self) -> int:
        return self._special

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)  # type: ignore[attr-defined]

    def spans(self, text: str) -> list[tuple[int, int]]:
        enc = self._tok.encode(text, add_special_tokens=False)  # type: ignore[attr-defined]
        return [(int(start), int(end)) for start, end in enc.offsets]


class EmbedderBase:
    """What embedders share: the facts of the :class:`Embedder` contract, and the two embedding
    calls around one ``_embed(texts)``, which gets the prefixed texts (never an empty list).

    A subclass passes what it knows to ``__init__``. A ``dimension``, ``max_input_tokens`` or
    ``tokenizer`` left ``None`` is asked of the model the first time it is read (by
    ``_find_dimension``, ``_find_max_input_tokens`` or ``_find_tokenizer``) and kept.
    """

    def __init__(
        self,
        *,
        name: str,
        dimension: int | None = None,
        max_input_tokens: int | None = None,
        tokenizer: TextTokenizer | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        normalized: bool = True,
    ) -> None:
        self._name = name
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._normalized = normalized
        self._dimension = _Fact(_at_least("dimension must be positive", dimension, 1))
        self._max_input_tokens = _Fact(_at_least("max_input_tokens must be at least 2", max_input_tokens, 2))
        self._tokenizer = _Fact(tokenizer)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension.get(self._find_dimension)

    @property
    def max_input_tokens(self) -> int:
        return self._max_input_tokens.get(self._find_max_input_tokens)

    @property
    def normalized(self) -> bool:
        return self._normalized

    @property
    def query_prefix(self) -> str:
        return self._query_prefix

    @property
    def passage_prefix(self) -> str:
        return self._passage_prefix

    @property
    def tokenizer(self) -> TextTokenizer:
        return self._tokenizer.get(self._find_tokenizer)

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        if isinstance(texts, str):
            raise TypeError("embed_documents takes a sequence of strings, not one string")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._embed_as(list(texts), query=False)

    def embed_query(self, text: str) -> FloatArray:
        row: FloatArray = self._embed_as([text], query=True)[0]
        return row

    def _embed_as(self, texts: list[str], *, query: bool) -> FloatArray:
        """Embed queries or passages: adds the prefix, then ``_embed`` (an engine that adds
        prefixes itself, or a wrapper, overrides this instead)."""
        prefix = self._query_prefix if query else self._passage_prefix
        return self._embed([prefix + t for t in texts])

    def _embed(self, texts: list[str]) -> FloatArray:
        raise NotImplementedError

    def _find_dimension(self) -> int:
        raise NotImplementedError

    def _find_max_input_tokens(self) -> int:
        raise NotImplementedError

    def _find_tokenizer(self) -> TextTokenizer:
        """A model's tokenizer; without one, words and punctuation (:class:`RegexTokenizer`)."""
        return RegexTokenizer()


class _Fact(Generic[T]):
    """A fact about a model: given up front, or found the first time it is asked for."""

    def __init__(self, value: T | None) -> None:
        self.known = value

    def get(self, find: Callable[[], T]) -> T:
        if self.known is None:
            self.known = find()
        return self.known


def _at_least(message: str, value: int | None, minimum: int) -> int | None:
    """``value`` (``None``: not known yet); below ``minimum``, a :class:`ConfigError`."""
    if value is not None and value < minimum:
        raise ConfigError(f"{message}, got {value}")
    return value


_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class RegexTokenizer:
    """Words and single punctuation marks: a model-free approximation for embedders whose
    tokenizer is unknown (HTTP APIs) and for the hashing embedder. It over-counts relative
    to BPE tokenizers on ordinary prose, which keeps chunks within a BPE model's limit."""

    def __init__(self, *, special_tokens: int = 0) -> None:
        self._special = special_tokens

    @property
    def special_tokens(self) -> int:
        return self._special

    def count(self, text: str) -> int:
        return sum(1 for _ in _WORD.finditer(text))

    def spans(self, text: str) -> list[tuple[int, int]]:
        return [(m.start(), m.end()) for m in _WORD.finditer(text)]


def as_matrix(rows: Sequence[Sequence[float]] | FloatArray, dimension: int | None = None) -> FloatArray:
    """Rows as a contiguous float32 matrix ``(n, dimension)``."""
    arr = np.ascontiguousarray(np.asarray(rows, dtype=np.float32))
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, dimension or 0)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-d array of embeddings, got shape {arr.shape}")
    return arr


def normalize_rows(m: FloatArray) -> FloatArray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: FloatArray = (m / norms).astype(np.float32)
    return out


__all__ = [
    "Embedder",
    "EmbedderBase",
    "HFTokenizer",
    "RegexTokenizer",
    "TextTokenizer",
    "as_matrix",
    "normalize_rows",
]
