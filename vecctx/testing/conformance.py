"""The conformance suite every store runs (ours and third parties'), by area.

Use it by subclassing and providing a ``store`` fixture::

    from vecctx.testing import ConformanceSuite

    class TestMyStore(ConformanceSuite):
        @pytest.fixture
        def store(self):
            with Store(MyDriver()) as s:
                yield s

Run it on an async store through :class:`~vecctx.testing.BlockingStore` (the whole suite, not
a sample). The optional ``reopen`` fixture (a callable that closes the given store and returns
a new one over the same storage) enables the persistence test. Tests that need a capability the
store does not declare are skipped with the reason.

:class:`ConformanceSuite` combines one mixin per area (in the manner of Haystack's document
store tests); a store that lacks a whole area by design combines the others instead of
setting tests to ``None``::

    class TestMyStore(CollectionTests, WriteTests, ReadTests, SearchTests, FilterTests, ErrorTests):
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from vecctx.contract.store import VectorStore
from vecctx.registry import connect, connect_async
from vecctx.testing.blocking import BlockingStore
from vecctx.testing.suite_base import SuiteBase
from vecctx.testing.suite_collections import CollectionTests, PersistenceTests
from vecctx.testing.suite_errors import ErrorTests
from vecctx.testing.suite_filters import FilterTests
from vecctx.testing.suite_limits import LimitTests
from vecctx.testing.suite_records import ReadTests, WriteTests
from vecctx.testing.suite_search import SearchTests, SparseHybridTests


class ConformanceSuite(
    CollectionTests,
    WriteTests,
    ReadTests,
    SearchTests,
    FilterTests,
    LimitTests,
    SparseHybridTests,
    ErrorTests,
    PersistenceTests,
):
    """Pytest mixin: the whole contract every :class:`~vecctx.contract.store.VectorStore` must meet."""


class UrlConformanceSuite(ConformanceSuite):
    """The suite on the store ``vecctx.connect`` opens for the ``url`` fixture a subclass gives;
    ``reopen`` closes it and opens the same URL again (the persistence tests)."""

    def open(self, url: str) -> VectorStore:
        return connect(url)

    @pytest.fixture
    def store(self, url: str) -> Iterator[VectorStore]:
        with self.open(url) as s:
            yield s

    @pytest.fixture
    def reopen(self, url: str) -> Callable[[VectorStore], VectorStore]:
        def _reopen(store: VectorStore) -> VectorStore:
            store.close()
            return self.open(url)

        return _reopen


class AsyncUrlConformanceSuite(UrlConformanceSuite):
    """The whole suite on the natively async store ``vecctx.connect_async`` opens for the ``url``
    fixture, driven through :class:`~vecctx.testing.BlockingStore`."""

    def open(self, url: str) -> VectorStore:
        return BlockingStore(lambda: connect_async(url))


__all__ = ["AsyncUrlConformanceSuite", "ConformanceSuite", "SuiteBase", "UrlConformanceSuite"]
