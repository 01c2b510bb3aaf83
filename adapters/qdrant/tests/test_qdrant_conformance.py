"""The vecctx conformance suite on every Qdrant code path that can run here:

* embedded Qdrant Edge (``qdrant:///path``), the default backend (synchronous only);
* qdrant-client local mode in memory and on a directory (``qdrant+local://``), which takes the
  same calls as a Qdrant server: this is how the server code path is tested without one. Both
  run the whole suite twice: on the synchronous store and on the natively async store
  (``AsyncQdrantClient``, driven through ``BlockingStore``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vecctx.testing import AsyncUrlConformanceSuite, UrlConformanceSuite


class TestQdrantEdge(UrlConformanceSuite):
    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return f"qdrant://{tmp_path / 'edge'}"


class TestQdrantLocal(UrlConformanceSuite):
    """qdrant-client local mode in memory (not persistent: the reopen tests skip) and on a directory."""

    @pytest.fixture(params=["memory", "path"])
    def url(self, request: pytest.FixtureRequest, ram_path: Path) -> str:
        return (
            "qdrant+local://:memory:" if request.param == "memory" else f"qdrant+local://{ram_path / 'local'}"
        )


class TestAsyncQdrantLocal(AsyncUrlConformanceSuite, TestQdrantLocal):
    """The whole suite again on the natively async store (``AsyncQdrantClient``)."""
