"""The natively async Chroma store (``AsyncHttpClient``; HTTP only, Chroma's embedded
client has no async API and vecctx never hides a thread pool)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from vecctx.errors import CollectionNotFoundError, ConfigError, StoreClosedError
from vecctx.filters import as_filter
from vecctx.store import Capabilities, FilterArg, Fusion, SearchParams, SearchRequest
from vecctx.types import CollectionSpec, Hit, Record, SparseVector, VectorLike
from vecctx.validation import validate_ids, validate_records
from vecctx_chroma.common import (
    PAGE,
    ErrorTranslator,
    PreparedSearch,
    capabilities,
    check_batch_size,
    check_creatable,
    chroma_name,
    copy_record,
    creation_args,
    dimension_of,
    ef_search_of,
    exact_hits,
    exact_top_k,
    hits_from_query,
    is_already_exists,
    list_name,
    prepare_batch,
    prepare_search,
    prepare_upsert,
    records_from_get,
    spec_from_collection,
)
from vecctx_chroma.config import ChromaConfig, parse_url
from vecctx_chroma.filters import Where, compile_filter

if TYPE_CHECKING:
    from chromadb.api import AsyncClientAPI
    from chromadb.api.models.AsyncCollection import AsyncCollection


class _Handle:
    __slots__ = ("collection", "ef_search", "spec")

    def __init__(self, collection: AsyncCollection, spec: CollectionSpec, ef_search: int) -> None:
        self.collection = collection
        self.spec = spec
        self.ef_search = ef_search


class AsyncChromaStore:
    """vecctx's :class:`~vecctx.store.AsyncVectorStore` on a Chroma server.

    The client connects on first use, inside the caller's event loop.
    """

    def __init__(self, config: ChromaConfig) -> None:
        if config.mode != "http":
            raise ConfigError(
                "Chroma's embedded client has no async API: use chroma+http:// for the async store, "
                "or the sync store for chroma:///path"
            )
        self._config = config
        self._errors = ErrorTranslator(config.token, on_missing=self._forget)
        self._handles: dict[str, _Handle] = {}
        self._client: AsyncClientAPI | None = None
        self._max_batch: int | None = None
        self._closed = False
        self._lock: asyncio.Lock | None = None

    @property
    def capabilities(self) -> Capabilities:
        return capabilities(max_batch=self._max_batch, async_native=True)

    @property
    def config(self) -> ChromaConfig:
        return self._config

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"AsyncChromaStore({self._config.display_url()!r}, {state})"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("AsyncChromaStore is closed")

    async def _conn(self) -> AsyncClientAPI:
        self._check_open()
        if self._client is not None:
            return self._client
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._client is None:
                import chromadb
                from chromadb.config import Settings

                cfg = self._config
                assert cfg.host is not None and cfg.port is not None
                with self._errors("connect"):
                    client = await chromadb.AsyncHttpClient(
                        host=cfg.host,
                        port=cfg.port,
                        ssl=cfg.ssl,
                        headers=cfg.headers(),
                        settings=Settings(anonymized_telemetry=False),
                        tenant=cfg.tenant,
                        database=cfg.database,
                    )
                    self._max_batch = int(await client.get_max_batch_size())
                self._client = client
        return self._client

    async def _batch(self) -> int:
        await self._conn()
        assert self._max_batch is not None
        return self._max_batch

    # -- collections -------------------------------------------------------------------
    def _forget(self, name: str) -> None:
        self._handles.pop(name, None)

    async def _handle(self, name: str) -> _Handle:
        client = await self._conn()
        handle = self._handles.get(name)
        if handle is not None:
            return handle
        if not isinstance(name, str) or not name:
            raise ConfigError(f"collection name must be a non-empty string, got {name!r}")
        with self._errors("get_collection", name):
            col = await client.get_collection(chroma_name(name), embedding_function=None)
            configuration = dict(col.configuration_json or {})
            spec = spec_from_collection(name, col.metadata, configuration, dimension_of(col))
        handle = _Handle(col, spec, ef_search_of(configuration))
        self._handles[name] = handle
        return handle

    async def create_collection(self, spec: CollectionSpec) -> None:
        client = await self._conn()
        check_creatable(spec)
        configuration, metadata = creation_args(spec, self._config.ef_search)
        try:
            with self._errors("create_collection", spec.name):
                col = await client.create_collection(
                    chroma_name(spec.name),
                    configuration=configuration,  # type: ignore[arg-type]
                    metadata=metadata,
                    embedding_function=None,
                )
        except Exception as exc:
            if is_already_exists(exc):
                raise ConfigError(f"collection {spec.name!r} already exists") from exc
            raise
        self._handles[spec.name] = _Handle(col, spec, ef_search_of(dict(col.configuration_json or {})))

    async def ensure_collection(self, spec: CollectionSpec) -> None:
        from vecctx.base import check_compatible

        if await self.has_collection(spec.name):
            check_compatible(await self.collection_spec(spec.name), spec)
        else:
            await self.create_collection(spec)

    async def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        client = await self._conn()
        try:  # records first: see ChromaStore._purge (chromadb 1.5 leaks list metadata)
            col = (await self._handle(name)).collection
            while True:
                with self._errors("delete", name):
                    ids = (await col.get(limit=1024, include=[]))["ids"]
                    if not ids:
                        break
                    await col.delete(ids=list(ids))
        except CollectionNotFoundError:
            pass
        self._handles.pop(name, None)
        try:
            with self._errors("delete_collection", name):
                await client.delete_collection(chroma_name(name))
        except CollectionNotFoundError:
            if not missing_ok:
                raise

    async def has_collection(self, name: str) -> bool:
        try:
            await self._handle(name)
        except CollectionNotFoundError:
            return False
        return True

    async def list_collections(self) -> list[str]:
        client = await self._conn()
        with self._errors("list_collections"):
            cols = await client.list_collections()
            return sorted(list_name(col.name, col.metadata) for col in cols)

    async def collection_spec(self, name: str) -> CollectionSpec:
        return (await self._handle(name)).spec

    # -- writes ------------------------------------------------------------------------
    async def upsert(self, collection: str, records: Sequence[Record]) -> None:
        h = await self._handle(collection)
        matrix = validate_records(records, h.spec)
        if not len(records):
            return
        prepared = prepare_upsert(records, h.spec, matrix)
        for sl, ids in prepared.batches(await self._batch()):
            with self._errors("upsert", collection):
                old = await h.collection.get(ids=ids, include=["metadatas"])
                existing = dict(zip(old["ids"], old["metadatas"] or [], strict=False))
                await h.collection.upsert(
                    ids=ids,
                    embeddings=prepared.vectors[sl],
                    metadatas=prepared.clear_stale_keys(sl, existing),  # type: ignore[arg-type]
                    documents=prepared.documents[sl],
                )

    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None
    ) -> None:
        h = await self._handle(collection)
        flt = as_filter(filter)
        self.capabilities.require_ops(flt)
        where = compile_filter(flt)
        id_list = validate_ids(ids) if ids is not None else []
        size = await self._batch()
        for start in range(0, len(id_list), size):
            with self._errors("delete", collection):
                await h.collection.delete(ids=id_list[start : start + size])
        if where is not None:
            with self._errors("delete", collection):
                await h.collection.delete(where=where)

    # -- reads -------------------------------------------------------------------------
    async def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        h = await self._handle(collection)
        wanted = validate_ids(ids)
        unique = list(dict.fromkeys(wanted))
        found: dict[str, Record] = {}
        include: list[Any] = ["metadatas", "documents"] + (["embeddings"] if with_vectors else [])
        size = await self._batch()
        for start in range(0, len(unique), size):
            with self._errors("get", collection):
                res = await h.collection.get(ids=unique[start : start + size], include=include)
            found.update(records_from_get(res, with_vectors=with_vectors))
        return [copy_record(found[i]) for i in wanted if i in found]

    async def count(self, collection: str, *, filter: FilterArg = None) -> int:
        h = await self._handle(collection)
        flt = as_filter(filter)
        self.capabilities.require_ops(flt)
        where = compile_filter(flt)
        if where is None:
            with self._errors("count", collection):
                return int(await h.collection.count())
        total = 0
        async for page in self._pages(h, collection, where, [], PAGE):
            total += len(page["ids"])
        return total

    async def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> AsyncIterator[Record]:
        h = await self._handle(collection)
        check_batch_size(batch_size)
        flt = as_filter(filter)
        self.capabilities.require_ops(flt)
        where = compile_filter(flt)
        include: list[Any] = ["metadatas", "documents"] + (["embeddings"] if with_vectors else [])
        async for page in self._pages(h, collection, where, include, batch_size):
            for record in records_from_get(page, with_vectors=with_vectors).values():
                yield record

    async def _pages(
        self, h: _Handle, name: str, where: Where | None, include: list[Any], size: int
    ) -> AsyncIterator[Any]:
        offset = 0
        while True:
            self._check_open()
            with self._errors("get", name):
                page = await h.collection.get(
                    where=where,
                    limit=size,
                    offset=offset,
                    include=include,
                )
            yield page
            n = len(page["ids"])
            if n < size:
                return
            offset += n

    async def optimize(self, collection: str) -> None:
        """Nothing to do: Chroma indexes as it ingests."""
        await self._handle(collection)

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
        h = await self._handle(collection)
        req = prepare_search(
            h.spec,
            h.ef_search,
            vector=vector,
            sparse=sparse,
            filter=filter,
            k=k,
            params=params,
            with_payload=with_payload,
            with_vectors=with_vectors,
        )
        if req.exact:
            return await self._exact(h, collection, req)
        return (await self._query(h, collection, [req]))[0]

    async def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        h = await self._handle(collection)
        prepared = prepare_batch(h.spec, h.ef_search, requests)
        out: list[list[Hit]] = [[] for _ in prepared]
        groups: dict[str, list[int]] = {}
        for i, req in enumerate(prepared):
            if req.exact:
                out[i] = await self._exact(h, collection, req)
            else:
                groups.setdefault(req.group_key(), []).append(i)
        for members in groups.values():
            results = await self._query(h, collection, [prepared[i] for i in members])
            for i, hits in zip(members, results, strict=True):
                out[i] = hits
        return out

    async def _query(self, h: _Handle, name: str, reqs: list[PreparedSearch]) -> list[list[Hit]]:
        first = reqs[0]
        with self._errors("query", name):
            res = await h.collection.query(
                query_embeddings=np.stack([r.query for r in reqs]),
                n_results=first.k,
                where=first.where,
                include=first.include(distances=True),
            )
        return [
            hits_from_query(
                res, row, h.spec.metric, with_payload=first.with_payload, with_vectors=first.with_vectors
            )
            for row in range(len(reqs))
        ]

    async def _exact(self, h: _Handle, name: str, req: PreparedSearch) -> list[Hit]:
        ids: list[str] = []
        chunks = []
        async for page in self._pages(h, name, req.where, ["embeddings"], PAGE):
            if page["ids"]:
                ids.extend(page["ids"])
                chunks.append(np.asarray(page["embeddings"], dtype=np.float32))
        if not ids:
            return []
        ranked = exact_top_k(h.spec.metric, req.query, ids, np.concatenate(chunks), req.k)
        records: dict[str, Record] = {}
        if req.with_payload or req.with_vectors:
            include: list[Any] = ["metadatas", "documents"] + (["embeddings"] if req.with_vectors else [])
            with self._errors("get", name):
                res = await h.collection.get(ids=[rid for rid, _ in ranked], include=include)
            records = records_from_get(res, with_vectors=req.with_vectors)
        return exact_hits(
            ranked, records, h.spec.metric, with_payload=req.with_payload, with_vectors=req.with_vectors
        )

    # -- lifecycle ---------------------------------------------------------------------
    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._handles.clear()
        client, self._client = self._client, None
        if client is not None:
            await _close_http(client)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def _close_http(client: AsyncClientAPI) -> None:
    """Close the httpx client chromadb opened for the running event loop.

    chromadb keeps one httpx client per event loop in a class-level table and offers no
    close on its async client; closing only the current loop's entry leaves other loops'
    clients alone, and chromadb opens a fresh one when it is next needed.
    """
    server = getattr(client, "_server", None)
    table = getattr(type(server), "_clients", None)
    if not isinstance(table, dict):
        return
    try:
        key = hash(asyncio.get_running_loop())
    except RuntimeError:  # pragma: no cover - close() is awaited inside a loop
        return
    http = table.pop(key, None)
    if http is not None:
        await http.aclose()


def open_async_store(url: str) -> AsyncChromaStore:
    """Entry point (group ``vecctx.async_adapters``) for ``chroma+http(s)://``."""
    return AsyncChromaStore(parse_url(url))


__all__ = ["AsyncChromaStore", "open_async_store"]
