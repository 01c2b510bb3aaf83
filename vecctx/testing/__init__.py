"""Test kit for adapters: the conformance suite, filter cases and test data.

Importing this module needs pytest (a dev dependency); ``import vecctx`` does not import it.
"""

from vecctx.testing.backends import LOCAL_BACKENDS, closing_all, local_store_url
from vecctx.testing.blocking import BlockingStore
from vecctx.testing.cases import FLAT_CASES, LIST_CASES, NESTED_CASES
from vecctx.testing.conformance import (
    CollectionTests,
    ConformanceSuite,
    ErrorTests,
    FilterTests,
    PersistenceTests,
    ReadTests,
    SearchTests,
    SparseHybridTests,
    WriteTests,
)
from vecctx.testing.data import (
    FLAT_METADATA,
    LIST_METADATA,
    NESTED_METADATA,
    lowrank,
    lowrank_queries,
    recall_at_k,
    records_for,
)

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
    "ConformanceSuite",
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
]
