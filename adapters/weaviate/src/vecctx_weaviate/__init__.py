"""Weaviate adapter for vecctx: ``vecctx.connect("weaviate://host:8080")``.

See the distribution's README for URL options, the storage layout, the filter mapping and
what was (and was not) tested.
"""

from vecctx_weaviate._core import NAMESPACE, TextFusion, object_uuid
from vecctx_weaviate.aio import AsyncWeaviateStore, open_async_store
from vecctx_weaviate.config import WeaviateConfig, parse_url
from vecctx_weaviate.filters import FilterCompiler
from vecctx_weaviate.store import WeaviateStore, open_store

__all__ = [
    "NAMESPACE",
    "AsyncWeaviateStore",
    "FilterCompiler",
    "TextFusion",
    "WeaviateConfig",
    "WeaviateStore",
    "object_uuid",
    "open_async_store",
    "open_store",
    "parse_url",
]
