"""Fixtures: a real standalone Milvus Lite server (``milvus-lite server``) on 127.0.0.1 at a
free port, started once per session and stopped by its PID."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vecctx.testing import BackendServer


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (``milvus://127.0.0.1:PORT``) of a standalone Milvus Lite gRPC server."""
    with BackendServer("milvus", tmp_path_factory.mktemp("milvus-server") / "data") as server:
        yield server.url()
