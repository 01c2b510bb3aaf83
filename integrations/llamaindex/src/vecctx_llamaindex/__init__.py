"""LlamaIndex integration of vecctx: :class:`VecctxVectorStore`, a LlamaIndex vector store over
any vecctx store URL (``memory://``, ``qdrant:///dir``, ``chroma:///dir``, ``milvus:///file.db``,
servers), with LlamaIndex's metadata filters translated into vecctx's filter language."""

from vecctx_llamaindex.filters import UnsupportedFilterError, translate_filter, translate_filters
from vecctx_llamaindex.vector_store import (
    NODE_ID_KEY,
    REF_DOC_ID_KEY,
    UnsupportedQueryError,
    VecctxVectorStore,
)

__version__ = "0.1.0"

__all__ = [
    "NODE_ID_KEY",
    "REF_DOC_ID_KEY",
    "UnsupportedFilterError",
    "UnsupportedQueryError",
    "VecctxVectorStore",
    "__version__",
    "translate_filter",
    "translate_filters",
]
