"""The tenant-scoped store, written once: ``scripts/unasync.py`` generates
:class:`~vecctx.scoped.TenantScopedStore` (``vecctx/_sync/scoped.py``) from
:class:`AsyncTenantScopedStore` here. The semantics are documented in :mod:`vecctx.scoped`,
which holds the translation both share (:class:`~vecctx.scoped._Scope`) and exports both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Unpack

from vecctx.contract.filters import MAX_FILTER_DEPTH
from vecctx.contract.lifetime import AsyncClosingContext
from vecctx.contract.store import (
    AsyncVectorStore,
    Capabilities,
    FilterArg,
    ScrollOptions,
    SearchOptions,
    SearchRequest,
)
from vecctx.contract.types import CollectionSpec, Hit, Record
from vecctx.scoped import DEFAULT_TENANT_FIELD, _drop_refused, _Scope


class AsyncTenantScopedStore(AsyncClosingContext):
    """A store confined to one tenant of a shared store, with the wrapped store's interface.

    See :mod:`vecctx.scoped` for the exact semantics; build one with :func:`~vecctx.scoped.scoped`.
    Closing the view leaves the wrapped store open (it belongs to the caller).
    """

    def __init__(self, store: AsyncVectorStore, *, tenant: str, field: str = DEFAULT_TENANT_FIELD) -> None:
        self._scope = _Scope(tenant, field)
        self._store = store

    @property
    def tenant(self) -> str:
        return self._scope.tenant

    @property
    def field(self) -> str:
        """The metadata key holding the tenant."""
        return self._scope.field

    @property
    def store(self) -> AsyncVectorStore:
        """The wrapped, unscoped store."""
        return self._store

    @property
    def capabilities(self) -> Capabilities:
        """The wrapped store's, but for one level of filter nesting the tenant guard takes."""
        caps = self._store.capabilities
        return replace(caps, max_filter_depth=min(caps.max_filter_depth, MAX_FILTER_DEPTH - 1))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._scope!r}, store={self._store!r})"

    def _inner(self) -> AsyncVectorStore:
        self._check_open()
        return self._store

    # -- collections (shared) --------------------------------------------------------------
    async def create_collection(self, spec: CollectionSpec) -> None:
        await self._inner().create_collection(self._scope.spec(spec))

    async def ensure_collection(self, spec: CollectionSpec) -> None:
        await self._inner().ensure_collection(self._scope.spec(spec))

    async def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self._inner()
        raise _drop_refused(name)

    async def has_collection(self, name: str) -> bool:
        return await self._inner().has_collection(name)

    async def list_collections(self) -> list[str]:
        return await self._inner().list_collections()

    async def collection_spec(self, name: str) -> CollectionSpec:
        return await self._inner().collection_spec(name)

    async def optimize(self, collection: str) -> None:
        await self._inner().optimize(collection)

    # -- writes ----------------------------------------------------------------------------
    async def upsert(self, collection: str, records: Sequence[Record]) -> None:
        store = self._inner()
        await store.upsert(collection, self._scope.records(records))

    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None
    ) -> None:
        store = self._inner()
        scope = self._scope
        flt = scope.optional_filter(filter)
        wanted = scope.ids(ids) if ids is not None else []
        if not wanted and flt is None:
            return
        mine = [r.id for r in await store.get(collection, wanted) if scope.owns(r)] if wanted else []
        if mine or flt is not None:
            await store.delete(collection, ids=mine or None, filter=flt)

    # -- reads -----------------------------------------------------------------------------
    async def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        store = self._inner()
        scope = self._scope
        found = await store.get(collection, scope.ids(ids), with_vectors=with_vectors)
        return [m for m in map(scope.record, found) if m is not None]

    async def count(self, collection: str, *, filter: FilterArg = None) -> int:
        store = self._inner()
        return await store.count(collection, filter=self._scope.filter(filter))

    async def search(self, collection: str, **options: Unpack[SearchOptions]) -> list[Hit]:
        store = self._inner()
        options["filter"] = self._scope.filter(options.get("filter"))
        return self._scope.hits(await store.search(collection, **options))

    async def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        store = self._inner()
        scope = self._scope
        return [scope.hits(h) for h in await store.search_batch(collection, scope.requests(requests))]

    def scroll(self, collection: str, **options: Unpack[ScrollOptions]) -> AsyncIterator[Record]:
        store = self._inner()
        options["filter"] = self._scope.filter(options.get("filter"))  # checked now, not at the first next()
        return self._mine(store.scroll(collection, **options))

    async def _mine(self, records: AsyncIterator[Record]) -> AsyncIterator[Record]:
        scope = self._scope
        async for r in records:
            mine = scope.record(r)
            if mine is not None:
                yield mine


__all__ = ["AsyncTenantScopedStore"]
