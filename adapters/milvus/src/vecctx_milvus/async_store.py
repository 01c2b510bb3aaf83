"""The native-async Milvus store, on pymilvus's ``AsyncMilvusClient`` (grpc.aio).

Same layout, filters, scores and semantics as :class:`vecctx_milvus.MilvusStore`. One gap
is bridged: Milvus Lite does not implement the ``AllocTimestamp`` RPC that
``AsyncMilvusClient.create_index`` uses to poll for the build after the index is created, so
when that poll fails with UNIMPLEMENTED the index is confirmed with ``describe_index``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from vecctx.base import check_compatible
from vecctx.errors import (
    CollectionNotFoundError,
    ConfigError,
    InvalidInputError,
    StoreClosedError,
    TransientBackendError,
)
from vecctx.filters import Filter, as_filter
from vecctx.store import Capabilities, FilterArg, Fusion, SearchParams, SearchRequest
from vecctx.types import CollectionSpec, Hit, Record, SparseVector, VectorLike
from vecctx.validation import validate_ids, validate_records, validate_search
from vecctx_milvus import common as c
from vecctx_milvus import lite
from vecctx_milvus.config import MilvusConfig, parse_url
from vecctx_milvus.filters import quote

T = TypeVar("T")

ASYNC_CAPABILITIES = c.CAPABILITIES


class AsyncMilvusStore:
    """Native-async vecctx store over Milvus Lite or a Milvus server."""

    def __init__(self, config: MilvusConfig) -> None:
        self.config = config
        self._specs: dict[str, CollectionSpec] = {}
        self._unflushed: dict[str, int] = {}
        self._closed = False
        self._client: Any = None
        self._replace_by_insert: bool | None = None
        self._lite_path: str | None = None
        if config.lite_path is not None:
            self._uri = lite.acquire(config.lite_path)
            self._lite_path = config.lite_path
        else:
            assert config.uri is not None
            self._uri = config.uri

    @classmethod
    def from_url(cls, url: str) -> AsyncMilvusStore:
        return cls(parse_url(url))

    @property
    def capabilities(self) -> Capabilities:
        return ASYNC_CAPABILITIES

    def __repr__(self) -> str:
        return f"AsyncMilvusStore({self.config.describe()}, closed={self._closed})"

    # -- plumbing -----------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("AsyncMilvusStore is closed")

    async def _conn(self) -> Any:
        """The client, created inside the running event loop on first use."""
        self._check_open()
        if self._client is None:
            from pymilvus import AsyncMilvusClient  # type: ignore[import-untyped]

            cfg = self.config
            kwargs: dict[str, Any] = {"uri": self._uri, "token": cfg.token, "db_name": cfg.db_name}
            if cfg.timeout is not None:
                kwargs["timeout"] = cfg.timeout
            for key in (
                "ca_pem_path",
                "client_pem_path",
                "client_key_path",
                "server_pem_path",
                "server_name",
            ):
                value = getattr(cfg, key)
                if value is not None:
                    kwargs[key] = value
            if cfg.secure:
                kwargs["secure"] = True
            client = AsyncMilvusClient(**kwargs)
            for delay in (*c.RETRY_DELAYS, None):
                try:
                    version = str(await client.get_server_version())
                    break
                except Exception as exc:
                    err = c.translate(exc, f"connect to {cfg.describe()}")
                    if not isinstance(err, TransientBackendError) or delay is None:
                        raise err from exc
                    await asyncio.sleep(delay)
            self._client = client
            self._replace_by_insert = version.startswith("milvus_lite")
        return self._client

    async def _call(self, action: str, collection: str | None, fn: Callable[[Any], Awaitable[T]]) -> T:
        """As :meth:`MilvusStore._call` (retries transient failures and a released
        collection), awaiting instead of blocking."""
        client = await self._conn()
        reloaded = False
        for delay in (*c.RETRY_DELAYS, None):
            try:
                return await fn(client)
            except Exception as exc:
                if collection is not None and not reloaded and c.not_loaded(exc):
                    await self._load(collection)
                    reloaded = True
                    continue
                err = c.translate(exc, action, collection)
                if isinstance(err, TransientBackendError) and delay is not None:
                    await asyncio.sleep(delay)
                    continue
                if isinstance(err, CollectionNotFoundError) and collection is not None:
                    self._forget(collection)
                raise err from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _invoke(
        self, action: str, collection: str | None, method: str, *args: Any, **kwargs: Any
    ) -> Any:
        """``client.<method>(*args, **kwargs)`` through :meth:`_call`."""
        return await self._call(action, collection, lambda cl: getattr(cl, method)(*args, **kwargs))

    def _forget(self, name: str) -> None:
        self._specs.pop(name, None)
        self._unflushed.pop(name, None)

    async def _load(self, collection: str) -> None:
        mname = c.milvus_name(collection)
        client = await self._conn()
        delay, waited = 0.2, 0.0
        while True:
            try:
                await client.load_collection(mname)
                return
            except Exception as exc:
                if waited >= c.LOAD_RETRY_SECONDS or "not fully written" not in str(exc):
                    err = c.translate(exc, "load_collection", collection)
                    raise err from exc
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 2.0)

    async def _spec(self, name: str) -> CollectionSpec:
        self._check_open()
        spec = self._specs.get(name)
        if spec is not None:
            return spec
        mname = c.milvus_name(name)
        desc = await self._call("describe_collection", name, lambda cl: cl.describe_collection(mname))
        spec = c.spec_from_description(desc, name)
        await self._load(name)
        self._specs[name] = spec
        return spec

    async def _before_read(self, name: str) -> None:
        pending = self._unflushed.get(name, 0)
        if pending and pending >= self.config.flush_threshold:
            mname = c.milvus_name(name)
            await self._call("flush", name, lambda cl: cl.flush(mname))
            self._unflushed[name] = 0

    def _wrote(self, name: str, n: int) -> None:
        self._unflushed[name] = self._unflushed.get(name, 0) + n

    # -- collections --------------------------------------------------------------------
    async def create_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        c.check_index_params(spec)
        mname = c.milvus_name(spec.name)
        if await self._call("has_collection", spec.name, lambda cl: cl.has_collection(mname)):
            raise ConfigError(f"collection {spec.name!r} already exists")
        schema, index = c.build_schema(spec)
        await self._call(
            "create_collection",
            spec.name,
            lambda cl: cl.create_collection(
                mname,
                schema=schema,
                consistency_level="Strong",
                properties={c.SPEC_PROPERTY: c.spec_to_property(spec)},
            ),
        )
        client = await self._conn()
        try:
            await client.create_index(mname, index)
        except Exception as exc:
            if not _unimplemented(exc):
                raise c.translate(exc, "create_index", spec.name) from exc
            # Milvus Lite: the index was created; only the build poll is unimplemented.
            for field in (c.VECTOR, c.SPARSE) if spec.sparse else (c.VECTOR,):
                await self._invoke("describe_index", spec.name, "describe_index", mname, field)
        await self._load(spec.name)
        self._specs[spec.name] = spec
        self._unflushed[spec.name] = 0

    async def ensure_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        if await self.has_collection(spec.name):
            check_compatible(await self.collection_spec(spec.name), spec)
        else:
            await self.create_collection(spec)

    async def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self._check_open()
        mname = c.milvus_name(name)
        self._forget(name)
        if not await self._call("has_collection", name, lambda cl: cl.has_collection(mname)):
            if missing_ok:
                return
            raise CollectionNotFoundError(name)
        await self._call("drop_collection", name, lambda cl: cl.drop_collection(mname))

    async def has_collection(self, name: str) -> bool:
        self._check_open()
        mname = c.milvus_name(name)
        return bool(await self._call("has_collection", name, lambda cl: cl.has_collection(mname)))

    async def list_collections(self) -> list[str]:
        self._check_open()
        names = await self._call("list_collections", None, lambda cl: cl.list_collections())
        return sorted(c.vecctx_name(n) for n in names)

    async def collection_spec(self, name: str) -> CollectionSpec:
        return await self._spec(name)

    # -- writes -------------------------------------------------------------------------
    async def upsert(self, collection: str, records: Sequence[Record]) -> None:
        spec = await self._spec(collection)
        matrix = validate_records(records, spec)
        if not len(records):
            return
        rows = c.build_rows(records, matrix, spec)
        mname = c.milvus_name(collection)
        by_insert = self._replace_by_insert
        for batch in c.batches(rows, spec.dimension):
            await self._invoke("upsert", collection, "insert" if by_insert else "upsert", mname, batch)
            self._wrote(collection, len(batch))

    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None
    ) -> None:
        flt = as_filter(filter)
        expr = c.filter_expr(flt)
        id_list = validate_ids(ids) if ids is not None else []
        await self._spec(collection)
        mname = c.milvus_name(collection)
        for start in range(0, len(id_list), c.IDS_PER_EXPR):
            chunk = id_list[start : start + c.IDS_PER_EXPR]
            chunk_expr = c.ids_expr(chunk)
            await self._invoke("delete", collection, "delete", mname, filter=chunk_expr)
            self._wrote(collection, len(chunk))
        if flt is not None:
            await self._call("delete", collection, lambda cl: cl.delete(mname, filter=expr))
            self._wrote(collection, 1)

    # -- reads --------------------------------------------------------------------------
    async def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        wanted = validate_ids(ids)
        spec = await self._spec(collection)
        if not wanted:
            return []
        mname = c.milvus_name(collection)
        fields = c.record_fields(spec, with_vectors=with_vectors)
        found: dict[str, Record] = {}
        unique = list(dict.fromkeys(wanted))
        for start in range(0, len(unique), c.IDS_PER_EXPR):
            e = c.ids_expr(unique[start : start + c.IDS_PER_EXPR])
            rows = await self._invoke("get", collection, "query", mname, filter=e, output_fields=fields)
            for row in rows:
                found[row[c.ID]] = c.record_of(row, with_vectors=with_vectors)
        return [found[i] for i in wanted if i in found]

    async def count(self, collection: str, *, filter: FilterArg = None) -> int:
        flt = as_filter(filter)
        expr = c.filter_expr(flt)
        await self._spec(collection)
        await self._before_read(collection)
        mname = c.milvus_name(collection)
        rows = await self._call(
            "count", collection, lambda cl: cl.query(mname, filter=expr, output_fields=["count(*)"])
        )
        return int(rows[0]["count(*)"]) if rows else 0

    async def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> AsyncIterator[Record]:
        flt = as_filter(filter)
        expr = c.filter_expr(flt)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")
        spec = await self._spec(collection)
        await self._before_read(collection)
        mname = c.milvus_name(collection)
        fields = c.record_fields(spec, with_vectors=with_vectors)
        page = min(max(batch_size, c.MIN_SCROLL_PAGE), c.MAX_LIMIT)
        last: str | None = None
        while True:
            parts = [] if last is None else [f"{c.ID} > {quote(last)}"]
            if expr:
                parts.append(f"({expr})")
            where = " and ".join(parts)
            rows = await self._invoke(
                "scroll",
                collection,
                "query",
                mname,
                filter=where,
                output_fields=fields,
                limit=page,
                iterator="True",
            )
            for row in rows:
                yield c.record_of(row, with_vectors=with_vectors)
            if len(rows) < page:
                return
            last = max(str(r[c.ID]) for r in rows)

    async def optimize(self, collection: str) -> None:
        """As :meth:`MilvusStore.optimize`; the wait for Milvus Lite's background index build
        is awaited, not blocked on."""
        await self._spec(collection)
        mname = c.milvus_name(collection)
        await self._call("release_collection", collection, lambda cl: cl.release_collection(mname))
        try:
            await self._call("flush", collection, lambda cl: cl.flush(mname))
            self._unflushed[collection] = 0
            if self._lite_path is not None:
                fut = lite.background_done(self._lite_path, self.config.db_name, mname)
                if fut is not None:
                    await asyncio.wrap_future(fut)
        finally:
            await self._load(collection)

    # -- search -------------------------------------------------------------------------
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
        flt: Filter | None = as_filter(filter)
        expr = c.filter_expr(flt)
        c.check_fusion(vector, sparse, fusion)
        spec = await self._spec(collection)
        q, _, p = validate_search(spec, vector=vector, sparse=sparse, filter=flt, k=k, params=params)
        if sparse is not None:
            c.query_sparse(sparse)
        await self._before_read(collection)
        mname = c.milvus_name(collection)
        row_count: int | None = None
        if q is not None and c.needs_row_count(spec, p):
            stats = await self._call(
                "get_collection_stats", collection, lambda cl: cl.get_collection_stats(mname)
            )
            row_count = int(stats.get("row_count", 0))
        plan = c.plan_search(
            spec,
            q,
            sparse,
            expr,
            k,
            p,
            with_payload=with_payload,
            with_vectors=with_vectors,
            row_count=row_count,
        )
        if plan.empty:
            return []
        if plan.reqs is not None:
            res = await self._call(
                "hybrid_search",
                collection,
                lambda cl: cl.hybrid_search(
                    mname, reqs=plan.reqs, ranker=plan.ranker, limit=plan.limit, output_fields=plan.fields
                ),
            )
        else:
            res = await self._call(
                "search",
                collection,
                lambda cl: cl.search(
                    mname,
                    data=plan.data,
                    anns_field=plan.anns_field,
                    filter=plan.expr,
                    limit=plan.limit,
                    output_fields=plan.fields,
                    search_params=plan.search_params,
                ),
            )
        return plan.hits(res[0])

    async def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        """As :meth:`MilvusStore.search_batch`: shared dense requests become one call."""
        groups, singles = c.group_requests(requests)
        out: list[list[Hit]] = [[] for _ in requests]
        for i in singles:
            r = requests[i]
            out[i] = await self.search(
                collection,
                vector=r.vector,
                sparse=r.sparse,
                filter=r.filter,
                k=r.k,
                params=r.params,
                fusion=r.fusion,
                with_payload=r.with_payload,
                with_vectors=r.with_vectors,
            )
        if not groups:
            return out
        spec = await self._spec(collection)
        mname = c.milvus_name(collection)
        for expr, members in groups:
            first = requests[members[0]]
            qs = [
                validate_search(
                    spec, vector=requests[i].vector, sparse=None, filter=None, k=first.k, params=first.params
                )
                for i in members
            ]
            p = qs[0][2]
            await self._before_read(collection)
            row_count: int | None = None
            if c.needs_row_count(spec, p):
                stats = await self._invoke("get_collection_stats", collection, "get_collection_stats", mname)
                row_count = int(stats.get("row_count", 0))
            plan = c.plan_search(
                spec,
                qs[0][0],
                None,
                expr,
                first.k,
                p,
                with_payload=first.with_payload,
                with_vectors=first.with_vectors,
                row_count=row_count,
            )
            for start in range(0, len(members), c.NQ_PER_CALL):
                chunk = members[start : start + c.NQ_PER_CALL]
                data = [qs[start + j][0] for j in range(len(chunk))]
                res = await self._invoke(
                    "search",
                    collection,
                    "search",
                    mname,
                    data=data,
                    anns_field=plan.anns_field,
                    filter=plan.expr,
                    limit=plan.limit,
                    output_fields=plan.fields,
                    search_params=plan.search_params,
                )
                for j, i in enumerate(chunk):
                    out[i] = plan.hits(res[j])
        return out

    # -- lifecycle ----------------------------------------------------------------------
    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._client is not None:
                await self._client.close()
        finally:
            if self._lite_path is not None:
                lite.release(self._lite_path)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _unimplemented(exc: BaseException) -> bool:
    code = getattr(exc, "code", None)
    if callable(code):
        try:
            return getattr(code(), "name", "") == "UNIMPLEMENTED"
        except Exception:  # pragma: no cover - defensive
            return False
    return "UNIMPLEMENTED" in str(exc) or "not implemented" in str(exc).lower()


def open_async_store(url: str) -> AsyncMilvusStore:
    """Async entry point for ``milvus://``, ``milvus+http://`` and ``milvus+https://`` URLs."""
    return AsyncMilvusStore.from_url(url)


__all__ = ["AsyncMilvusStore", "open_async_store"]
