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

Edge's ``optimize`` holds Python's GIL for the whole build (every other thread of the process
stops), so the driver never runs it in-process: it flushes and closes the shard, builds in a
child Python process (:func:`build_index`) and reloads the shard. Calls on that collection wait
for the build; every other thread keeps running.

Search: a search without ``SearchParams(ef=...)`` gets the beam width :func:`default_ef` of the
collection's size (Qdrant's own default, the build's ``ef_construct``, loses recall as the
collection grows: 0.85 recall@10 at 100k low-rank 384-d points).

Edge has no async API: this driver is synchronous only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
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


#: The search beam width by collection size: ``(up to this many points, ef)``. Measured on
#: low-rank 384-d vectors at 10k, 100k and 300k (README, *Search defaults*): the ef reaching a
#: given recall doubles per tenfold (in-distribution and out-of-subspace queries), and a harder
#: set reported at 100k reached 0.954 only at ef 256; each step keeps recall@10 >= 0.95 with
#: margin there; at 1M, ef 768 measured 0.996-1.0 (adapters/qdrant/README.md, *1M x 384*).
EF_BY_SIZE: tuple[tuple[int, int], ...] = ((20_000, 128), (50_000, 256), (200_000, 384), (2_000_000, 768))
EF_LARGEST = 1024


def default_ef(points: int) -> int:
    """The HNSW beam width of a search that sets none, for a collection of ``points``."""
    return next((ef for size, ef in EF_BY_SIZE if points <= size), EF_LARGEST)


#: What the child process of :func:`build_index` runs: load the shard, build, persist.
_BUILD = "import sys, qdrant_edge as q; s = q.EdgeShard.load(sys.argv[1]); s.optimize(); s.flush(); s.close()"


def build_index(shard_dir: Path) -> None:
    """Run Edge's index build on the (closed) shard at ``shard_dir`` in a child Python process,
    so that the build, which holds the GIL while it runs, stops no thread of this one. The child
    sees this interpreter's ``sys.path``; a failure raises ``RuntimeError`` with its stderr."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run(
        [sys.executable, "-c", _BUILD, str(shard_dir)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        raise RuntimeError(f"the index build process exited with {proc.returncode}: {' | '.join(tail)}")


@dataclass
class _Collection:
    spec: CollectionSpec
    shard: Any
    indexed: int  # points indexed at the last build
    points: int  # points in the collection (after the last write)
    pending: int = 0  # points written since the last build
    builds: int = 0  # index builds run
    building: bool = False  # a build runs: the shard is closed, calls wait
    users: int = 0  # calls using the shard now


class _InUse:
    """The context of :meth:`QdrantEdgeDriver._use` (one lock round trip on each side; the
    waiting build is woken by the last call to leave)."""

    __slots__ = ("c", "driver", "spec")

    def __init__(self, driver: QdrantEdgeDriver, spec: CollectionSpec) -> None:
        self.driver, self.spec = driver, spec

    def __enter__(self) -> _Collection:
        d = self.driver
        with d._mutex:
            c = d._coll(self.spec)
            while c.building:
                d._cv.wait()
                c = d._coll(self.spec)
            c.users += 1
        self.c = c
        return c

    def __exit__(self, *exc: object) -> None:
        d, c = self.driver, self.c
        with d._mutex:
            c.users -= 1
            if c.building and not c.users:
                d._cv.notify_all()


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
        # Guards _colls and each collection's users/building: a build waits for the calls in
        # flight and holds off new ones while the shard is closed.
        self._mutex = threading.Lock()
        self._cv = threading.Condition(self._mutex)
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
        """The open collection, its shard loaded on first use (call with ``_cv`` held)."""
        c = self._colls.get(spec.name)
        if c is None:
            if self._closed:  # a scroll left running: never reopen a shard without the lock
                raise StoreClosedError(f"the Qdrant Edge store at {str(self.root)!r} is closed")
            shard = self.m.EdgeShard.load(str(self.root / spec.name / SHARD_DIR))
            n = int(shard.info().points_count)
            c = self._colls[spec.name] = _Collection(spec, shard, n, n)
        return c

    def _use(self, spec: CollectionSpec) -> _InUse:
        """``with self._use(spec) as c``: the open collection, once no index build holds its
        shard; a build waits until no call uses it."""
        return _InUse(self, spec)

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
        with self._cv:
            self._colls[spec.name] = _Collection(spec, shard, 0, 0)

    def drop_collection(self, name: str) -> bool:
        with self._cv:
            while (c := self._colls.get(name)) is not None and (c.building or c.users):
                self._cv.wait()
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
        # Chunk by chunk: the front validated the whole batch, so Edge takes every point, and
        # only one chunk of points exists at a time.
        with self._use(spec) as c:
            for points in self.point_chunks(records, vectors, self.options.batch):
                c.shard.update(self.m.UpdateOperation.upsert_points(points))
            c.pending += len(records)
            c.points = int(c.shard.info().points_count)
            due = self._due(c)
        if due:
            self._build(c, auto=True)

    def _due(self, c: _Collection) -> bool:
        """Whether ``auto_optimize`` asks for a build now."""
        auto = self.options.auto_optimize
        return bool(auto) and c.pending >= max(auto, c.indexed) and c.spec.index.kind is not IndexKind.FLAT

    def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Any) -> None:
        ops = self.m.UpdateOperation
        with self._use(spec) as c:
            if ids:
                c.shard.update(ops.delete_points(point_ids(list(dict.fromkeys(ids)))))
            if filter is not None:
                c.shard.update(ops.delete_points_by_filter(filter))
            c.points = int(c.shard.info().points_count)

    # -- reads -------------------------------------------------------------------------
    def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        wv = self.read_vectors(spec, with_vectors)
        with self._use(spec) as c:
            pts = c.shard.retrieve(point_ids(ids), with_payload=True, with_vector=wv)
        return self.records(pts, with_vectors)

    def count(self, spec: CollectionSpec, filter: Any) -> int:
        with self._use(spec) as c:
            return int(c.shard.count(self.m.CountRequest(exact=True, filter=filter)))

    def scroll(self, spec: CollectionSpec, filter: Any, cursor: Any, limit: int, with_vectors: bool) -> Page:
        wv = self.read_vectors(spec, with_vectors)
        req = self.m.ScrollRequest(
            offset=cursor, limit=limit, filter=filter, with_payload=True, with_vector=wv
        )
        with self._use(spec) as c:
            pts, after = c.shard.scroll(req)
        return self.page(pts, after, with_vectors)

    def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        with self._use(spec) as c:
            points = c.shard.query(self.request(spec, query, default_ef(c.points)))
        return self.hits(points, spec, query)

    def search_batch(self, spec: CollectionSpec, queries: Sequence[CheckedSearch]) -> list[list[Hit]]:
        with self._use(spec) as c:
            batch = self.m.QueryBatchRequest([self.request(spec, q, default_ef(c.points)) for q in queries])
            results = c.shard.query_batch(batch)
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
        """Build the HNSW index now, in a child process (:func:`build_index`)."""
        with self._cv:
            c = self._coll(spec)
        self._build(c)

    def _build(self, c: _Collection, *, auto: bool = False) -> None:
        """Close the shard, build its index in a child process, reload it. Calls on the
        collection wait meanwhile (not the process: the build holds no GIL of ours). An
        ``auto`` build that another one made unnecessary meanwhile does not run."""
        with self._cv:
            while c.building:  # one build at a time
                self._cv.wait()
            if self._colls.get(c.spec.name) is not c:
                raise StoreClosedError(f"collection {c.spec.name!r} was closed or dropped")
            if auto and not self._due(c):
                return
            c.building = True
            while c.users:
                self._cv.wait()
        path = self.root / c.spec.name / SHARD_DIR
        try:
            c.shard.flush()
            c.shard.close()
            try:
                build_index(path)
            finally:
                try:
                    c.shard = self.m.EdgeShard.load(str(path))
                except BaseException:
                    with self._cv:  # unusable: the next call loads the shard again
                        self._colls.pop(c.spec.name, None)
                    raise
            c.indexed = c.points = int(c.shard.info().points_count)
            c.pending = 0
            c.builds += 1
        finally:
            with self._cv:
                c.building = False
                self._cv.notify_all()

    def native_shard(self, name: str) -> Any:
        """The collection's ``qdrant_edge.EdgeShard``, for direct engine calls (benchmarks,
        features vecctx does not wrap). Points are stored with payload
        ``{"id": user id, "text": ..., "meta": {...}}`` and the vectors ``"dense"`` and
        ``"sparse"``; the driver keeps owning (and closes) the shard, and replaces it at each
        index build (``optimize``): ask again after one."""
        spec = self.collection_spec(name)
        if spec is None:
            raise CollectionNotFoundError(name)
        with self._use(spec) as c:
            return c.shard

    def flush(self) -> None:
        """Persist every open collection now (``close`` does it too)."""
        with self._cv:
            colls = list(self._colls.values())
        for coll in colls:
            with self._use(coll.spec) as c:
                c.shard.flush()

    def close(self) -> None:
        """Flush and close every shard, then release the directory lock (idempotent). Waits
        for an index build that is running."""
        with self._cv:
            self._closed = True
            while any(c.building for c in self._colls.values()):
                self._cv.wait()
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


__all__ = ["EDGE_CAPABILITIES", "QdrantEdgeDriver", "QdrantEdgeStore", "build_index", "default_ef"]
