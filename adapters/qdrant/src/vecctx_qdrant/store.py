"""The embedded default: Qdrant Edge (the Rust engine, in-process) in a directory.

Layout of a store directory::

    <root>/.vecctx.lock            one writer per directory (flock), else StoreLockedError
    <root>/<collection>/spec.json  the CollectionSpec (written last: its presence = exists)
    <root>/<collection>/shard/     the EdgeShard (WAL + segments)

Indexing: Edge builds no HNSW graph by itself (search is exact until then). ``optimize()``
builds it; ``upsert`` also runs it once ``auto_optimize`` points (default 50,000) wait
unindexed *and* at least as many as were indexed at the previous build, so repeated bulk loads
cost amortised O(n log n) and small collections (and the 20k-point benchmarks) never pay a build
inside ``upsert``. ``?auto_optimize=0`` turns this off.

Edge has no async API: this driver is synchronous only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vecctx.contract.driver import CheckedSearch, DriverBase, Page
from vecctx.contract.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    StoreClosedError,
    StoreLockedError,
    VecctxError,
)
from vecctx.contract.types import CollectionSpec, FloatArray, Hit, IndexKind, Record, is_collection_name
from vecctx.front import Store
from vecctx_qdrant._common import (
    DENSE,
    DISTANCE,
    PAYLOAD_SCHEMA,
    SPARSE,
    QdrantCore,
    capabilities_for,
    point_ids,
)
from vecctx_qdrant.config import EdgeOptions
from vecctx_qdrant.filters import EdgeFilterCompiler, payload_path

EDGE_CAPABILITIES = capabilities_for(EdgeOptions(Path("/")))  # the same for every directory
#: Batches up to this size are converted whole before the first write (all or nothing);
#: larger ones chunk by chunk, so memory stays bounded.
ATOMIC_UPSERT = 100_000
LOCK_FILE = ".vecctx.lock"
SPEC_FILE = "spec.json"
SHARD_DIR = "shard"


def _lock(root: Path) -> int | None:
    """An exclusive, non-blocking lock on ``<root>/.vecctx.lock`` (per open file, so a second
    store in the same process is refused too): the descriptor whose closing drops it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: Edge's own WAL lock still applies
        return None
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        raise StoreLockedError(str(root), f"{LOCK_FILE} is held: {exc.strerror}") from exc
    return fd


@dataclass
class _Collection:
    spec: CollectionSpec
    shard: Any
    indexed: int  # points indexed at the last build
    pending: int = 0  # points written since


class QdrantEdgeDriver(QdrantCore[EdgeOptions], DriverBase):
    """The Qdrant Edge driver: one ``EdgeShard`` per collection under ``options.path``, which
    it locks for its lifetime."""

    capabilities = EDGE_CAPABILITIES

    def __init__(self, options: EdgeOptions) -> None:
        import qdrant_edge

        self.m: Any = qdrant_edge
        self.options = options
        self.root = options.path
        self.target = options.url
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the store directory {str(self.root)!r}: {exc}") from exc
        self._lock: int | None = _lock(self.root)
        self._colls: dict[str, _Collection] = {}
        self._closed = False
        self.compiler = EdgeFilterCompiler()

    def translate(self, exc: Exception, action: str, collection: str | None) -> VecctxError:
        where = (self._dir(collection) if collection else None) or self.root
        msg = str(exc)
        if "WouldBlock" in msg or "Resource temporarily unavailable" in msg or "already in use" in msg:
            return StoreLockedError(str(where), f"Qdrant Edge: {msg}")
        return BackendError(f"Qdrant Edge {action} failed at {str(where)!r}: {msg}", exc)

    def _dir(self, name: str) -> Path | None:
        """The collection's directory, ``None`` for a name that cannot be one (``../x``)."""
        return self.root / name if is_collection_name(name) else None

    def _coll(self, spec: CollectionSpec) -> _Collection:
        """The open collection, its shard loaded on first use."""
        c = self._colls.get(spec.name)
        if c is None:
            if self._closed:  # a scroll left running: never reopen a shard without the lock
                raise StoreClosedError(f"the Qdrant Edge store at {str(self.root)!r} is closed")
            shard = self.m.EdgeShard.load(str(self.root / spec.name / SHARD_DIR))
            c = self._colls[spec.name] = _Collection(spec, shard, int(shard.info().points_count))
        return c

    # -- collections -------------------------------------------------------------------
    def collection_spec(self, name: str) -> CollectionSpec | None:
        if name in self._colls:
            return self._colls[name].spec
        d = self._dir(name)
        if d is None or not (d / SPEC_FILE).is_file():
            return None
        try:
            return self.read_spec(json.loads((d / SPEC_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {str(d / SPEC_FILE)!r}: {exc}") from exc

    def list_collections(self) -> list[str]:
        return [p.name for p in self.root.iterdir() if self._dir(p.name) and (p / SPEC_FILE).is_file()]

    def create_collection(self, spec: CollectionSpec) -> None:
        stored = self.stored_spec(spec)
        d = self.root / spec.name
        if d.exists():  # left over by a create that did not finish
            shutil.rmtree(d)
        qe, opts = self.m, self.options
        dense = qe.EdgeVectorParams(size=spec.dimension, distance=getattr(qe.Distance, DISTANCE[spec.metric]))
        sparse = qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf if opts.idf else None)
        hnsw = qe.HnswIndexConfig(
            m=spec.index.m, ef_construct=spec.index.ef_construct, full_scan_threshold=10_000
        )
        config = qe.EdgeConfig(
            vectors={DENSE: dense},
            sparse_vectors={SPARSE: sparse} if spec.sparse else None,
            hnsw_config=hnsw,
            max_search_threads=opts.search_threads,
        )
        shard = qe.EdgeShard.create(str(d / SHARD_DIR), config)
        try:
            for key, ftype in spec.indexed_fields.items():
                schema = getattr(qe.PayloadSchemaType, PAYLOAD_SCHEMA[ftype.value].capitalize())
                shard.update(qe.UpdateOperation.create_field_index(payload_path(key), schema))
            shard.flush()
            tmp = d / (SPEC_FILE + ".tmp")
            tmp.write_text(json.dumps(stored, indent=2, sort_keys=True))
            os.replace(tmp, d / SPEC_FILE)
        except BaseException:
            shard.close()
            shutil.rmtree(d, ignore_errors=True)
            raise
        self._colls[spec.name] = _Collection(spec, shard, 0)

    def drop_collection(self, name: str) -> bool:
        c = self._colls.pop(name, None)
        if c is not None:
            c.shard.close()
        d = self._dir(name)
        if d is None or not d.exists():
            return False
        shutil.rmtree(d)
        return True

    # -- writes ------------------------------------------------------------------------
    def point(self, pid: str, vectors: dict[str, Any], body: dict[str, Any]) -> Any:
        try:
            return self.m.Point(pid, vectors, body)
        except TypeError:  # Edge takes only plain dicts and lists: convert other mappings
            return self.m.Point(pid, vectors, _plain(body))

    def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        c = self._coll(spec)
        chunks: Iterable[list[Any]] = self.point_chunks(records, vectors, self.options.batch)
        if len(records) <= ATOMIC_UPSERT:
            # Build every point before the first write: a record Edge refuses after validation
            # (e.g. a lone surrogate in a string) fails the whole batch with nothing written.
            chunks = list(chunks)
        for points in chunks:
            c.shard.update(self.m.UpdateOperation.upsert_points(points))
        c.pending += len(records)
        auto = self.options.auto_optimize
        if auto and c.pending >= max(auto, c.indexed) and spec.index.kind is not IndexKind.FLAT:
            self._optimize(c)

    def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Any) -> None:
        c, ops = self._coll(spec), self.m.UpdateOperation
        if ids:
            c.shard.update(ops.delete_points(point_ids(list(dict.fromkeys(ids)))))
        if filter is not None:
            c.shard.update(ops.delete_points_by_filter(filter))

    # -- reads -------------------------------------------------------------------------
    def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        wv = self.read_vectors(spec, with_vectors)
        pts = self._coll(spec).shard.retrieve(point_ids(ids), with_payload=True, with_vector=wv)
        return self.records(pts, with_vectors)

    def count(self, spec: CollectionSpec, filter: Any) -> int:
        return int(self._coll(spec).shard.count(self.m.CountRequest(exact=True, filter=filter)))

    def scroll(self, spec: CollectionSpec, filter: Any, cursor: Any, limit: int, with_vectors: bool) -> Page:
        wv = self.read_vectors(spec, with_vectors)
        req = self.m.ScrollRequest(
            offset=cursor, limit=limit, filter=filter, with_payload=True, with_vector=wv
        )
        pts, after = self._coll(spec).shard.scroll(req)
        return self.page(pts, after, with_vectors)

    def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        return self.hits(self._coll(spec).shard.query(self.request(spec, query)), spec, query)

    def search_batch(self, spec: CollectionSpec, queries: Sequence[CheckedSearch]) -> list[list[Hit]]:
        batch = self.m.QueryBatchRequest([self.request(spec, q) for q in queries])
        results = self._coll(spec).shard.query_batch(batch)
        return [self.hits(pts, spec, q) for pts, q in zip(results, queries, strict=True)]

    def nearest(
        self, make: Any, vector: Any, using: str, params: Any, limit: int, filter: Any, **kw: Any
    ) -> Any:
        return make(
            query=self.m.Query.Nearest(vector, using=using), params=params, limit=limit, filter=filter, **kw
        )

    def fused(self, prefetch: list[Any], rrf_k: int | None, **kw: Any) -> Any:
        fusion = self.m.Fusion.Dbsf() if rrf_k is None else self.m.Fusion.Rrf(k=rrf_k)
        return self.m.QueryRequest(query=fusion, prefetches=prefetch, **kw)

    # -- maintenance -------------------------------------------------------------------
    def optimize(self, spec: CollectionSpec) -> None:
        self._optimize(self._coll(spec))

    def _optimize(self, c: _Collection) -> None:
        c.shard.optimize()
        c.indexed, c.pending = int(c.shard.info().points_count), 0

    def native_shard(self, name: str) -> Any:
        """The collection's ``qdrant_edge.EdgeShard``, for direct engine calls (benchmarks,
        features vecctx does not wrap). Points are stored with payload
        ``{"id": user id, "text": ..., "meta": {...}}`` and the vectors ``"dense"`` and
        ``"sparse"``; the driver keeps owning (and closes) the shard."""
        spec = self.collection_spec(name)
        if spec is None:
            raise CollectionNotFoundError(name)
        return self._coll(spec).shard

    def flush(self) -> None:
        """Persist every open collection now (``close`` does it too)."""
        for c in self._colls.values():
            c.shard.flush()

    def close(self) -> None:
        """Flush and close every shard, then release the directory lock (idempotent)."""
        self._closed = True
        colls, self._colls = list(self._colls.values()), {}
        errors: list[Exception] = []
        for c in colls:
            try:
                c.shard.flush()
                c.shard.close()
            except Exception as exc:  # close everything, then report the first failure
                errors.append(exc)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
        if errors:
            raise errors[0]

    def __del__(self) -> None:  # a store dropped without close() must not keep the lock
        with contextlib.suppress(Exception):
            self.close()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


class QdrantEdgeStore(Store):
    """vecctx store on embedded Qdrant Edge. Open it with ``vecctx.connect("qdrant:///path")``."""

    def __init__(self, options: EdgeOptions) -> None:
        super().__init__(QdrantEdgeDriver(options))


__all__ = ["EDGE_CAPABILITIES", "QdrantEdgeDriver", "QdrantEdgeStore"]
