"""The qdrant-client driver (server, cluster and local mode) and its store, written once:
``scripts/unasync.py`` generates the synchronous ``QdrantClientDriver`` and
``QdrantClientStore`` in ``vecctx_qdrant/_sync/client.py`` from this file. Edit this file,
never the generated one.

:class:`~vecctx_qdrant.client.ClientCore` builds the requests and reads the responses; the
driver only makes the calls (through ``AsyncQdrantClient`` here, ``QdrantClient`` in the
generated file).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from qdrant_client import AsyncQdrantClient

from vecctx._async.front import AsyncStore
from vecctx.contract.checks import redacted
from vecctx.contract.driver import CheckedSearch, Page
from vecctx.contract.errors import TransientBackendError
from vecctx.contract.types import CollectionSpec, FloatArray, Hit, Record
from vecctx_qdrant._common import point_ids, to_hits, to_record, vector_selector
from vecctx_qdrant.client import ClientCore
from vecctx_qdrant.config import ClientOptions


class AsyncQdrantClientDriver(ClientCore):
    """A Qdrant server or cluster, or qdrant-client local mode."""

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
        for index in self.index_kwargs(spec):
            await self.client.create_payload_index(**index)

    async def drop_collection(self, name: str) -> bool:
        if not await self.client.collection_exists(name):
            return False
        await self.client.delete_collection(name)
        return True

    # -- writes --------------------------------------------------------------------------
    async def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        for points in self.batches(spec, records, vectors):
            await self.client.upsert(spec.name, points=points, wait=True)

    async def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Any) -> None:
        for selector in self.selectors(ids, filter):
            await self.client.delete(spec.name, points_selector=selector, wait=True)

    # -- reads ---------------------------------------------------------------------------
    async def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        pts = await self.client.retrieve(
            spec.name, point_ids(ids), with_payload=True, with_vectors=vector_selector(spec, with_vectors)
        )
        return [to_record(p, with_vectors=with_vectors) for p in pts]

    async def count(self, spec: CollectionSpec, filter: Any) -> int:
        return int((await self.client.count(spec.name, count_filter=filter, exact=True)).count)

    async def scroll(
        self, spec: CollectionSpec, filter: Any, cursor: Any, limit: int, with_vectors: bool
    ) -> Page:
        pts, after = await self.client.scroll(
            spec.name,
            scroll_filter=filter,
            limit=limit,
            offset=cursor,
            with_payload=True,
            with_vectors=vector_selector(spec, with_vectors),
        )
        return Page([to_record(p, with_vectors=with_vectors) for p in pts], after if pts else None)

    async def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        return (await self.search_batch(spec, [query]))[0]

    async def search_batch(self, spec: CollectionSpec, queries: Sequence[CheckedSearch]) -> list[list[Hit]]:
        requests = [self.query(spec, q) for q in queries]
        responses = await self.client.query_batch_points(spec.name, requests=requests)
        return [to_hits(r.points, spec, q) for r, q in zip(responses, queries, strict=True)]

    # -- lifetime ------------------------------------------------------------------------
    async def optimize(self, spec: CollectionSpec) -> None:
        """Nothing to do: a Qdrant server indexes by itself and local mode has no index."""

    async def on_retry(self, err: TransientBackendError, failures: int) -> None:
        return None

    async def close(self) -> None:
        await self.client.close()


class AsyncQdrantClientStore(AsyncStore):
    """vecctx store on a Qdrant server or cluster, or on qdrant-client local mode."""

    def __init__(self, options: ClientOptions) -> None:
        super().__init__(AsyncQdrantClientDriver(options))

    @property
    def driver(self) -> AsyncQdrantClientDriver:
        return cast(AsyncQdrantClientDriver, self._driver)


__all__ = ["AsyncQdrantClientDriver", "AsyncQdrantClientStore"]
