"""Weaviate adapter for vecctx: ``vecctx.connect("weaviate://host:8080")`` (see its README)."""

from vecctx_weaviate._async.driver import AsyncWeaviateDriver
from vecctx_weaviate._core import NAMESPACE, TextFusion, object_uuid
from vecctx_weaviate._sync.driver import WeaviateDriver
from vecctx_weaviate.config import WeaviateConfig, parse_url
from vecctx_weaviate.filters import FilterCompiler
from vecctx_weaviate.store import AsyncWeaviateStore, WeaviateStore, open_async_store, open_store

__all__ = [
    "NAMESPACE",
    "AsyncWeaviateDriver",
    "AsyncWeaviateStore",
    "FilterCompiler",
    "TextFusion",
    "WeaviateConfig",
    "WeaviateDriver",
    "WeaviateStore",
    "object_uuid",
    "open_async_store",
    "open_store",
    "parse_url",
]
