"""LangChain integration of vecctx: ``VecctxVectorStore``, a LangChain ``VectorStore`` over any
vecctx store (``memory://``, Qdrant, Milvus, Chroma, Weaviate), with LangChain's Mongo-like
filter dicts translated into vecctx's one filter language; ``VecctxEmbeddings``, a vecctx
embedder as LangChain ``Embeddings``."""

from vecctx_langchain.embeddings import VecctxEmbeddings
from vecctx_langchain.filters import VecctxTranslator, to_vecctx_filter
from vecctx_langchain.vectorstores import DEFAULT_COLLECTION, VecctxVectorStore

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_COLLECTION",
    "VecctxEmbeddings",
    "VecctxTranslator",
    "VecctxVectorStore",
    "__version__",
    "to_vecctx_filter",
]
