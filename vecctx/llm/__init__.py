"""Language models behind one small protocol (:mod:`vecctx.llm.base`): an OpenAI-compatible chat
client and a local in-process model. Each runtime is an optional install, imported only when a
model is made."""

from vecctx.llm.base import LLM, AsyncLLM, Chunk, Completion, GenerateOptions, Usage

__all__ = ["LLM", "AsyncLLM", "Chunk", "Completion", "GenerateOptions", "Usage"]
