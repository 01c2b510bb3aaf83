"""The vecctx conformance suite on Chroma: embedded (PersistentClient), over HTTP against a
real ``chroma run`` server, and the whole suite again on the async HTTP store (through the
test-only blocking wrapper)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from vecctx_chroma import AsyncChromaStore, open_async_store, open_store

from vecctx.contract.store import VectorStore
from vecctx.testing import BlockingStore, ConformanceSuite


class _OnChroma(ConformanceSuite):
    """The suite on the store :meth:`open` gives for the ``url`` fixture; ``reopen`` closes it
    and opens the same URL again."""

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


class TestChromaEmbedded(_OnChroma):
    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return f"chroma://{tmp_path / 'db'}"


class TestChromaHttp(_OnChroma):
    @pytest.fixture
    def url(self, chroma_server: str) -> str:
        return "chroma+" + chroma_server

    @pytest.fixture
    def async_store(self, url: str) -> AsyncChromaStore:
        return open_async_store(url)


class TestChromaAsyncHttp(_OnChroma):
    @pytest.fixture
    def url(self, chroma_server: str) -> str:
        return "chroma+" + chroma_server

    def open(self, url: str) -> VectorStore:
        return BlockingStore(lambda: open_async_store(url))
