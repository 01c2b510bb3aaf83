"""The store front users hold, written once: ``scripts/unasync.py`` generates the synchronous
:class:`~vecctx.front.Store` in ``vecctx/_sync/front.py`` from this file (a test checks that
the generated file is current). Edit this file, never the generated one.

The front owns every check and every policy; the driver under it sees only checked input
(see :mod:`vecctx.contract.driver`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from vecctx.contract.checks import (
    check_batch_size,
    check_collection_name,
    check_compatible,
    check_filter,
    check_requests,
    check_search,
    check_spec,
    check_text_sizes,
    order_records,
    redact_chain,
    redacted,
    resolve_filter,
)
from vecctx.contract.dates import date_fields, decode_hits, decode_records, encode_records
from vecctx.contract.driver import AsyncDriver
from vecctx.contract.errors import (
    CollectionNotFoundError,
    ConfigError,
    DimensionMismatchError,
    TransientBackendError,
    VecctxError,
)
from vecctx.contract.filters import Filter
from vecctx.contract.lifetime import AsyncClosingContext
from vecctx.contract.store import Capabilities, FilterArg, Fusion, SearchParams, SearchRequest
from vecctx.contract.types import CollectionSpec, Hit, Record, SparseVector, VectorLike, is_collection_name
from vecctx.contract.validation import validate_ids, validate_records
from vecctx.retry import acall_with_retry

T = TypeVar("T")


class AsyncStore(AsyncClosingContext):
    """A vector store: one front over one backend driver, as ``vecctx.connect`` returns."""

    def __init__(self, driver: AsyncDriver) -> None:
        self._driver = driver
        self._specs: dict[str, CollectionSpec] = {}
        self._operations: dict[tuple[str, str | None], str] = {}

    @property
    def capabilities(self) -> Capabilities:
        return self._driver.capabilities

    @property
    def driver(self) -> AsyncDriver:
        """The backend driver under this front (for backend-specific extras)."""
        return self._driver

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._driver.target}, closed={self._closed})"

    # -- plumbing ------------------------------------------------------------------------
    async def _call(
        self,
        action: str,
        collection: str | None,
        fn: Callable[[], Awaitable[T]],
        *,
        idempotent: bool = True,
    ) -> T:
        """Run one driver call under the retry policy, translating the client's errors."""
        driver = self._driver
        secrets = driver.secrets

        async def attempt() -> T:
            self._check_open()  # also between the pages of a scroll and between retries
            try:
                return await fn()
            except VecctxError as exc:
                err: VecctxError = exc
            except Exception as exc:
                redact_chain(exc, secrets)  # the client's exception stays the cause: mask it too
                err = driver.translate(exc, action, collection)
                if isinstance(err, CollectionNotFoundError) and collection is not None:
                    self._specs.pop(collection, None)
                raise redacted(err, secrets) from exc
            if isinstance(err, CollectionNotFoundError) and collection is not None:
                self._specs.pop(collection, None)
            raise redacted(err, secrets)

        policy = driver.retry if idempotent else driver.retry.with_max_attempts(1)
        return await acall_with_retry(
            attempt,
            policy=policy,
            operation=self._operation(action, collection),
            target=driver.target,
            on_retry=self._on_retry,
            redact=secrets,
        )

    def _operation(self, action: str, collection: str | None) -> str:
        """How errors and retry logs name a call (made once per action and collection)."""
        key = (action, collection)
        text = self._operations.get(key)
        if text is None:
            where = f"{action} on collection {collection!r}" if collection is not None else action
            text = self._operations[key] = f"{self._driver.capabilities.name} {where}"
        return text

    async def _on_retry(self, err: TransientBackendError, failures: int) -> None:
        if not self._closed:
            await self._driver.on_retry(err, failures)

    async def _spec(self, name: str) -> CollectionSpec:
        self._check_open()
        check_collection_name(name)
        spec = self._specs.get(name)
        if spec is None:
            if not is_collection_name(name):  # no collection can have it: the driver never sees it
                raise CollectionNotFoundError(name)
            found = await self._call("describe", name, lambda: self._driver.collection_spec(name))
            if found is None:
                raise CollectionNotFoundError(name)
            self._specs[name] = spec = found
        return spec

    async def _fresh_spec(self, name: str) -> CollectionSpec:
        """The collection's spec read again after a check against the cached one failed (the
        caller's second check raises the error again when nothing changed)."""
        self._specs.pop(name, None)
        return await self._spec(name)

    def _compile(self, spec: CollectionSpec, filter: Filter | bool) -> Any:
        """The driver's form of a filter :func:`resolve_filter` bound (``None``: no filter)."""
        return self._driver.compile_filter(spec, filter) if isinstance(filter, Filter) else None

    # -- collections ---------------------------------------------------------------------
    async def create_collection(self, spec: CollectionSpec) -> None:
        """Create; raise ``ConfigError`` if it exists."""
        self._check_open()
        check_spec(spec, self.capabilities)
        if await self._call("describe", spec.name, lambda: self._driver.collection_spec(spec.name)):
            raise ConfigError(f"collection {spec.name!r} already exists")
        await self._call("create", spec.name, lambda: self._driver.create_collection(spec), idempotent=False)
        self._specs[spec.name] = spec

    async def ensure_collection(self, spec: CollectionSpec) -> None:
        """Create if missing; raise ``ConfigError`` if it exists with another dimension,
        metric or sparse setting."""
        self._check_open()
        check_spec(spec, self.capabilities)
        existing = await self._call("describe", spec.name, lambda: self._driver.collection_spec(spec.name))
        if existing is not None:
            check_compatible(existing, spec)
            self._specs[spec.name] = existing
            return
        await self.create_collection(spec)

    async def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self._check_open()
        check_collection_name(name)
        self._specs.pop(name, None)
        existed = is_collection_name(name) and await self._call(
            "drop", name, lambda: self._driver.drop_collection(name), idempotent=False
        )
        if not existed and not missing_ok:
            raise CollectionNotFoundError(name)

    async def has_collection(self, name: str) -> bool:
        self._check_open()
        check_collection_name(name)
        if not is_collection_name(name):
            return False
        try:
            spec = await self._call("describe", name, lambda: self._driver.collection_spec(name))
        except ConfigError:
            return True  # it exists, but vecctx did not create it
        if spec is None:
            self._specs.pop(name, None)
        return spec is not None

    async def list_collections(self) -> list[str]:
        self._check_open()
        return sorted(await self._call("list collections", None, self._driver.list_collections))

    async def collection_spec(self, name: str) -> CollectionSpec:
        return await self._spec(name)

    # -- writes --------------------------------------------------------------------------
    async def upsert(self, collection: str, records: Sequence[Record]) -> None:
        """Insert or replace by id. The whole batch is validated before anything is written."""
        spec = await self._spec(collection)
        try:
            stored = encode_records(records, date_fields(spec))
            matrix = validate_records(stored, spec)
        except DimensionMismatchError:
            spec = await self._fresh_spec(collection)  # another client may have recreated it
            stored = encode_records(records, date_fields(spec))
            matrix = validate_records(stored, spec)
        check_text_sizes(self.capabilities, stored)
        if not len(stored):
            return
        await self._call("upsert", collection, lambda: self._driver.upsert(spec, stored, matrix))

    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None
    ) -> None:
        """Delete by ids, by filter, or both (records matching either)."""
        checked_ids = validate_ids(ids) if ids is not None else None
        flt = check_filter(self.capabilities, filter)
        spec = await self._spec(collection)
        bound = resolve_filter(spec, flt)
        if bound is True and flt is not None:  # a filter every record matches: delete them all by id
            checked_ids = [
                *(checked_ids or ()),
                *[r.id async for r in self._scroll(collection, True, 256, False)],
            ]
        compiled = self._compile(spec, bound)
        if not checked_ids and compiled is None:
            return
        await self._call("delete", collection, lambda: self._driver.delete(spec, checked_ids, compiled))

    # -- reads ---------------------------------------------------------------------------
    async def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        """Records for the ids that exist, in the order asked."""
        wanted = validate_ids(ids)
        spec = await self._spec(collection)
        if not wanted:
            return []
        unique = list(dict.fromkeys(wanted))
        found = await self._call(
            "get", collection, lambda: self._driver.get(spec, unique, bool(with_vectors))
        )
        return order_records(decode_records(found, date_fields(spec)), wanted)

    async def count(self, collection: str, *, filter: FilterArg = None) -> int:
        flt = check_filter(self.capabilities, filter)
        spec = await self._spec(collection)
        bound = resolve_filter(spec, flt)
        if bound is False:
            return 0
        compiled = self._compile(spec, bound)
        return await self._call("count", collection, lambda: self._driver.count(spec, compiled))

    def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> AsyncIterator[Record]:
        """Every (matching) record, in no particular order, fetched ``batch_size`` at a time."""
        self._check_open()
        check_collection_name(collection)
        check_batch_size(batch_size)
        flt = check_filter(self.capabilities, filter)
        return self._scroll(collection, flt, batch_size, bool(with_vectors))

    async def _scroll(
        self, collection: str, flt: Filter | bool | None, batch_size: int, with_vectors: bool
    ) -> AsyncIterator[Record]:
        spec = await self._spec(collection)
        bound = flt if isinstance(flt, bool) else resolve_filter(spec, flt)
        if bound is False:
            return
        compiled = self._compile(spec, bound)
        dates = date_fields(spec)
        cursor: Any = None
        while True:
            page = await self._call(
                "scroll",
                collection,
                partial(self._driver.scroll, spec, compiled, cursor, batch_size, with_vectors),
            )
            for record in decode_records(page.records, dates):
                yield record
            if page.next is None:
                return
            cursor = page.next

    async def optimize(self, collection: str) -> None:
        """Build indexes after a bulk load (no-op where the backend indexes eagerly)."""
        spec = await self._spec(collection)
        await self._call("optimize", collection, lambda: self._driver.optimize(spec))

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
        driver = self._driver
        spec = await self._spec(collection)
        for cached in (True, False):  # a cached spec, then the stored one if the vector's size differs
            try:
                query = check_search(
                    spec,
                    driver.capabilities,
                    driver.compile_filter,
                    vector=vector,
                    sparse=sparse,
                    filter=filter,
                    k=k,
                    params=params,
                    fusion=fusion,
                    with_payload=with_payload,
                    with_vectors=with_vectors,
                )
                break
            except DimensionMismatchError:
                if not cached:
                    raise
                spec = await self._fresh_spec(collection)  # another client may have recreated it
        if query is None:  # the filter matches no record
            return []
        hits = await self._call("search", collection, partial(driver.search, spec, query))
        return decode_hits(hits, date_fields(spec))

    async def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        """Several searches on one collection, in one round trip where the backend has one."""
        checked_requests = check_requests(requests)
        spec = await self._spec(collection)
        caps, compile_filter = self._driver.capabilities, self._driver.compile_filter
        queries = [
            check_search(
                spec,
                caps,
                compile_filter,
                vector=r.vector,
                sparse=r.sparse,
                filter=r.filter,
                k=r.k,
                params=r.params,
                fusion=r.fusion,
                with_payload=r.with_payload,
                with_vectors=r.with_vectors,
            )
            for r in checked_requests
        ]
        asked = [q for q in queries if q is not None]  # None: a filter that matches no record
        if not asked:
            return [[] for _ in queries]
        batch = await self._call("search batch", collection, lambda: self._driver.search_batch(spec, asked))
        if batch is None:
            batch = []
            for query in asked:
                batch.append(
                    await self._call("search", collection, partial(self._driver.search, spec, query))
                )
        dates = date_fields(spec)
        answers = iter(batch)
        return [[] if q is None else decode_hits(next(answers), dates) for q in queries]

    # -- lifetime ------------------------------------------------------------------------
    async def close(self) -> None:
        if self._closed:
            return
        self._specs.clear()
        try:
            await self._call("close", None, self._driver.close, idempotent=False)
        finally:
            self._closed = True


__all__ = ["AsyncStore"]
