"""Fixtures: a ``VecctxDocumentStore`` on each backend that runs here, each in a fresh directory
under ``tmp_path`` and closed after the test."""

from __future__ import annotations

import os

# Haystack sends usage telemetry from Pipeline.run unless this is off when haystack is imported.
os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from vecctx_haystack import VecctxDocumentStore

#: The backends of the standard suite: vecctx's reference store, embedded Qdrant Edge, Chroma's
#: embedded PersistentClient and Milvus Lite (in process).
BACKENDS = ["memory", "qdrant", "chroma", "milvus"]


def store_url(backend: str, tmp_path: Path) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "qdrant":
        return f"qdrant://{tmp_path / 'qdrant'}"
    if backend == "chroma":
        return f"chroma://{tmp_path / 'chroma'}"
    if backend == "milvus":
        return f"milvus://{tmp_path / 'milvus.db'}"
    raise ValueError(backend)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(backend: str, tmp_path: Path) -> str:
    return store_url(backend, tmp_path)


@pytest.fixture
def make_store(url: str) -> Iterator[Callable[..., VecctxDocumentStore]]:
    """Build ``VecctxDocumentStore(url, **kwargs)`` on this test's backend; all closed at the end."""
    opened: list[VecctxDocumentStore] = []

    def _make(**kwargs: object) -> VecctxDocumentStore:
        ds = VecctxDocumentStore(url, **kwargs)  # type: ignore[arg-type]
        opened.append(ds)
        return ds

    yield _make
    for ds in reversed(opened):
        ds.close()
