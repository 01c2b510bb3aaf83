"""Haystack 2 integration for vecctx: a ``DocumentStore`` and an embedding retriever over any
vecctx store (memory://, embedded Qdrant Edge, Chroma, Milvus Lite, or a server)."""

from vecctx_haystack.document_store import (
    HAS_EMBEDDING,
    VecctxDocumentStore,
    document_to_record,
    hit_to_document,
    record_to_document,
)
from vecctx_haystack.filters import NO_EMBEDDING_KEY, RESERVED_PREFIX, translate_filters
from vecctx_haystack.retriever import VecctxEmbeddingRetriever

__all__ = [
    "HAS_EMBEDDING",
    "NO_EMBEDDING_KEY",
    "RESERVED_PREFIX",
    "VecctxDocumentStore",
    "VecctxEmbeddingRetriever",
    "document_to_record",
    "hit_to_document",
    "record_to_document",
    "translate_filters",
]
