"""The vecctx conformance suite on Milvus Lite (in-process) and on a standalone Milvus Lite
gRPC server reached over the network code path (``milvus://127.0.0.1:PORT``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from vecctx_milvus import AsyncMilvusStore, MilvusStore, open_async_store, open_store

from vecctx.store import VectorStore
from vecctx.testing import ConformanceSuite


class TestMilvusLite(ConformanceSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MilvusStore]:
        with open_store(f"milvus://{tmp_path / 'lite.db'}") as s:
            yield s

    @pytest.fixture
    def reopen(self, tmp_path: Path) -> Callable[[VectorStore], VectorStore]:
        def _reopen(store: VectorStore) -> VectorStore:
            store.close()
            return open_store(f"milvus://{tmp_path / 'lite.db'}")

        return _reopen

    @pytest.fixture
    def async_store(self, tmp_path: Path) -> Iterator[AsyncMilvusStore]:
        s = open_async_store(f"milvus://{tmp_path / 'lite.db'}")
        yield s
        asyncio.run(s.close())


class TestMilvusServer(ConformanceSuite):
    @pytest.fixture
    def store(self, milvus_server: str) -> Iterator[MilvusStore]:
        with open_store(milvus_server) as s:
            yield s

    @pytest.fixture
    def reopen(self, milvus_server: str) -> Callable[[VectorStore], VectorStore]:
        def _reopen(store: VectorStore) -> VectorStore:
            store.close()
            return open_store(milvus_server)

        return _reopen

    @pytest.fixture
    def async_store(self, milvus_server: str) -> Iterator[AsyncMilvusStore]:
        s = open_async_store(milvus_server)
        yield s
        asyncio.run(s.close())
