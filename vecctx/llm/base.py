"""The language-model contract: one small protocol, sync and async, with streaming.

A model takes OpenAI-style chat messages and returns a :class:`Completion` (its text, the token
usage and why it stopped), or streams :class:`Chunk` s whose last one carries the whole
completion. It declares its context window and counts tokens with its own tokenizer (a
:class:`~vecctx.prompt.tokens.TokenCounter`), so the assembler packs a prompt that fits.

Failures are typed (:mod:`vecctx.contract.errors`): :class:`~vecctx.contract.errors.RateLimitError`
(transient, retried under the deadline), :class:`~vecctx.contract.errors.ContextOverflowError`,
:class:`~vecctx.contract.errors.RefusalError`, other :class:`~vecctx.contract.errors.LLMError` s,
and :class:`~vecctx.contract.errors.TransientBackendError` for timeouts and lost connections.
No API key appears in an error, a ``repr`` or a log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, Self, TypedDict, Unpack, runtime_checkable

from vecctx.prompt.template import ChatMessage
from vecctx.prompt.tokens import TokenCounter


class GenerateOptions(TypedDict, total=False):
    """How to generate, each optional: ``max_tokens`` (the answer's allowance, default 256),
    ``temperature`` (default 0: greedy, reproducible), ``stop`` (strings that end the answer) and
    ``cite_sources`` (n: constrain decoding so that every sentence of the answer ends with a
    citation ``[i]`` of one of n sources, or the answer is exactly "I don't know."; see
    :func:`vecctx.llm.citation_grammar`. The local model honours it; to an OpenAI-compatible
    server it is sent as llama.cpp's ``grammar`` field, which other servers may refuse)."""

    max_tokens: int
    temperature: float
    stop: Sequence[str]
    cite_sources: int


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens read (the prompt) and written (the answer), as the model counted them."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Completion:
    """A model's answer. ``finish_reason`` is ``"stop"`` (it ended), ``"length"`` (``max_tokens``
    reached) or what the server said; ``seconds`` is the wall time of the call."""

    text: str
    usage: Usage
    finish_reason: str
    model: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of a streamed answer: ``text`` is the new text; the last chunk has
    ``completion`` (the whole answer, its usage and finish reason) and may have no text."""

    text: str
    completion: Completion | None = None


@runtime_checkable
class LLM(Protocol):
    """A chat model called synchronously."""

    @property
    def name(self) -> str:
        """The model's identifier (no credentials)."""
        ...

    @property
    def context_window(self) -> int:
        """How many tokens the prompt and the answer may take together."""
        ...

    @property
    def counter(self) -> TokenCounter:
        """Counts tokens as this model does (or as closely as the client can)."""
        ...

    def complete(self, messages: Sequence[ChatMessage], **options: Unpack[GenerateOptions]) -> Completion: ...

    def stream(
        self, messages: Sequence[ChatMessage], **options: Unpack[GenerateOptions]
    ) -> Iterator[Chunk]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...


@runtime_checkable
class AsyncLLM(Protocol):
    """A chat model with a native async client (vecctx hides no thread pool behind it)."""

    @property
    def name(self) -> str: ...

    @property
    def context_window(self) -> int: ...

    @property
    def counter(self) -> TokenCounter: ...

    async def complete(
        self, messages: Sequence[ChatMessage], **options: Unpack[GenerateOptions]
    ) -> Completion: ...

    def stream(
        self, messages: Sequence[ChatMessage], **options: Unpack[GenerateOptions]
    ) -> AsyncIterator[Chunk]: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...


__all__ = ["LLM", "AsyncLLM", "Chunk", "Completion", "GenerateOptions", "Usage"]
