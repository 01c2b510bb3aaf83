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

from vecctx.testing.suite_base import SuiteBase
from vecctx.testing.suite_collections import CollectionTests, PersistenceTests
from vecctx.testing.suite_errors import ErrorTests
from vecctx.testing.suite_filters import FilterTests
from vecctx.testing.suite_records import ReadTests, WriteTests
from vecctx.testing.suite_search import SearchTests, SparseHybridTests


class ConformanceSuite(
    CollectionTests,
    WriteTests,
    ReadTests,
    SearchTests,
    FilterTests,
    SparseHybridTests,
    ErrorTests,
    PersistenceTests,
):
    """Pytest mixin: the whole contract every :class:`~vecctx.contract.store.VectorStore` must meet."""


__all__ = ["ConformanceSuite", "SuiteBase"]
