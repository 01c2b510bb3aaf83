"""Run the (synchronous) conformance suite against an async store.

:class:`BlockingStore` drives an :class:`~vecctx.contract.store.AsyncVectorStore` from synchronous
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
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from vecctx.contract.lifetime import ClosingContext
from vecctx.contract.store import AsyncVectorStore, Capabilities
from vecctx.contract.types import Record


class BlockingStore(ClosingContext):
    """A synchronous :class:`~vecctx.contract.store.VectorStore` over an async store, for tests: every
    coroutine method of the async store is run to completion on the wrapper's own loop, and
    ``scroll`` becomes a plain iterator."""

    def __init__(self, make: Callable[[], AsyncVectorStore]) -> None:
        self._runner = asyncio.Runner()

        async def build() -> AsyncVectorStore:
            return make()

        self.inner = self._runner.run(build())

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def __repr__(self) -> str:
        return f"BlockingStore({self.inner!r})"

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(method):
            raise AttributeError(f"BlockingStore does not wrap {name!r}")

        def blocking(*args: Any, **kwargs: Any) -> Any:
            return self._runner.run(method(*args, **kwargs))

        return blocking

    def scroll(self, collection: str, **options: Any) -> Iterator[Record]:
        pages = self.inner.scroll(collection, **options)

        async def step() -> tuple[bool, Record | None]:
            try:
                return True, await anext(pages)
            except StopAsyncIteration:
                return False, None

        def gen() -> Iterator[Record]:
            while True:
                more, record = self._runner.run(step())
                if not more:
                    return
                assert record is not None
                yield record

        return gen()

    def close(self) -> None:
        self._runner.run(self.inner.close())
        self._closed = True

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.close()
        finally:
            self._runner.close()


__all__ = ["BlockingStore"]
