"""Test kit for adapters: the conformance suite, filter cases and test data.

Importing this module needs pytest (a dev dependency); ``import vecctx`` does not import it.
"""

from vecctx.testing.backends import LOCAL_BACKENDS, closing_all, local_store_url
from vecctx.testing.blocking import BlockingStore
from vecctx.testing.cases import FLAT_CASES, LIST_CASES, NESTED_CASES
from vecctx.testing.conformance import AsyncUrlConformanceSuite, ConformanceSuite, UrlConformanceSuite
from vecctx.testing.data import (
    FLAT_METADATA,
    LIST_METADATA,
    NESTED_METADATA,
    lowrank,
    lowrank_queries,
    recall_at_k,
    records_for,
)
from vecctx.testing.servers import (
    BackendServer,
    ServerError,
    ServerProcess,
    free_port,
    held_in_another_process,
    http_ok,
)
from vecctx.testing.suite_collections import CollectionTests, PersistenceTests
from vecctx.testing.suite_errors import ErrorTests
from vecctx.testing.suite_filters import FilterTests
from vecctx.testing.suite_records import ReadTests, WriteTests
from vecctx.testing.suite_search import SearchTests, SparseHybridTests

__all__ = [
    "LOCAL_BACKENDS",
    "closing_all",
    "local_store_url",
    "BlockingStore",
    "FLAT_CASES",
    "FLAT_METADATA",
    "LIST_CASES",
    "LIST_METADATA",
    "NESTED_CASES",
    "NESTED_METADATA",
    "CollectionTests",
    "AsyncUrlConformanceSuite",
    "ConformanceSuite",
    "UrlConformanceSuite",
    "ErrorTests",
    "FilterTests",
    "PersistenceTests",
    "ReadTests",
    "SearchTests",
    "SparseHybridTests",
    "WriteTests",
    "lowrank",
    "lowrank_queries",
    "recall_at_k",
    "records_for",
    "BackendServer",
    "ServerError",
    "ServerProcess",
    "free_port",
    "held_in_another_process",
    "http_ok",
]
