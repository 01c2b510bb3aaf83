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
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from vecctx.base import StoreBase, check_compatible
from vecctx.batch import record_columns
from vecctx.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    InvalidInputError,
    StoreLockedError,
    VecctxError,
)
from vecctx.filters import Filter, as_filter
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
    FieldType,
    FloatArray,
    Hit,
    IndexKind,
    Metadata,
    Metric,
    Record,
    ScoreKind,
    SparseVector,
    VectorLike,
)
from vecctx.validation import MAX_K, validate_ids, validate_records, validate_search, validate_vector
from vecctx_qdrant._common import (
    DENSE,
    ID_KEY,
    META_KEY,
    SPARSE,
    TEXT_KEY,
    check_index_kind,
    dump_spec,
    fast_dense_args,
    hit_builder,
    order_records,
    payload,
    payload_of,
    point_ids,
    prefetch_depth,
    result_kind,
    spec_from_json,
    to_hits,
    to_record,
)
from vecctx_qdrant.config import EdgeOptions
from vecctx_qdrant.filters import FilterCompiler, edge_compiler, payload_path

EDGE_CAPABILITIES = Capabilities(
    name="qdrant-edge",
    sparse=True,
    hybrid=HybridSupport.NATIVE,
    fusions=frozenset(Fusion),
    exact_search=True,
    approximate=True,
    async_native=False,
    max_batch=None,
    persistent=True,
)

#: Batches up to this size are converted whole before the first write (all or nothing);
#: larger ones chunk by chunk, so memory stays bounded.
ATOMIC_UPSERT = 100_000
LOCK_FILE = ".vecctx.lock"
SPEC_FILE = "spec.json"
SHARD_DIR = "shard"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_new = object.__new__
#: Buffer formats of native-order float32 and float64 arrays, the express lane's queries
#: (memoryview cannot read float16 items: those take the general path).
_FLOATS = ("f", "d")


class _Lock:
    """An exclusive, non-blocking lock on ``<root>/.vecctx.lock`` (per open file, so a second
    store in the same process is refused too)."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_FILE
        self._fd: int | None = None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: Edge's own WAL lock still applies
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise StoreLockedError(str(root), f"{LOCK_FILE} is held: {exc.strerror}") from exc
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


class _Collection:
    """Per-collection state, precomputed once so the hot path only builds the request."""

    __slots__ = (
        "cosine",
        "dim",
        "dir",
        "express",
        "flat",
        "hits",
        "idf",
        "indexed",
        "kind",
        "params",
        "pending",
        "shard",
        "spec",
        "with_vector_get",
    )

    def __init__(self, spec: CollectionSpec, shard: Any, path: Path, idf: bool, points: int) -> None:
        self.spec = spec
        self.shard = shard
        self.dir = path
        self.idf = idf
        self.kind = result_kind(spec, True, False, Fusion.RRF)
        self.flat = spec.index.kind is IndexKind.FLAT
        self.dim = spec.dimension
        self.cosine = self.kind is ScoreKind.COSINE
        #: Whether plain dense queries take the express lane of ``search`` (not for a FLAT
        #: index, which always searches exactly and takes the general path).
        self.express = not self.flat
        #: Hits from the points of a plain dense query, for the metrics other than cosine
        #: (the express lane inlines cosine).
        self.hits: Callable[[list[Any]], list[Hit] | None] = hit_builder(self.kind)
        self.pending = 0
        self.indexed = points
        self.params: dict[tuple[int | None, bool], Any] = {}
        self.with_vector_get: Any = [SPARSE] if spec.sparse else False


class QdrantEdgeStore(StoreBase):
    """vecctx store on embedded Qdrant Edge. Open it with ``vecctx.connect("qdrant:///path")``."""

    def __init__(self, options: EdgeOptions) -> None:
        import qdrant_edge

        self._qe: ModuleType = qdrant_edge
        self.options = options
        self.root = options.path
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the store directory {str(self.root)!r}: {exc}") from exc
        self._lock = _Lock(self.root)
        self._colls: dict[str, _Collection] = {}
        self._compile: FilterCompiler[Any] = edge_compiler()
        qe = self._qe
        self._id_only = qe.PayloadSelector.Include([ID_KEY])
        self._exact_params = qe.SearchParams(exact=True)
        self._query_request = qe.QueryRequest
        self._nearest = qe.Query.Nearest

    # -- plumbing ----------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        return EDGE_CAPABILITIES

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"QdrantEdgeStore({self.options.url!r}, {state})"

    def _dir(self, name: str) -> Path | None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            return None
        return self.root / name

    def _coll(self, name: str) -> _Collection:
        c = self._colls.get(name)
        if c is not None:
            return c
        self._check_open()
        d = self._dir(name)
        if d is None or not (d / SPEC_FILE).is_file():
            raise CollectionNotFoundError(name)
        spec, idf = self._read_spec(d)
        shard = self._call(lambda: self._qe.EdgeShard.load(str(d / SHARD_DIR)), "load", d)
        points = int(self._call(lambda: shard.info().points_count, "info", d))
        c = _Collection(spec, shard, d, idf, points)
        self._colls[name] = c
        return c

    @staticmethod
    def _read_spec(d: Path) -> tuple[CollectionSpec, bool]:
        try:
            data = json.loads((d / SPEC_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {str(d / SPEC_FILE)!r}: {exc}") from exc
        return spec_from_json(data)

    def _call(self, fn: Any, what: str, where: Path | None = None) -> Any:
        try:
            return fn()
        except VecctxError:
            raise
        except Exception as exc:
            raise _wrap(exc, what, where or self.root) from exc

    # -- collections -------------------------------------------------------------------
    def create_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        check_index_kind(spec)
        if not isinstance(spec, CollectionSpec):
            raise InvalidInputError("create_collection takes a CollectionSpec")
        d = self._dir(spec.name)
        assert d is not None  # CollectionSpec validated the name
        if spec.name in self._colls or (d / SPEC_FILE).is_file():
            raise ConfigError(f"collection {spec.name!r} already exists")
        for key in spec.indexed_fields:
            payload_path(key)  # raises before any I/O for keys Qdrant cannot address
        if d.exists():  # left over by a create that did not finish
            shutil.rmtree(d)
        qe = self._qe
        opts = self.options
        hnsw = qe.HnswIndexConfig(
            m=spec.index.m, ef_construct=spec.index.ef_construct, full_scan_threshold=10_000
        )
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=spec.dimension, distance=_DISTANCE[spec.metric](qe))},
            sparse_vectors=(
                {SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf if opts.idf else None)}
                if spec.sparse
                else None
            ),
            hnsw_config=hnsw,
            max_search_threads=opts.search_threads,
        )
        shard_dir = d / SHARD_DIR
        shard = self._call(lambda: qe.EdgeShard.create(str(shard_dir), config), "create", d)
        try:
            for key, ftype in spec.indexed_fields.items():
                op = qe.UpdateOperation.create_field_index(payload_path(key), _SCHEMA[ftype](qe))
                self._call(lambda op=op: shard.update(op), "create_field_index", d)
            self._call(shard.flush, "flush", d)
            tmp = d / (SPEC_FILE + ".tmp")
            tmp.write_text(dump_spec(spec, idf=opts.idf), encoding="utf-8")
            os.replace(tmp, d / SPEC_FILE)
        except BaseException:
            shard.close()
            shutil.rmtree(d, ignore_errors=True)
            raise
        self._colls[spec.name] = _Collection(spec, shard, d, opts.idf, 0)

    def ensure_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        if self.has_collection(spec.name):
            check_compatible(self.collection_spec(spec.name), spec)
        else:
            self.create_collection(spec)

    def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self._check_open()
        d = self._dir(name)
        c = self._colls.pop(name, None)
        if c is not None:
            self._call(c.shard.close, "close", c.dir)
        if d is None or not d.exists():
            if missing_ok:
                return
            raise CollectionNotFoundError(name)
        shutil.rmtree(d)

    def has_collection(self, name: str) -> bool:
        self._check_open()
        if name in self._colls:
            return True
        d = self._dir(name)
        return d is not None and (d / SPEC_FILE).is_file()

    def list_collections(self) -> list[str]:
        self._check_open()
        return sorted(
            p.name for p in self.root.iterdir() if _NAME.fullmatch(p.name) and (p / SPEC_FILE).is_file()
        )

    def collection_spec(self, name: str) -> CollectionSpec:
        return self._coll(name).spec

    def native_shard(self, name: str) -> Any:
        """The collection's ``qdrant_edge.EdgeShard``, for direct engine calls (benchmarks,
        features vecctx does not wrap). Points are stored with payload
        ``{"id": user id, "text": ..., "meta": {...}}`` and the vectors ``"dense"`` and
        ``"sparse"``; the store keeps owning (and closes) the shard."""
        return self._coll(name).shard

    # -- writes ------------------------------------------------------------------------
    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        c = self._coll(collection)
        matrix = validate_records(records, c.spec)
        n = len(records)
        if n == 0:
            return
        step = self.options.batch
        starts = range(0, n, step)
        write = self._write
        if n <= ATOMIC_UPSERT:
            # Build every point before the first write: a record Edge refuses after validation
            # (e.g. a lone surrogate in a string) fails the whole batch with nothing written.
            for points in [self._points(c, records, matrix, i, min(i + step, n)) for i in starts]:
                write(c, points)
        else:  # bounded memory: build and write chunk by chunk
            for i in starts:
                write(c, self._points(c, records, matrix, i, min(i + step, n)))
        c.pending += n
        auto = self.options.auto_optimize
        if auto and c.pending >= max(auto, c.indexed) and not c.flat:
            self._optimize(c)

    def _points(
        self, c: _Collection, records: Sequence[Record], matrix: FloatArray, start: int, stop: int
    ) -> list[Any]:
        """Edge points for ``records[start:stop]``, built column by column (a ``RecordBatch``
        gives its columns as they are): the vectors go to Python lists once per chunk (a list
        of 384 floats is what Edge converts fastest), the ids are hashed per chunk
        (:func:`point_ids`), and the payload layout of :func:`payload_of` is inlined."""
        Point = self._qe.Point
        rows = matrix[start:stop].tolist()
        ids, texts, metas, sparse = record_columns(records, start, stop)
        pids = point_ids(ids)
        try:
            try:
                if c.spec.sparse:
                    return self._sparse_points(ids, texts, metas, sparse, rows, pids)
                return [
                    Point(pid, {DENSE: row},
                          {ID_KEY: rid, META_KEY: meta} if text is None
                          else {ID_KEY: rid, TEXT_KEY: text, META_KEY: meta})
                    for rid, text, meta, row, pid in zip(ids, texts, metas, rows, pids, strict=True)
                ]  # fmt: skip
            except TypeError:
                # Edge takes only plain dicts and lists: convert other mappings (rare) and retry.
                return [
                    _point(Point, pid, {DENSE: row}, payload_of(r))
                    for r, row, pid in zip(records[start:stop], rows, pids, strict=True)
                ]
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInputError(f"a record cannot be stored in Qdrant Edge: {exc}") from exc

    def _sparse_points(
        self,
        ids: Sequence[str],
        texts: Iterable[str | None],
        metas: Iterable[Metadata],
        sparse: Iterable[SparseVector | None],
        rows: list[Any],
        pids: list[str],
    ) -> list[Any]:
        qe = self._qe
        Point, SV = qe.Point, qe.SparseVector
        points = []
        for rid, text, meta, sp, row, pid in zip(ids, texts, metas, sparse, rows, pids, strict=True):
            vec: dict[str, Any] = {DENSE: row}
            if sp is not None:
                vec[SPARSE] = SV(list(sp.indices), list(sp.values))
            points.append(_point(Point, pid, vec, payload(rid, text, meta)))
        return points

    def _write(self, c: _Collection, points: list[Any]) -> None:
        op = self._qe.UpdateOperation.upsert_points(points)
        try:
            c.shard.update(op)
        except Exception as exc:
            raise _wrap(exc, "upsert", c.dir) from exc

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None) -> None:
        c = self._coll(collection)
        flt = as_filter(filter)
        wanted = validate_ids(ids) if ids is not None else []
        native = self._compile(flt) if flt is not None else None
        UO = self._qe.UpdateOperation
        if wanted:
            pids = point_ids(list(dict.fromkeys(wanted)))
            self._call(lambda: c.shard.update(UO.delete_points(pids)), "delete", c.dir)
        if native is not None:
            self._call(lambda: c.shard.update(UO.delete_points_by_filter(native)), "delete", c.dir)

    # -- reads -------------------------------------------------------------------------
    def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        c = self._coll(collection)
        wanted = validate_ids(ids)
        if not wanted:
            return []
        uniq = list(dict.fromkeys(wanted))
        wv = True if with_vectors else c.with_vector_get
        pts = self._call(
            lambda: c.shard.retrieve(point_ids(uniq), with_payload=True, with_vector=wv),
            "retrieve",
            c.dir,
        )
        return order_records((to_record(p, with_vectors=with_vectors) for p in pts), wanted)

    def count(self, collection: str, *, filter: FilterArg = None) -> int:
        c = self._coll(collection)
        flt = as_filter(filter)
        req = self._qe.CountRequest(exact=True, filter=self._compile(flt) if flt is not None else None)
        return int(self._call(lambda: c.shard.count(req), "count", c.dir))

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
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")
        native = self._compile(flt) if flt is not None else None
        return self._scroll(c, native, batch_size, with_vectors)

    def _scroll(self, c: _Collection, native: Any, batch_size: int, with_vectors: bool) -> Iterator[Record]:
        qe = self._qe
        wv = True if with_vectors else c.with_vector_get
        offset: Any = None
        while True:
            req = qe.ScrollRequest(
                offset=offset, limit=batch_size, filter=native, with_payload=True, with_vector=wv
            )
            self._check_open()
            pts, offset = self._call(lambda req=req: c.shard.scroll(req), "scroll", c.dir)
            for p in pts:
                yield to_record(p, with_vectors=with_vectors)
            if offset is None or not pts:
                return

    def optimize(self, collection: str) -> None:
        self._optimize(self._coll(collection))

    def _optimize(self, c: _Collection) -> None:
        self._call(c.shard.optimize, "optimize", c.dir)
        c.indexed = int(self._call(lambda: c.shard.info().points_count, "info", c.dir))
        c.pending = 0

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
        c = self._colls.get(collection)
        if (  # express lane for the most common calls: same checks, fewer Python frames
            c is not None
            and params is None
            and sparse is None
            and with_payload is True
            and with_vectors is False
            and type(vector) is np.ndarray
            and type(k) is int
            and 0 < k <= MAX_K
            and c.express
            and (filter is None or isinstance(filter, Filter))
        ):
            # A 1-D float32 or float64 array of the collection's size (Edge rounds to float32 as
            # numpy would); anything else takes the general path, which validates.
            # Edge reads the query as any sequence of floats: a memoryview of the array, read
            # element by element, spares the list of ``dim`` float objects that ``tolist``
            # builds (callgrind at 20k: 26 k fewer instructions and 29 k fewer estimated
            # cycles a query, three quarters of what vecctx added to a search).
            try:
                values: memoryview | None = memoryview(vector)  # type: ignore[arg-type]  # numpy stubs: Buffer from 3.12
            except (TypeError, ValueError, BufferError):  # e.g. an object array
                values = None
            if values is not None and values.ndim == 1 and len(values) == c.dim and values.format in _FLOATS:
                # Every temporary (the view, the query, the request) is freed as soon as it has
                # been used, exactly when a native caller's inline temporaries are: held until
                # the hits were built, they cost 10-15 us a query at 20k (paired A/B), as the
                # results then cannot reuse their cache-warm memory.
                try:
                    near = self._nearest(values, using=DENSE)
                    del values
                    if filter is None:
                        req = self._query_request(limit=k, query=near, with_payload=True)
                    else:  # compiled once per filter (cached), as a native caller would
                        req = self._query_request(
                            limit=k, query=near, filter=self._compile(filter), with_payload=True
                        )
                    del near
                    pts = c.shard.query(req)
                    del req
                except Exception:
                    pts = None  # the general path below validates, retries and wraps the error
                hits: list[Hit] | None
                if not pts:
                    hits = pts
                elif c.cosine:
                    # The default metric, inlined (one frame less: ~2.5 us less a query here);
                    # the other metrics use ``hit_builder``. Both build each hit by storing its
                    # slots (``Hit(...)`` would enter the dataclass ``__init__`` through the C
                    # type call: 7 k more instructions a query, by callgrind).
                    hits = []
                    kind = c.kind
                    for pt in pts:
                        pl = pt.payload
                        sc = pt.score
                        rel = (1.0 + sc) * 0.5
                        h = _new(Hit)
                        if 0.0 <= rel <= 1.0:  # also False for NaN
                            h.relevance = rel
                        elif sc - sc == 0.0:  # rounding just outside [-1, 1]
                            h.relevance = 1.0 if rel > 1.0 else 0.0
                        else:
                            hits = None
                            break
                        h.id = pl[ID_KEY]
                        h.score = sc
                        h.kind = kind
                        h.text = pl.get(TEXT_KEY)
                        h.metadata = pl[META_KEY]
                        h.vector = None
                        h.sparse = None
                        hits.append(h)
                else:
                    hits = c.hits(pts)
                if hits:
                    return hits
                # A non-finite score (None: an infinite query) or no hit: an empty collection,
                # no match, or a NaN query whose scores Edge dropped. Only a finite query may
                # return here; the general path's validation raises the precise error.
                if hits is not None:
                    validate_vector(vector, c.dim)  # raises for a NaN or infinite float32 value
                    return hits
        return self._search(collection, vector, sparse, filter, k, params, fusion, with_payload, with_vectors)

    def _search(
        self,
        collection: str,
        vector: VectorLike | None,
        sparse: SparseVector | None,
        filter: FilterArg,
        k: int,
        params: SearchParams | None,
        fusion: Fusion,
        with_payload: bool,
        with_vectors: bool,
    ) -> list[Hit]:
        """The general path: every argument validated, every request shape."""
        c = self._coll(collection)
        fast = fast_dense_args(c.spec.dimension, vector, k, filter, params) if sparse is None else None
        dense: list[float] | None
        if fast is not None:
            dense, flt, p = fast
        else:
            q, flt, p = validate_search(
                c.spec, vector=vector, sparse=sparse, filter=filter, k=k, params=params
            )
            dense = q.tolist() if q is not None else None
        req, kind = self._request(c, dense, sparse, flt, k, p, fusion, with_payload, with_vectors)
        try:
            pts = c.shard.query(req)
        except Exception as exc:
            raise _wrap(exc, "query", c.dir) from exc
        return to_hits(pts, kind, with_payload=with_payload, with_vectors=with_vectors, rrf_k=p.rrf_k)

    def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        c = self._coll(collection)
        built = []
        for r in requests:
            if not isinstance(r, SearchRequest):
                raise InvalidInputError(f"search_batch takes SearchRequest objects, got {type(r).__name__}")
            q, flt, p = validate_search(
                c.spec, vector=r.vector, sparse=r.sparse, filter=r.filter, k=r.k, params=r.params
            )
            dense = q.tolist() if q is not None else None
            req, kind = self._request(
                c, dense, r.sparse, flt, r.k, p, r.fusion, r.with_payload, r.with_vectors
            )
            built.append((req, kind, r, p))
        if not built:
            return []
        batch = self._qe.QueryBatchRequest([b[0] for b in built])
        results = self._call(lambda: c.shard.query_batch(batch), "query_batch", c.dir)
        return [
            to_hits(pts, kind, with_payload=r.with_payload, with_vectors=r.with_vectors, rrf_k=p.rrf_k)
            for pts, (_, kind, r, p) in zip(results, built, strict=True)
        ]

    def _request(
        self,
        c: _Collection,
        dense: list[float] | None,
        sparse: SparseVector | None,
        flt: Filter | None,
        k: int,
        p: SearchParams,
        fusion: Fusion,
        with_payload: bool,
        with_vectors: bool,
    ) -> tuple[Any, ScoreKind]:
        """The Edge ``QueryRequest``. Only the arguments that differ from Edge's defaults are
        passed (each keyword costs PyO3 parsing time on the hot path)."""
        qe = self._qe
        native = self._compile(flt) if flt is not None else None
        exact = p.exact or c.flat
        if p.ef is None:
            params = self._exact_params if exact else None
        else:
            params = c.params.get((p.ef, exact))
            if params is None:
                params = c.params[(p.ef, exact)] = qe.SearchParams(hnsw_ef=p.ef, exact=exact)
        if sparse is None:
            assert dense is not None
            near = self._nearest(dense, using=DENSE)
            if native is None and params is None and with_payload and not with_vectors:
                return self._query_request(limit=k, query=near, with_payload=True), c.kind
            req = self._query_request(
                limit=k,
                query=near,
                filter=native,
                params=params,
                with_payload=True if with_payload else self._id_only,
                with_vector=with_vectors,
            )
            return req, c.kind
        wp = True if with_payload else self._id_only
        sv = self._nearest(qe.SparseVector(list(sparse.indices), list(sparse.values)), using=SPARSE)
        if dense is None:
            req = qe.QueryRequest(limit=k, query=sv, filter=native, with_payload=wp, with_vector=with_vectors)
            return req, ScoreKind.SPARSE_DOT
        depth = prefetch_depth(k, p.prefetch_k)
        prefetches = [
            qe.Prefetch(limit=depth, query=self._nearest(dense, using=DENSE), params=params, filter=native),
            qe.Prefetch(limit=depth, query=sv, filter=native),
        ]
        # Qdrant ranks from 0 in 1 / (k + rank); vecctx ranks from 1: shift k by one.
        fq = qe.Fusion.Rrf(k=p.rrf_k + 1) if fusion is Fusion.RRF else qe.Fusion.Dbsf()
        req = qe.QueryRequest(
            limit=k, query=fq, prefetches=prefetches, with_payload=wp, with_vector=with_vectors
        )
        return req, result_kind(c.spec, True, True, fusion)

    # -- lifecycle ---------------------------------------------------------------------
    def flush(self) -> None:
        """Persist every open collection now (``close`` does it too)."""
        self._check_open()
        for c in self._colls.values():
            self._call(c.shard.flush, "flush", c.dir)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        errors: list[BaseException] = []
        for c in self._colls.values():
            try:
                c.shard.flush()
                c.shard.close()
            except Exception as exc:  # close everything, then report the first failure
                errors.append(exc)
        self._colls.clear()
        self._lock.release()
        if errors:
            raise _wrap(errors[0], "close", self.root) from errors[0]

    def __del__(self) -> None:  # a store dropped without close() must not keep the lock
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass


def _point(Point: Any, pid: str, vec: dict[str, Any], payload: dict[str, Any]) -> Any:
    try:
        return Point(pid, vec, payload)
    except TypeError:
        # Edge takes only plain dicts and lists: convert other mappings (rare) and retry.
        return Point(pid, vec, _plain(payload))


def _plain(value: Any) -> Any:
    from collections.abc import Mapping

    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _wrap(exc: BaseException, what: str, where: Path) -> VecctxError:
    msg = str(exc)
    if "WouldBlock" in msg or "Resource temporarily unavailable" in msg or "already in use" in msg:
        return StoreLockedError(str(where), f"Qdrant Edge: {msg}")
    if isinstance(exc, VecctxError):
        return exc
    return BackendError(f"Qdrant Edge {what} failed at {str(where)!r}: {msg}", exc)


_DISTANCE = {
    Metric.COSINE: lambda qe: qe.Distance.Cosine,
    Metric.DOT: lambda qe: qe.Distance.Dot,
    Metric.EUCLIDEAN: lambda qe: qe.Distance.Euclid,
}
_SCHEMA = {
    FieldType.KEYWORD: lambda qe: qe.PayloadSchemaType.Keyword,
    FieldType.INTEGER: lambda qe: qe.PayloadSchemaType.Integer,
    FieldType.FLOAT: lambda qe: qe.PayloadSchemaType.Float,
    FieldType.BOOL: lambda qe: qe.PayloadSchemaType.Bool,
}

__all__ = ["EDGE_CAPABILITIES", "QdrantEdgeStore"]
