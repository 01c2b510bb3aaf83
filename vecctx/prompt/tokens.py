"""Token counters behind one tiny protocol.

A :class:`TokenCounter` has a ``name``, ``count(text) -> int`` and
``truncate(text, max_tokens) -> str``. ``truncate`` returns a *prefix of the original text*
(never re-decoded, so no normalisation or lost characters leak into a prompt) whose
``count`` is at most ``max_tokens``; it does not care about word or sentence boundaries:
the prompt assembler does that.

Counters (choose one with :func:`get_counter`):

- ``"cl100k_base"``, ``"o200k_base"``, ``"voyage3_base"``: OpenAI-style BPE through
  ``bpe-openai``, whose vocabularies ship inside the wheel (works offline).
- ``"model:gpt-4o"``: the bpe-openai encoding of a named OpenAI model.
- ``"tiktoken:NAME"``: ``tiktoken.get_encoding(NAME)``. tiktoken downloads its vocabulary on
  first use (cached under ``TIKTOKEN_CACHE_DIR``); offline without a cache this fails and is
  reported as :class:`~vecctx.contract.errors.ConfigError`.
- a path to a Hugging Face ``tokenizer.json`` (or a directory holding one; ``"hf:PATH"`` is
  accepted too): counted with ``tokenizers`` without special tokens, truncation or padding.
  Nothing is downloaded from a hub.
- ``"whitespace"`` / ``"whitespace:RATIO"``: words (each CJK character is a word) times
  RATIO tokens per word, rounded up; ``"chars"`` / ``"chars:RATIO"``: characters divided by
  RATIO characters per token, rounded up. Dependency-free approximations.

Counting is exact for the counter's own tokenizer: chat-format overhead (the few tokens a
provider adds per message) is not included.
"""

from __future__ import annotations

import functools
import math
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from vecctx._lazy import require
from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.contract.validation import check_count

# bpe-openai refuses texts of 1,000,000 characters or more and outputs above 200,000 tokens;
# longer texts are counted in pieces split where a BPE pre-token boundary is certain.
_BPE_PIECE_CHARS = 200_000


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens the way one model's tokenizer does."""

    @property
    def name(self) -> str:
        """A stable, human-readable identifier, e.g. ``"bpe:cl100k_base"``."""
        ...

    def count(self, text: str) -> int:
        """Number of tokens in ``text`` (no special tokens added)."""
        ...

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` found with ``count(prefix) <= max_tokens``."""
        ...


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise InvalidInputError(f"text must be a str, got {type(text).__name__}")


def _shrink_until_fits(
    text: str, max_tokens: int, count: Callable[[str], int], cut: Callable[[str, int], str]
) -> str:
    """The longest ``cut(text, n)`` found whose re-count is at most ``max_tokens``.

    Tokenizers are not prefix-stable (a token prefix can re-tokenise into more tokens), so a
    prefix is always re-counted. Two steps down by the excess settle almost every case; then
    a binary search over n bounds the work on adversarial text.
    """
    n = max_tokens
    for _ in range(2):
        if n <= 0:
            return ""
        prefix = cut(text, n)
        excess = count(prefix) - max_tokens
        if excess <= 0:
            return prefix
        n -= excess
    lo, hi, best = 0, max(n, 0), ""  # cut(text, 0) == "" always fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        prefix = cut(text, mid)
        if count(prefix) <= max_tokens:
            lo, best = mid, prefix
        else:
            hi = mid - 1
    return best


def _safe_split_points(text: str, piece: int) -> list[int]:
    """Split offsets for counting very long text in pieces.

    A position right after a newline and before a non-whitespace character is a pre-token
    boundary in the cl100k/o200k split patterns, so counts add up exactly there. Without such a
    newline in a window, a space before a letter is used (exact in practice).
    """
    cuts: list[int] = []
    start = 0
    while len(text) - start > piece:
        window_end = start + piece
        pos = -1
        for m in re.finditer(r"\n(?=\S)", text[start + piece // 2 : window_end]):
            pos = start + piece // 2 + m.end()
        if pos < 0:
            for m in re.finditer(r"(?<=\w) (?=\w)", text[start + piece // 2 : window_end]):
                pos = start + piece // 2 + m.start()
        if pos <= start:
            pos = window_end
        cuts.append(pos)
        start = pos
    return cuts


class _TokenizerCounter:
    """What the exact counters share: ``name``, ``truncate`` by cutting a token prefix
    (``_cut``) and shrinking until it fits, and a repr of the argument they were made with."""

    _name: str
    _arg: str
    _enc: Any  # the BPE encoders' encoding object

    @property
    def name(self) -> str:
        return self._name

    def _encode(self, text: str) -> list[int]:
        ids: list[int] = self._enc.encode_ordinary(text)
        return ids

    def count(self, text: str) -> int:
        raise NotImplementedError

    def _cut(self, text: str, n: int) -> str:
        raise NotImplementedError

    def truncate(self, text: str, max_tokens: int) -> str:
        _check_text(text)
        check_count(max_tokens, "max_tokens")
        if self.count(text) <= max_tokens:
            return text
        return _shrink_until_fits(text, max_tokens, self.count, self._cut)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._arg!r})"


def _decoded_prefix(enc: Any, ids: list[int], n: int, text: str) -> str:
    """The text of the first ``n`` token ids: a prefix of ``text`` unless the text held lone
    surrogates (which the encoder replaces); the same number of characters then."""
    decoded = bytes(enc.decode_bytes(ids[:n])).decode("utf-8", errors="ignore")
    return decoded if text.startswith(decoded) else text[: len(decoded)]


class BpeOpenAICounter(_TokenizerCounter):
    """OpenAI BPE encodings (``cl100k_base``, ``o200k_base``...) through ``bpe-openai``.

    Special-token strings such as ``<|endoftext|>`` in the text are counted as ordinary text,
    which is what a provider does with user content.
    """

    def __init__(self, *, encoding: str) -> None:
        bpe_openai = require(
            "bpe_openai",
            'bpe-openai (or "vecctx[local]", which the default pipeline\'s "vecctx[qdrant]" includes)',
        )
        try:
            self._enc = bpe_openai.get_encoding(encoding)
        except KeyError as exc:
            names = ", ".join(sorted(bpe_openai.list_encoding_names()))
            raise ConfigError(f"unknown BPE encoding {encoding!r}; bpe-openai knows: {names}") from exc
        except Exception as exc:
            raise ConfigError(
                f"bpe-openai could not load encoding {encoding!r} offline ({type(exc).__name__}: {exc}); "
                "cl100k_base, o200k_base and voyage3_base ship inside the package"
            ) from exc
        self._name = self._arg = f"bpe:{encoding}"

    def count(self, text: str) -> int:
        _check_text(text)
        if len(text) <= _BPE_PIECE_CHARS:
            return len(self._encode(text))
        total = 0
        start = 0
        for cut in [*_safe_split_points(text, _BPE_PIECE_CHARS), len(text)]:
            total += len(self._encode(text[start:cut]))
            start = cut
        return total

    def _cut(self, text: str, n: int) -> str:
        # For huge texts encode a window only; tokens average 3-5 characters, so 64 per token
        # leaves ample room (a too-short window only yields a shorter, still valid prefix).
        ids = self._encode(text[: n * 64] if len(text) > _BPE_PIECE_CHARS else text)
        return _decoded_prefix(self._enc, ids, n, text)


class TiktokenCounter(_TokenizerCounter):
    """``tiktoken.get_encoding(NAME)``. Fails with :class:`ConfigError` when tiktoken is not
    installed or cannot load the vocabulary (it downloads it on first use)."""

    def __init__(self, *, encoding: str) -> None:
        tiktoken = require("tiktoken", "tiktoken (offline, use 'cl100k_base' or 'o200k_base' instead)")
        try:
            self._enc = tiktoken.get_encoding(encoding)
        except ValueError as exc:  # unknown encoding name
            raise ConfigError(f"tiktoken does not know encoding {encoding!r}: {exc}") from exc
        except Exception as exc:  # network errors (requests/urllib3/OSError) and corrupt caches
            raise ConfigError(
                f"tiktoken could not load encoding {encoding!r}: it downloads its vocabulary on first "
                f"use and the download failed ({type(exc).__name__}). Set TIKTOKEN_CACHE_DIR to a "
                "directory holding the cached file, or use the offline counters 'cl100k_base' / "
                "'o200k_base' (bpe-openai), which count identically"
            ) from exc
        self._name = self._arg = f"tiktoken:{encoding}"

    def count(self, text: str) -> int:
        _check_text(text)
        return len(self._encode(text))

    def _cut(self, text: str, n: int) -> str:
        return _decoded_prefix(self._enc, self._encode(text), n, text)


class HFTokenizerCounter(_TokenizerCounter):
    """A Hugging Face ``tokenizer.json`` loaded with ``tokenizers`` (no hub access).

    Truncation and padding configured in the file are switched off and special tokens
    (``[CLS]``, ``[SEP]``...) are not counted: the count is the text's own tokens.
    """

    def __init__(self, *, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        if p.is_dir():
            p = p / "tokenizer.json"
        if not p.is_file():
            raise ConfigError(
                f"no tokenizer.json at {str(path)!r}; give a path to a local Hugging Face tokenizer.json "
                "(models are never downloaded)"
            )
        tokenizers = require("tokenizers", "tokenizers")
        try:
            tok: Any = tokenizers.Tokenizer.from_file(str(p))
        except Exception as exc:
            raise ConfigError(f"cannot load Hugging Face tokenizer {str(p)!r}: {exc}") from exc
        tok.no_truncation()
        tok.no_padding()
        self._tok = tok
        self._path = self._arg = str(p)
        # The tokenizer is not documented as thread-safe once its settings were changed.
        self._lock = threading.Lock()
        self._name = f"hf:{p}"

    @property
    def path(self) -> str:
        return self._path

    def _offsets(self, text: str) -> list[tuple[int, int]]:
        with self._lock:
            enc = self._tok.encode(text, add_special_tokens=False)
        offsets: list[tuple[int, int]] = [(int(a), int(b)) for a, b in enc.offsets]
        return offsets

    def count(self, text: str) -> int:
        _check_text(text)
        if not text:
            return 0
        with self._lock:
            enc = self._tok.encode(text, add_special_tokens=False)
        return len(enc.ids)

    def _cut(self, text: str, n: int) -> str:
        offsets = self._offsets(text)
        if n >= len(offsets):
            return text
        return text[: offsets[n - 1][1]] if n > 0 else ""


# A "word" for the whitespace counter: one CJK / kana / hangul character, or a run of other
# non-space characters.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_WORD_RE = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")


class _RatioCounter:
    """What the dependency-free approximations share: one positive ratio, the ``name``
    ``label`` (``label:RATIO`` when it is not the default ratio) and a repr."""

    def __init__(self, ratio: float, *, parameter: str, label: str, default: float) -> None:
        if not (isinstance(ratio, int | float) and math.isfinite(ratio)) or ratio <= 0:
            raise ConfigError(f"{parameter} must be a positive number, got {ratio!r}")
        self._ratio = float(ratio)
        self._parameter = parameter
        self._name = label if self._ratio == default else f"{label}:{self._ratio:g}"

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._parameter}={self._ratio!r})"


class WhitespaceCounter(_RatioCounter):
    """Approximate: words times ``tokens_per_word``, rounded up. No dependency.

    Real BPE tokenizers use about 1.3 tokens per English word; pick a ratio that
    over-estimates for your model if the budget must never be exceeded.
    """

    def __init__(self, *, tokens_per_word: float = 1.0) -> None:
        super().__init__(tokens_per_word, parameter="tokens_per_word", label="whitespace", default=1.0)

    def count(self, text: str) -> int:
        _check_text(text)
        words = sum(1 for _ in _WORD_RE.finditer(text))
        return math.ceil(words * self._ratio - 1e-9)

    def truncate(self, text: str, max_tokens: int) -> str:
        _check_text(text)
        check_count(max_tokens, "max_tokens")
        keep = math.floor(max_tokens / self._ratio + 1e-9)
        if keep <= 0:
            return ""
        end = None
        for i, m in enumerate(_WORD_RE.finditer(text)):
            if i == keep:
                assert end is not None
                return text[:end]
            end = m.end()
        return text


class CharRatioCounter(_RatioCounter):
    """Approximate: characters divided by ``chars_per_token``, rounded up. No dependency."""

    def __init__(self, *, chars_per_token: float = 4.0) -> None:
        super().__init__(chars_per_token, parameter="chars_per_token", label="chars", default=4.0)

    def count(self, text: str) -> int:
        _check_text(text)
        return math.ceil(len(text) / self._ratio - 1e-9)

    def truncate(self, text: str, max_tokens: int) -> str:
        _check_text(text)
        check_count(max_tokens, "max_tokens")
        return text[: math.floor(max_tokens * self._ratio + 1e-9)]


def _ratio(spec: str, value: str) -> float:
    try:
        r = float(value)
    except ValueError:
        raise ConfigError(f"bad ratio in token counter spec {spec!r}") from None
    return r


@functools.lru_cache(maxsize=32)
def _cached_counter(spec: str) -> TokenCounter:
    scheme, sep, rest = spec.partition(":")
    if sep and scheme == "tiktoken":
        return TiktokenCounter(encoding=rest)
    if sep and scheme in ("bpe", "bpe-openai"):
        return BpeOpenAICounter(encoding=rest)
    if sep and scheme == "model":
        bpe_openai = require("bpe_openai", "bpe-openai")
        try:
            encoding = str(bpe_openai.encoding_name_for_model(rest))
        except Exception as exc:
            raise ConfigError(f"bpe-openai does not know model {rest!r}") from exc
        return BpeOpenAICounter(encoding=encoding)
    if sep and scheme == "hf":
        return HFTokenizerCounter(path=rest)
    if scheme == "whitespace":
        return WhitespaceCounter(tokens_per_word=_ratio(spec, rest) if sep else 1.0)
    if scheme == "chars":
        return CharRatioCounter(chars_per_token=_ratio(spec, rest) if sep else 4.0)
    if spec in _BPE_OFFLINE:
        return BpeOpenAICounter(encoding=spec)
    if spec.endswith(".json") or os.sep in spec or Path(spec).exists():
        return HFTokenizerCounter(path=spec)
    raise ConfigError(
        f"unknown token counter {spec!r}; use one of {', '.join(_BPE_OFFLINE)}, 'model:NAME', "
        "'tiktoken:NAME', a path to a tokenizer.json, 'whitespace[:TOKENS_PER_WORD]' or "
        "'chars[:CHARS_PER_TOKEN]'"
    )


_BPE_OFFLINE: Sequence[str] = ("cl100k_base", "o200k_base", "voyage3_base")


def get_counter(spec: str | TokenCounter) -> TokenCounter:
    """Resolve a counter spec (see the module docstring); a counter object is returned as is.

    Counters are cached per spec string (loading a BPE vocabulary takes 0.1-2 s).
    Raises :class:`ConfigError` for unknown specs and counters that cannot load here.
    """
    if not isinstance(spec, str):
        if isinstance(spec, TokenCounter):
            return spec
        raise ConfigError(f"a token counter spec must be a str or a TokenCounter, got {type(spec).__name__}")
    spec = spec.strip()
    if not spec:
        raise ConfigError("empty token counter spec")
    return _cached_counter(spec)


__all__ = [
    "BpeOpenAICounter",
    "CharRatioCounter",
    "HFTokenizerCounter",
    "TiktokenCounter",
    "TokenCounter",
    "WhitespaceCounter",
    "get_counter",
]
