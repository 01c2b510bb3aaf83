"""The native-async Weaviate store, on ``weaviate.WeaviateAsyncClient`` (httpx + grpc.aio).

No thread pool anywhere. The client is connected lazily, inside the caller's event loop, on
the first call; :meth:`AsyncWeaviateStore.close` closes it (in that same loop). The server
version (which decides the declared filter operators) is read once, synchronously, when the
store is created, so that :attr:`capabilities` is known before any coroutine runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Self

import httpx
import weaviate
from weaviate.classes.config import Reconfigure
from weaviate.classes.init import Auth
from weaviate.classes.query import FilterReturn, MetadataQuery
from weaviate.collections import CollectionAsync

from vecctx.base import check_compatible
from vecctx.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    InvalidInputError,
    StoreClosedError,
    TransientBackendError,
    VecctxError,
)
from vecctx.filters import Filter, as_filter
from vecctx.store import Capabilities, FilterArg, Fusion, SearchParams, SearchRequest
from vecctx.types import CollectionSpec, Hit, Record, SparseVector, VectorLike
from vecctx.validation import validate_ids, validate_k, validate_records, validate_search, validate_vector
from vecctx_weaviate._core import (
    ID_CHUNK,
    NOT_VERSION,
    SCHEMA_REFRESH_SECONDS,
    CollState,
    TextFusion,
    batch_errors,
    capabilities,
    check_alpha,
    check_flat_cutoff,
    check_query_text,
    chunks,
    fused_hit_from,
    hits_from,
    ids_filter,
    match_all,
    needs_flat_search,
    new_property,
    parse_version,
    prepare_objects,
    record_from,
    state_from_config,
    text_fusion,
    wanted_ef,
)
from vecctx_weaviate.config import WeaviateConfig, parse_url
from vecctx_weaviate.errors import BACKEND_EXCEPTIONS, status_of, translate
from vecctx_weaviate.filters import FilterCompiler
from vecctx_weaviate.schema import (
    ID_ONLY_PROPS,
    PAYLOAD_PROPS,
    PROP_TEXT,
    VECTOR_NAME,
    class_config,
    class_name,
)
from vecctx_weaviate.store import additional_config, connection_params


def read_version(config: WeaviateConfig) -> str:
    """``GET /v1/meta`` (synchronously, once, at construction)."""
    scheme = "https" if config.http_secure else "http"
    host = f"[{config.http_host}]" if ":" in config.http_host else config.http_host
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    try:
        res = httpx.get(
            f"{scheme}://{host}:{config.http_port}/v1/meta", headers=headers, timeout=config.init_timeout
        )
        res.raise_for_status()
        return str(res.json().get("version", "0"))
    except (httpx.HTTPError, ValueError) as exc:
        raise translate(exc, f"read the version of {config.url}", config.api_key) from exc


class AsyncWeaviateStore:
    """A native :class:`~vecctx.store.AsyncVectorStore` on a Weaviate server."""

    def __init__(self, config: WeaviateConfig) -> None:
        self._config = config
        self._closed = False
        self._states: dict[str, CollState] = {}
        self._handles: dict[str, CollectionAsync[Any, Any]] = {}
        self._client: weaviate.WeaviateAsyncClient | None = None
        self._connecting: asyncio.Lock | None = None
        self._version = parse_version(read_version(config))
        self._native_not = self._version >= NOT_VERSION
        self._caps = capabilities(self._version, async_native=True)

    @classmethod
    def from_url(cls, url: str) -> AsyncWeaviateStore:
        return cls(parse_url(url))

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"AsyncWeaviateStore({self._config.url!r}, {state})"

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def server_version(self) -> tuple[int, int, int]:
        return self._version

    # -- plumbing ----------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("AsyncWeaviateStore is closed")

    def _error(self, exc: BaseException, doing: str) -> VecctxError:
        return translate(exc, doing, self._config.api_key)

    async def _connected(self) -> weaviate.WeaviateAsyncClient:
        self._check_open()
        if self._client is not None:
            return self._client
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._client is not None:
                return self._client
            config = self._config
            client = weaviate.WeaviateAsyncClient(
                connection_params=connection_params(config),
                auth_client_secret=Auth.api_key(config.api_key) if config.api_key else None,
                additional_config=additional_config(config),
                skip_init_checks=True,
            )
            try:
                await client.connect()
                with contextlib.redirect_stdout(io.StringIO()):  # is_live() prints its failures
                    live = await client.is_live()
            except BACKEND_EXCEPTIONS as exc:
                with contextlib.suppress(*BACKEND_EXCEPTIONS):
                    await client.close()
                raise self._error(exc, f"connect to {config.url}") from exc
            if not live:
                with contextlib.suppress(*BACKEND_EXCEPTIONS):
                    await client.close()
                raise TransientBackendError(
                    f"Weaviate at {config.url} answered over REST but its gRPC endpoint "
                    f"({config.grpc_host}:{config.grpc_port}) did not: check ?grpc_port="
                )
            self._client = client
            return client

    async def _call(self, doing: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except BACKEND_EXCEPTIONS as exc:
            raise self._error(exc, doing) from exc

    async def _collection(self, state: CollState) -> CollectionAsync[Any, Any]:
        handle = self._handles.get(state.cls)
        if handle is None:
            client = await self._connected()
            handle = self._handles[state.cls] = client.collections.use(state.cls)
        return handle

    async def _load(self, name: str) -> CollState | None:
        client = await self._connected()
        try:
            config = await client.collections.use(class_name(name)).config.get()
        except BACKEND_EXCEPTIONS as exc:
            if status_of(exc) == 404:
                return None
            raise self._error(exc, f"read the schema of {name!r}") from exc
        state = state_from_config(config)
        if state is None or state.spec.name != name:
            return None
        return state

    async def _state(self, name: str) -> CollState:
        self._check_open()
        if not isinstance(name, str):
            raise InvalidInputError(f"collection name must be a string, got {type(name).__name__}")
        state = self._states.get(name)
        if state is not None:
            return state
        state = await self._load(name)
        if state is None:
            raise CollectionNotFoundError(name)
        self._states[name] = state
        return state

    async def _refresh(self, state: CollState) -> CollState:
        fresh = await self._load(state.spec.name)
        if fresh is None:
            self._states.pop(state.spec.name, None)
            raise CollectionNotFoundError(state.spec.name)
        self._states[state.spec.name] = fresh
        return fresh

    async def _run(self, state: CollState, doing: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except BACKEND_EXCEPTIONS as exc:
            self._states.pop(state.spec.name, None)
            try:
                gone = await self._load(state.spec.name) is None
            except VecctxError:
                gone = False
            if gone:
                raise CollectionNotFoundError(state.spec.name) from exc
            raise self._error(exc, doing) from exc

    async def _compile(self, state: CollState, flt: Filter | None) -> tuple[CollState, FilterReturn | bool]:
        """Compile against the cached schema (memoised per collection). When the filter names
        typed properties the cache lacks, re-read the schema (at most once a second) in case
        another writer added them; such results are not memoised."""
        if flt is None:
            return state, True
        key = repr(flt)
        cached = state.compiled.get(key)
        if cached is not None:
            return state, cached
        compiler = FilterCompiler(state.properties, native_not=self._native_not)
        compiled = compiler.compile(flt)
        if compiler.missing(flt):
            if time.monotonic() - state.refreshed > SCHEMA_REFRESH_SECONDS:
                state = await self._refresh(state)
                compiled = FilterCompiler(state.properties, native_not=self._native_not).compile(flt)
            return state, compiled
        if len(state.compiled) >= 512:
            state.compiled.clear()
        state.compiled[key] = compiled
        return state, compiled

    async def _set_ef(self, state: CollState, ef: int | None) -> None:
        target = wanted_ef(state, ef)
        if target is None:
            return
        config = Reconfigure.Vectors.update(
            name=VECTOR_NAME, vector_index_config=Reconfigure.VectorIndex.hnsw(ef=target)
        )
        handle = await self._collection(state)
        await self._run(
            state, f"set ef={target} on {state.spec.name!r}", handle.config.update, vector_config=config
        )
        state.ef = target

    # -- collections -------------------------------------------------------------------
    async def create_collection(self, spec: CollectionSpec) -> None:
        client = await self._connected()
        body = class_config(spec)
        if await self._load(spec.name) is not None or await self._call(
            f"check for {spec.name!r}", client.collections.exists, body["class"]
        ):
            raise ConfigError(f"collection {spec.name!r} already exists (Weaviate class {body['class']})")
        await self._call(f"create collection {spec.name!r}", client.collections.create_from_dict, body)
        state = await self._load(spec.name)  # with the defaults the server filled in
        if state is None:
            raise BackendError(f"Weaviate did not keep the class {body['class']} it was asked to create")
        self._states[spec.name] = state

    async def ensure_collection(self, spec: CollectionSpec) -> None:
        existing = await self._load(spec.name)
        if existing is None:
            await self.create_collection(spec)
            return
        check_compatible(existing.spec, spec)
        self._states[spec.name] = existing

    async def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        client = await self._connected()
        self._states.pop(name, None)
        if await self._load(name) is None:
            if missing_ok:
                return
            raise CollectionNotFoundError(name)
        await self._call(f"drop collection {name!r}", client.collections.delete, class_name(name))

    async def has_collection(self, name: str) -> bool:
        return await self._load(name) is not None

    async def list_collections(self) -> list[str]:
        client = await self._connected()
        configs = await self._call("list collections", client.collections.list_all, simple=True)
        names: list[str] = []
        for config in configs.values():
            try:
                state = state_from_config(config)
            except BackendError:
                continue
            if state is not None:
                names.append(state.spec.name)
        return sorted(names)

    async def collection_spec(self, name: str) -> CollectionSpec:
        return (await self._state(name)).spec

    # -- writes ------------------------------------------------------------------------
    async def upsert(self, collection: str, records: Sequence[Record]) -> None:
        state = await self._state(collection)
        matrix = validate_records(records, state.spec)
        if not len(records):
            return
        objects, kinds = prepare_objects(records, matrix)
        state = await self._ensure_properties(state, kinds)
        handle = await self._collection(state)
        for chunk in chunks(objects, self._config.batch):
            result = await self._run(
                state, f"upsert into {collection!r}", handle.data.insert_many, list(chunk)
            )
            if result.has_errors:
                raise BackendError(
                    f"Weaviate rejected {len(result.errors)} of {len(chunk)} objects in "
                    f"{collection!r}: {self._config.scrub(batch_errors(result.errors, chunk))}"
                )

    async def _ensure_properties(self, state: CollState, kinds: dict[str, Any]) -> CollState:
        missing = sorted(name for name in kinds if name not in state.properties)
        if not missing:
            return state
        handle = await self._collection(state)
        for name in missing:
            if name in state.properties:
                continue
            try:
                await handle.config.add_property(new_property(name, kinds[name]))
            except BACKEND_EXCEPTIONS as exc:
                state = await self._refresh(state)
                if name not in state.properties:
                    raise self._error(exc, f"add property {name!r} to {state.spec.name!r}") from exc
                handle = await self._collection(state)
                continue
            state.properties.add(name)
            state.compiled.clear()
        return state

    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None
    ) -> None:
        flt = as_filter(filter)
        self._caps.require_ops(flt)  # before any I/O
        id_list = validate_ids(ids) if ids is not None else []
        state = await self._state(collection)
        state, compiled = await self._compile(state, flt)
        handle = await self._collection(state)
        targets: list[FilterReturn | bool] = [ids_filter(c) for c in chunks(id_list, ID_CHUNK)]
        if flt is not None and compiled is not False:
            targets.append(compiled)  # True (matches everything) only from a real filter
        for target in targets:
            where = match_all() if target is True else target
            assert not isinstance(where, bool)
            for _ in range(100_000):
                result = await self._run(
                    state, f"delete from {collection!r}", handle.data.delete_many, where=where, verbose=False
                )
                if result.failed:
                    raise BackendError(
                        f"Weaviate failed to delete {result.failed} objects from {collection!r}"
                    )
                if result.matches == 0 or result.successful == 0:
                    break

    # -- reads -------------------------------------------------------------------------
    async def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        state = await self._state(collection)
        wanted = validate_ids(ids)
        handle = await self._collection(state)
        found: dict[str, Record] = {}
        for chunk in chunks(list(dict.fromkeys(wanted)), ID_CHUNK):
            res = await self._run(
                state,
                f"get from {collection!r}",
                handle.query.fetch_objects,
                filters=ids_filter(chunk),
                limit=len(chunk),
                include_vector=[VECTOR_NAME] if with_vectors else False,
                return_properties=PAYLOAD_PROPS,
            )
            for obj in res.objects:
                rec = record_from(obj, with_vectors=with_vectors)
                found[rec.id] = rec
        return [
            Record(id=r.id, vector=r.vector, text=r.text, metadata=dict(r.metadata))
            for r in (found[i] for i in wanted if i in found)
        ]

    async def count(self, collection: str, *, filter: FilterArg = None) -> int:
        flt = as_filter(filter)
        self._caps.require_ops(flt)  # before any I/O
        state = await self._state(collection)
        state, compiled = await self._compile(state, flt)
        if compiled is False:
            return 0
        return await self._count_compiled(state, compiled)

    async def _count_compiled(self, state: CollState, compiled: FilterReturn | bool) -> int:
        handle = await self._collection(state)
        res = await self._run(
            state,
            f"count {state.spec.name!r}",
            handle.aggregate.over_all,
            filters=None if compiled is True else compiled,
            total_count=True,
        )
        return int(res.total_count or 0)

    async def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> AsyncIterator[Record]:
        flt = as_filter(filter)
        self._caps.require_ops(flt)  # before any I/O
        state = await self._state(collection)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")
        state, compiled = await self._compile(state, flt)
        if compiled is False:
            return
        handle = await self._collection(state)
        include: list[str] | bool = [VECTOR_NAME] if with_vectors else False
        after: Any = None
        offset = 0
        while True:
            self._check_open()
            if compiled is True:
                res = await self._run(
                    state,
                    f"scroll {collection!r}",
                    handle.query.fetch_objects,
                    limit=batch_size,
                    after=after,
                    include_vector=include,
                    return_properties=PAYLOAD_PROPS,
                )
            else:
                res = await self._run(
                    state,
                    f"scroll {collection!r} with a filter",
                    handle.query.fetch_objects,
                    limit=batch_size,
                    offset=offset,
                    filters=compiled,
                    include_vector=include,
                    return_properties=PAYLOAD_PROPS,
                )
            for obj in res.objects:
                self._check_open()
                yield record_from(obj, with_vectors=with_vectors)
            if len(res.objects) < batch_size:
                return
            after = res.objects[-1].uuid
            offset += batch_size

    async def optimize(self, collection: str) -> None:
        state = await self._state(collection)
        handle = await self._collection(state)
        deadline = time.monotonic() + self._config.index_timeout
        delay = 0.05
        while True:
            shards = await self._run(state, f"read the shards of {collection!r}", handle.config.get_shards)
            if all(s.vector_queue_size == 0 and s.status in ("READY", "READONLY") for s in shards):
                return
            if time.monotonic() > deadline:
                raise TransientBackendError(
                    f"Weaviate was still indexing {collection!r} after {self._config.index_timeout} s"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

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
        self._caps.require_ops(as_filter(filter))  # before any I/O
        state = await self._state(collection)
        q, flt, p = validate_search(
            state.spec, vector=vector, sparse=sparse, filter=filter, k=k, params=params
        )
        assert q is not None
        state, compiled = await self._compile(state, flt)
        if compiled is False:
            return []
        if needs_flat_search(state, p.exact):
            check_flat_cutoff(state, await self._count_compiled(state, compiled))
            if compiled is True:
                compiled = match_all()
        else:
            await self._set_ef(state, p.ef)
        handle = await self._collection(state)
        res = await self._run(
            state,
            f"search {collection!r}",
            handle.query.near_vector,
            near_vector=q.tolist(),
            target_vector=VECTOR_NAME,
            limit=k,
            filters=None if compiled is True else compiled,
            include_vector=[VECTOR_NAME] if with_vectors else False,
            return_metadata=MetadataQuery(distance=True),
            return_properties=PAYLOAD_PROPS if with_payload else ID_ONLY_PROPS,
        )
        metric = state.spec.metric
        return hits_from(res.objects, metric, with_payload=with_payload, with_vectors=with_vectors)

    async def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        """Run the searches concurrently on the one connection (gRPC multiplexes them)."""
        return list(
            await asyncio.gather(
                *(
                    self.search(
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
                    for r in requests
                )
            )
        )

    async def hybrid(
        self,
        collection: str,
        *,
        query: str,
        vector: VectorLike | None = None,
        alpha: float = 0.5,
        fusion: TextFusion | Fusion = TextFusion.RELATIVE_SCORE,
        filter: FilterArg = None,
        k: int = 10,
        with_payload: bool = True,
        with_vectors: bool = False,
    ) -> list[Hit]:
        """See :meth:`vecctx_weaviate.WeaviateStore.hybrid`."""
        flt = as_filter(filter)
        self._caps.require_ops(flt)  # before any I/O
        state = await self._state(collection)
        text = check_query_text(query)
        weight = check_alpha(alpha)
        validate_k(k)
        mode = text_fusion(fusion)
        if vector is None and weight > 0.0:
            raise InvalidInputError("hybrid search with alpha > 0 needs the query vector (no vectorizer)")
        q = validate_vector(vector, state.spec.dimension) if vector is not None else None
        state, compiled = await self._compile(state, flt)
        if compiled is False:
            return []
        handle = await self._collection(state)
        res = await self._run(
            state,
            f"hybrid search {collection!r}",
            handle.query.hybrid,
            query=text,
            alpha=weight,
            vector=q.tolist() if q is not None else None,
            query_properties=[PROP_TEXT],
            fusion_type=mode.native,
            target_vector=VECTOR_NAME if q is not None else None,
            limit=k,
            filters=None if compiled is True else compiled,
            include_vector=[VECTOR_NAME] if with_vectors else False,
            return_metadata=MetadataQuery(score=True),
            return_properties=PAYLOAD_PROPS if with_payload else ID_ONLY_PROPS,
        )
        return [
            fused_hit_from(o, mode, with_payload=with_payload, with_vectors=with_vectors) for o in res.objects
        ]

    # -- lifecycle ---------------------------------------------------------------------
    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*BACKEND_EXCEPTIONS, RuntimeError):
                await client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def open_async_store(url: str) -> AsyncWeaviateStore:
    """Entry point for ``vecctx.async_adapters``."""
    return AsyncWeaviateStore.from_url(url)


__all__ = ["AsyncWeaviateStore", "open_async_store"]
