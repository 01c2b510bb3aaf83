"""Fixtures for the Weaviate adapter's tests: the in-process fake server (see weaviate_fake.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from vecctx_weaviate import WeaviateStore
from weaviate_fake import FakeWeaviate


@pytest.fixture
def fake() -> Iterator[FakeWeaviate]:
    """A fresh fake server (REST + gRPC on 127.0.0.1, free ports) for one test."""
    server = FakeWeaviate().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def shared_fake() -> Iterator[FakeWeaviate]:
    """One fake server for tests that only need unique collections (saves start/stop time)."""
    server = FakeWeaviate().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def wstore(fake: FakeWeaviate) -> Iterator[WeaviateStore]:
    with WeaviateStore.from_url(fake.url()) as s:
        fake.clear_logs()
        yield s
