"""Dense, sparse and hybrid retrieval over any store, with a filter.

Hybrid search uses the backend's native fusion when its capabilities declare it (RRF,
DBSF), and fuses client-side otherwise, or always for the convex combination of min-max
normalised scores (which no backend offers natively). The result says which it was.
Backends without sparse vectors can still run hybrid search when given a
``sparse_store`` that holds the sparse side (e.g. a :class:`~vecctx.memory.MemoryStore`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np

from vecctx.errors import ConfigError, UnsupportedFeatureError
from vecctx.filters import Filter, as_filter
from vecctx.fusion import convex, dbsf, rrf
from vecctx.store import AsyncVectorStore, FilterArg, Fusion, HybridSupport, SearchParams, VectorStore
from vecctx.types import FloatArray, Hit, SparseVector


class Mode(StrEnum):
    DENSE = "dense"
    SPARSE = "sparse"
    HYBRID = "hybrid"


class HybridFusion(StrEnum):
    RRF = "rrf"
    DBSF = "dbsf"
    CONVEX = "convex"


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
    fusion: HybridFusion = HybridFusion.RRF
    weights: tuple[float, float] = (0.5, 0.5)
    candidates: int = 100
    k: int = 10
    params: SearchParams = field(default_factory=SearchParams)


class Retriever:
    """Retrieves from one collection of one store."""

    def __init__(
        self,
        store: VectorStore,
        collection: str,
        *,
        embedder: QueryEmbedder | None = None,
        sparse_encoder: SparseQueryEncoder | None = None,
        config: RetrieverConfig | None = None,
        sparse_store: VectorStore | None = None,
    ) -> None:
        self.store = store
        self.collection = collection
        self.embedder = embedder
        self.sparse_encoder = sparse_encoder
        self.config = config or RetrieverConfig()
        self.sparse_store = sparse_store
        self._check(self.config.mode)

    def _check(self, mode: Mode) -> None:
        if mode in (Mode.DENSE, Mode.HYBRID) and self.embedder is None:
            raise ConfigError(f"{mode.value} retrieval needs an embedder")
        if mode in (Mode.SPARSE, Mode.HYBRID):
            if self.sparse_encoder is None:
                raise ConfigError(f"{mode.value} retrieval needs a sparse encoder (e.g. BM25Encoder)")
            if not self.store.capabilities.sparse and self.sparse_store is None:
                raise UnsupportedFeatureError(
                    f"{self.store.capabilities.name} stores no sparse vectors: pass sparse_store= "
                    "holding the sparse side to run sparse or hybrid retrieval client-side"
                )

    def embed(self, text: str, mode: Mode) -> tuple[FloatArray | None, SparseVector | None]:
        dense = self.embedder.embed_query(text) if mode is not Mode.SPARSE and self.embedder else None
        sparse = (
            self.sparse_encoder.encode_query(text) if mode is not Mode.DENSE and self.sparse_encoder else None
        )
        return dense, sparse

    def retrieve(
        self,
        text: str,
        *,
        filter: FilterArg = None,
        k: int | None = None,
        mode: Mode | None = None,
        with_vectors: bool = False,
    ) -> Retrieval:
        m = Mode(mode) if mode is not None else self.config.mode
        if m is not self.config.mode:
            self._check(m)
        t0 = time.perf_counter()
        dense, sparse = self.embed(text, m)
        t1 = time.perf_counter()
        result = self.search(
            Query(text, dense), sparse, filter=as_filter(filter), k=k, mode=m, with_vectors=with_vectors
        )
        result.timings["embed_ms"] = (t1 - t0) * 1000
        return result

    def search(
        self,
        query: Query,
        sparse: SparseVector | None,
        *,
        filter: Filter | None = None,
        k: int | None = None,
        mode: Mode | None = None,
        with_vectors: bool = False,
    ) -> Retrieval:
        """Search with precomputed query vectors (used by evaluation and the async path)."""
        cfg = self.config
        m = Mode(mode) if mode is not None else cfg.mode
        n = k or cfg.k
        t0 = time.perf_counter()
        caps = self.store.capabilities
        if m is Mode.DENSE:
            hits = self.store.search(
                self.collection,
                vector=query.vector,
                filter=filter,
                k=n,
                params=cfg.params,
                with_vectors=with_vectors,
            )
            out = Retrieval(query, hits, m)
        elif m is Mode.SPARSE:
            target = self.store if caps.sparse else self._sparse_side()
            hits = target.search(
                self.collection, sparse=sparse, filter=filter, k=n, with_vectors=with_vectors
            )
            out = Retrieval(query, hits, m)
        else:
            native = (
                cfg.fusion is not HybridFusion.CONVEX
                and caps.hybrid is HybridSupport.NATIVE
                and Fusion(cfg.fusion.value) in caps.fusions
            )
            if native:
                params = SearchParams(
                    exact=cfg.params.exact,
                    ef=cfg.params.ef,
                    prefetch_k=cfg.candidates,
                    rrf_k=cfg.params.rrf_k,
                )
                hits = self.store.search(
                    self.collection,
                    vector=query.vector,
                    sparse=sparse,
                    filter=filter,
                    k=n,
                    params=params,
                    fusion=Fusion(cfg.fusion.value),
                    with_vectors=with_vectors,
                )
            else:
                hits = self._fuse_client_side(query, sparse, filter, n, with_vectors)
            out = Retrieval(query, hits, m, fusion=cfg.fusion, native_fusion=native)
        out.timings["search_ms"] = (time.perf_counter() - t0) * 1000
        return out

    def _sparse_side(self) -> VectorStore:
        if self.sparse_store is None:
            raise UnsupportedFeatureError(f"{self.store.capabilities.name} stores no sparse vectors")
        return self.sparse_store

    def _fuse_client_side(
        self, query: Query, sparse: SparseVector | None, flt: Filter | None, k: int, with_vectors: bool
    ) -> list[Hit]:
        cfg = self.config
        depth = max(cfg.candidates, k)
        dense_hits = self.store.search(
            self.collection,
            vector=query.vector,
            filter=flt,
            k=depth,
            params=cfg.params,
            with_vectors=with_vectors,
        )
        side = self.store if self.store.capabilities.sparse else self._sparse_side()
        sparse_hits = side.search(self.collection, sparse=sparse, filter=flt, k=depth, with_payload=False)
        lists: Sequence[Sequence[Hit]] = [dense_hits, sparse_hits]
        if cfg.fusion is HybridFusion.RRF:
            fused = rrf(lists, k=k, rrf_k=cfg.params.rrf_k)
        elif cfg.fusion is HybridFusion.DBSF:
            fused = dbsf(lists, k=k)
        else:
            fused = convex(lists, weights=cfg.weights, k=k)
        missing = [h.id for h in fused if h.text is None and h.metadata is None]
        if missing:  # found only by the sparse side: fetch payloads from the main store
            found = {r.id: r for r in self.store.get(self.collection, missing, with_vectors=with_vectors)}
            for h in fused:
                r = found.get(h.id)
                if r is not None:
                    h.text, h.metadata = r.text, dict(r.metadata)
                    if with_vectors:
                        h.vector = np.asarray(r.vector, dtype=np.float32)
        return fused


class AsyncRetriever:
    """Dense and natively fused hybrid retrieval over an :class:`AsyncVectorStore`."""

    def __init__(
        self,
        store: AsyncVectorStore,
        collection: str,
        *,
        embedder: QueryEmbedder | None = None,
        sparse_encoder: SparseQueryEncoder | None = None,
        config: RetrieverConfig | None = None,
    ) -> None:
        self.store = store
        self.collection = collection
        self.embedder = embedder
        self.sparse_encoder = sparse_encoder
        self.config = config or RetrieverConfig()

    async def retrieve(
        self, text: str, *, filter: FilterArg = None, k: int | None = None, with_vectors: bool = False
    ) -> Retrieval:
        cfg = self.config
        t0 = time.perf_counter()
        dense = self.embedder.embed_query(text) if self.embedder and cfg.mode is not Mode.SPARSE else None
        sparse = (
            self.sparse_encoder.encode_query(text)
            if self.sparse_encoder and cfg.mode is not Mode.DENSE
            else None
        )
        t1 = time.perf_counter()
        n = k or cfg.k
        flt = as_filter(filter)
        native = False
        if cfg.mode is Mode.HYBRID:
            caps = self.store.capabilities
            native = caps.hybrid is HybridSupport.NATIVE and cfg.fusion is not HybridFusion.CONVEX
            if native:
                hits = await self.store.search(
                    self.collection,
                    vector=dense,
                    sparse=sparse,
                    filter=flt,
                    k=n,
                    params=SearchParams(prefetch_k=cfg.candidates, rrf_k=cfg.params.rrf_k),
                    fusion=Fusion(cfg.fusion.value),
                    with_vectors=with_vectors,
                )
            else:
                d = await self.store.search(self.collection, vector=dense, filter=flt, k=cfg.candidates)
                s = await self.store.search(self.collection, sparse=sparse, filter=flt, k=cfg.candidates)
                hits = (
                    rrf([d, s], k=n, rrf_k=cfg.params.rrf_k)
                    if cfg.fusion is HybridFusion.RRF
                    else dbsf([d, s], k=n)
                    if cfg.fusion is HybridFusion.DBSF
                    else convex([d, s], weights=cfg.weights, k=n)
                )
        else:
            hits = await self.store.search(
                self.collection,
                vector=dense,
                sparse=sparse,
                filter=flt,
                k=n,
                params=cfg.params,
                with_vectors=with_vectors,
            )
        out = Retrieval(
            Query(text, dense),
            hits,
            cfg.mode,
            fusion=cfg.fusion if cfg.mode is Mode.HYBRID else None,
            native_fusion=native,
        )
        out.timings = {"embed_ms": (t1 - t0) * 1000, "search_ms": (time.perf_counter() - t1) * 1000}
        return out


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
