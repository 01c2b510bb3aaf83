"""Milvus adapter for vecctx: Milvus Lite (``milvus:///abs/path/file.db``) and Milvus
servers (``milvus://host:19530``, ``milvus+https://host``)."""

from vecctx_milvus.async_store import AsyncMilvusStore, open_async_store
from vecctx_milvus.common import CAPABILITIES
from vecctx_milvus.config import MilvusConfig, parse_url
from vecctx_milvus.filters import compile_filter, index_fields, quote
from vecctx_milvus.store import MilvusStore, open_store

__all__ = [
    "CAPABILITIES",
    "AsyncMilvusStore",
    "MilvusConfig",
    "MilvusStore",
    "compile_filter",
    "index_fields",
    "open_async_store",
    "open_store",
    "parse_url",
    "quote",
]
