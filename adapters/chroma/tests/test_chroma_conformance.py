"""The vecctx conformance suite on Chroma: embedded (PersistentClient), over HTTP against a
real ``chroma run`` server, and the whole suite again on the async HTTP store (through the
test-only blocking wrapper)."""

from __future__ import annotations

from pathlib import Path

import pytest
from vecctx_chroma import AsyncChromaStore, open_async_store

from vecctx.testing import AsyncUrlConformanceSuite, UrlConformanceSuite


class TestChromaEmbedded(UrlConformanceSuite):
    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return f"chroma://{tmp_path / 'db'}"


class TestChromaHttp(UrlConformanceSuite):
    @pytest.fixture
    def url(self, chroma_server: str) -> str:
        return "chroma+" + chroma_server

    @pytest.fixture
    def async_store(self, url: str) -> AsyncChromaStore:
        return open_async_store(url)


class TestChromaAsyncHttp(AsyncUrlConformanceSuite):
    @pytest.fixture
    def url(self, chroma_server: str) -> str:
        return "chroma+" + chroma_server
