"""Chroma adapter for vecctx.

``vecctx.connect("chroma:///abs/path")`` opens an embedded ``PersistentClient``;
``vecctx.connect("chroma+http://host:port")`` talks to a Chroma server, and
``vecctx.connect_async("chroma+http://host:port")`` does so natively async. Both stores are
the vecctx store front over one driver (:class:`ChromaDriver`, :class:`AsyncChromaDriver`).
"""

from vecctx_chroma._async.driver import AsyncChromaDriver
from vecctx_chroma._sync.driver import ChromaDriver
from vecctx_chroma.config import ChromaConfig, parse_url
from vecctx_chroma.filters import WhereCompiler, compile_filter, decode_metadata, encode_metadata
from vecctx_chroma.store import AsyncChromaStore, ChromaStore, open_async_store, open_store

__all__ = [
    "AsyncChromaDriver",
    "AsyncChromaStore",
    "ChromaConfig",
    "ChromaDriver",
    "ChromaStore",
    "WhereCompiler",
    "compile_filter",
    "decode_metadata",
    "encode_metadata",
    "open_async_store",
    "open_store",
    "parse_url",
]
