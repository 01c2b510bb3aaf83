"""Chroma adapter for vecctx.

``vecctx.connect("chroma:///abs/path")`` opens an embedded ``PersistentClient``;
``vecctx.connect("chroma+http://host:port")`` talks to a Chroma server, and
``vecctx.connect_async("chroma+http://host:port")`` does so natively async.
"""

from vecctx_chroma.async_store import AsyncChromaStore, open_async_store
from vecctx_chroma.config import ChromaConfig, parse_url
from vecctx_chroma.filters import compile_filter, decode_metadata, encode_metadata
from vecctx_chroma.store import ChromaStore, open_store

__all__ = [
    "AsyncChromaStore",
    "ChromaConfig",
    "ChromaStore",
    "compile_filter",
    "decode_metadata",
    "encode_metadata",
    "open_async_store",
    "open_store",
    "parse_url",
]
