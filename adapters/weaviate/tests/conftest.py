"""Fixtures for the Weaviate adapter's tests: the in-process fake server (see weaviate_fake.py)
and the store under test, synchronous or async (driven by ``BlockingStore``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from vecctx_weaviate import AsyncWeaviateStore, WeaviateStore
from weaviate_fake import FakeWeaviate

from vecctx.contract.types import Hit
from vecctx.testing import BlockingStore

#: A store under test: the synchronous store, or the async one through BlockingStore.
AnyStore = WeaviateStore | BlockingStore


def opened(url: str, mode: str) -> AnyStore:
    """The store for ``url``, connected (the async store connects on first use otherwise)."""
    if mode == "sync":
        return WeaviateStore.from_url(url)
    store = BlockingStore(lambda: AsyncWeaviateStore.from_url(url))
    store._runner.run(driver_of(store).connect())
    return store


def driver_of(store: AnyStore) -> Any:
    """The Weaviate driver under either face (for its extras)."""
    return store.inner.driver if isinstance(store, BlockingStore) else store.driver  # type: ignore[attr-defined]


def hybrid(store: AnyStore, collection: str, **kwargs: Any) -> list[Hit]:
    """``driver.hybrid(...)`` on either face."""
    if isinstance(store, BlockingStore):
        result: list[Hit] = store._runner.run(driver_of(store).hybrid(collection, **kwargs))
        return result
    return store.driver.hybrid(collection, **kwargs)


def _serve_fake() -> Iterator[FakeWeaviate]:
    server = FakeWeaviate().start()
    try:
        yield server
    finally:
        server.stop()


#: A fresh fake server (REST + gRPC on 127.0.0.1, free ports) for one test.
fake = pytest.fixture(_serve_fake, name="fake")
#: One fake server for tests that only need unique collections (saves start/stop time).
shared_fake = pytest.fixture(_serve_fake, scope="session", name="shared_fake")


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Which store a wire test runs on: every store-level wire test runs on both."""
    return str(request.param)


@pytest.fixture
def wstore(fake: FakeWeaviate, mode: str) -> Iterator[AnyStore]:
    with opened(fake.url(), mode) as s:
        fake.clear_logs()
        yield s
