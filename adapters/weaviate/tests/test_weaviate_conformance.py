"""The vecctx conformance suite.

``TestWeaviateConformance`` is the real thing: it runs against the Weaviate server named by
``$VECCTX_WEAVIATE_URL`` and is skipped (with that reason) when the variable is unset or the
server does not answer. No Weaviate server can run on the machine this adapter was written on.

``TestSuiteOverFake`` runs the same suite through the real weaviate-client, REST and gRPC
against the in-process fake of ``weaviate_fake.py``. It exercises every code path of the
adapter end to end, but the fake's filter and search semantics are its author's reading of
Weaviate, so it proves plumbing, not conformance.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from vecctx_weaviate import WeaviateStore
from vecctx_weaviate.aio import AsyncWeaviateStore
from weaviate_fake import FakeWeaviate

from vecctx.store import AsyncVectorStore, VectorStore
from vecctx.testing import ConformanceSuite

URL = os.environ.get("VECCTX_WEAVIATE_URL", "")


def _reachable(url: str) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme.endswith("https") else 8080)
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


_REASON = (
    "set VECCTX_WEAVIATE_URL to a reachable Weaviate server (e.g. weaviate://localhost:8080) "
    "to run the conformance suite; none can run on this machine"
)


@pytest.mark.skipif(not _reachable(URL), reason=_REASON)
class TestWeaviateConformance(ConformanceSuite):
    @pytest.fixture
    def store(self) -> Iterator[WeaviateStore]:
        with WeaviateStore.from_url(URL) as s:
            yield s

    @pytest.fixture
    def reopen(self) -> Callable[[VectorStore], VectorStore]:
        def _reopen(old: VectorStore) -> VectorStore:
            old.close()
            return WeaviateStore.from_url(URL)

        return _reopen

    @pytest.fixture
    def async_store(self) -> Iterator[AsyncVectorStore]:
        s = AsyncWeaviateStore.from_url(URL)
        yield s
        asyncio.run(s.close())


class TestSuiteOverFake(ConformanceSuite):
    """Plumbing check: the conformance suite over the in-process fake (not conformance)."""

    @pytest.fixture
    def store(self, shared_fake: FakeWeaviate) -> Iterator[WeaviateStore]:
        with WeaviateStore.from_url(shared_fake.url()) as s:
            yield s

    @pytest.fixture
    def reopen(self, shared_fake: FakeWeaviate) -> Callable[[VectorStore], VectorStore]:
        def _reopen(old: VectorStore) -> VectorStore:
            old.close()
            return WeaviateStore.from_url(shared_fake.url())

        return _reopen

    @pytest.fixture
    def async_store(self, shared_fake: FakeWeaviate) -> Iterator[AsyncVectorStore]:
        s = AsyncWeaviateStore.from_url(shared_fake.url())
        yield s
        asyncio.run(s.close())
