"""The vecctx conformance suite, on the synchronous store and on the native async store
(through ``BlockingStore``).

``TestWeaviateConformance`` and ``TestAsyncWeaviateConformance`` are the real thing: they run
against the Weaviate server named by ``$VECCTX_WEAVIATE_URL`` and are skipped (with that
reason) when the variable is unset or the server does not answer. No Weaviate server can run
on the machine this adapter was written on.

``TestSuiteOverFake`` and ``TestAsyncSuiteOverFake`` run the same suite through the real
weaviate-client, REST and gRPC against the in-process fake of ``weaviate_fake.py``. They
exercise every code path of both drivers end to end, but the fake's filter and search
semantics are its author's reading of Weaviate, so they prove plumbing, not conformance.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from vecctx_weaviate import AsyncWeaviateStore, WeaviateStore
from weaviate_fake import FakeWeaviate

from vecctx.contract.store import VectorStore
from vecctx.testing import BlockingStore, ConformanceSuite

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


def _reopen(url: str, asynchronous: bool) -> Callable[[VectorStore], VectorStore]:
    def reopen(old: VectorStore) -> VectorStore:
        old.close()
        if asynchronous:
            return BlockingStore(lambda: AsyncWeaviateStore.from_url(url))
        return WeaviateStore.from_url(url)

    return reopen


@pytest.mark.skipif(not _reachable(URL), reason=_REASON)
class TestWeaviateConformance(ConformanceSuite):
    @pytest.fixture
    def store(self) -> Iterator[WeaviateStore]:
        with WeaviateStore.from_url(URL) as s:
            yield s

    @pytest.fixture
    def reopen(self) -> Callable[[VectorStore], VectorStore]:
        return _reopen(URL, asynchronous=False)


@pytest.mark.skipif(not _reachable(URL), reason=_REASON)
class TestAsyncWeaviateConformance(ConformanceSuite):
    """The whole suite on the native async store."""

    @pytest.fixture
    def store(self) -> Iterator[BlockingStore]:
        with BlockingStore(lambda: AsyncWeaviateStore.from_url(URL)) as s:
            yield s

    @pytest.fixture
    def reopen(self) -> Callable[[VectorStore], VectorStore]:
        return _reopen(URL, asynchronous=True)


class TestSuiteOverFake(ConformanceSuite):
    """Plumbing check: the conformance suite over the in-process fake (not conformance)."""

    @pytest.fixture
    def store(self, shared_fake: FakeWeaviate) -> Iterator[WeaviateStore]:
        with WeaviateStore.from_url(shared_fake.url()) as s:
            yield s

    @pytest.fixture
    def reopen(self, shared_fake: FakeWeaviate) -> Callable[[VectorStore], VectorStore]:
        return _reopen(shared_fake.url(), asynchronous=False)


class TestAsyncSuiteOverFake(ConformanceSuite):
    """Plumbing check of the async driver: the suite over the fake (not conformance)."""

    @pytest.fixture
    def store(self, shared_fake: FakeWeaviate) -> Iterator[BlockingStore]:
        with BlockingStore(lambda: AsyncWeaviateStore.from_url(shared_fake.url())) as s:
            yield s

    @pytest.fixture
    def reopen(self, shared_fake: FakeWeaviate) -> Callable[[VectorStore], VectorStore]:
        return _reopen(shared_fake.url(), asynchronous=True)
