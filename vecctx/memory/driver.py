"""The exact in-memory reference store (``memory://``).

Vectorised numpy brute force, every filter operator (by the reference evaluator in
:mod:`vecctx.contract.filters`), sparse dot products, native RRF/DBSF fusion and exact top-k with
deterministic tie-breaking (score, then id). Every adapter is compared with it and the
benchmarks use it as ground truth.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vecctx.contract.driver import CheckedSearch, DriverBase, InProcessAsyncDriver, Page
from vecctx.contract.errors import CollectionNotFoundError
from vecctx.contract.filters import Filter
from vecctx.contract.store import Capabilities, Fusion, HybridSupport
from vecctx.contract.types import (
    CollectionSpec,
    FloatArray,
    Hit,
    Metric,
    Record,
    ScoreKind,
    SparseVector,
    relevance_array,
    score_kind,
)
from vecctx.front import AsyncStore, Store
from vecctx.retrieval.fusion import dbsf, rrf

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


class MemoryDriver(DriverBase):
    """The exact reference backend as a driver. Not persistent; thread-compatible, not
    thread-safe."""

    target = "memory://"

    def __init__(self) -> None:
        self._collections: dict[str, _Collection] = {}

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def compile_filter(self, spec: CollectionSpec, flt: Filter) -> Filter:
        return flt  # the reference evaluator runs the filter itself

    # -- collections -------------------------------------------------------------------
    def _coll(self, name: str) -> _Collection:
        try:
            return self._collections[name]
        except KeyError:
            raise CollectionNotFoundError(name) from None

    def collection_spec(self, name: str) -> CollectionSpec | None:
        c = self._collections.get(name)
        return c.spec if c is not None else None

    def list_collections(self) -> list[str]:
        return list(self._collections)

    def create_collection(self, spec: CollectionSpec) -> None:
        self._collections[spec.name] = _Collection(spec)

    def drop_collection(self, name: str) -> bool:
        return self._collections.pop(name, None) is not None

    # -- writes ------------------------------------------------------------------------
    def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        c = self._coll(spec.name)
        matrix = _normalise(vectors) if c.spec.metric is Metric.COSINE else vectors
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

    def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Filter | None) -> None:
        c = self._coll(spec.name)
        doomed = set(ids) if ids is not None else set()
        if filter is not None:
            doomed.update(i for i, m in zip(c.ids, c.metas, strict=True) if filter.matches(m))
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
    def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        c = self._coll(spec.name)
        return [self._record(c, c.pos[i], with_vectors) for i in ids if i in c.pos]

    def count(self, spec: CollectionSpec, filter: Filter | None) -> int:
        c = self._coll(spec.name)
        if filter is None:
            return len(c.ids)
        return sum(1 for m in c.metas if filter.matches(m))

    def scroll(
        self, spec: CollectionSpec, filter: Filter | None, cursor: Any, limit: int, with_vectors: bool
    ) -> Page:
        c = self._coll(spec.name)
        rows = [r for r in range(len(c.ids)) if filter is None or filter.matches(c.metas[r])]
        start = int(cursor or 0)
        page = [self._record(c, r, with_vectors) for r in rows[start : start + limit]]
        return Page(page, start + limit if start + limit < len(rows) else None)

    def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        c = self._coll(spec.name)
        mask = self._mask(c, query.filter)
        q, sparse, k = query.vector, query.sparse, query.k
        if q is not None and sparse is not None:
            depth = query.prefetch_k
            lists = [self._dense(c, q, mask, depth), self._sparse(c, sparse, mask, depth)]
            ranked = [self._hits(c, item, item[1], False, False) for item in lists]
            fused = rrf(ranked, k=k, rrf_k=query.rrf_k) if query.fusion is Fusion.RRF else dbsf(ranked, k=k)
            return [self._fill(c, h, query.with_payload, query.with_vectors) for h in fused]
        if q is not None:
            rows, kind = self._dense(c, q, mask, k)
        else:
            assert sparse is not None
            rows, kind = self._sparse(c, sparse, mask, k)
        return self._hits(c, (rows, kind), kind, query.with_payload, query.with_vectors)

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


class MemoryStore(Store):
    """The exact in-memory reference store (``memory://``)."""

    def __init__(self) -> None:
        super().__init__(MemoryDriver())


class AsyncMemoryStore(AsyncStore):
    """The in-memory reference store behind the async front; ``AsyncMemoryStore(store)``
    shares the collections of a synchronous :class:`MemoryStore`."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        driver = store.driver if store is not None else MemoryDriver()
        assert isinstance(driver, MemoryDriver)
        super().__init__(InProcessAsyncDriver(driver))


__all__ = ["CAPABILITIES", "AsyncMemoryStore", "MemoryDriver", "MemoryStore"]
