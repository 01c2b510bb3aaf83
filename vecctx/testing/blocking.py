"""Run the (synchronous) conformance suite against an async store.

:class:`BlockingStore` drives an :class:`~vecctx.store.AsyncVectorStore` from synchronous
test code: every call runs to completion on one event loop the wrapper owns. It exists for
tests only, so that the whole suite, not a parity sample, runs on every async store::

    class TestAsyncMyStore(ConformanceSuite):
        @pytest.fixture
        def store(self):
            with BlockingStore(lambda: connect_async(URL)) as s:
                yield s

The async store is made inside the wrapper's loop (clients bind to the loop they start on).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from vecctx.store import AsyncVectorStore, Capabilities, FilterArg, Fusion, SearchParams, SearchRequest
from vecctx.types import CollectionSpec, Hit, Record, SparseVector, VectorLike

T = TypeVar("T")


class BlockingStore:
    """A synchronous :class:`~vecctx.store.VectorStore` over an async store, for tests."""

    def __init__(self, make: Callable[[], AsyncVectorStore]) -> None:
        self._runner = asyncio.Runner()

        async def build() -> AsyncVectorStore:
            return make()

        self.inner = self._runner.run(build())

    def _run(self, coro: Any) -> Any:
        return self._runner.run(coro)

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def __repr__(self) -> str:
        return f"BlockingStore({self.inner!r})"

    def create_collection(self, spec: CollectionSpec) -> None:
        self._run(self.inner.create_collection(spec))

    def ensure_collection(self, spec: CollectionSpec) -> None:
        self._run(self.inner.ensure_collection(spec))

    def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self._run(self.inner.drop_collection(name, missing_ok=missing_ok))

    def has_collection(self, name: str) -> bool:
        result: bool = self._run(self.inner.has_collection(name))
        return result

    def list_collections(self) -> list[str]:
        result: list[str] = self._run(self.inner.list_collections())
        return result

    def collection_spec(self, name: str) -> CollectionSpec:
        result: CollectionSpec = self._run(self.inner.collection_spec(name))
        return result

    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        self._run(self.inner.upsert(collection, records))

    def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        result: list[Record] = self._run(self.inner.get(collection, ids, with_vectors=with_vectors))
        return result

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None) -> None:
        self._run(self.inner.delete(collection, ids=ids, filter=filter))

    def count(self, collection: str, *, filter: FilterArg = None) -> int:
        result: int = self._run(self.inner.count(collection, filter=filter))
        return result

    def search(
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
        result: list[Hit] = self._run(
            self.inner.search(
                collection,
                vector=vector,
                sparse=sparse,
                filter=filter,
                k=k,
                params=params,
                fusion=fusion,
                with_payload=with_payload,
                with_vectors=with_vectors,
            )
        )
        return result

    def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        result: list[list[Hit]] = self._run(self.inner.search_batch(collection, requests))
        return result

    def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> Iterator[Record]:
        pages = self.inner.scroll(collection, filter=filter, batch_size=batch_size, with_vectors=with_vectors)

        async def step() -> tuple[bool, Record | None]:
            try:
                return True, await anext(pages)
            except StopAsyncIteration:
                return False, None

        def gen() -> Iterator[Record]:
            while True:
                more, record = self._run(step())
                if not more:
                    return
                assert record is not None
                yield record

        return gen()

    def optimize(self, collection: str) -> None:
        self._run(self.inner.optimize(collection))

    def close(self) -> None:
        self._run(self.inner.close())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        finally:
            self._runner.close()


__all__ = ["BlockingStore"]
