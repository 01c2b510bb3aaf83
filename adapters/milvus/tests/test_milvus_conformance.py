"""The vecctx conformance suite on Milvus Lite (in-process) and on a standalone Milvus Lite
gRPC server reached over the network code path (``milvus://127.0.0.1:PORT``), each on the
sync store and, through the test-only :class:`~vecctx.testing.BlockingStore`, on the
native-async store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from vecctx_milvus import open_async_store, open_store

from vecctx.contract.store import VectorStore
from vecctx.testing import BlockingStore, ConformanceSuite

Opener = Callable[[str], VectorStore]
OPENERS: dict[str, Opener] = {
    "sync": open_store,
    "async": lambda url: BlockingStore(lambda: open_async_store(url)),
}


class TestMilvus(ConformanceSuite):
    """The whole suite on each store (sync, async) over each deployment (Lite, server)."""

    @pytest.fixture(params=["lite", "server"])
    def url(self, request: pytest.FixtureRequest, tmp_path: Path) -> str:
        if request.param == "lite":
            return f"milvus://{tmp_path / 'lite.db'}"
        server: str = request.getfixturevalue("milvus_server")
        return server

    @pytest.fixture(params=sorted(OPENERS))
    def opener(self, request: pytest.FixtureRequest) -> Opener:
        return OPENERS[request.param]

    @pytest.fixture
    def store(self, url: str, opener: Opener) -> Iterator[VectorStore]:
        with opener(url) as s:
            yield s

    @pytest.fixture
    def reopen(self, url: str, opener: Opener) -> Callable[[VectorStore], VectorStore]:
        def reopen(store: VectorStore) -> VectorStore:
            store.close()
            return opener(url)

        return reopen
