"""The exact in-memory reference store (``memory://``).

Vectorised numpy brute force, every filter operator (by the reference evaluator in
:mod:`vecctx.filters`), sparse dot products, native RRF/DBSF fusion and exact top-k with
deterministic tie-breaking (score, then id). Every adapter is compared with it and the
benchmarks use it as ground truth.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vecctx.base import StoreBase, check_compatible
from vecctx.errors import CollectionNotFoundError, ConfigError
from vecctx.filters import Filter, as_filter
from vecctx.fusion import dbsf, rrf
from vecctx.store import (
    Capabilities,
    FilterArg,
    Fusion,
    HybridSupport,
    SearchParams,
    SearchRequest,
)
from vecctx.types import (
    CollectionSpec,
    FloatArray,
    Hit,
    Metric,
    Record,
    ScoreKind,
    SparseVector,
    VectorLike,
    relevance_array,
    score_kind,
)
from vecctx.validation import validate_ids, validate_records, validate_search

CAPABILITIES = Capabilities(
    name="memory",
    sparse=True,
    hybrid=HybridSupport.NATIVE,
    fusions=frozenset(Fusion),
    exact_search=True,
    approximate=False,
    async_native=True,
    max_batch=None,
    persistent=False,
)


@dataclass
class _Collection:
    spec: CollectionSpec
    ids: list[str] = field(default_factory=list)
    pos: dict[str, int] = field(default_factory=dict)
    vectors: FloatArray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    texts: list[str | None] = field(default_factory=list)
    metas: list[dict[str, Any]] = field(default_factory=list)
    sparse: list[SparseVector | None] = field(default_factory=list)
    #: term id -> (rows, weights); rebuilt lazily after writes.
    postings: dict[int, tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]] | None = None

    def __post_init__(self) -> None:
        self.vectors = np.zeros((0, self.spec.dimension), dtype=np.float32)

    def inverted(self) -> dict[int, tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]]:
        if self.postings is None:
            acc: dict[int, tuple[list[int], list[float]]] = {}
            for row, sv in enumerate(self.sparse):
                if sv is None:
                    continue
                for i, v in zip(sv.indices, sv.values, strict=True):
                    rows, vals = acc.setdefault(i, ([], []))
                    rows.append(row)
                    vals.append(v)
            self.postings = {
                t: (np.array(r, dtype=np.intp), np.array(v, dtype=np.float64)) for t, (r, v) in acc.items()
            }
        return self.postings


class MemoryStore(StoreBase):
    """Exact reference store. Not persistent; thread-compatible, not thread-safe."""

    def __init__(self) -> None:
        self._collections: dict[str, _Collection] = {}

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def __repr__(self) -> str:
        return f"MemoryStore(collections={sorted(self._collections)})"

    # -- collections -------------------------------------------------------------------
    def _coll(self, name: str) -> _Collection:
        self._check_open()
        try:
            return self._collections[name]
        except KeyError:
            raise CollectionNotFoundError(name) from None

    def create_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        if spec.name in self._collections:
            raise ConfigError(f"collection {spec.name!r} already exists")
        self._collections[spec.name] = _Collection(spec)

    def ensure_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        existing = self._collections.get(spec.name)
        if existing is None:
            self.create_collection(spec)
        else:
            check_compatible(existing.spec, spec)

    def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self._check_open()
        if self._collections.pop(name, None) is None and not missing_ok:
            raise CollectionNotFoundError(name)

    def has_collection(self, name: str) -> bool:
        self._check_open()
        return name in self._collections

    def list_collections(self) -> list[str]:
        self._check_open()
        return sorted(self._collections)

    def collection_spec(self, name: str) -> CollectionSpec:
        return self._coll(name).spec

    # -- writes ------------------------------------------------------------------------
    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        c = self._coll(collection)
        matrix = validate_records(records, c.spec)
        if not len(records):
            return
        if c.spec.metric is Metric.COSINE:
            matrix = _normalise(matrix)
        new_rows: list[int] = []
        for i, r in enumerate(records):
            row = c.pos.get(r.id)
            meta = copy.deepcopy(dict(r.metadata))
            if row is None:
                c.pos[r.id] = len(c.ids)
                c.ids.append(r.id)
                c.texts.append(r.text)
                c.metas.append(meta)
                c.sparse.append(r.sparse)
                new_rows.append(i)
            else:
                c.vectors[row] = matrix[i]
                c.texts[row] = r.text
                c.metas[row] = meta
                c.sparse[row] = r.sparse
        if new_rows:
            c.vectors = np.concatenate([c.vectors, matrix[new_rows]], axis=0)
        c.postings = None

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None) -> None:
        c = self._coll(collection)
        flt = as_filter(filter)
        if ids is None and flt is None:
            return
        doomed = set(validate_ids(ids)) if ids is not None else set()
        if flt is not None:
            doomed.update(i for i, m in zip(c.ids, c.metas, strict=True) if flt.matches(m))
        if not doomed:
            return
        keep = [row for row, i in enumerate(c.ids) if i not in doomed]
        c.ids = [c.ids[r] for r in keep]
        c.texts = [c.texts[r] for r in keep]
        c.metas = [c.metas[r] for r in keep]
        c.sparse = [c.sparse[r] for r in keep]
        c.vectors = c.vectors[keep]
        c.pos = {i: r for r, i in enumerate(c.ids)}
        c.postings = None

    # -- reads -------------------------------------------------------------------------
    def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        c = self._coll(collection)
        out: list[Record] = []
        for i in validate_ids(ids):
            row = c.pos.get(i)
            if row is not None:
                out.append(self._record(c, row, with_vectors))
        return out

    def count(self, collection: str, *, filter: FilterArg = None) -> int:
        c = self._coll(collection)
        flt = as_filter(filter)
        if flt is None:
            return len(c.ids)
        return sum(1 for m in c.metas if flt.matches(m))

    def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> Iterator[Record]:
        c = self._coll(collection)
        flt = as_filter(filter)
        for row in range(len(c.ids)):
            if flt is None or flt.matches(c.metas[row]):
                yield self._record(c, row, with_vectors)

    def optimize(self, collection: str) -> None:
        self._coll(collection)

    def search(
        self,
        collection: str,
        *,
        vector: VectorLike | None = None,
        sparse: SparseVector | None = None,
        filter: FilterArg = None,
        k: int = 10,
        params: SearchParams | None = None,
        fusion: Fusion = Fusion.RRF,
        with_payload: bool = True,
        with_vectors: bool = False,
    ) -> list[Hit]:
        c = self._coll(collection)
        q, flt, p = validate_search(c.spec, vector=vector, sparse=sparse, filter=filter, k=k, params=params)
        mask = self._mask(c, flt)
        if q is not None and sparse is not None:
            depth = p.prefetch_k or max(4 * k, 50)
            lists = [self._dense(c, q, mask, depth), self._sparse(c, sparse, mask, depth)]
            ranked = [self._hits(c, item, item[1], False, False) for item in lists]
            fused = rrf(ranked, k=k, rrf_k=p.rrf_k) if fusion is Fusion.RRF else dbsf(ranked, k=k)
            return [self._fill(c, h, with_payload, with_vectors) for h in fused]
        if q is not None:
            rows, kind = self._dense(c, q, mask, k)
        else:
            assert sparse is not None
            rows, kind = self._sparse(c, sparse, mask, k)
        return self._hits(c, (rows, kind), kind, with_payload, with_vectors)

    def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        return super().search_batch(collection, requests)

    # -- internals ---------------------------------------------------------------------
    @staticmethod
    def _mask(c: _Collection, flt: Filter | None) -> npt.NDArray[np.bool_] | None:
        if flt is None:
            return None
        return np.fromiter((flt.matches(m) for m in c.metas), dtype=bool, count=len(c.metas))

    @staticmethod
    def _dense(
        c: _Collection, q: FloatArray, mask: npt.NDArray[np.bool_] | None, k: int
    ) -> tuple[tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]], ScoreKind]:
        metric = c.spec.metric
        if metric is Metric.EUCLIDEAN:
            diff = c.vectors.astype(np.float64) - q.astype(np.float64)
            key = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            higher_better = False
        else:
            qq = _normalise(q[None, :])[0] if metric is Metric.COSINE else q
            key = c.vectors.astype(np.float64) @ qq.astype(np.float64)
            higher_better = True
        rows = np.arange(len(c.ids)) if mask is None else np.nonzero(mask)[0]
        return _top_k(c.ids, rows, key[rows], k, higher_better), score_kind(metric)

    @staticmethod
    def _sparse(
        c: _Collection, q: SparseVector, mask: npt.NDArray[np.bool_] | None, k: int
    ) -> tuple[tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]], ScoreKind]:
        postings = c.inverted()
        scores = np.zeros(len(c.ids), dtype=np.float64)
        touched = np.zeros(len(c.ids), dtype=bool)
        for i, w in zip(q.indices, q.values, strict=True):
            hit = postings.get(i)
            if hit is not None:
                np.add.at(scores, hit[0], w * hit[1])
                touched[hit[0]] = True
        if mask is not None:
            touched &= mask
        rows = np.nonzero(touched)[0]
        return _top_k(c.ids, rows, scores[rows], k, True), ScoreKind.SPARSE_DOT

    def _hits(
        self,
        c: _Collection,
        ranked: tuple[tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]], ScoreKind],
        kind: ScoreKind,
        with_payload: bool,
        with_vectors: bool,
    ) -> list[Hit]:
        (rows, scores), _ = ranked
        rel = relevance_array(kind, scores)
        out = []
        for row, s, r in zip(rows.tolist(), scores.tolist(), rel.tolist(), strict=True):
            out.append(
                Hit(
                    id=c.ids[row],
                    score=s,
                    relevance=r,
                    kind=kind,
                    text=c.texts[row] if with_payload else None,
                    metadata=copy.deepcopy(c.metas[row]) if with_payload else None,
                    vector=self._vector(c, row) if with_vectors else None,
                    sparse=c.sparse[row] if with_vectors else None,
                )
            )
        return out

    def _fill(self, c: _Collection, h: Hit, with_payload: bool, with_vectors: bool) -> Hit:
        row = c.pos[h.id]
        h.text = c.texts[row] if with_payload else None
        h.metadata = copy.deepcopy(c.metas[row]) if with_payload else None
        h.vector = self._vector(c, row) if with_vectors else None
        h.sparse = c.sparse[row] if with_vectors else None
        return h

    @staticmethod
    def _vector(c: _Collection, row: int) -> FloatArray:
        vec: FloatArray = c.vectors[row].copy()
        return vec

    def _record(self, c: _Collection, row: int, with_vectors: bool) -> Record:
        return Record(
            id=c.ids[row],
            vector=self._vector(c, row) if with_vectors else np.zeros(0, dtype=np.float32),
            text=c.texts[row],
            metadata=copy.deepcopy(c.metas[row]),
            sparse=c.sparse[row],
        )


def _normalise(m: FloatArray) -> FloatArray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: FloatArray = (m / norms).astype(np.float32)
    return out


def _top_k(
    ids: list[str],
    rows: npt.NDArray[np.intp],
    scores: npt.NDArray[np.float64],
    k: int,
    higher_better: bool,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Exact top-k, ties broken by id so results are deterministic."""
    if len(rows) == 0:
        return rows, scores
    key = -scores if higher_better else scores
    if len(rows) > k:
        part = np.argpartition(key, k - 1)[:k]
        threshold = key[part].max()
        cand = np.nonzero(key <= threshold)[0]
    else:
        cand = np.arange(len(rows))
    order = sorted(cand.tolist(), key=lambda j: (float(key[j]), ids[int(rows[j])]))[:k]
    sel = np.array(order, dtype=np.intp)
    return rows[sel], scores[sel]


class AsyncMemoryStore:
    """Native-async face of :class:`MemoryStore`: pure CPU work done inline, no thread pool."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.sync = store if store is not None else MemoryStore()

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    async def create_collection(self, spec: CollectionSpec) -> None:
        self.sync.create_collection(spec)

    async def ensure_collection(self, spec: CollectionSpec) -> None:
        self.sync.ensure_collection(spec)

    async def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self.sync.drop_collection(name, missing_ok=missing_ok)

    async def has_collection(self, name: str) -> bool:
        return self.sync.has_collection(name)

    async def list_collections(self) -> list[str]:
        return self.sync.list_collections()

    async def collection_spec(self, name: str) -> CollectionSpec:
        return self.sync.collection_spec(name)

    async def upsert(self, collection: str, records: Sequence[Record]) -> None:
        self.sync.upsert(collection, records)

    async def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        return self.sync.get(collection, ids, with_vectors=with_vectors)

    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None
    ) -> None:
        self.sync.delete(collection, ids=ids, filter=filter)

    async def count(self, collection: str, *, filter: FilterArg = None) -> int:
        return self.sync.count(collection, filter=filter)

    async def search(
        self,
        collection: str,
        *,
        vector: VectorLike | None = None,
        sparse: SparseVector | None = None,
        filter: FilterArg = None,
        k: int = 10,
        params: SearchParams | None = None,
        fusion: Fusion = Fusion.RRF,
        with_payload: bool = True,
        with_vectors: bool = False,
    ) -> list[Hit]:
        return self.sync.search(
            collection,
            vector=vector,
            sparse=sparse,
            filter=filter,
            k=k,
            params=params,
            fusion=fusion,
            with_payload=with_payload,
            with_vectors=with_vectors,
        )

    async def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        return self.sync.search_batch(collection, requests)

    async def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> AsyncIterator[Record]:
        for r in self.sync.scroll(
            collection, filter=filter, batch_size=batch_size, with_vectors=with_vectors
        ):
            yield r

    async def optimize(self, collection: str) -> None:
        self.sync.optimize(collection)

    async def close(self) -> None:
        self.sync.close()

    async def __aenter__(self) -> AsyncMemoryStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


__all__ = ["CAPABILITIES", "AsyncMemoryStore", "MemoryStore"]
