"""The vecctx conformance suite on Milvus Lite (in-process) and on a standalone Milvus Lite
gRPC server reached over the network code path (``milvus://127.0.0.1:PORT``), each on the
sync store and, through the test-only :class:`~vecctx.testing.BlockingStore`, on the
native-async store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from vecctx_milvus import MilvusStore, open_async_store, open_store

from vecctx.contract.store import VectorStore
from vecctx.testing import BlockingStore, ConformanceSuite


def _lite(tmp_path: Path) -> str:
    return f"milvus://{tmp_path / 'lite.db'}"


def _reopen_sync(url: str) -> Callable[[VectorStore], VectorStore]:
    def reopen(store: VectorStore) -> VectorStore:
        store.close()
        return open_store(url)

    return reopen


def _reopen_async(url: str) -> Callable[[VectorStore], VectorStore]:
    def reopen(store: VectorStore) -> VectorStore:
        store.close()
        return BlockingStore(lambda: open_async_store(url))

    return reopen


class TestMilvusLite(ConformanceSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MilvusStore]:
        with open_store(_lite(tmp_path)) as s:
            yield s

    @pytest.fixture
    def reopen(self, tmp_path: Path) -> Callable[[VectorStore], VectorStore]:
        return _reopen_sync(_lite(tmp_path))


class TestMilvusServer(ConformanceSuite):
    @pytest.fixture
    def store(self, milvus_server: str) -> Iterator[MilvusStore]:
        with open_store(milvus_server) as s:
            yield s

    @pytest.fixture
    def reopen(self, milvus_server: str) -> Callable[[VectorStore], VectorStore]:
        return _reopen_sync(milvus_server)


class TestAsyncMilvusLite(ConformanceSuite):
    """The whole suite on the async store over Milvus Lite in this process."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[BlockingStore]:
        with BlockingStore(lambda: open_async_store(_lite(tmp_path))) as s:
            yield s

    @pytest.fixture
    def reopen(self, tmp_path: Path) -> Callable[[VectorStore], VectorStore]:
        return _reopen_async(_lite(tmp_path))


class TestAsyncMilvusServer(ConformanceSuite):
    """The whole suite on the async store over the standalone server."""

    @pytest.fixture
    def store(self, milvus_server: str) -> Iterator[BlockingStore]:
        with BlockingStore(lambda: open_async_store(milvus_server)) as s:
            yield s

    @pytest.fixture
    def reopen(self, milvus_server: str) -> Callable[[VectorStore], VectorStore]:
        return _reopen_async(milvus_server)
