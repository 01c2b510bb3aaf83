"""The vecctx conformance suite on Chroma: embedded (PersistentClient), over HTTP against a
real ``chroma run`` server, and the whole suite again on the async HTTP store (through the
test-only blocking wrapper)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from vecctx_chroma import AsyncChromaStore, ChromaStore, open_async_store, open_store

from vecctx.contract.store import VectorStore
from vecctx.testing import BlockingStore, ConformanceSuite


class TestChromaEmbedded(ConformanceSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[ChromaStore]:
        with open_store(f"chroma://{tmp_path / 'db'}") as s:
            yield s

    @pytest.fixture
    def reopen(self, tmp_path: Path) -> Callable[[VectorStore], VectorStore]:
        def _reopen(store: VectorStore) -> VectorStore:
            store.close()
            return open_store(f"chroma://{tmp_path / 'db'}")

        return _reopen


class TestChromaHttp(ConformanceSuite):
    @pytest.fixture
    def store(self, chroma_server: str) -> Iterator[ChromaStore]:
        with open_store("chroma+" + chroma_server) as s:
            yield s

    @pytest.fixture
    def reopen(self, chroma_server: str) -> Callable[[VectorStore], VectorStore]:
        def _reopen(store: VectorStore) -> VectorStore:
            store.close()
            return open_store("chroma+" + chroma_server)

        return _reopen

    @pytest.fixture
    def async_store(self, chroma_server: str) -> AsyncChromaStore:
        return open_async_store("chroma+" + chroma_server)


class TestChromaAsyncHttp(ConformanceSuite):
    @pytest.fixture
    def store(self, chroma_server: str) -> Iterator[BlockingStore]:
        with BlockingStore(lambda: open_async_store("chroma+" + chroma_server)) as s:
            yield s

    @pytest.fixture
    def reopen(self, chroma_server: str) -> Callable[[VectorStore], VectorStore]:
        def _reopen(store: VectorStore) -> VectorStore:
            store.close()
            return BlockingStore(lambda: open_async_store("chroma+" + chroma_server))

        return _reopen
