"""vecctx: context augmentation (RAG) over any vector database, with one typed contract."""

from vecctx.answers import Answer, AnswerOptions, AnswerStream, SentenceSupport
from vecctx.chunking import Chunk, Chunker, Document
from vecctx.contract.batch import RecordBatch
from vecctx.contract.checks import check_compatible
from vecctx.contract.compiler import FilterCompiler, to_nnf
from vecctx.contract.driver import AsyncDriver, CheckedSearch, Driver, DriverBase, Page
from vecctx.contract.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    DimensionMismatchError,
    InvalidFilterError,
    InvalidInputError,
    NotFoundError,
    RetryDeadlineError,
    StoreClosedError,
    StoreLockedError,
    TransientBackendError,
    UnsupportedFeatureError,
    VecctxError,
)
from vecctx.contract.filters import F, Filter, as_filter, parse_filter
from vecctx.contract.store import (
    AsyncVectorStore,
    Capabilities,
    Fusion,
    HybridSupport,
    ScrollOptions,
    SearchOptions,
    SearchParams,
    SearchRequest,
    VectorStore,
)
from vecctx.contract.types import (
    CollectionSpec,
    FieldType,
    Hit,
    IndexKind,
    IndexParams,
    Metric,
    Record,
    ScoreKind,
    SparseVector,
    make_hits,
    relevance_of,
)
from vecctx.embedders import Embedder, HashingEmbedder, default_embedder
from vecctx.embedders.cache import CachedEmbedder, EmbeddingCache
from vecctx.front import AsyncStore, Store
from vecctx.ingest import Ingestor, IngestReport, ingest
from vecctx.loaders import load_beir, load_file, load_jsonl, load_path, load_text_dir
from vecctx.memory import AsyncMemoryStore, MemoryStore
from vecctx.pipeline import Augmenter
from vecctx.prompt import AugmentedPrompt, PromptAssembler, PromptTemplate, Source, assemble_prompt
from vecctx.prompt.citations import CitationReport, check_citations
from vecctx.prompt.tokens import TokenCounter, get_counter
from vecctx.registry import connect, connect_async, register
from vecctx.retrieval.fusion import convex, dbsf, rrf
from vecctx.retrieval.rerank import (
    BiEncoderReranker,
    Chain,
    CrossEncoderReranker,
    LateInteractionReranker,
    LostInTheMiddle,
    MMRReranker,
    Reranker,
    RRFReranker,
)
from vecctx.retrieval.retriever import (
    AsyncRetriever,
    HybridFusion,
    Mode,
    Query,
    Retrieval,
    Retriever,
    RetrieverConfig,
)
from vecctx.retrieval.sparse import BM25Encoder
from vecctx.retry import RetryPolicy, acall_with_retry, call_with_retry
from vecctx.scoped import AsyncTenantScopedStore, TenantScopedStore, scoped

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "AnswerOptions",
    "AnswerStream",
    "SentenceSupport",
    "to_nnf",
    "make_hits",
    "Store",
    "Page",
    "FilterCompiler",
    "DriverBase",
    "Driver",
    "CheckedSearch",
    "AsyncStore",
    "AsyncDriver",
    "AsyncMemoryStore",
    "AsyncRetriever",
    "AsyncTenantScopedStore",
    "AsyncVectorStore",
    "AugmentedPrompt",
    "Augmenter",
    "BM25Encoder",
    "BackendError",
    "BiEncoderReranker",
    "CachedEmbedder",
    "Capabilities",
    "Chain",
    "Chunk",
    "Chunker",
    "CitationReport",
    "CollectionNotFoundError",
    "CollectionSpec",
    "ConfigError",
    "CrossEncoderReranker",
    "DimensionMismatchError",
    "Document",
    "Embedder",
    "EmbeddingCache",
    "F",
    "FieldType",
    "Filter",
    "Fusion",
    "HashingEmbedder",
    "Hit",
    "HybridFusion",
    "HybridSupport",
    "IndexKind",
    "IndexParams",
    "IngestReport",
    "Ingestor",
    "InvalidFilterError",
    "InvalidInputError",
    "LateInteractionReranker",
    "LostInTheMiddle",
    "MMRReranker",
    "MemoryStore",
    "Metric",
    "Mode",
    "NotFoundError",
    "PromptAssembler",
    "PromptTemplate",
    "Query",
    "RRFReranker",
    "Record",
    "RecordBatch",
    "Reranker",
    "Retrieval",
    "RetryDeadlineError",
    "RetryPolicy",
    "Retriever",
    "RetrieverConfig",
    "ScoreKind",
    "ScrollOptions",
    "SearchOptions",
    "SearchParams",
    "SearchRequest",
    "Source",
    "SparseVector",
    "StoreClosedError",
    "StoreLockedError",
    "TenantScopedStore",
    "TokenCounter",
    "TransientBackendError",
    "UnsupportedFeatureError",
    "VecctxError",
    "VectorStore",
    "as_filter",
    "acall_with_retry",
    "assemble_prompt",
    "check_citations",
    "check_compatible",
    "connect",
    "connect_async",
    "call_with_retry",
    "convex",
    "dbsf",
    "default_embedder",
    "get_counter",
    "ingest",
    "load_beir",
    "load_file",
    "load_jsonl",
    "load_path",
    "load_text_dir",
    "parse_filter",
    "register",
    "relevance_of",
    "rrf",
    "scoped",
    "__version__",
]
