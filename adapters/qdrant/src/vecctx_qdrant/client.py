"""Qdrant server / cluster and qdrant-client local mode, through ``qdrant_client``.

One code path serves ``qdrant://host:6333`` (a server or cluster, REST or gRPC) and
``qdrant+local://...`` (qdrant-client's local mode, which accepts the same calls and is how this
path is tested without a server). :class:`_Core` builds every request and reads every response;
:class:`QdrantClientStore` and :class:`AsyncQdrantClientStore` only make the calls, the latter
through the natively async ``AsyncQdrantClient`` (no thread pool).

The CollectionSpec is stored in the collection's ``metadata`` (``{"vecctx": {...}}``).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from functools import partial
from types import TracebackType
from typing import Any, Self, TypeVar

from vecctx.base import StoreBase, check_compatible
from vecctx.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    InvalidInputError,
    StoreClosedError,
    StoreLockedError,
    TransientBackendError,
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
    Metric,
    Record,
    ScoreKind,
    SparseVector,
    VectorLike,
)
from vecctx.validation import validate_ids, validate_records, validate_search
from vecctx_qdrant._common import (
    DENSE,
    ID_KEY,
    SPARSE,
    check_index_kind,
    order_records,
    payload_of,
    point_ids,
    prefetch_depth,
    result_kind,
    spec_from_json,
    spec_to_json,
    to_hits,
    to_record,
)
from vecctx_qdrant.config import ClientOptions, redact
from vecctx_qdrant.filters import FilterCompiler, client_compiler, payload_path

T = TypeVar("T")
META_FIELD = "vecctx"


def capabilities_for(options: ClientOptions) -> Capabilities:
    return Capabilities(
        name="qdrant" if options.mode == "server" else "qdrant-local",
        sparse=True,
        hybrid=HybridSupport.NATIVE,
        fusions=frozenset(Fusion),
        exact_search=True,
        approximate=options.mode == "server",
        async_native=True,
        max_batch=None,
        persistent=not options.memory,
    )


class _Spec:
    __slots__ = ("flat", "idf", "kind", "spec", "with_vector_get")

    def __init__(self, spec: CollectionSpec, idf: bool) -> None:
        self.spec = spec
        self.idf = idf
        self.kind = result_kind(spec, True, False, Fusion.RRF)
        self.flat = spec.index.kind is IndexKind.FLAT
        self.with_vector_get: Any = [SPARSE] if spec.sparse else False


class _Core:
    """Request building and response reading shared by the sync and async client stores."""

    def __init__(self, options: ClientOptions) -> None:
        from qdrant_client import models

        self.m = models
        self.options = options
        self.compile: FilterCompiler[Any] = client_compiler()
        self.specs: dict[str, _Spec] = {}
        self.id_only = [ID_KEY]

    # -- client construction -------------------------------------------------------------
    def client_kwargs(self) -> dict[str, Any]:
        o = self.options
        if o.mode == "local":
            return {"location": ":memory:"} if o.path is None else {"path": str(o.path)}
        return {
            "host": o.host,
            "port": o.port,
            "grpc_port": o.grpc_port,
            "prefer_grpc": o.grpc,
            "https": o.https,
            "api_key": o.api_key,
            "prefix": o.prefix,
            "timeout": math.ceil(o.timeout) if o.timeout is not None else None,
        }

    # -- collections ---------------------------------------------------------------------
    def create_kwargs(self, spec: CollectionSpec) -> dict[str, Any]:
        m = self.m
        check_index_kind(spec)
        for key in spec.indexed_fields:
            payload_path(key)
        o = self.options
        dist = {
            Metric.COSINE: m.Distance.COSINE,
            Metric.DOT: m.Distance.DOT,
            Metric.EUCLIDEAN: m.Distance.EUCLID,
        }
        hnsw = m.HnswConfigDiff(m=spec.index.m, ef_construct=spec.index.ef_construct)
        kw: dict[str, Any] = {
            "collection_name": spec.name,
            "vectors_config": {
                DENSE: m.VectorParams(size=spec.dimension, distance=dist[spec.metric], hnsw_config=hnsw)
            },
            "sparse_vectors_config": (
                {SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF if o.idf else None)}
                if spec.sparse
                else None
            ),
            "metadata": {META_FIELD: spec_to_json(spec, idf=o.idf)},
        }
        if o.mode == "server":
            kw["shard_number"] = o.shards
            kw["replication_factor"] = o.replication
            kw["write_consistency_factor"] = o.write_consistency
        return kw

    def index_kwargs(self, spec: CollectionSpec) -> list[dict[str, Any]]:
        if self.options.mode == "local":
            return []  # local mode has no payload indexes (it scans); the spec still records them
        m = self.m
        schema = {
            FieldType.KEYWORD: m.PayloadSchemaType.KEYWORD,
            FieldType.INTEGER: m.PayloadSchemaType.INTEGER,
            FieldType.FLOAT: m.PayloadSchemaType.FLOAT,
            FieldType.BOOL: m.PayloadSchemaType.BOOL,
        }
        return [
            {
                "collection_name": spec.name,
                "field_name": payload_path(k),
                "field_schema": schema[t],
                "wait": True,
            }
            for k, t in spec.indexed_fields.items()
        ]

    def remember(self, spec: CollectionSpec) -> None:
        self.specs[spec.name] = _Spec(spec, self.options.idf)

    def spec_from_info(self, name: str, info: Any) -> _Spec:
        meta = getattr(info.config, "metadata", None) or {}
        data = meta.get(META_FIELD)
        if data is None:
            raise ConfigError(
                f"collection {name!r} was not created by vecctx (no '{META_FIELD}' metadata): "
                "vecctx needs a named 'dense' vector and its stored spec"
            )
        spec, idf = spec_from_json(data)
        s = _Spec(spec, idf)
        self.specs[name] = s
        return s

    # -- writes --------------------------------------------------------------------------
    def upsert_batches(self, s: _Spec, records: Sequence[Record]) -> list[Any]:
        """Validated, chunked ``points`` arguments for ``upsert`` (all built before any write)."""
        matrix = validate_records(records, s.spec)
        n = len(records)
        if n == 0:
            return []
        m = self.m
        rows = matrix.tolist()
        step = self.options.batch
        out: list[Any] = []
        for i in range(0, n, step):
            chunk = records[i : i + step]
            ids = point_ids([r.id for r in chunk])
            payloads = [payload_of(r) for r in chunk]
            vectors: dict[str, list[Any]] = {DENSE: rows[i : i + step]}
            if s.spec.sparse:
                if all(r.sparse is not None for r in chunk):
                    vectors[SPARSE] = [
                        m.SparseVector(indices=list(r.sparse.indices), values=list(r.sparse.values))
                        for r in chunk
                        if r.sparse is not None
                    ]
                else:
                    out.append(self._structs(chunk, ids, rows[i : i + step], payloads))
                    continue
            try:
                out.append(m.Batch(ids=ids, vectors=vectors, payloads=payloads))
            except ValueError as exc:
                raise InvalidInputError(f"a record cannot be stored in Qdrant: {exc}") from exc
        return out

    def _structs(
        self, chunk: Sequence[Record], ids: list[str], rows: list[Any], payloads: list[Any]
    ) -> list[Any]:
        m = self.m
        pts = []
        for r, pid, row, pl in zip(chunk, ids, rows, payloads, strict=True):
            vec: dict[str, Any] = {DENSE: row}
            if r.sparse is not None:
                vec[SPARSE] = m.SparseVector(indices=list(r.sparse.indices), values=list(r.sparse.values))
            pts.append(m.PointStruct(id=pid, vector=vec, payload=pl))
        return pts

    def delete_selectors(self, ids: Sequence[str] | None, filter: FilterArg) -> list[Any]:
        m = self.m
        flt = as_filter(filter)
        wanted = validate_ids(ids) if ids is not None else []
        out: list[Any] = []
        if wanted:
            out.append(m.PointIdsList(points=point_ids(list(dict.fromkeys(wanted)))))
        if flt is not None:
            out.append(m.FilterSelector(filter=self.compile(flt)))
        return out

    def native_filter(self, filter: FilterArg) -> Any:
        flt = as_filter(filter)
        return self.compile(flt) if flt is not None else None

    # -- reads ---------------------------------------------------------------------------
    def query(
        self,
        s: _Spec,
        q: FloatArray | None,
        sparse: SparseVector | None,
        flt: Filter | None,
        k: int,
        p: SearchParams,
        fusion: Fusion,
        with_payload: bool,
        with_vectors: bool,
    ) -> tuple[Any, ScoreKind]:
        """A ``models.QueryRequest`` and the kind of score its hits carry."""
        m = self.m
        native = self.compile(flt) if flt is not None else None
        exact = p.exact or s.flat
        params = (
            m.SearchParams(hnsw_ef=p.ef, exact=exact)
            if (exact or p.ef is not None) and self.options.mode == "server"
            else None  # local mode is always exact and warns about search params
        )
        wp: Any = True if with_payload else self.id_only
        sv = (
            m.SparseVector(indices=list(sparse.indices), values=list(sparse.values))
            if sparse is not None
            else None
        )
        if sv is None:
            assert q is not None
            req = m.QueryRequest(
                query=q.tolist(),
                using=DENSE,
                filter=native,
                params=params,
                limit=k,
                with_payload=wp,
                with_vector=with_vectors,
            )
            return req, s.kind
        if q is None:
            req = m.QueryRequest(
                query=sv, using=SPARSE, filter=native, limit=k, with_payload=wp, with_vector=with_vectors
            )
            return req, ScoreKind.SPARSE_DOT
        depth = prefetch_depth(k, p.prefetch_k)
        prefetch = [
            m.Prefetch(query=q.tolist(), using=DENSE, filter=native, params=params, limit=depth),
            m.Prefetch(query=sv, using=SPARSE, filter=native, limit=depth),
        ]
        # Qdrant ranks from 0 in 1 / (k + rank); vecctx ranks from 1: shift k by one.
        fq = (
            m.RrfQuery(rrf=m.Rrf(k=p.rrf_k + 1))
            if fusion is Fusion.RRF
            else m.FusionQuery(fusion=m.Fusion.DBSF)
        )
        req = m.QueryRequest(
            prefetch=prefetch, query=fq, filter=native, limit=k, with_payload=wp, with_vector=with_vectors
        )
        return req, result_kind(s.spec, True, True, fusion)

    def query_kwargs(self, name: str, req: Any) -> dict[str, Any]:
        return {
            "collection_name": name,
            "query": req.query,
            "using": req.using,
            "prefetch": req.prefetch,
            "query_filter": req.filter,
            "search_params": req.params,
            "limit": req.limit,
            "with_payload": req.with_payload,
            "with_vectors": req.with_vector,
        }

    def batch_requests(
        self, s: _Spec, requests: Sequence[SearchRequest]
    ) -> list[tuple[Any, ScoreKind, SearchRequest, SearchParams]]:
        built = []
        for r in requests:
            if not isinstance(r, SearchRequest):
                raise InvalidInputError(f"search_batch takes SearchRequest objects, got {type(r).__name__}")
            q, flt, p = validate_search(
                s.spec, vector=r.vector, sparse=r.sparse, filter=r.filter, k=r.k, params=r.params
            )
            req, kind = self.query(s, q, r.sparse, flt, r.k, p, r.fusion, r.with_payload, r.with_vectors)
            built.append((req, kind, r, p))
        return built

    @staticmethod
    def check_batch_size(batch_size: int) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")

    # -- errors --------------------------------------------------------------------------
    def wrap(self, exc: BaseException, what: str, name: str | None) -> VecctxError:
        if isinstance(exc, VecctxError):
            return exc
        o = self.options
        msg = redact(str(exc), o.api_key)
        where = redact(o.url, o.api_key)
        low = msg.lower()
        if "already accessed by another instance" in low:
            return StoreLockedError(str(o.path), msg)
        if name is not None and _not_found(exc, low, name):
            self.specs.pop(name, None)
            return CollectionNotFoundError(name)
        text = f"Qdrant {what} failed ({where}): {type(exc).__name__}: {msg}"
        if _transient(exc):
            return TransientBackendError(text, exc)
        return BackendError(text, exc)


def _not_found(exc: BaseException, low: str, name: str) -> bool:
    status = getattr(exc, "status_code", None)
    if status == 404 or (isinstance(exc, ValueError) and low.endswith("not found")):
        return "collection" in low or status == 404
    code = _grpc_code(exc)
    return code == "NOT_FOUND"


def _grpc_code(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    if callable(code):
        try:
            return str(getattr(code(), "name", ""))
        except Exception:
            return None
    return None


def _transient(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    if status in (408, 429, 502, 503, 504):
        return True
    if _grpc_code(exc) in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED"):
        return True
    try:
        import httpx
        from qdrant_client.http.exceptions import ResponseHandlingException
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, ResponseHandlingException | httpx.TransportError | ConnectionError | TimeoutError)


# -- sync --------------------------------------------------------------------------------------


class QdrantClientStore(StoreBase):
    """vecctx store on a Qdrant server/cluster or qdrant-client local mode."""

    def __init__(self, options: ClientOptions) -> None:
        from qdrant_client import QdrantClient

        self.options = options
        self._core = _Core(options)
        self._caps = capabilities_for(options)
        try:
            self._client = QdrantClient(**self._core.client_kwargs())
        except Exception as exc:
            raise self._core.wrap(exc, "connect", None) from exc

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    def __repr__(self) -> str:
        return f"QdrantClientStore({self.options!r})"

    def _call(self, fn: Callable[[], T], what: str, name: str | None = None) -> T:
        try:
            return fn()
        except Exception as exc:
            raise self._core.wrap(exc, what, name) from exc

    def _spec(self, name: str) -> _Spec:
        self._check_open()
        s = self._core.specs.get(name)
        if s is not None:
            return s
        if not isinstance(name, str) or not name:
            raise CollectionNotFoundError(str(name))
        info = self._call(lambda: self._client.get_collection(name), "get_collection", name)
        return self._core.spec_from_info(name, info)

    def create_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        kw = self._core.create_kwargs(spec)
        if self._call(lambda: self._client.collection_exists(spec.name), "collection_exists"):
            raise ConfigError(f"collection {spec.name!r} already exists")
        self._call(lambda: self._client.create_collection(**kw), "create_collection")
        for idx in self._core.index_kwargs(spec):
            self._call(partial(self._client.create_payload_index, **idx), "create_payload_index")
        self._core.remember(spec)

    def ensure_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        if self.has_collection(spec.name):
            check_compatible(self.collection_spec(spec.name), spec)
        else:
            self.create_collection(spec)

    def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self._check_open()
        self._core.specs.pop(name, None)
        if not self.has_collection(name):
            if missing_ok:
                return
            raise CollectionNotFoundError(name)
        self._call(lambda: self._client.delete_collection(name), "delete_collection", name)

    def has_collection(self, name: str) -> bool:
        self._check_open()
        if not isinstance(name, str) or not name:
            return False
        return self._call(lambda: self._client.collection_exists(name), "collection_exists")

    def list_collections(self) -> list[str]:
        self._check_open()
        resp = self._call(self._client.get_collections, "get_collections")
        return sorted(c.name for c in resp.collections)

    def collection_spec(self, name: str) -> CollectionSpec:
        return self._spec(name).spec

    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        s = self._spec(collection)
        for points in self._core.upsert_batches(s, records):
            self._call(
                partial(self._client.upsert, collection, points=points, wait=True),
                "upsert",
                collection,
            )

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None) -> None:
        self._spec(collection)
        for sel in self._core.delete_selectors(ids, filter):
            self._call(
                partial(self._client.delete, collection, points_selector=sel, wait=True),
                "delete",
                collection,
            )

    def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        s = self._spec(collection)
        wanted = validate_ids(ids)
        if not wanted:
            return []
        pids = point_ids(list(dict.fromkeys(wanted)))
        wv = True if with_vectors else s.with_vector_get
        pts = self._call(
            lambda: self._client.retrieve(collection, pids, with_payload=True, with_vectors=wv),
            "retrieve",
            collection,
        )
        return order_records((to_record(p, with_vectors=with_vectors) for p in pts), wanted)

    def count(self, collection: str, *, filter: FilterArg = None) -> int:
        self._spec(collection)
        native = self._core.native_filter(filter)
        res = self._call(
            lambda: self._client.count(collection, count_filter=native, exact=True), "count", collection
        )
        return int(res.count)

    def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> Iterator[Record]:
        s = self._spec(collection)
        native = self._core.native_filter(filter)
        self._core.check_batch_size(batch_size)
        return self._scroll(collection, s, native, batch_size, with_vectors)

    def _scroll(
        self, collection: str, s: _Spec, native: Any, batch_size: int, with_vectors: bool
    ) -> Iterator[Record]:
        wv = True if with_vectors else s.with_vector_get
        offset: Any = None
        while True:
            self._check_open()
            pts, offset = self._call(
                partial(
                    self._client.scroll,
                    collection,
                    scroll_filter=native,
                    limit=batch_size,
                    offset=offset,
                    with_payload=True,
                    with_vectors=wv,
                ),
                "scroll",
                collection,
            )
            for p in pts:
                yield to_record(p, with_vectors=with_vectors)
            if offset is None or not pts:
                return

    def optimize(self, collection: str) -> None:
        """A Qdrant server indexes by itself and local mode has no index: only checks the name."""
        self._spec(collection)

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
        s = self._spec(collection)
        q, flt, p = validate_search(s.spec, vector=vector, sparse=sparse, filter=filter, k=k, params=params)
        req, kind = self._core.query(s, q, sparse, flt, k, p, fusion, with_payload, with_vectors)
        kw = self._core.query_kwargs(collection, req)
        resp = self._call(lambda: self._client.query_points(**kw), "query", collection)
        return to_hits(resp.points, kind, with_payload=with_payload, with_vectors=with_vectors, rrf_k=p.rrf_k)

    def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        s = self._spec(collection)
        built = self._core.batch_requests(s, requests)
        if not built:
            return []
        reqs = [b[0] for b in built]
        resps = self._call(
            lambda: self._client.query_batch_points(collection, requests=reqs), "query_batch", collection
        )
        return [
            to_hits(
                resp.points, kind, with_payload=r.with_payload, with_vectors=r.with_vectors, rrf_k=p.rrf_k
            )
            for resp, (_, kind, r, p) in zip(resps, built, strict=True)
        ]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._call(self._client.close, "close")


# -- async -------------------------------------------------------------------------------------


class AsyncQdrantClientStore:
    """The natively async twin of :class:`QdrantClientStore` (``AsyncQdrantClient``)."""

    def __init__(self, options: ClientOptions) -> None:
        from qdrant_client import AsyncQdrantClient

        self.options = options
        self._core = _Core(options)
        self._caps = capabilities_for(options)
        self._closed = False
        try:
            self._client = AsyncQdrantClient(**self._core.client_kwargs())
        except Exception as exc:
            raise self._core.wrap(exc, "connect", None) from exc

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    def __repr__(self) -> str:
        return f"AsyncQdrantClientStore({self.options!r})"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"{type(self).__name__} is closed")

    async def _call(self, aw: Awaitable[T], what: str, name: str | None = None) -> T:
        try:
            return await aw
        except Exception as exc:
            raise self._core.wrap(exc, what, name) from exc

    async def _spec(self, name: str) -> _Spec:
        self._check_open()
        s = self._core.specs.get(name)
        if s is not None:
            return s
        if not isinstance(name, str) or not name:
            raise CollectionNotFoundError(str(name))
        info = await self._call(self._client.get_collection(name), "get_collection", name)
        return self._core.spec_from_info(name, info)

    async def create_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        kw = self._core.create_kwargs(spec)
        if await self._call(self._client.collection_exists(spec.name), "collection_exists"):
            raise ConfigError(f"collection {spec.name!r} already exists")
        await self._call(self._client.create_collection(**kw), "create_collection")
        for idx in self._core.index_kwargs(spec):
            await self._call(self._client.create_payload_index(**idx), "create_payload_index")
        self._core.remember(spec)

    async def ensure_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        if await self.has_collection(spec.name):
            check_compatible(await self.collection_spec(spec.name), spec)
        else:
            await self.create_collection(spec)

    async def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self._check_open()
        self._core.specs.pop(name, None)
        if not await self.has_collection(name):
            if missing_ok:
                return
            raise CollectionNotFoundError(name)
        await self._call(self._client.delete_collection(name), "delete_collection", name)

    async def has_collection(self, name: str) -> bool:
        self._check_open()
        if not isinstance(name, str) or not name:
            return False
        return await self._call(self._client.collection_exists(name), "collection_exists")

    async def list_collections(self) -> list[str]:
        self._check_open()
        resp = await self._call(self._client.get_collections(), "get_collections")
        return sorted(c.name for c in resp.collections)

    async def collection_spec(self, name: str) -> CollectionSpec:
        return (await self._spec(name)).spec

    async def upsert(self, collection: str, records: Sequence[Record]) -> None:
        s = await self._spec(collection)
        for points in self._core.upsert_batches(s, records):
            await self._call(self._client.upsert(collection, points=points, wait=True), "upsert", collection)

    async def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        s = await self._spec(collection)
        wanted = validate_ids(ids)
        if not wanted:
            return []
        pids = point_ids(list(dict.fromkeys(wanted)))
        wv = True if with_vectors else s.with_vector_get
        pts = await self._call(
            self._client.retrieve(collection, pids, with_payload=True, with_vectors=wv),
            "retrieve",
            collection,
        )
        return order_records((to_record(p, with_vectors=with_vectors) for p in pts), wanted)

    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None
    ) -> None:
        await self._spec(collection)
        for sel in self._core.delete_selectors(ids, filter):
            await self._call(
                self._client.delete(collection, points_selector=sel, wait=True), "delete", collection
            )

    async def count(self, collection: str, *, filter: FilterArg = None) -> int:
        await self._spec(collection)
        native = self._core.native_filter(filter)
        res = await self._call(
            self._client.count(collection, count_filter=native, exact=True), "count", collection
        )
        return int(res.count)

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
        s = await self._spec(collection)
        q, flt, p = validate_search(s.spec, vector=vector, sparse=sparse, filter=filter, k=k, params=params)
        req, kind = self._core.query(s, q, sparse, flt, k, p, fusion, with_payload, with_vectors)
        kw = self._core.query_kwargs(collection, req)
        resp = await self._call(self._client.query_points(**kw), "query", collection)
        return to_hits(resp.points, kind, with_payload=with_payload, with_vectors=with_vectors, rrf_k=p.rrf_k)

    async def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        s = await self._spec(collection)
        built = self._core.batch_requests(s, requests)
        if not built:
            return []
        reqs = [b[0] for b in built]
        resps = await self._call(
            self._client.query_batch_points(collection, requests=reqs), "query_batch", collection
        )
        return [
            to_hits(
                resp.points, kind, with_payload=r.with_payload, with_vectors=r.with_vectors, rrf_k=p.rrf_k
            )
            for resp, (_, kind, r, p) in zip(resps, built, strict=True)
        ]

    def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> AsyncIterator[Record]:
        native = self._core.native_filter(filter)
        self._core.check_batch_size(batch_size)
        return self._scroll(collection, native, batch_size, with_vectors)

    async def _scroll(
        self, collection: str, native: Any, batch_size: int, with_vectors: bool
    ) -> AsyncIterator[Record]:
        s = await self._spec(collection)
        wv = True if with_vectors else s.with_vector_get
        offset: Any = None
        while True:
            self._check_open()
            pts, offset = await self._call(
                self._client.scroll(
                    collection,
                    scroll_filter=native,
                    limit=batch_size,
                    offset=offset,
                    with_payload=True,
                    with_vectors=wv,
                ),
                "scroll",
                collection,
            )
            for p in pts:
                yield to_record(p, with_vectors=with_vectors)
            if offset is None or not pts:
                return

    async def optimize(self, collection: str) -> None:
        await self._spec(collection)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._call(self._client.close(), "close")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


__all__ = ["AsyncQdrantClientStore", "QdrantClientStore", "capabilities_for"]
