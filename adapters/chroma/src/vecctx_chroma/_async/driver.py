"""The Chroma driver on ``AsyncHttpClient``, written once: ``scripts/unasync.py`` generates
``ChromaDriver`` (``PersistentClient`` or ``HttpClient``) in ``_sync/driver.py``. Opening and
closing the client differ (:mod:`vecctx_chroma.clients`); requests and results are built in
:mod:`vecctx_chroma.common`. No reconnect (``on_retry``) is needed: the HTTP client redials."""

# unasync: aopen_client -> open_client
# unasync: aclose_client -> close_client

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vecctx.contract.driver import AsyncDriverBase, CheckedSearch, Page
from vecctx.contract.errors import CollectionNotFoundError, VecctxError
from vecctx.contract.filters import Filter
from vecctx.contract.types import CollectionSpec, FloatArray, Hit, Record
from vecctx_chroma import common
from vecctx_chroma.clients import aclose_client, aopen_client
from vecctx_chroma.config import ChromaConfig
from vecctx_chroma.filters import WHERE, Where

if TYPE_CHECKING:
    from chromadb.api import AsyncClientAPI
    from chromadb.api.models.AsyncCollection import AsyncCollection


class AsyncChromaDriver(AsyncDriverBase):
    """vecctx's driver for Chroma. The client opens on first use (inside the caller's event
    loop for the async driver); ``capabilities.max_batch`` is Chroma's batch limit once open."""

    def __init__(self, config: ChromaConfig) -> None:
        self.config = config
        self.target = config.display_url()
        self.secrets: tuple[str, ...] = (config.token,) if config.token else ()
        self.retry = config.retry
        self.capabilities = common.capabilities(max_batch=None, async_native=config.mode == "http")
        self.client: AsyncClientAPI | None = None
        self._max_batch = 1
        #: vecctx name -> (Chroma collection, its ef_search), refreshed by ``collection_spec``.
        self._collections: dict[str, tuple[AsyncCollection, int]] = {}

    async def connect(self) -> AsyncClientAPI:
        """The chromadb client, opened if it is not yet."""
        if self.client is None:
            client = await aopen_client(self.config)
            self._max_batch = int(await client.get_max_batch_size())
            self.capabilities = dataclasses.replace(self.capabilities, max_batch=self._max_batch)
            self.client = client
        return self.client

    def translate(self, exc: Exception, action: str, collection: str | None) -> VecctxError:
        err = common.translate(exc, action, collection)
        if isinstance(err, CollectionNotFoundError) and collection is not None:
            self._collections.pop(collection, None)  # dropped elsewhere: the handle is stale
        return err

    def compile_filter(self, spec: CollectionSpec, flt: Filter) -> Where:
        return WHERE.compile(flt)

    # -- collections -------------------------------------------------------------------
    async def collection_spec(self, name: str) -> CollectionSpec | None:
        from chromadb.errors import NotFoundError

        client = await self.connect()
        try:
            col = await client.get_collection(common.chroma_name(name), embedding_function=None)
        except NotFoundError:
            self._collections.pop(name, None)
            return None
        self._collections[name] = (col, common.ef_search_of(col))
        return common.spec_of(name, col)

    async def _collection(self, spec: CollectionSpec) -> tuple[AsyncCollection, int]:
        found = self._collections.get(spec.name)
        if found is None:
            if await self.collection_spec(spec.name) is None:
                raise CollectionNotFoundError(spec.name)
            found = self._collections[spec.name]
        return found

    async def list_collections(self) -> list[str]:
        client = await self.connect()
        return [common.list_name(col) for col in await client.list_collections()]

    async def create_collection(self, spec: CollectionSpec) -> None:
        configuration, metadata = common.creation_args(spec, self.config.ef_search)
        client = await self.connect()
        col = await client.create_collection(
            common.chroma_name(spec.name),
            configuration=configuration,  # type: ignore[arg-type]
            metadata=metadata,
            embedding_function=None,
        )
        self._collections[spec.name] = (col, common.ef_search_of(col))

    async def drop_collection(self, name: str) -> bool:
        """Delete the records first: chromadb 1.5 leaves list-valued metadata behind on
        ``delete_collection`` for a later collection's record of the same row id to inherit."""
        from chromadb.errors import NotFoundError

        client = await self.connect()
        self._collections.pop(name, None)
        try:
            col = await client.get_collection(common.chroma_name(name), embedding_function=None)
            while ids := (await col.get(limit=self._max_batch, include=[]))["ids"]:
                await col.delete(ids=list(ids))
            await client.delete_collection(common.chroma_name(name))
        except NotFoundError:
            return False
        return True

    # -- writes ------------------------------------------------------------------------
    async def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        """Upserts in batches of Chroma's limit; idempotent, as the front's retries need."""
        col, _ = await self._collection(spec)
        ids, vectors, metadatas, documents = common.upsert_columns(spec, records, vectors)
        for start in range(0, len(ids), self._max_batch):
            batch = slice(start, start + self._max_batch)
            old = await col.get(ids=ids[batch], include=["metadatas"])
            await col.upsert(
                ids=ids[batch],
                embeddings=vectors[batch],
                metadatas=common.clear_stale_keys(ids[batch], metadatas[batch], old),  # type: ignore[arg-type]
                documents=documents[batch],
            )

    async def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Where | None) -> None:
        col, _ = await self._collection(spec)
        id_list = list(ids or ())
        for start in range(0, len(id_list), self._max_batch):
            await col.delete(ids=id_list[start : start + self._max_batch])
        if filter is not None:
            await col.delete(where=filter)

    # -- reads -------------------------------------------------------------------------
    async def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        col, _ = await self._collection(spec)
        found: list[Record] = []
        for start in range(0, len(ids), self._max_batch):
            res = await col.get(
                ids=list(ids[start : start + self._max_batch]), include=common.include(True, with_vectors)
            )
            found += common.records(res, with_vectors)
        return found

    async def count(self, spec: CollectionSpec, filter: Where | None) -> int:
        col, _ = await self._collection(spec)
        if filter is None:
            return int(await col.count())
        return sum([len(page["ids"]) async for page in self._pages(col, filter, [])])

    async def scroll(
        self, spec: CollectionSpec, filter: Where | None, cursor: Any, limit: int, with_vectors: bool
    ) -> Page:
        col, _ = await self._collection(spec)
        offset = int(cursor or 0)
        res = await col.get(
            where=filter, limit=limit, offset=offset, include=common.include(True, with_vectors)
        )
        found = common.records(res, with_vectors)
        return Page(found, offset + limit if len(found) == limit else None)

    async def _pages(
        self, col: AsyncCollection, where: Where | None, include: list[Any]
    ) -> AsyncIterator[Any]:
        """Every (matching) record, ``common.PAGE`` at a time."""
        offset = 0
        while True:
            page = await col.get(where=where, limit=common.PAGE, offset=offset, include=include)
            yield page
            if len(page["ids"]) < common.PAGE:
                return
            offset += common.PAGE

    async def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        return (await self.search_batch(spec, [query]))[0]

    async def search_batch(self, spec: CollectionSpec, queries: Sequence[CheckedSearch]) -> list[list[Hit]]:
        """Searches that share filter, ``k`` and what to return go in one Chroma ``query``;
        exact ones run by brute force over the (natively filtered) vectors."""
        col, ef_search = await self._collection(spec)
        vectors = [common.dense(spec, ef_search, q) for q in queries]
        out: list[list[Hit]] = [[] for _ in queries]
        for members in common.groups(queries):
            first = queries[members[0]]
            if first.exact:
                out[members[0]] = await self._exact(spec, col, first, vectors[members[0]])
                continue
            res = await col.query(
                query_embeddings=np.stack([vectors[i] for i in members]),
                n_results=first.k,
                where=first.filter,
                include=common.include(first.with_payload, first.with_vectors, distances=True),
            )
            for row, i in enumerate(members):
                out[i] = common.query_hits(res, row, spec.metric, first)
        return out

    async def _exact(
        self, spec: CollectionSpec, col: AsyncCollection, query: CheckedSearch, vector: FloatArray
    ) -> list[Hit]:
        pages = [page async for page in self._pages(col, query.filter, ["embeddings"])]
        ranked = common.exact_top_k(spec.metric, vector, pages, query.k)
        found = await self.get(spec, [rid for rid, _ in ranked], query.with_vectors)  # the top k's payload
        return common.hits(spec.metric, ranked, found, query)

    # -- lifetime (no optimize: Chroma indexes as it ingests) ---------------------------
    async def close(self) -> None:
        client, self.client = self.client, None
        self._collections.clear()
        if client is not None:
            await aclose_client(client)


__all__ = ["AsyncChromaDriver"]
