"""The retriever, written once: ``scripts/unasync.py`` generates :class:`~vecctx.retrieval.retriever.Retriever`
(``vecctx/_sync/retriever.py``) from :class:`AsyncRetriever` here. What both share without I/O
(checks, fusion, payload filling) is in :mod:`vecctx.retrieval.retriever`, which exports both.
"""

from __future__ import annotations

import time

from vecctx.contract.filters import Filter, as_filter
from vecctx.contract.store import AsyncVectorStore, FilterArg
from vecctx.contract.types import FloatArray, Hit, SparseVector
from vecctx.retrieval.retriever import (
    Mode,
    Query,
    QueryEmbedder,
    Retrieval,
    RetrieverConfig,
    SparseQueryEncoder,
    _check_mode,
    _embed,
    _fill_payloads,
    _fuse,
    _missing_payloads,
    _native_fusion,
    _native_params,
    _no_sparse_side,
)


class AsyncRetriever:
    """Retrieves from one collection of one store.

    ``sparse_store`` holds the sparse side of a collection whose store has no sparse vectors
    (same collection name and ids); sparse and hybrid retrieval then run client-side.
    """

    def __init__(
        self,
        store: AsyncVectorStore,
        collection: str,
        *,
        embedder: QueryEmbedder | None = None,
        sparse_encoder: SparseQueryEncoder | None = None,
        config: RetrieverConfig | None = None,
        sparse_store: AsyncVectorStore | None = None,
    ) -> None:
        self.store = store
        self.collection = collection
        self.embedder = embedder
        self.sparse_encoder = sparse_encoder
        self.config = config or RetrieverConfig()
        self.sparse_store = sparse_store
        self._check(self.config.mode)

    def _check(self, mode: Mode) -> None:
        _check_mode(
            mode,
            self.store.capabilities,
            embedder=self.embedder,
            sparse_encoder=self.sparse_encoder,
            sparse_store=self.sparse_store,
        )

    def embed(self, text: str, mode: Mode) -> tuple[FloatArray | None, SparseVector | None]:
        """The query's dense and sparse vectors, each where ``mode`` needs it."""
        return _embed(text, mode, self.embedder, self.sparse_encoder)

    async def retrieve(
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
        flt = as_filter(filter)
        t0 = time.perf_counter()
        dense, sparse = self.embed(text, m)
        t1 = time.perf_counter()
        result = await self.search(
            Query(text, dense), sparse, filter=flt, k=k, mode=m, with_vectors=with_vectors
        )
        result.timings["embed_ms"] = (t1 - t0) * 1000
        return result

    async def search(
        self,
        query: Query,
        sparse: SparseVector | None,
        *,
        filter: Filter | None = None,
        k: int | None = None,
        mode: Mode | None = None,
        with_vectors: bool = False,
    ) -> Retrieval:
        """Search with precomputed query vectors (used by evaluation)."""
        cfg = self.config
        m = Mode(mode) if mode is not None else cfg.mode
        n = k or cfg.k
        t0 = time.perf_counter()
        if m is Mode.DENSE:
            out = Retrieval(query, await self._dense(query, filter, n, with_vectors), m)
        elif m is Mode.SPARSE:
            hits = await self._sparse_side().search(
                self.collection, sparse=sparse, filter=filter, k=n, with_vectors=with_vectors
            )
            out = Retrieval(query, hits, m)
        else:
            fusion = _native_fusion(cfg, self.store.capabilities)
            if fusion is not None:
                hits = await self.store.search(
                    self.collection,
                    vector=query.vector,
                    sparse=sparse,
                    filter=filter,
                    k=n,
                    params=_native_params(cfg),
                    fusion=fusion,
                    with_vectors=with_vectors,
                )
            else:
                hits = await self._fuse_client_side(query, sparse, filter, n, with_vectors)
            out = Retrieval(query, hits, m, fusion=cfg.fusion, native_fusion=fusion is not None)
        out.timings["search_ms"] = (time.perf_counter() - t0) * 1000
        return out

    async def _dense(self, query: Query, flt: FilterArg, k: int, with_vectors: bool) -> list[Hit]:
        return await self.store.search(
            self.collection,
            vector=query.vector,
            filter=flt,
            k=k,
            params=self.config.params,
            with_vectors=with_vectors,
        )

    def _sparse_side(self) -> AsyncVectorStore:
        """The store holding the sparse vectors: the main one when it can."""
        if self.store.capabilities.sparse:
            return self.store
        if self.sparse_store is None:
            raise _no_sparse_side(self.store.capabilities)
        return self.sparse_store

    async def _fuse_client_side(
        self, query: Query, sparse: SparseVector | None, flt: Filter | None, k: int, with_vectors: bool
    ) -> list[Hit]:
        cfg = self.config
        depth = max(cfg.candidates, k)
        dense_hits = await self._dense(query, flt, depth, with_vectors)
        sparse_hits = await self._sparse_side().search(
            self.collection, sparse=sparse, filter=flt, k=depth, with_payload=False
        )
        fused = _fuse([dense_hits, sparse_hits], cfg, k)
        missing = _missing_payloads(fused)
        if missing:  # found only by the sparse side: fetch payloads from the main store
            found = await self.store.get(self.collection, missing, with_vectors=with_vectors)
            _fill_payloads(fused, found, with_vectors)
        return fused


__all__ = ["AsyncRetriever"]
