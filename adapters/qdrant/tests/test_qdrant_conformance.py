"""The vecctx conformance suite on every Qdrant code path that can run here:

* embedded Qdrant Edge (``qdrant:///path``), the default backend (synchronous only);
* qdrant-client local mode in memory and on a directory (``qdrant+local://``), which takes the
  same calls as a Qdrant server: this is how the server code path is tested without one. Both
  run the whole suite twice: on the synchronous store and on the natively async store
  (``AsyncQdrantClient``, driven through ``BlockingStore``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from vecctx_qdrant import open_async_store, open_store

from vecctx.contract.store import VectorStore
from vecctx.testing import BlockingStore, ConformanceSuite


class _Opened(ConformanceSuite):
    """The suite on the store :meth:`open` makes from the ``url`` fixture, reopened on that URL."""

    def open(self, url: str) -> VectorStore:
        return open_store(url)

    @pytest.fixture
    def store(self, url: str) -> Iterator[VectorStore]:
        with self.open(url) as s:
            yield s

    @pytest.fixture
    def reopen(self, url: str) -> Callable[[VectorStore], VectorStore]:
        def _reopen(store: VectorStore) -> VectorStore:
            store.close()
            return self.open(url)

        return _reopen


class TestQdrantEdge(_Opened):
    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return f"qdrant://{tmp_path / 'edge'}"


class TestQdrantLocal(_Opened):
    """qdrant-client local mode in memory (not persistent: the reopen tests skip) and on a directory."""

    @pytest.fixture(params=["memory", "path"])
    def url(self, request: pytest.FixtureRequest, ram_path: Path) -> str:
        return (
            "qdrant+local://:memory:" if request.param == "memory" else f"qdrant+local://{ram_path / 'local'}"
        )


class TestAsyncQdrantLocal(TestQdrantLocal):
    """The whole suite again on the natively async store (``AsyncQdrantClient``)."""

    def open(self, url: str) -> VectorStore:
        return BlockingStore(lambda: open_async_store(url))
