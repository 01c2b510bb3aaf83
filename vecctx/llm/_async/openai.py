"""The OpenAI-compatible chat client over httpx. The async source is ``vecctx/llm/_async/openai.py``;
the synchronous :class:`~vecctx.llm.OpenAIChat` (``vecctx/llm/_sync/openai.py``) is generated from
it by ``scripts/unasync.py``.

It only sends requests and reads responses: the request body, the parsing, the error mapping
and the key's masking are :class:`~vecctx.llm.openai_core.OpenAICore`'s.
"""

# unasync: aiter_lines -> iter_lines
# unasync: aread -> read

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from time import monotonic, perf_counter
from typing import TypeVar, Unpack

import httpx

from vecctx.contract.errors import RetryDeadlineError, TransientBackendError
from vecctx.contract.lifetime import AsyncClosesOnExit
from vecctx.llm.base import Chunk, Completion, GenerateOptions
from vecctx.llm.openai_core import ChatRequest, OpenAICore
from vecctx.prompt.template import ChatMessage
from vecctx.prompt.tokens import TokenCounter
from vecctx.retry import RetryPolicy, acall_with_retry

T = TypeVar("T")


class AsyncOpenAIChat(AsyncClosesOnExit):
    """A chat model behind an OpenAI-compatible ``/chat/completions`` endpoint: OpenAI, vLLM,
    Ollama, LM Studio, llama.cpp's server... chosen by ``base_url`` (ending in ``/v1``).

    ``api_key`` (default: the ``api_key_env`` environment variable; none for a local server) is
    sent as a Bearer token and never shown. ``timeout`` bounds each phase of a request (connect,
    each read): a server that stops answering, even mid-stream, fails with
    :class:`~vecctx.contract.errors.TransientBackendError` after at most that long (a
    non-streamed answer arrives in one read: it must be complete within ``timeout``). Rate limits
    and transient failures are retried under ``retry`` (honouring ``Retry-After``), a stream
    only until it has begun. ``context_window`` is the model's, in tokens; ``counter`` counts as
    closely as the client can (a :func:`~vecctx.prompt.tokens.get_counter` spec or object).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        context_window: int = 8192,
        counter: TokenCounter | str = "cl100k_base",
    ) -> None:
        self._core = OpenAICore(
            base_url,
            model,
            api_key=api_key,
            api_key_env=api_key_env,
            timeout=timeout,
            retry=retry,
            context_window=context_window,
            counter=counter,
        )
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._core.timeout), headers=self._core.headers()
        )
        core = self._core
        self.name, self.context_window, self.base_url = core.model, core.context_window, core.base_url
        self.counter: TokenCounter = core.counter

    async def complete(
        self, messages: Sequence[ChatMessage], **options: Unpack[GenerateOptions]
    ) -> Completion:
        request = self._core.request(messages, options, stream=False)
        t0 = perf_counter()

        async def attempt() -> bytes:
            response = await self._send(request)
            try:
                return await response.aread()
            except httpx.HTTPError as exc:
                raise self._core.transport_error(exc) from exc
            finally:
                await response.aclose()

        body = await self._retrying(attempt, "chat completion")
        return self._core.completion(body, request, perf_counter() - t0)

    def stream(
        self, messages: Sequence[ChatMessage], **options: Unpack[GenerateOptions]
    ) -> AsyncIterator[Chunk]:
        request = self._core.request(messages, options, stream=True)  # checked before iteration
        return self._stream(request)

    async def _stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        t0 = perf_counter()
        # Only opening the stream is retried: once text was yielded, a failure is raised.
        response = await self._retrying(lambda: self._send(request), "chat completion stream")
        state = self._core.stream_state(request)
        try:
            async for line in response.aiter_lines():
                text = state.feed(line)
                if text:
                    yield Chunk(text)
                if state.done:
                    break
        except httpx.HTTPError as exc:
            raise self._core.transport_error(exc) from exc
        finally:
            await response.aclose()
        yield Chunk("", state.completion(perf_counter() - t0))

    async def _send(self, request: ChatRequest) -> httpx.Response:
        """Post the request; the response (its body still to read) when it succeeded, else the
        typed error."""
        try:
            response = await self._client.send(
                self._client.build_request("POST", self._core.url, json=request.body), stream=True
            )
        except httpx.TransportError as exc:
            raise self._core.transport_error(exc) from exc
        except httpx.HTTPError as exc:
            raise self._core.transport_error(exc, transient=False) from exc
        if response.status_code < 400:
            return response
        try:
            body = await response.aread()
        except httpx.HTTPError:
            body = b""
        finally:
            await response.aclose()
        raise self._core.status_error(response.status_code, response.headers, body)

    async def _retrying(self, fn: Callable[[], Awaitable[T]], operation: str) -> T:
        start = monotonic()

        async def wait_as_asked(exc: TransientBackendError, failures: int) -> None:
            pause = self._core.rate_limit_wait(exc, monotonic() - start)
            if pause > 0:
                await asyncio.sleep(pause)

        try:
            return await acall_with_retry(
                fn,
                policy=self._core.retry,
                operation=operation,
                target=self._core.base_url,
                on_retry=wait_as_asked,
                redact=self._core.secrets,
            )
        except RetryDeadlineError as exc:
            limited = self._core.give_up(exc)
            if limited is None:
                raise
            raise limited from exc

    async def close(self) -> None:
        await self._client.aclose()

    def __repr__(self) -> str:
        return self._core.describe(type(self).__name__)


__all__ = ["AsyncOpenAIChat"]
