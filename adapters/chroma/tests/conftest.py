"""Fixtures for the Chroma adapter's tests: a real ``chroma run`` server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vecctx.testing import BackendServer


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``chroma run`` on a free port for the session; yields its base URL
    (``http://127.0.0.1:PORT``); stopped by its PID at the end."""
    with BackendServer("chroma", tmp_path_factory.mktemp("chroma-server") / "db") as server:
        yield f"http://127.0.0.1:{server.port}"
