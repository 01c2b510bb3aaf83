"""The Weaviate driver on ``weaviate.WeaviateAsyncClient``, written once: ``scripts/unasync.py``
generates ``WeaviateDriver`` (on ``weaviate.WeaviateClient``) in ``_sync/driver.py``. Requests and
replies are built by the sans-I/O :mod:`vecctx_weaviate._core`; the class state is cached here."""

# unasync: WeaviateAsyncClient -> WeaviateClient
# unasync: CollectionAsync -> Collection

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable, Callable, Sequence
from time import monotonic
from typing import Any, TypeVar

import weaviate
from weaviate.collections import CollectionAsync
from weaviate.exceptions import UnexpectedStatusCodeError

from vecctx.contract.checks import check_collection_name, check_filter, redacted
from vecctx.contract.driver import AsyncDriverBase, CheckedSearch, Page
from vecctx.contract.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    StoreClosedError,
    TransientBackendError,
    VecctxError,
)
from vecctx.contract.filters import Filter
from vecctx.contract.store import FilterArg, Fusion
from vecctx.contract.types import CollectionSpec, FloatArray, Hit, IndexKind, Record, VectorLike
from vecctx_weaviate import _core
from vecctx_weaviate._core import CollState, TextFusion
from vecctx_weaviate.config import WeaviateConfig
from vecctx_weaviate.errors import translate
from vecctx_weaviate.filters import Compiled, FilterCompiler
from vecctx_weaviate.schema import Kind, class_config, class_name

T = TypeVar("T")


class AsyncWeaviateDriver(AsyncDriverBase):
    """vecctx's driver for a Weaviate server. Creating it reads the server version (blocking: the
    capabilities depend on it); the client connects on first use or on :meth:`connect`."""

    #: Seconds between two schema re-reads caused by a filter on a property the class lacks.
    schema_refresh_s = 1.0

    def __init__(self, config: WeaviateConfig) -> None:
        self.config = config
        self.target = config.url
        self.secrets = config.secrets
        self.retry = config.retry
        self.server_version = _core.parse_version(config.read_version())
        self.capabilities = _core.capabilities(self.server_version)
        self._native_not = self.server_version >= _core.NOT_VERSION
        #: The weaviate-client, once connected (for what vecctx does not cover).
        self.client: weaviate.WeaviateAsyncClient | None = None
        self._closed = False
        self._states: dict[str, CollState] = {}
        self._handles: dict[str, CollectionAsync[Any, Any]] = {}

    def translate(self, exc: Exception, action: str, collection: str | None) -> VecctxError:
        return translate(exc, f"{action} {collection!r}" if collection is not None else action)

    def compile_filter(self, spec: CollectionSpec, flt: Filter) -> Filter:
        return flt  # each request compiles it against the class's typed properties (see _where)

    # -- connection and cached state -----------------------------------------------------
    async def connect(self) -> weaviate.WeaviateAsyncClient:
        """The client, connected once both the REST and the gRPC endpoint answered."""
        if self._closed:
            raise StoreClosedError(f"the Weaviate driver for {self.target} is closed")
        if self.client is not None:
            return self.client
        client = weaviate.WeaviateAsyncClient(**self.config.client_args())
        try:
            await client.connect()
            with contextlib.redirect_stdout(io.StringIO()):  # is_live() prints its failures
                if not await client.is_live():
                    raise _core.grpc_down(self.config)
        except Exception as exc:
            with contextlib.suppress(Exception):
                await client.close()
            raise redacted(self.translate(exc, f"connect to {self.target}", None), self.secrets) from exc
        if self.client is None:
            self.client = client
        else:  # another task connected meanwhile
            await client.close()
        return self.client

    async def _handle(self, cls: str) -> CollectionAsync[Any, Any]:
        client = await self.connect()
        if cls not in self._handles:  # one per class: each builds a dozen helper objects
            self._handles[cls] = client.collections.use(cls)
        return self._handles[cls]

    async def _load(self, name: str) -> CollState | None:
        """Read the class of collection ``name`` (``None``: absent, or not made by vecctx)."""
        handle = await self._handle(class_name(name))
        try:
            state = _core.state_from_config(await handle.config.get())
        except UnexpectedStatusCodeError as exc:
            if exc.status_code == 404:
                return None
            raise
        return state  # spec_from_description checked that the class is this collection's

    async def _open(self, name: str) -> tuple[CollState, CollectionAsync[Any, Any]]:
        """The cached state of collection ``name`` (read on first use) and its class's handle."""
        if name not in self._states and await self.collection_spec(name) is None:
            raise CollectionNotFoundError(name)
        state = self._states[name]
        return state, await self._handle(state.cls)

    async def _refresh(self, state: CollState) -> None:
        """Re-read ``state``'s class in place (properties another writer added, ef, cutoff)."""
        fresh = await self._load(state.spec.name)
        if fresh is None:
            self._states.pop(state.spec.name, None)
            raise CollectionNotFoundError(state.spec.name)
        state.properties, state.ef, state.flat_cutoff = fresh.properties, fresh.ef, fresh.flat_cutoff
        state.refreshed = fresh.refreshed

    async def _run(self, state: CollState, call: Callable[..., Awaitable[T]], /, **kwargs: Any) -> T:
        """``call(**kwargs)``; ``CollectionNotFoundError`` if it failed as the class was dropped."""
        try:
            return await call(**kwargs)
        except Exception as exc:
            self._states.pop(state.spec.name, None)
            try:
                gone = await self._load(state.spec.name) is None
            except Exception:
                gone = False
            if gone:
                raise CollectionNotFoundError(state.spec.name) from exc
            raise

    async def _where(self, state: CollState, flt: Filter | None, *, refresh: bool = True) -> Compiled:
        """``flt`` compiled for ``state``'s class, re-read (at most every ``schema_refresh_s``)
        when it lacks properties the filter names."""
        if flt is None:
            return True
        compiler = FilterCompiler(state.properties, native_not=self._native_not)
        where = compiler.compile(flt)
        if compiler.missing and refresh and monotonic() - state.refreshed > self.schema_refresh_s:
            await self._refresh(state)
            where = FilterCompiler(state.properties, native_not=self._native_not).compile(flt)
        return where

    # -- collections ---------------------------------------------------------------------
    async def collection_spec(self, name: str) -> CollectionSpec | None:
        state = await self._load(name)
        if state is None:
            self._states.pop(name, None)
            return None
        self._states[name] = state
        return state.spec

    async def list_collections(self) -> list[str]:
        client = await self.connect()
        names: list[str] = []
        for config in (await client.collections.list_all(simple=True)).values():
            with contextlib.suppress(BackendError):  # an unreadable vecctx spec: not listed
                state = _core.state_from_config(config)
                names += [state.spec.name] if state is not None else []
        return names

    async def create_collection(self, spec: CollectionSpec) -> None:
        body = class_config(spec)  # raises for an index kind Weaviate lacks, before any I/O
        client = await self.connect()
        if await client.collections.exists(body["class"]):
            raise ConfigError(
                f"collection {spec.name!r} exists (Weaviate class {body['class']}, not vecctx's)"
            )
        await client.collections.create_from_dict(body)
        if await self.collection_spec(spec.name) is None:  # with the defaults the server filled in
            raise BackendError(f"Weaviate did not keep the class {body['class']} it was asked to create")

    async def drop_collection(self, name: str) -> bool:
        self._states.pop(name, None)
        if await self._load(name) is None:
            return False  # absent, or a class vecctx did not make: never touched
        client = await self.connect()
        await client.collections.delete(class_name(name))
        return True

    # -- writes --------------------------------------------------------------------------
    async def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        state, handle = await self._open(spec.name)
        objects, kinds = _core.prepare_objects(records, vectors)
        await self._ensure_properties(state, handle, kinds)
        for start in range(0, len(objects), self.config.batch):
            chunk = objects[start : start + self.config.batch]
            _core.check_inserted(
                await self._run(state, handle.data.insert_many, objects=chunk), chunk, spec.name
            )

    async def _ensure_properties(
        self, state: CollState, handle: CollectionAsync[Any, Any], kinds: dict[str, Kind]
    ) -> None:
        """Add the typed properties the objects use before writing them (never auto-schema)."""
        for name in sorted(kinds.keys() - state.properties):
            try:
                await handle.config.add_property(_core.new_property(name, kinds[name]))
            except Exception:
                await self._refresh(state)  # another writer may have added it meanwhile
                if name not in state.properties:
                    raise
            state.properties.add(name)

    async def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Filter | None) -> None:
        state, handle = await self._open(spec.name)
        where = await self._where(state, filter) if filter is not None else None
        for target in _core.delete_targets(ids, where):
            done = False
            while not done:  # a batch delete stops at QUERY_MAXIMUM_RESULTS: until none is left
                result = await self._run(state, handle.data.delete_many, where=target, verbose=False)
                done = _core.deleted_all(result, spec.name)

    # -- reads ---------------------------------------------------------------------------
    async def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        state, handle = await self._open(spec.name)
        out: list[Record] = []
        for start in range(0, len(ids), _core.ID_CHUNK):
            args = _core.fetch_args(ids[start : start + _core.ID_CHUNK], with_vectors)
            res = await self._run(state, handle.query.fetch_objects, **args)
            out += [_core.record_from(o, with_vectors=with_vectors) for o in res.objects]
        return out

    async def count(self, spec: CollectionSpec, filter: Filter | None) -> int:
        state, handle = await self._open(spec.name)
        where = await self._where(state, filter)
        return 0 if where is False else await self._count(state, handle, where)

    async def _count(self, state: CollState, handle: CollectionAsync[Any, Any], where: Compiled) -> int:
        res = await self._run(state, handle.aggregate.over_all, filters=_core.native(where), total_count=True)
        return int(res.total_count or 0)

    async def scroll(
        self, spec: CollectionSpec, filter: Filter | None, cursor: Any, limit: int, with_vectors: bool
    ) -> Page:
        state, handle = await self._open(spec.name)
        where = await self._where(state, filter, refresh=cursor is None)  # one filter a scroll
        if where is False:
            return Page([])
        args = _core.page_args(where, cursor, limit, with_vectors)
        res = await self._run(state, handle.query.fetch_objects, **args)
        return _core.page_of(res.objects, args, with_vectors)

    async def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        state, handle = await self._open(spec.name)
        where = await self._where(state, query.filter)
        if where is False:
            return []
        hnsw = spec.index.kind is IndexKind.HNSW
        if query.exact and hnsw:  # steer onto Weaviate's flat path (see check_flat_cutoff)
            _core.check_flat_cutoff(state, await self._count(state, handle, where))
            where = _core.match_all() if where is True else where
        elif query.ef is not None and hnsw and state.ef != query.ef:
            await self._run(state, handle.config.update, vector_config=_core.ef_update(query.ef))
            state.ef = query.ef
        res = await self._run(state, handle.query.near_vector, **_core.near_vector_args(query, where))
        return _core.hits_from(
            res.objects, spec.metric, with_payload=query.with_payload, with_vectors=query.with_vectors
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
        """Weaviate's BM25 + vector hybrid search (see the README): an extra beside the store
        front, which checks its input and translates its errors itself, and is not retried."""
        flt = check_filter(self.capabilities, filter)
        mode = _core.text_fusion(fusion)
        try:
            state, handle = await self._open(check_collection_name(collection))
            args = _core.hybrid_args(state.spec, query, vector, alpha, k, mode, with_payload, with_vectors)
            where = await self._where(state, flt)
            if where is False:
                return []
            res = await self._run(state, handle.query.hybrid, **args, filters=_core.native(where))
        except VecctxError:
            raise
        except Exception as exc:
            raise redacted(self.translate(exc, "hybrid search", collection), self.secrets) from exc
        return _core.fused_hits(res.objects, mode, with_payload=with_payload, with_vectors=with_vectors)

    async def optimize(self, spec: CollectionSpec) -> None:
        """Wait until Weaviate's (possibly asynchronous) vector indexing has caught up."""
        state, handle = await self._open(spec.name)
        deadline = monotonic() + self.config.index_timeout
        delay = 0.05
        while not _core.indexed(await self._run(state, handle.config.get_shards)):
            if monotonic() > deadline:
                raise TransientBackendError(
                    f"Weaviate was still indexing {spec.name!r} after {self.config.index_timeout} s"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    # -- lifetime (no on_retry: the client reconnects by itself) -------------------------
    async def close(self) -> None:
        self._closed = True
        self._states.clear()
        self._handles.clear()
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):  # RuntimeError: closed from another event loop
                await client.close()


__all__ = ["AsyncWeaviateDriver"]
