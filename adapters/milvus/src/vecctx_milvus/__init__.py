"""Milvus adapter for vecctx: Milvus Lite (``milvus:///abs/path/file.db``) and Milvus
servers (``milvus://host:19530``, ``milvus+https://host``)."""

from vecctx_milvus._async.driver import AsyncMilvusDriver
from vecctx_milvus._sync.driver import MilvusDriver
from vecctx_milvus.common import CAPABILITIES
from vecctx_milvus.config import MilvusConfig, parse_url
from vecctx_milvus.filters import MilvusFilterCompiler, compile_filter, index_fields, quote
from vecctx_milvus.store import AsyncMilvusStore, MilvusStore, open_async_store, open_store

__all__ = [
    "CAPABILITIES",
    "AsyncMilvusDriver",
    "AsyncMilvusStore",
    "MilvusConfig",
    "MilvusDriver",
    "MilvusFilterCompiler",
    "MilvusStore",
    "compile_filter",
    "index_fields",
    "open_async_store",
    "open_store",
    "parse_url",
    "quote",
]
