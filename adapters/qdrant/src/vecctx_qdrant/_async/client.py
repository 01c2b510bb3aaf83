"""The qdrant-client driver (server, cluster and local mode) and its store, written once:
``scripts/unasync.py`` generates ``vecctx_qdrant/_sync/client.py`` from this file. The driver
only makes the calls; :class:`~vecctx_qdrant.client.ClientCore` builds and reads the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qdrant_client import AsyncQdrantClient

from vecctx._async.front import AsyncStore
from vecctx.contract.checks import redacted
from vecctx.contract.driver import AsyncDriverBase, CheckedSearch, Page
from vecctx.contract.types import CollectionSpec, FloatArray, Hit, Record
from vecctx_qdrant._common import point_ids
from vecctx_qdrant.client import ClientCore
from vecctx_qdrant.config import ClientOptions


class AsyncQdrantClientDriver(ClientCore, AsyncDriverBase):
    """A Qdrant server or cluster, or qdrant-client local mode. ``optimize`` does nothing: a
    server indexes by itself and local mode has no index."""

    def __init__(self, options: ClientOptions) -> None:
        super().__init__(options)
        try:
            self.client = AsyncQdrantClient(**self.client_kwargs())
        except Exception as exc:  # e.g. a local-mode directory another client holds
            raise redacted(self.translate(exc, "connect", None), self.secrets) from exc

    # -- collections ---------------------------------------------------------------------
    async def collection_spec(self, name: str) -> CollectionSpec | None:
        if not await self.client.collection_exists(name):
            return None
        return self.spec_from_info(name, await self.client.get_collection(name))

    async def list_collections(self) -> list[str]:
        return [c.name for c in (await self.client.get_collections()).collections]

    async def create_collection(self, spec: CollectionSpec) -> None:
        await self.client.create_collection(**self.create_kwargs(spec))
        for path, schema in self.payload_indexes(spec):
            await self.client.create_payload_index(spec.name, path, schema, wait=True)

    async def drop_collection(self, name: str) -> bool:
        if not await self.client.collection_exists(name):
            return False
        await self.client.delete_collection(name)
        return True

    # -- writes --------------------------------------------------------------------------
    async def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        for points in list(self.point_chunks(records, vectors, self.options.batch)):  # all built first
            await self.client.upsert(spec.name, points=points, wait=True)

    async def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Any) -> None:
        for selector in self.selectors(ids, filter):
            await self.client.delete(spec.name, points_selector=selector, wait=True)

    # -- reads ---------------------------------------------------------------------------
    async def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        wv = self.read_vectors(spec, with_vectors)
        pts = await self.client.retrieve(spec.name, point_ids(ids), with_payload=True, with_vectors=wv)
        return self.records(pts, with_vectors)

    async def count(self, spec: CollectionSpec, filter: Any) -> int:
        return int((await self.client.count(spec.name, count_filter=filter, exact=True)).count)

    async def scroll(
        self, spec: CollectionSpec, filter: Any, cursor: Any, limit: int, with_vectors: bool
    ) -> Page:
        wv = self.read_vectors(spec, with_vectors)
        pts, after = await self.client.scroll(
            spec.name, scroll_filter=filter, limit=limit, offset=cursor, with_payload=True, with_vectors=wv
        )
        return self.page(pts, after, with_vectors)

    async def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        return (await self.search_batch(spec, [query]))[0]

    async def search_batch(self, spec: CollectionSpec, queries: Sequence[CheckedSearch]) -> list[list[Hit]]:
        requests = [self.request(spec, q) for q in queries]
        responses = await self.client.query_batch_points(spec.name, requests=requests)
        return [self.hits(r.points, spec, q) for r, q in zip(responses, queries, strict=True)]

    async def close(self) -> None:
        await self.client.close()


class AsyncQdrantClientStore(AsyncStore):
    """vecctx store on a Qdrant server or cluster, or on qdrant-client local mode."""

    def __init__(self, options: ClientOptions) -> None:
        super().__init__(AsyncQdrantClientDriver(options))


__all__ = ["AsyncQdrantClientDriver", "AsyncQdrantClientStore"]
