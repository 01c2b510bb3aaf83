"""Chroma adapter for vecctx: ``vecctx.connect("chroma:///abs/path")`` (embedded),
``vecctx.connect("chroma+http://host:port")`` or ``vecctx.connect_async(...)`` (a server)."""

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
