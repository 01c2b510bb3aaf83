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
from vecctx_qdrant import AsyncQdrantClientStore, open_async_store, open_store

from vecctx.contract.store import VectorStore
from vecctx.testing import BlockingStore, ConformanceSuite


class TestQdrantEdge(ConformanceSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[VectorStore]:
        with open_store(f"qdrant://{tmp_path / 'edge'}") as s:
            yield s

    @pytest.fixture
    def reopen(self, tmp_path: Path) -> Callable[[VectorStore], VectorStore]:
        def _reopen(store: VectorStore) -> VectorStore:
            store.close()
            return open_store(f"qdrant://{tmp_path / 'edge'}")

        return _reopen


class TestQdrantLocalMemory(ConformanceSuite):
    @pytest.fixture
    def store(self) -> Iterator[VectorStore]:
        with open_store("qdrant+local://:memory:") as s:
            yield s

    @pytest.fixture
    def async_store(self) -> AsyncQdrantClientStore:
        return open_async_store("qdrant+local://:memory:")


class TestAsyncQdrantLocalMemory(ConformanceSuite):
    """The whole suite on the async store (``AsyncQdrantClient`` in local mode)."""

    @pytest.fixture
    def store(self) -> Iterator[BlockingStore]:
        with BlockingStore(lambda: open_async_store("qdrant+local://:memory:")) as s:
            yield s


class TestQdrantLocalPath(ConformanceSuite):
    @pytest.fixture
    def store(self, ram_path: Path) -> Iterator[VectorStore]:
        with open_store(f"qdrant+local://{ram_path / 'local'}") as s:
            yield s

    @pytest.fixture
    def reopen(self, ram_path: Path) -> Callable[[VectorStore], VectorStore]:
        def _reopen(store: VectorStore) -> VectorStore:
            store.close()
            return open_store(f"qdrant+local://{ram_path / 'local'}")

        return _reopen

    @pytest.fixture
    def async_store(self, ram_path: Path) -> AsyncQdrantClientStore:
        # A directory admits one client at a time: the async store gets its own.
        return open_async_store(f"qdrant+local://{ram_path / 'local-async'}")


class TestAsyncQdrantLocalPath(ConformanceSuite):
    """The whole suite on the async store in local mode on a directory, with persistence."""

    @pytest.fixture
    def store(self, ram_path: Path) -> Iterator[BlockingStore]:
        with BlockingStore(lambda: open_async_store(f"qdrant+local://{ram_path / 'local'}")) as s:
            yield s

    @pytest.fixture
    def reopen(self, ram_path: Path) -> Callable[[VectorStore], VectorStore]:
        def _reopen(store: VectorStore) -> VectorStore:
            store.close()
            return BlockingStore(lambda: open_async_store(f"qdrant+local://{ram_path / 'local'}"))

        return _reopen
