"""The Milvus driver's calls, written once on pymilvus's ``AsyncMilvusClient`` (``scripts/unasync.py``
generates ``MilvusDriver`` on ``MilvusClient``); :class:`vecctx_milvus.common.MilvusCore` does the rest."""

# unasync: await_background -> wait_for_background

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from vecctx.contract.driver import CheckedSearch, Page
from vecctx.contract.errors import TransientBackendError
from vecctx.contract.types import CollectionSpec, FloatArray, Hit, Record
from vecctx_milvus import common as c
from vecctx_milvus import lite


class AsyncMilvusDriver(c.MilvusCore):
    """vecctx driver over Milvus Lite (``milvus:///file.db``; its server runs in this process,
    shared by every store on the path) or a Milvus server. The client connects on first use."""

    # -- plumbing ------------------------------------------------------------------------
    async def connect(self) -> Any:
        """The client, created (and the server's version read) on first use."""
        if self._client is None:
            from pymilvus import AsyncMilvusClient  # type: ignore[import-untyped]

            client = AsyncMilvusClient(**self._client_kwargs)
            return self._connected(client, str(await client.get_server_version()))
        return self._client

    async def _run(
        self, method: str, name: str, *args: Any, read: bool = False, wrote: int = 0, **kw: Any
    ) -> Any:
        """``client.<method>(<name in Milvus>, ...)``; a ``read`` flushes first when due, and a collection
        Milvus reports released (Lite reopened, a server restarted) is loaded and the call made again."""
        client, mname = await self.connect(), c.milvus_name(name)
        if read and self._flush_due(mname):
            await client.flush(mname)
            self._unflushed[mname] = 0
        try:
            out = await getattr(client, method)(mname, *args, **kw)
        except Exception as exc:
            if not c.not_loaded(exc):
                raise
            await self._load(mname)
            out = await getattr(client, method)(mname, *args, **kw)
        self._unflushed[mname] += wrote
        return out

    async def _load(self, mname: str) -> None:
        """Load, waiting out a Milvus Lite background index build still writing the files load reads."""
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
        old = self._stale_client(failures)
        if old is not None:
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
        create, index = c.collection_args(spec)
        client = await self.connect()
        await client.create_collection(mname, **create)
        try:  # sync=False: no poll for an empty collection's build; the async client polls
            await client.create_index(mname, index, sync=False)  # with an RPC Milvus Lite lacks
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
        await self.connect()  # the write method depends on the server
        for batch in c.batches(c.build_rows(records, vectors, spec), spec.dimension):
            await self._run(self._write, spec.name, batch, wrote=len(batch))

    async def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: str | None) -> None:
        for expr, rows in c.delete_exprs(ids, filter):
            await self._run("delete", spec.name, filter=expr, wrote=rows)

    # -- reads ---------------------------------------------------------------------------
    async def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        fields = c.record_fields(spec, with_vectors)
        out: list[Record] = []
        for expr, _ in c.ids_exprs(ids):
            rows = await self._run("query", spec.name, filter=expr, output_fields=fields)
            out += [c.record_of(row, with_vectors) for row in rows]
        return out

    async def count(self, spec: CollectionSpec, filter: str | None) -> int:
        rows = await self._run("query", spec.name, read=True, filter=filter or "", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    async def scroll(
        self, spec: CollectionSpec, filter: str | None, cursor: Any, limit: int, with_vectors: bool
    ) -> Page:
        query = c.scroll_query(spec, filter, cursor, limit, with_vectors)
        rows = await self._run("query", spec.name, read=True, **query)
        return c.page_of(rows, with_vectors, query["limit"])

    async def optimize(self, spec: CollectionSpec) -> None:
        """Release, flush, wait for Milvus Lite's background work and load: every index is built."""
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
    async def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        return (await self._search(spec, [query]))[0]

    async def search_batch(self, spec: CollectionSpec, queries: Sequence[CheckedSearch]) -> list[list[Hit]]:
        out: list[list[Hit]] = [[] for _ in queries]
        for group in c.batch_groups(queries):  # Milvus Lite's cost is mostly per call
            for i, hits in zip(group, await self._search(spec, [queries[i] for i in group]), strict=True):
                out[i] = hits
        return out

    async def _search(self, spec: CollectionSpec, group: Sequence[CheckedSearch]) -> list[list[Hit]]:
        """One Milvus search for queries that differ only in their vector (sparse rules checked first)."""
        query = group[0]
        sparse = c.sparse_weights(query.sparse, "sparse query") if query.sparse is not None else None
        if query.vector is None and not sparse:
            return [[] for _ in group]  # sparse only, no nonzero weight: nothing matches
        if c.brute_force(spec, query):
            return c.exact_hits(spec, group, await self._matching_rows(spec, query.filter))
        rows = None  # exact search on HNSW: ef = the collection's row count
        if c.needs_row_count(spec, query):
            rows = int((await self._run("get_collection_stats", spec.name, read=True)).get("row_count", 0))
        method, kwargs = c.search_call(spec, group, sparse, rows)
        res = await self._run(method, spec.name, read=True, **kwargs)
        return [c.hits_of(raw, spec, q) for raw, q in zip(res, group, strict=True)]

    async def _matching_rows(self, spec: CollectionSpec, filter: str | None) -> list[Any]:
        """Every row ``filter`` matches, with its vector, page by page in id order."""
        out: list[Any] = []
        after = None
        while True:
            query = c.scroll_query(spec, filter, after, c.MAX_LIMIT, with_vectors=True)
            rows = await self._run("query", spec.name, read=True, **query)
            out += rows
            if len(rows) < query["limit"]:
                return out
            after = max(row[c.ID] for row in rows)

    # -- lifetime ------------------------------------------------------------------------
    async def close(self) -> None:
        """Close the client and let go of Milvus Lite (the last store on a path stops its server)."""
        client, self._client = self._client, None
        try:
            if client is not None:
                await client.close()
        finally:
            if self.config.lite_path is not None:
                lite.release(self.config.lite_path)


__all__ = ["AsyncMilvusDriver"]
