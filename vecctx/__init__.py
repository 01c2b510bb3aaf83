"""vecctx: context augmentation (RAG) over any vector database, with one typed contract."""

from vecctx.base import StoreBase, check_compatible
from vecctx.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    DimensionMismatchError,
    InvalidFilterError,
    InvalidInputError,
    NotFoundError,
    StoreClosedError,
    StoreLockedError,
    TransientBackendError,
    UnsupportedFeatureError,
    VecctxError,
)
from vecctx.filters import F, Filter, as_filter, parse_filter
from vecctx.fusion import convex, dbsf, rrf
from vecctx.memory import AsyncMemoryStore, MemoryStore
from vecctx.registry import connect, connect_async, register
from vecctx.store import (
    AsyncVectorStore,
    Capabilities,
    Fusion,
    HybridSupport,
    SearchParams,
    SearchRequest,
    VectorStore,
)
from vecctx.types import (
    CollectionSpec,
    FieldType,
    Hit,
    IndexKind,
    IndexParams,
    Metric,
    Record,
    ScoreKind,
    SparseVector,
    relevance_of,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncMemoryStore",
    "AsyncVectorStore",
    "BackendError",
    "Capabilities",
    "CollectionNotFoundError",
    "CollectionSpec",
    "ConfigError",
    "DimensionMismatchError",
    "F",
    "FieldType",
    "Filter",
    "Fusion",
    "Hit",
    "HybridSupport",
    "IndexKind",
    "IndexParams",
    "InvalidFilterError",
    "InvalidInputError",
    "MemoryStore",
    "Metric",
    "NotFoundError",
    "Record",
    "ScoreKind",
    "SearchParams",
    "SearchRequest",
    "SparseVector",
    "StoreBase",
    "StoreClosedError",
    "StoreLockedError",
    "TransientBackendError",
    "UnsupportedFeatureError",
    "VecctxError",
    "VectorStore",
    "__version__",
    "as_filter",
    "check_compatible",
    "connect",
    "connect_async",
    "convex",
    "dbsf",
    "parse_filter",
    "register",
    "relevance_of",
    "rrf",
]
