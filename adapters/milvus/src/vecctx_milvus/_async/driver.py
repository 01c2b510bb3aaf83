"""The Milvus driver, written once as the native-async ``AsyncMilvusDriver`` (on pymilvus's
``AsyncMilvusClient``); ``scripts/unasync.py`` generates the synchronous ``MilvusDriver`` (on
``MilvusClient``) in ``_sync/driver.py``. Requests are built and responses parsed by the
sans-I/O :mod:`vecctx_milvus.common`; this module holds the calls and the connection's state.
"""

# unasync: await_background -> wait_for_background

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Sequence
from time import monotonic
from typing import Any

from vecctx.contract.driver import CheckedSearch, Page
from vecctx.contract.errors import TransientBackendError, VecctxError
from vecctx.contract.filters import Filter
from vecctx.contract.types import CollectionSpec, FloatArray, Hit, Record
from vecctx_milvus import common as c
from vecctx_milvus import lite
from vecctx_milvus.config import MilvusConfig
from vecctx_milvus.filters import MilvusFilterCompiler


class AsyncMilvusDriver:
    """vecctx driver over Milvus Lite (``milvus:///file.db``; its server runs in this process,
    shared by every store on the path) or a Milvus server. The client connects on first use."""

    capabilities = c.CAPABILITIES

    def __init__(self, config: MilvusConfig) -> None:
        self.config = config
        self.retry = config.retry
        self.target = config.describe()
        self.secrets: tuple[str, ...] = (config.token,) if config.token else ()
        #: The server's version once connected (``milvus_lite...`` on Milvus Lite).
        self.server_version = ""
        #: How many times a new client replaced one whose calls kept failing transiently.
        self.reconnects = 0
        self._last_reconnect = 0.0
        self._client: Any = None
        self._write = "upsert"
        self._unflushed: Counter[str] = Counter()  # rows written per collection since its flush
        self._compiler = MilvusFilterCompiler()
        uri = lite.acquire(config.lite_path) if config.lite_path is not None else config.uri
        self._client_kwargs = config.client_kwargs(uri or "")

    def translate(self, exc: Exception, action: str, collection: str | None) -> VecctxError:
        return c.translate(exc, action, collection)

    def compile_filter(self, spec: CollectionSpec, flt: Filter) -> str:
        return self._compiler.compile(flt)

    # -- plumbing ------------------------------------------------------------------------
    async def connect(self) -> Any:
        """The client, created (and the server's version read) on first use."""
        if self._client is None:
            from pymilvus import AsyncMilvusClient  # type: ignore[import-untyped]

            client = AsyncMilvusClient(**self._client_kwargs)
            self.server_version = str(await client.get_server_version())
            # Milvus Lite's upsert merges fields into the old row (stale filter fields would
            # stay); its insert of an existing id replaces the row. A server's upsert does.
            self._write = "insert" if self.server_version.startswith("milvus_lite") else "upsert"
            self._client = client
        return self._client

    async def _run(self, method: str, mname: str, *args: Any, read: bool = False, **kwargs: Any) -> Any:
        """``client.<method>(mname, ...)``. A ``read`` first flushes once ``flush_threshold``
        rows written here await it (Milvus Lite scans unflushed rows in Python). A collection
        Milvus reports released (a reopened Lite, a restarted server, another client's
        optimize) is loaded and the call made again."""
        client = await self.connect()
        pending = self._unflushed[mname]
        if read and pending and pending >= self.config.flush_threshold:
            await client.flush(mname)
            self._unflushed[mname] = 0
        try:
            return await getattr(client, method)(mname, *args, **kwargs)
        except Exception as exc:
            if not c.not_loaded(exc):
                raise
        await self._load(mname)
        return await getattr(client, method)(mname, *args, **kwargs)

    async def _load(self, mname: str) -> None:
        """Load, waiting while a Milvus Lite background index build still writes the file
        load reads (a race inside Milvus Lite 3.2 when it runs in another process)."""
        client = await self.connect()
        delay, waited = 0.2, 0.0
        while True:
            try:
                await client.load_collection(mname)
                return
            except Exception as exc:
                if waited >= c.LOAD_RETRY_SECONDS or "not fully written" not in str(exc):
                    raise
            await asyncio.sleep(delay)
            waited, delay = waited + delay, min(delay * 2, 2.0)

    async def on_retry(self, err: TransientBackendError, failures: int) -> None:
        """From the third retry of a call on, drop the client for a new one (at most once
        every 2 s; pymilvus re-dials a channel by itself, this covers one it gave up on)."""
        old = self._client
        if failures < 3 or self.config.is_lite or old is None or monotonic() - self._last_reconnect < 2.0:
            return
        self._last_reconnect = monotonic()
        self._client = None
        self.reconnects += 1
        with contextlib.suppress(Exception):  # closing a dead client may fail
            await old.close()

    # -- collections ---------------------------------------------------------------------
    async def collection_spec(self, name: str) -> CollectionSpec | None:
        client = await self.connect()
        try:
            desc = await client.describe_collection(c.milvus_name(name))
        except Exception as exc:
            if c.missing(exc):
                return None
            raise
        return c.spec_from_description(desc, name)

    async def list_collections(self) -> list[str]:
        client = await self.connect()
        return [c.vecctx_name(n) for n in await client.list_collections()]

    async def create_collection(self, spec: CollectionSpec) -> None:
        mname = c.milvus_name(spec.name)
        schema, index = c.build_schema(spec)
        client = await self.connect()
        properties = {c.SPEC_PROPERTY: c.spec_to_property(spec)}
        await client.create_collection(
            mname, schema=schema, consistency_level="Strong", properties=properties
        )
        try:
            # sync=False: MilvusClient does not poll for the build (an empty collection has
            # nothing to build; the poll sleeps 0.5 s per index). AsyncMilvusClient always
            # polls, with an RPC Milvus Lite lacks: the index exists when that fails.
            await client.create_index(mname, index, sync=False)
        except Exception as exc:
            if not c.unimplemented(exc):
                raise
        await self._load(mname)
        self._unflushed[mname] = 0

    async def drop_collection(self, name: str) -> bool:
        mname = c.milvus_name(name)
        client = await self.connect()
        self._unflushed.pop(mname, None)
        if not await client.has_collection(mname):
            return False
        await client.drop_collection(mname)
        return True

    # -- writes --------------------------------------------------------------------------
    async def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        mname = c.milvus_name(spec.name)
        rows = c.build_rows(records, vectors, spec)
        await self.connect()
        for batch in c.batches(rows, spec.dimension):
            await self._run(self._write, mname, batch)
            self._unflushed[mname] += len(batch)

    async def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: str | None) -> None:
        mname = c.milvus_name(spec.name)
        for chunk in c.chunks(ids or (), c.IDS_PER_EXPR):
            await self._run("delete", mname, filter=c.ids_expr(chunk))
            self._unflushed[mname] += len(chunk)
        if filter is not None:
            await self._run("delete", mname, filter=filter)
            self._unflushed[mname] += 1

    # -- reads ---------------------------------------------------------------------------
    async def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        mname = c.milvus_name(spec.name)
        fields = c.record_fields(spec, with_vectors)
        out: list[Record] = []
        for chunk in c.chunks(ids, c.IDS_PER_EXPR):
            rows = await self._run("query", mname, filter=c.ids_expr(chunk), output_fields=fields)
            out += [c.record_of(row, with_vectors) for row in rows]
        return out

    async def count(self, spec: CollectionSpec, filter: str | None) -> int:
        mname = c.milvus_name(spec.name)
        rows = await self._run("query", mname, read=True, filter=filter or "", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    async def scroll(
        self, spec: CollectionSpec, filter: str | None, cursor: Any, limit: int, with_vectors: bool
    ) -> Page:
        """Pages in id order; the cursor is the last id of the previous page."""
        limit = min(limit, c.MAX_LIMIT)
        fields = c.record_fields(spec, with_vectors)
        expr = c.scroll_expr(filter, cursor)
        mname = c.milvus_name(spec.name)
        rows = await self._run(
            "query", mname, read=True, filter=expr, output_fields=fields, limit=limit, iterator="True"
        )
        records = [c.record_of(row, with_vectors) for row in rows]
        return Page(records, max(r.id for r in records) if len(records) >= limit else None)

    async def optimize(self, spec: CollectionSpec) -> None:
        """Flush and build the indexes now: Milvus builds a segment's index in the background
        after a flush and searches it by brute force until then. Release, flush, wait for
        Milvus Lite's background work (when Lite runs in this process) and load, which builds
        every missing index. Other clients' searches on the collection fail meanwhile."""
        mname = c.milvus_name(spec.name)
        client = await self.connect()
        await client.release_collection(mname)
        try:
            await client.flush(mname)
            self._unflushed[mname] = 0
            if self.config.lite_path is not None:
                await lite.await_background(self.config.lite_path, self.config.db_name, mname)
        finally:
            await self._load(mname)

    # -- search --------------------------------------------------------------------------
    async def _search_call(
        self, spec: CollectionSpec, query: CheckedSearch
    ) -> tuple[str, dict[str, Any]] | None:
        """The client call for a search (``None``: a sparse-only query without a nonzero
        weight matches nothing); Milvus's sparse rules are checked before any I/O."""
        sparse = c.sparse_weights(query.sparse, "sparse query") if query.sparse is not None else None
        if query.vector is None and not sparse:
            return None
        row_count = None
        if c.needs_row_count(spec, query):
            stats = await self._run("get_collection_stats", c.milvus_name(spec.name), read=True)
            row_count = int(stats.get("row_count", 0))
        return c.search_call(spec, query, sparse, row_count)

    async def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        call = await self._search_call(spec, query)
        if call is None:
            return []
        res = await self._run(call[0], c.milvus_name(spec.name), read=True, **call[1])
        return c.hits_of(res[0], spec, query)

    async def search_batch(self, spec: CollectionSpec, queries: Sequence[CheckedSearch]) -> list[list[Hit]]:
        """Dense-only queries that differ only in their vector go to Milvus as one
        multi-query search (Milvus Lite's cost is mostly per call, not per query)."""
        singles, groups = c.batch_groups(queries)
        out: list[list[Hit]] = [[] for _ in queries]
        for i in singles:
            out[i] = await self.search(spec, queries[i])
        for group in groups:
            call = await self._search_call(spec, queries[group[0]])
            assert call is not None  # dense
            call[1]["data"] = [queries[i].vector for i in group]
            res = await self._run(call[0], c.milvus_name(spec.name), read=True, **call[1])
            for i, raw in zip(group, res, strict=True):
                out[i] = c.hits_of(raw, spec, queries[i])
        return out

    # -- lifetime ------------------------------------------------------------------------
    async def close(self) -> None:
        """Close the client and let go of Milvus Lite (the last store on a path stops its
        server, which flushes to disk and frees the LOCK)."""
        client, self._client = self._client, None
        try:
            if client is not None:
                await client.close()
        finally:
            if self.config.lite_path is not None:
                lite.release(self.config.lite_path)


__all__ = ["AsyncMilvusDriver"]
