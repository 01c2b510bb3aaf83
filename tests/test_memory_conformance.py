"""The reference store runs the conformance suite it defines."""

from collections.abc import Iterator

import pytest

from vecctx import AsyncMemoryStore, MemoryStore
from vecctx.testing import BlockingStore, ConformanceSuite


class TestMemoryStore(ConformanceSuite):
    @pytest.fixture
    def store(self) -> Iterator[MemoryStore]:
        with MemoryStore() as s:
            yield s


class TestAsyncMemoryStore(ConformanceSuite):
    """The whole suite on the async front (through the test-only blocking wrapper)."""

    @pytest.fixture
    def store(self) -> Iterator[BlockingStore]:
        with BlockingStore(AsyncMemoryStore) as s:
            yield s
