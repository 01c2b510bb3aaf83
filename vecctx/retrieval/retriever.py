"""Dense, sparse and hybrid retrieval over any store, with a filter.

Hybrid search uses the backend's native fusion when its capabilities declare it (RRF,
DBSF), and fuses client-side otherwise, or always for the convex combination of min-max
normalised scores (which no backend offers natively). The result says which it was.
Backends without sparse vectors can still run hybrid search when given a
``sparse_store`` that holds the sparse side (e.g. a :class:`~vecctx.memory.MemoryStore`).

:class:`Retriever` (over a :class:`~vecctx.contract.store.VectorStore`) and :class:`AsyncRetriever`
(over an :class:`~vecctx.contract.store.AsyncVectorStore`) are one class written once
(``vecctx/_async/retriever.py``; ``scripts/unasync.py`` generates the synchronous twin): the
same modes, checks and fusion. This module holds what they share without I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np

from vecctx.contract.errors import ConfigError, UnsupportedFeatureError
from vecctx.contract.store import Capabilities, Fusion, HybridSupport, SearchParams
from vecctx.contract.types import FloatArray, Hit, Record, SparseVector
from vecctx.retrieval.fusion import convex, dbsf, rrf


class Mode(StrEnum):
    DENSE = "dense"
    SPARSE = "sparse"
    HYBRID = "hybrid"


class HybridFusion(StrEnum):
    RRF = "rrf"
    DBSF = "dbsf"
    CONVEX = "convex"


#: The recommended retrieval recipe, used by ``vecctx query``, ``ask``, ``eval``, the demo and
#: :class:`~vecctx.pipeline.Augmenter` (whenever a sparse encoder is given) unless told otherwise.
#: Chosen from measurement on SciFact: hybrid search (dense + BM25) fused by DBSF had the best
#: nDCG@10 (0.730, against 0.728 for convex fusion, 0.711 for RRF, 0.680 for BM25 alone and 0.645
#: for dense alone; docs/benchmarks.md), and runs as fast as RRF where the backend fuses natively.
DEFAULT_MODE = Mode.HYBRID
DEFAULT_FUSION = HybridFusion.DBSF


class QueryEmbedder(Protocol):
    def embed_query(self, text: str) -> FloatArray: ...


class SparseQueryEncoder(Protocol):
    def encode_query(self, text: str) -> SparseVector: ...


@dataclass(frozen=True, slots=True)
class Query:
    """What rerankers see: the question and, when computed, its dense vector."""

    text: str
    vector: FloatArray | None = None


@dataclass
class Retrieval:
    """Hits (best first) and how they were obtained."""

    query: Query
    hits: list[Hit]
    mode: Mode
    fusion: HybridFusion | None = None
    native_fusion: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def emulated(self) -> bool:
        return self.mode is Mode.HYBRID and not self.native_fusion


@dataclass(frozen=True, slots=True)
class RetrieverConfig:
    """``candidates`` is how many hits each side of a hybrid search fetches before fusion
    (and the pool MMR or rerankers choose from); ``k`` is how many the retriever returns."""

    mode: Mode = Mode.DENSE
    fusion: HybridFusion = DEFAULT_FUSION
    weights: tuple[float, float] = (0.5, 0.5)
    candidates: int = 100
    k: int = 10
    params: SearchParams = field(default_factory=SearchParams)


def _check_mode(
    mode: Mode,
    capabilities: Capabilities,
    *,
    embedder: QueryEmbedder | None,
    sparse_encoder: SparseQueryEncoder | None,
    sparse_store: object | None,
) -> None:
    """Raise unless a retriever so configured can run ``mode`` (before any I/O)."""
    if mode in (Mode.DENSE, Mode.HYBRID) and embedder is None:
        raise ConfigError(f"{mode.value} retrieval needs an embedder")
    if mode in (Mode.SPARSE, Mode.HYBRID):
        if sparse_encoder is None:
            raise ConfigError(f"{mode.value} retrieval needs a sparse encoder (e.g. BM25Encoder)")
        if not capabilities.sparse and sparse_store is None:
            raise UnsupportedFeatureError(
                f"{capabilities.name} stores no sparse vectors: pass sparse_store= "
                "holding the sparse side to run sparse or hybrid retrieval client-side"
            )


def _no_sparse_side(capabilities: Capabilities) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(f"{capabilities.name} stores no sparse vectors")


def _embed(
    text: str, mode: Mode, embedder: QueryEmbedder | None, sparse_encoder: SparseQueryEncoder | None
) -> tuple[FloatArray | None, SparseVector | None]:
    dense = embedder.embed_query(text) if mode is not Mode.SPARSE and embedder else None
    sparse = sparse_encoder.encode_query(text) if mode is not Mode.DENSE and sparse_encoder else None
    return dense, sparse


def _native_fusion(config: RetrieverConfig, capabilities: Capabilities) -> Fusion | None:
    """The backend's fusion to run a hybrid search with, or ``None`` to fuse client-side."""
    if config.fusion is HybridFusion.CONVEX or capabilities.hybrid is not HybridSupport.NATIVE:
        return None
    fusion = Fusion(config.fusion.value)
    return fusion if fusion in capabilities.fusions else None


def _native_params(config: RetrieverConfig) -> SearchParams:
    """The search parameters of a natively fused search: each side fetches ``candidates``."""
    p = config.params
    return SearchParams(exact=p.exact, ef=p.ef, prefetch_k=config.candidates, rrf_k=p.rrf_k)


def _fuse(lists: Sequence[Sequence[Hit]], config: RetrieverConfig, k: int) -> list[Hit]:
    if config.fusion is HybridFusion.RRF:
        return rrf(lists, k=k, rrf_k=config.params.rrf_k)
    if config.fusion is HybridFusion.DBSF:
        return dbsf(lists, k=k)
    return convex(lists, weights=config.weights, k=k)


def _missing_payloads(hits: Sequence[Hit]) -> list[str]:
    """Ids of the fused hits found only by the sparse side (searched without payloads)."""
    return [h.id for h in hits if h.text is None and h.metadata is None]


def _fill_payloads(hits: Sequence[Hit], records: Sequence[Record], with_vectors: bool) -> None:
    found = {r.id: r for r in records}
    for h in hits:
        r = found.get(h.id)
        if r is not None:
            h.text, h.metadata = r.text, dict(r.metadata)
            if with_vectors:
                h.vector = np.asarray(r.vector, dtype=np.float32)


# The retrievers are written once (vecctx/_async/retriever.py, with its generated synchronous
# twin); both use the helpers above, so they are imported after them.
from vecctx._async.retriever import AsyncRetriever  # noqa: E402
from vecctx._sync.retriever import Retriever  # noqa: E402

__all__ = [
    "AsyncRetriever",
    "HybridFusion",
    "Mode",
    "Query",
    "QueryEmbedder",
    "Retrieval",
    "Retriever",
    "RetrieverConfig",
    "SparseQueryEncoder",
]
