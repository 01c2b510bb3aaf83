"""What the OpenAI-compatible chat clients share, without I/O: configuration, the request body,
parsing a response and a server-sent-event stream, and mapping failures to typed errors.

:class:`~vecctx.llm.AsyncOpenAIChat` (``vecctx/llm/_async/openai.py``) and its generated twin
:class:`~vecctx.llm.OpenAIChat` only send requests and read responses; everything else is here,
written once.

Errors, from the HTTP status and the body (OpenAI's ``{"error": {...}}`` shape, or any text):

- 429 -> :class:`~vecctx.contract.errors.RateLimitError` (retried; ``retry_after`` from the
  ``Retry-After`` header), except OpenAI's ``insufficient_quota`` (an :class:`LLMError`: waiting
  does not help);
- 400/413/422 whose text says the context is exceeded (OpenAI's ``context_length_exceeded``,
  vLLM's and llama-cpp-python's "maximum context length", llama.cpp's "exceeds the available
  context size", LM Studio's "context length") -> :class:`~vecctx.contract.errors.ContextOverflowError`;
- a ``content_filter`` finish or a ``refusal`` in the answer -> :class:`~vecctx.contract.errors.RefusalError`;
- 408, 409, 5xx, connection failures and timeouts -> :class:`~vecctx.contract.errors.TransientBackendError`;
- anything else -> :class:`~vecctx.contract.errors.LLMError`.

The API key is read from the environment when not given and sent as a Bearer token; it never
appears in a ``repr``, an error message or the retry log (it is masked wherever a server might
echo it).
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vecctx.contract.errors import (
    ConfigError,
    ContextOverflowError,
    LLMError,
    RateLimitError,
    RefusalError,
    RetryDeadlineError,
    TransientBackendError,
    VecctxError,
    mask,
)
from vecctx.llm._options import check_fits, check_messages, resolve_options
from vecctx.llm.base import Completion, GenerateOptions, Usage
from vecctx.prompt.template import ChatMessage
from vecctx.prompt.tokens import TokenCounter, get_counter
from vecctx.retry import RetryPolicy

#: Tokens a chat format adds per message, and once to prime the reply (OpenAI's accounting);
#: used to estimate a prompt's size when the server reports none.
PER_MESSAGE_TOKENS = 3
REPLY_PRIMING_TOKENS = 3

_CONTEXT_WORDING = re.compile(
    r"context[_ ]length|maximum context|context window|context size|too many tokens|prompt is too long",
    re.IGNORECASE,
)
_TRANSIENT_STATUS = frozenset({408, 409, 425, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529})
_MAX_DETAIL = 400


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One checked call: the JSON ``body`` to post and the prompt's estimated size in tokens."""

    body: dict[str, Any]
    prompt_tokens: int
    max_tokens: int


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One server-sent event: its ``event`` type (``"message"`` unless named) and ``data``."""

    event: str
    data: str


@dataclass(slots=True)
class SSEDecoder:
    """Server-sent events from the lines of a ``text/event-stream`` body (fields ``event`` and
    ``data``; comments and other fields are ignored)."""

    _event: str = ""
    _data: list[str] = field(default_factory=list)

    def feed(self, line: str) -> SSEEvent | None:
        """The event a blank line completes, else ``None``."""
        if not line:
            return self.flush()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None

    def flush(self) -> SSEEvent | None:
        """The event pending at the end of the stream, if any."""
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(self._event or "message", "\n".join(self._data))
        self._event, self._data = "", []
        return event


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (it is a number of seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _error_object(body: str) -> tuple[str, str]:
    """``(message, code)`` of an error body: OpenAI's ``{"error": {"message", "code", "type"}}``,
    llama.cpp's and vLLM's variants, or the raw text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip(), ""
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or error.get("msg") or json.dumps(error)
        code = error.get("code") or error.get("type") or ""
        return str(message), str(code)
    return str(error), ""


class OpenAICore:
    """The configuration and the sans-I/O logic of one OpenAI-compatible chat client."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None,
        api_key_env: str,
        timeout: float,
        retry: RetryPolicy | None,
        context_window: int,
        counter: TokenCounter | str,
    ) -> None:
        if not isinstance(base_url, str) or not re.match(r"https?://[^/\s]+", base_url):
            raise ConfigError(
                f"base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, got {base_url!r}"
            )
        if not isinstance(model, str) or not model:
            raise ConfigError("model must be a non-empty str (the server's model name)")
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout < math.inf:
            raise ConfigError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(context_window, int) or isinstance(context_window, bool) or context_window < 1:
            raise ConfigError(f"context_window must be a positive int, got {context_window!r}")
        if api_key is None and api_key_env:
            api_key = os.environ.get(api_key_env) or None
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.timeout = float(timeout)
        self.retry = retry if retry is not None else RetryPolicy()
        self.context_window = context_window
        self.counter = get_counter(counter)
        self._api_key = api_key
        self.secrets: tuple[str, ...] = (api_key,) if api_key else ()

    # -- requests ------------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """The prompt's size by :attr:`counter`, with OpenAI's per-message overhead."""
        return REPLY_PRIMING_TOKENS + sum(
            PER_MESSAGE_TOKENS + self.counter.count(m["content"]) for m in messages
        )

    def request(
        self, messages: Sequence[ChatMessage], options: GenerateOptions, *, stream: bool
    ) -> ChatRequest:
        """The checked call; :class:`ContextOverflowError` when the prompt (as counted here) and
        ``max_tokens`` exceed :attr:`context_window`."""
        msgs = check_messages(messages)
        opts = resolve_options(options)
        prompt_tokens = self.prompt_tokens(msgs)
        check_fits(prompt_tokens, opts.max_tokens, self.context_window, self.model)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": msgs,
            "max_tokens": opts.max_tokens,
            "temperature": opts.temperature,
        }
        if opts.stop:
            body["stop"] = list(opts.stop)
        if opts.grammar is not None:
            body["grammar"] = opts.grammar  # llama.cpp's server extension
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return ChatRequest(body, prompt_tokens, opts.max_tokens)

    # -- responses -----------------------------------------------------------------------------

    def completion(self, body: bytes | str, request: ChatRequest, seconds: float) -> Completion:
        """The :class:`Completion` in a (non-streamed) response body."""
        data = self._json(body)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise LLMError(self._mask(f"{self.model}: response without choices: {str(body)[:_MAX_DETAIL]}"))
        choice = choices[0]
        message = choice.get("message") or {}
        self._check_refusal(message.get("refusal"), choice.get("finish_reason"))
        text = message.get("content") or ""
        return Completion(
            text=text,
            usage=self._usage(data.get("usage"), request, text),
            finish_reason=str(choice.get("finish_reason") or "stop"),
            model=str(data.get("model") or self.model),
            seconds=seconds,
        )

    def stream_state(self, request: ChatRequest) -> StreamState:
        return StreamState(self, request)

    def _json(self, body: bytes | str) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except ValueError as exc:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            raise LLMError(
                self._mask(f"{self.model}: response is not JSON: {text[:_MAX_DETAIL]!r}"), exc
            ) from None
        if not isinstance(data, dict):
            raise LLMError(
                self._mask(f"{self.model}: response is not a JSON object: {str(data)[:_MAX_DETAIL]}")
            )
        return data

    def _usage(self, usage: object, request: ChatRequest, text: str) -> Usage:
        """The server's usage, else counted here (the prompt as estimated, the answer's text)."""
        if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
            completion = usage.get("completion_tokens")
            return Usage(
                prompt_tokens=usage["prompt_tokens"],
                completion_tokens=completion if isinstance(completion, int) else self.counter.count(text),
            )
        return Usage(prompt_tokens=request.prompt_tokens, completion_tokens=self.counter.count(text))

    def _check_refusal(self, refusal: object, finish_reason: object) -> None:
        if refusal:
            raise RefusalError(self._mask(f"{self.model} refused to answer: {str(refusal)[:_MAX_DETAIL]}"))
        if finish_reason == "content_filter":
            raise RefusalError(f"{self.model}: the server's content filter stopped the answer")

    # -- errors --------------------------------------------------------------------------------

    def _mask(self, text: str) -> str:
        return mask(text, self.secrets)

    def status_error(self, status: int, headers: Mapping[str, str], body: bytes | str) -> VecctxError:
        """The typed error for an HTTP error response."""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        message, code = _error_object(text)
        detail = self._mask(f"{self.model} at {self.base_url}: HTTP {status}: {message[:_MAX_DETAIL]}")
        return self.error_for(status, code, message, detail, headers.get("retry-after"))

    def error_for(
        self, status: int, code: str, message: str, detail: str, retry_after: str | None = None
    ) -> VecctxError:
        """The error class a status (0 when unknown), an error code and a message call for."""
        if status == 429 and code != "insufficient_quota":
            return RateLimitError(detail, retry_after=retry_after_seconds(retry_after))
        if code == "context_length_exceeded" or (
            status in (0, 400, 413, 422) and _CONTEXT_WORDING.search(message)
        ):
            return ContextOverflowError(detail)
        if status in _TRANSIENT_STATUS:
            return TransientBackendError(detail)
        return LLMError(detail)

    def transport_error(self, exc: BaseException, *, transient: bool = True) -> VecctxError:
        """The typed error for a failure to talk to the server (``transient``: a connection
        failure, a timeout or a broken stream, worth retrying)."""
        what = "timed out" if "Timeout" in type(exc).__name__ else "failed"
        detail = self._mask(f"{self.model} at {self.base_url}: request {what} ({type(exc).__name__}: {exc})")
        return TransientBackendError(detail, exc) if transient else LLMError(detail, exc)

    def give_up(self, exc: RetryDeadlineError) -> VecctxError | None:
        """After the retry deadline: a :class:`RateLimitError` when the server kept limiting
        the rate (the deadline error is its cause), else ``None`` (raise the deadline error)."""
        last = exc.original
        if isinstance(last, RateLimitError):
            return RateLimitError(str(exc), last, retry_after=last.retry_after)
        return None

    def rate_limit_wait(self, exc: BaseException, elapsed: float) -> float:
        """How long to wait, on top of the policy's pause, before retrying after ``exc``: the
        server's ``Retry-After``. A :class:`RateLimitError` is raised when that wait would end
        past the retry deadline (retrying sooner only fails again)."""
        if not isinstance(exc, RateLimitError) or not exc.retry_after:
            return 0.0
        left = self.retry.deadline_s - elapsed
        if exc.retry_after > left:
            raise RateLimitError(
                f"{exc} (the server asks to wait {exc.retry_after:g}s; {max(left, 0):.1f}s are left "
                "before the retry deadline)",
                exc.original,
                retry_after=exc.retry_after,
            ) from exc
        return exc.retry_after

    def describe(self, kind: str) -> str:
        key = ", api_key=***" if self._api_key else ""
        return f"<{kind} model={self.model!r} base_url={self._mask(self.base_url)!r}{key}>"


class StreamState:
    """A streamed answer read so far: feed it the body's lines; it returns each new text and
    ends with the :class:`Completion` (the server's usage, else counted)."""

    def __init__(self, core: OpenAICore, request: ChatRequest) -> None:
        self._core = core
        self._request = request
        self._decoder = SSEDecoder()
        self._parts: list[str] = []
        self._refusal: list[str] = []
        self._usage: object = None
        self._model = core.model
        self.finish_reason: str | None = None
        self.done = False

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def feed(self, line: str) -> str:
        """The answer's new text in one line of the stream (often ``""``)."""
        event = self._decoder.feed(line)
        return self._on_event(event) if event is not None else ""

    def _on_event(self, event: SSEEvent) -> str:
        if event.data.strip() == "[DONE]":
            self.done = True
            return ""
        data: Any = self._core._json(event.data)
        error = data.get("error")
        if event.event == "error" or error:
            message, code = _error_object(event.data)
            status = error.get("code") if isinstance(error, dict) else None
            detail = self._core._mask(f"{self._model}: error in the stream: {message[:_MAX_DETAIL]}")
            raise self._core.error_for(status if isinstance(status, int) else 0, code, message, detail)
        self._model = str(data.get("model") or self._model)
        if data.get("usage"):
            self._usage = data["usage"]
        new: list[str] = []
        for choice in data.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("refusal"):
                self._refusal.append(str(delta["refusal"]))
            if delta.get("content"):
                new.append(str(delta["content"]))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        self._parts.extend(new)
        return "".join(new)

    def completion(self, seconds: float) -> Completion:
        """The whole answer, once the stream ended. A stream cut before the model finished (no
        finish reason and no ``[DONE]``) is a :class:`TransientBackendError`."""
        event = self._decoder.flush()
        if event is not None:
            self._on_event(event)
        self._core._check_refusal("".join(self._refusal), self.finish_reason)
        if self.finish_reason is None and not self.done:
            raise TransientBackendError(
                f"{self._model} at {self._core.base_url}: the stream ended before the answer did"
            )
        text = self.text
        return Completion(
            text=text,
            usage=self._core._usage(self._usage, self._request, text),
            finish_reason=self.finish_reason or "stop",
            model=self._model,
            seconds=seconds,
        )


__all__ = ["ChatRequest", "OpenAICore", "SSEDecoder", "SSEEvent", "StreamState", "retry_after_seconds"]
