"""Fixtures: one fresh vecctx store per test on each backend that runs here, in its own
directory under pytest's tmp_path, closed after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from vecctx_llamaindex import VecctxVectorStore

#: The four vecctx backends that run on this machine (Weaviate needs a server).
BACKENDS = ["memory", "qdrant-edge", "chroma-embedded", "milvus-lite"]


def backend_url(backend: str, root: Path) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "qdrant-edge":
        return f"qdrant://{root / 'qdrant'}"
    if backend == "chroma-embedded":
        return f"chroma://{root / 'chroma'}"
    if backend == "milvus-lite":
        return f"milvus://{root / 'milvus.db'}"
    raise ValueError(backend)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on a fresh directory, for each backend."""
    return backend_url(request.param, tmp_path)


@pytest.fixture
def make_store(url: str) -> Iterator[Callable[..., VecctxVectorStore]]:
    """Opens ``VecctxVectorStore`` objects on ``url``; every one is closed after the test."""
    opened: list[VecctxVectorStore] = []

    def _make(**kwargs: Any) -> VecctxVectorStore:
        kwargs.setdefault("collection_name", "llama_test")
        vs = VecctxVectorStore(url, **kwargs)
        opened.append(vs)
        return vs

    yield _make
    for vs in opened:
        vs.close()
