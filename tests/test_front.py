"""The store front itself (``vecctx.front``), over a fault-injecting driver.

:class:`FaultyDriver` is the in-memory reference driver with a call log and faults injected per
method. Every test runs on the synchronous front and on the async one (through
:class:`~vecctx.testing.BlockingStore`), since both are one source.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import traceback
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from vecctx.contract.compiler import to_nnf
from vecctx.contract.driver import CheckedSearch, InProcessAsyncDriver, Page
from vecctx.contract.errors import (
    BackendError,
    CollectionNotFoundError,
    DimensionMismatchError,
    InvalidFilterError,
    InvalidInputError,
    RetryDeadlineError,
    StoreClosedError,
    TransientBackendError,
    UnsupportedFeatureError,
    VecctxError,
)
from vecctx.contract.filters import ALL_OPS, RANGE_OPS, And, Cmp, Exists, F, Filter, In, Not, Op, Or
from vecctx.contract.store import Capabilities, HybridSupport, SearchRequest, VectorStore
from vecctx.contract.types import CollectionSpec, FieldType, FloatArray, Hit, Record, SparseVector, VectorLike
from vecctx.front import AsyncStore, Store
from vecctx.memory import CAPABILITIES, MemoryDriver
from vecctx.retry import RetryPolicy
from vecctx.testing import FLAT_CASES, LIST_CASES, NESTED_CASES, BlockingStore
from vecctx.testing.data import FLAT_METADATA, LIST_METADATA, NESTED_METADATA, records_for

DIM = 4
SECRET = "tok-9f8e7d6c"
FAST = RetryPolicy(deadline_s=5.0, initial_backoff_s=0.001, max_backoff_s=0.002, jitter=0.0)


class FaultyDriver(MemoryDriver):
    """The reference driver, logging every call and raising the faults it is given."""

    def __init__(self, *, capabilities: Capabilities = CAPABILITIES, retry: RetryPolicy = FAST) -> None:
        super().__init__()
        self._caps = capabilities
        self.retry = retry
        self.secrets = (SECRET,)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.queued: dict[str, list[Exception]] = {}
        self.always: dict[str, Exception] = {}
        self.translated: list[tuple[Exception, str, str | None]] = []
        self.retried: list[int] = []
        self.native_batch = False
        self.reverse_get = False

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    # -- test controls ---------------------------------------------------------------------
    def fail(self, method: str, *errors: Exception) -> None:
        """Raise ``errors`` on the next calls of ``method``, one per call."""
        self.queued.setdefault(method, []).extend(errors)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def _enter(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if name in self.always:
            raise self.always[name]
        queue = self.queued.get(name)
        if queue:
            raise queue.pop(0)

    # -- the driver interface ----------------------------------------------------------------
    def translate(self, exc: Exception, action: str, collection: str | None) -> VecctxError:
        self.translated.append((exc, action, collection))
        if isinstance(exc, ConnectionError):
            return TransientBackendError(f"{action} failed: {exc}", exc)
        if isinstance(exc, LookupError):
            return CollectionNotFoundError(collection or "?")
        return super().translate(exc, action, collection)

    def compile_filter(self, spec: CollectionSpec, flt: Filter) -> Filter:
        self._enter("compile_filter", flt)
        return flt

    def collection_spec(self, name: str) -> CollectionSpec | None:
        self._enter("collection_spec", name)
        return super().collection_spec(name)

    def list_collections(self) -> list[str]:
        self._enter("list_collections")
        return super().list_collections()

    def create_collection(self, spec: CollectionSpec) -> None:
        self._enter("create_collection", spec.name)
        super().create_collection(spec)

    def drop_collection(self, name: str) -> bool:
        self._enter("drop_collection", name)
        return super().drop_collection(name)

    def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        self._enter("upsert", [r.id for r in records])
        super().upsert(spec, records, vectors)

    def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        self._enter("get", list(ids))
        found = super().get(spec, ids, with_vectors)
        return found[::-1] if self.reverse_get else found

    def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Filter | None) -> None:
        self._enter("delete", ids, filter)
        super().delete(spec, ids, filter)

    def count(self, spec: CollectionSpec, filter: Filter | None) -> int:
        self._enter("count", filter)
        return super().count(spec, filter)

    def scroll(
        self, spec: CollectionSpec, filter: Filter | None, cursor: Any, limit: int, with_vectors: bool
    ) -> Page:
        self._enter("scroll", cursor, limit)
        return super().scroll(spec, filter, cursor, limit, with_vectors)

    def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        self._enter("search", query.k)
        return super().search(spec, query)

    def search_batch(self, spec: CollectionSpec, queries: Sequence[CheckedSearch]) -> list[list[Hit]] | None:
        self._enter("search_batch", len(queries))
        if not self.native_batch:
            return None
        return [MemoryDriver.search(self, spec, q) for q in queries]

    def optimize(self, spec: CollectionSpec) -> None:
        self._enter("optimize", spec.name)

    def on_retry(self, err: TransientBackendError, failures: int) -> None:
        self.retried.append(failures)

    def close(self) -> None:
        self._enter("close")


MakeStore = Callable[[FaultyDriver], VectorStore]


@pytest.fixture(params=["sync", "async"])
def front(request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    """Builds the front under test over a driver: ``Store`` or ``AsyncStore`` (blocking)."""
    with contextlib.ExitStack() as stack:

        def make(driver: FaultyDriver) -> VectorStore:
            store: VectorStore
            if request.param == "sync":
                store = Store(driver)
            else:
                store = BlockingStore(lambda: AsyncStore(InProcessAsyncDriver(driver)))
            stack.enter_context(store)
            return store

        yield make


def _records(n: int = 6, prefix: str = "r") -> list[Record]:
    return records_for(FLAT_METADATA[:n], DIM, prefix=prefix)


def _ready(
    front: MakeStore, driver: FaultyDriver | None = None, *, n: int = 6
) -> tuple[VectorStore, FaultyDriver]:
    """A store over a (fresh) driver holding collection "c" with ``n`` records; call log empty."""
    driver = driver or FaultyDriver()
    store = front(driver)
    store.create_collection(CollectionSpec(name="c", dimension=DIM))
    if n:
        store.upsert("c", _records(n))
    driver.calls.clear()
    return store, driver


# -- retries ----------------------------------------------------------------------------------


def test_transient_errors_are_retried_until_success(front: MakeStore) -> None:
    store, driver = _ready(front)
    driver.fail("count", ConnectionError("reset"), TransientBackendError("unavailable"))
    assert store.count("c") == 6
    assert driver.names() == ["count", "count", "count"]
    assert driver.retried == [1, 2]  # the driver's hook ran before each retry
    assert [(type(e), action, coll) for e, action, coll in driver.translated] == [
        (ConnectionError, "count", "c")  # the vecctx error is not translated again
    ]
    driver.fail("upsert", ConnectionError("reset"))
    store.upsert("c", _records(8))
    assert driver.names()[-2:] == ["upsert", "upsert"] and store.count("c") == 8


def test_retries_stop_at_the_deadline(front: MakeStore) -> None:
    driver = FaultyDriver(retry=RetryPolicy(deadline_s=0.1, initial_backoff_s=0.001, max_backoff_s=0.002))
    store, _ = _ready(front, driver)
    driver.always["search"] = ConnectionError("connection refused")
    with pytest.raises(RetryDeadlineError) as info:
        store.search("c", vector=np.ones(DIM), k=2)
    err = info.value
    assert err.attempts == driver.names().count("search") > 2
    assert err.elapsed_s >= 0.1 and err.deadline_s == 0.1
    assert isinstance(err.original, TransientBackendError)
    assert isinstance(err.original.original, ConnectionError)
    assert "memory search on collection 'c' on memory://" in str(err)


def test_max_attempts_bounds_the_retries(front: MakeStore) -> None:
    driver = FaultyDriver(retry=FAST.with_max_attempts(3))
    store, _ = _ready(front, driver)
    driver.always["get"] = ConnectionError("reset")
    with pytest.raises(RetryDeadlineError) as info:
        store.get("c", ["r000"])
    assert info.value.attempts == 3 and driver.names() == ["get"] * 3


def test_disabled_policy_raises_the_first_transient_error(front: MakeStore) -> None:
    store, driver = _ready(front, FaultyDriver(retry=RetryPolicy.disabled()))
    driver.fail("count", ConnectionError("reset"))
    with pytest.raises(TransientBackendError) as info:
        store.count("c")
    assert not isinstance(info.value, RetryDeadlineError) and driver.names() == ["count"]


def test_create_drop_and_close_are_not_retried(front: MakeStore) -> None:
    driver = FaultyDriver()
    store = front(driver)
    driver.fail("create_collection", ConnectionError("reset"))
    with pytest.raises(TransientBackendError) as info:
        store.create_collection(CollectionSpec(name="c", dimension=DIM))
    assert not isinstance(info.value, RetryDeadlineError)
    assert driver.names().count("create_collection") == 1 and driver.retried == []
    assert not store.has_collection("c")
    store.create_collection(CollectionSpec(name="c", dimension=DIM))
    driver.fail("drop_collection", ConnectionError("reset"))
    with pytest.raises(TransientBackendError):
        store.drop_collection("c")
    assert driver.names().count("drop_collection") == 1 and store.has_collection("c")
    driver.fail("close", ConnectionError("reset"))
    with pytest.raises(TransientBackendError):
        store.close()
    assert driver.names().count("close") == 1 and driver.retried == []


def test_non_transient_errors_are_not_retried(front: MakeStore) -> None:
    store, driver = _ready(front)
    driver.fail("count", BackendError("bad request"))
    with pytest.raises(BackendError, match="bad request"):
        store.count("c")
    assert driver.names() == ["count"]


# -- error translation and redaction ------------------------------------------------------------


def test_client_exceptions_are_translated(front: MakeStore) -> None:
    store, driver = _ready(front)
    boom = ValueError("the client choked")
    driver.fail("delete", boom)
    with pytest.raises(BackendError) as info:
        store.delete("c", ids=["r001"])
    err = info.value
    assert type(err) is BackendError and err.original is boom and err.__cause__ is boom
    assert "delete failed: ValueError: the client choked" in str(err)
    assert driver.translated == [(boom, "delete", "c")]
    assert driver.names() == ["delete"]  # a BackendError is not retried
    driver.fail("list_collections", OSError("disk"))
    with pytest.raises(BackendError, match="list collections failed"):
        store.list_collections()
    assert driver.translated[-1][1:] == ("list collections", None)


def test_secrets_never_leak(front: MakeStore, caplog: pytest.LogCaptureFixture) -> None:
    driver = FaultyDriver(retry=RetryPolicy(deadline_s=0.03, initial_backoff_s=0.005, max_backoff_s=0.01))
    store, _ = _ready(front, driver)
    caplog.set_level(logging.INFO, logger="vecctx.retry")
    driver.always["count"] = ConnectionError(f"refused: Authorization: Bearer {SECRET}")
    with pytest.raises(RetryDeadlineError) as info:
        store.count("c")
    texts = [str(info.value), repr(info.value), str(info.value.original), repr(info.value.original)]
    retry_logs = [r for r in caplog.records if r.name == "vecctx.retry"]
    assert retry_logs, "retries are logged"
    texts += [r.getMessage() for r in retry_logs]
    assert all(SECRET not in t for t in texts)
    assert all("***" in t for t in texts)
    del driver.always["count"]
    driver.fail("upsert", RuntimeError(f"HTTP 401 for api_key={SECRET}"))
    with pytest.raises(BackendError) as failed:
        store.upsert("c", _records(1))
    assert SECRET not in str(failed.value) and SECRET not in repr(failed.value)
    printed = "".join(traceback.format_exception(failed.value))  # what logger.exception shows
    assert "HTTP 401" in printed and SECRET not in printed
    printed = "".join(traceback.format_exception(info.value))
    assert "refused" in printed and SECRET not in printed
    driver.fail("get", BackendError(f"raised by the driver itself with {SECRET}"))
    with pytest.raises(BackendError) as own:
        store.get("c", ["r000"])
    assert SECRET not in str(own.value) and "***" in str(own.value)


# -- closed state --------------------------------------------------------------------------------


def test_closed_store_refuses_every_call_without_io(front: MakeStore) -> None:
    store, driver = _ready(front)
    store.close()
    assert driver.names() == ["close"]
    calls: list[Callable[[], object]] = [
        lambda: store.count("c"),
        lambda: store.upsert("c", _records(1)),
        lambda: store.get("c", ["r000"]),
        lambda: store.delete("c", ids=["r000"]),
        lambda: store.search("c", vector=np.ones(DIM)),
        lambda: store.search_batch("c", [SearchRequest(vector=np.ones(DIM))]),
        lambda: store.scroll("c"),
        lambda: store.optimize("c"),
        lambda: store.list_collections(),
        lambda: store.has_collection("c"),
        lambda: store.collection_spec("c"),
        lambda: store.create_collection(CollectionSpec(name="d", dimension=DIM)),
        lambda: store.ensure_collection(CollectionSpec(name="d", dimension=DIM)),
        lambda: store.drop_collection("c"),
    ]
    for call in calls:
        with pytest.raises(StoreClosedError):
            call()
    store.close()  # closing again is a no-op
    assert driver.names() == ["close"]


# -- checks before any I/O -------------------------------------------------------------------


def _bad(values: Sequence[float]) -> FloatArray:
    return np.array(values, dtype=np.float32)


def test_invalid_input_never_reaches_the_driver(front: MakeStore) -> None:
    limited = dataclasses.replace(
        CAPABILITIES,
        filter_ops=ALL_OPS - {Op.EXISTS},
        sparse=False,
        hybrid=HybridSupport.NONE,
        fusions=frozenset(),
    )
    store, driver = _ready(front, FaultyDriver(capabilities=limited))
    nan: VectorLike = _bad([1.0, float("nan"), 0.0, 0.0])
    cases: list[tuple[type[Exception], Callable[[], object]]] = [
        (InvalidInputError, lambda: store.count("")),
        (InvalidInputError, lambda: store.upsert("c", [Record(id="x", vector=nan)])),
        (DimensionMismatchError, lambda: store.upsert("c", [Record(id="x", vector=np.ones(DIM + 1))])),
        (InvalidInputError, lambda: store.upsert("c", [*_records(2), _records(1)[0]])),
        (InvalidInputError, lambda: store.upsert("c", _records(1)[0])),  # type: ignore[arg-type]
        (InvalidInputError, lambda: store.get("c", "r000")),
        (InvalidInputError, lambda: store.get("c", ["r000", ""])),
        (InvalidInputError, lambda: store.delete("c", ids=[""])),
        (InvalidFilterError, lambda: store.delete("c", filter={"year": {"$gt": "2020"}})),
        (InvalidFilterError, lambda: store.count("c", filter={"$or": []})),
        (UnsupportedFeatureError, lambda: store.count("c", filter=F("year").exists())),
        (UnsupportedFeatureError, lambda: store.count("c", filter=~((F("a") == 1) & F("b").missing()))),
        (InvalidInputError, lambda: store.search("c", vector=np.ones(DIM), k=0)),
        (InvalidInputError, lambda: store.search("c", vector=nan)),
        (DimensionMismatchError, lambda: store.search("c", vector=np.ones(DIM - 1))),
        (InvalidInputError, lambda: store.search("c")),
        (InvalidFilterError, lambda: store.search("c", vector=np.ones(DIM), filter={"x": {"$bogus": 1}})),
        (UnsupportedFeatureError, lambda: store.search("c", sparse=SparseVector((1,), (1.0,)))),
        (InvalidInputError, lambda: store.search("c", vector=np.ones(DIM), fusion="max")),  # type: ignore[arg-type]
        (InvalidInputError, lambda: store.search_batch("c", [{"vector": np.ones(DIM)}])),  # type: ignore[list-item]
        (InvalidInputError, lambda: store.search_batch("c", SearchRequest(vector=np.ones(DIM)))),  # type: ignore[arg-type]
        (
            InvalidInputError,
            lambda: store.search_batch(
                "c", [SearchRequest(vector=np.ones(DIM)), SearchRequest(vector=np.ones(DIM), k=-1)]
            ),
        ),
        (InvalidInputError, lambda: store.scroll("c", batch_size=0)),
        (InvalidFilterError, lambda: store.scroll("c", filter={"$and": "x"})),
        (InvalidInputError, lambda: store.create_collection("c")),  # type: ignore[arg-type]
        (UnsupportedFeatureError, lambda: store.create_collection(CollectionSpec("s", DIM, sparse=True))),
        (UnsupportedFeatureError, lambda: store.ensure_collection(CollectionSpec("s", DIM, sparse=True))),
    ]
    for n, (exc, call) in enumerate(cases):
        with pytest.raises(exc):
            call()
        # A vector of another dimension makes the front read the spec again once (another
        # client may have recreated the collection); nothing else reaches the driver.
        allowed = [("collection_spec", ("c",))] if exc is DimensionMismatchError else []
        assert driver.calls == allowed, f"case {n} reached the driver: {driver.calls}"
        driver.calls.clear()
    assert store.count("c") == 6


def test_a_collection_recreated_elsewhere_is_read_again(front: MakeStore) -> None:
    store, driver = _ready(front)
    driver.drop_collection("c")  # another client drops it and makes it again with another size
    driver.create_collection(CollectionSpec("c", DIM + 2))
    store.upsert("c", [Record(id="n", vector=np.ones(DIM + 2))])
    assert [h.id for h in store.search("c", vector=np.ones(DIM + 2), k=1)] == ["n"]
    with pytest.raises(DimensionMismatchError):
        store.search("c", vector=np.ones(DIM), k=1)


def test_filters_reach_the_driver_in_negation_normal_form(front: MakeStore) -> None:
    store, driver = _ready(front)
    flt = ~((F("lang") == "en") | ~F("year").in_([2019, 2020, 2021]) | (F("score") > 2))
    assert store.count("c", filter=flt) == 1  # only r001 (de, 2020, score 1.0)
    (compiled,) = [args[0] for name, args in driver.calls if name == "compile_filter"]
    want = And((Cmp("lang", Op.NE, "en"), In("year", (2019, 2020, 2021)), Not(Cmp("score", Op.GT, 2))))
    assert compiled == want
    assert [args[0] for name, args in driver.calls if name == "count"] == [compiled]


def test_constant_filters_never_reach_the_driver(front: MakeStore) -> None:
    """A filter that can match nothing is answered without driver I/O; one that matches
    everything is sent as no filter; the driver never sees an empty list."""
    store, driver = _ready(front)
    q = np.ones(DIM, dtype=np.float32)
    nothing = (F("lang").in_([]) & (F("year") >= 2020)) | F("draft").in_([])
    assert store.count("c", filter=nothing) == 0
    assert store.search("c", vector=q, filter=nothing) == []
    assert list(store.scroll("c", filter=nothing)) == []
    store.delete("c", filter=nothing)
    reqs = [SearchRequest(vector=q, filter=nothing), SearchRequest(vector=q, filter=F("lang").nin([]), k=3)]
    assert [len(hits) for hits in store.search_batch("c", reqs)] == [0, 3]
    assert store.count("c", filter=~F("lang").in_([])) == 6
    assert driver.names() == ["search_batch", "search", "count"]  # the rest: no I/O
    assert [args[0] for name, args in driver.calls if name == "count"] == [None]
    driver.calls.clear()
    store.count("c", filter=F("lang").in_(["en"]) | F("lang").in_([]))
    assert [args[0] for name, args in driver.calls if name == "compile_filter"] == [In("lang", ("en",))]
    store.delete("c", ids=["r000"], filter=nothing)
    assert [args for name, args in driver.calls if name == "delete"] == [(["r000"], None)]
    store.delete("c", filter=F("lang").nin([]))  # every record: read, then deleted by id
    assert store.count("c") == 0


def test_dates_are_stored_as_integers_and_read_back_as_utc_datetimes(front: MakeStore) -> None:
    driver = FaultyDriver()
    store = front(driver)
    store.create_collection(
        CollectionSpec(name="d", dimension=DIM, indexed_fields={"at": FieldType.DATETIME})
    )
    paris = timezone(timedelta(hours=2))
    records = [
        Record("a", np.ones(DIM), metadata={"at": datetime(2024, 5, 1, 14, tzinfo=paris), "x": {"y": 1}}),
        Record("b", np.ones(DIM), metadata={"at": ["2024-05-01", "1970-01-01T00:00:00.000001Z"]}),
    ]
    store.upsert("d", records)
    assert records[0].metadata["at"] == datetime(2024, 5, 1, 14, tzinfo=paris)  # the caller's, untouched
    stored = {
        r.id: r.metadata["at"]
        for r in driver.scroll(store.collection_spec("d"), None, None, 10, False).records
    }
    assert stored == {"a": 1714564800 * 10**6, "b": [1714521600 * 10**6, 1]}
    (a,) = store.get("d", ["a"])
    assert a.metadata == {"at": datetime(2024, 5, 1, 12, tzinfo=UTC), "x": {"y": 1}}
    assert a.metadata["at"].tzinfo is UTC
    driver.calls.clear()
    assert store.count("d", filter=F("at") == datetime(2024, 5, 1, 12, tzinfo=UTC)) == 1
    assert [args[0] for name, args in driver.calls if name == "compile_filter"] == [
        Cmp("at", Op.EQ, 1714564800 * 10**6)
    ]
    assert store.count("d", filter=F("at").in_(["1970-01-01T00:00:00.000001+00:00"])) == 1
    with pytest.raises(InvalidInputError, match="timezone"):
        store.upsert("d", [Record("c", np.ones(DIM), metadata={"at": datetime(2024, 5, 1)})])
    with pytest.raises(InvalidInputError, match="DATETIME"):
        store.upsert("d", [Record("c", np.ones(DIM), metadata={"other": datetime(2024, 5, 1, tzinfo=UTC)})])
    with pytest.raises(InvalidFilterError, match="DATETIME"):
        store.count("d", filter=F("other") == datetime(2024, 5, 1, tzinfo=UTC))
    assert store.count("d") == 2


# -- search_batch ------------------------------------------------------------------------------


def test_search_batch_falls_back_to_single_searches(front: MakeStore) -> None:
    store, driver = _ready(front, n=12)
    requests = [SearchRequest(vector=v, k=k) for v, k in zip(np.eye(DIM)[:3], (1, 3, 5), strict=True)]
    want = [[h.id for h in store.search("c", vector=r.vector, k=r.k)] for r in requests]
    driver.calls.clear()
    driver.fail("search", ConnectionError("reset"))  # a retry inside the fallback loop
    got = store.search_batch("c", requests)
    assert [[h.id for h in hits] for hits in got] == want
    assert [len(hits) for hits in got] == [1, 3, 5]
    assert driver.names() == ["search_batch", "search", "search", "search", "search"]
    assert [args[0] for name, args in driver.calls if name == "search"] == [1, 1, 3, 5]


def test_native_search_batch_is_used_when_the_driver_has_one(front: MakeStore) -> None:
    driver = FaultyDriver()
    driver.native_batch = True
    store, _ = _ready(front, driver, n=12)
    requests = [SearchRequest(vector=v, k=2) for v in np.eye(DIM)[:3]]
    got = store.search_batch("c", requests)
    assert driver.names() == ["search_batch"]
    assert [[h.id for h in hits] for hits in got] == [
        [h.id for h in store.search("c", vector=r.vector, k=2)] for r in requests
    ]
    driver.calls.clear()
    assert store.search_batch("c", []) == [] and driver.calls == []


# -- the collection-spec cache ---------------------------------------------------------------


def test_spec_cache_is_dropped_when_the_collection_is_gone(front: MakeStore) -> None:
    store, driver = _ready(front)
    other = Store(driver)  # another client of the same backend
    store.count("c")
    assert "collection_spec" not in driver.names()  # served from the cache
    other.drop_collection("c")
    other.create_collection(CollectionSpec(name="c", dimension=DIM + 2))
    driver.calls.clear()
    driver.fail("count", KeyError("c"))  # the backend says: no such collection
    with pytest.raises(CollectionNotFoundError):
        store.count("c")
    assert driver.names() == ["count"]  # not retried
    assert driver.translated[-1][1:] == ("count", "c")
    wide = [Record(id="w", vector=np.ones(DIM + 2))]
    store.upsert("c", wide)  # the new spec is read again: the wider vector fits
    assert driver.names()[1:] == ["collection_spec", "upsert"]
    assert store.collection_spec("c").dimension == DIM + 2
    other.drop_collection("c")
    with pytest.raises(CollectionNotFoundError):  # raised by the driver as a vecctx error
        store.get("c", ["w"])
    driver.calls.clear()
    with pytest.raises(CollectionNotFoundError):
        store.collection_spec("c")
    assert driver.names() == ["collection_spec"]


# -- get and scroll ---------------------------------------------------------------------------


def test_get_returns_the_order_asked(front: MakeStore) -> None:
    store, driver = _ready(front)
    driver.reverse_get = True
    got = store.get("c", ["r003", "absent", "r000", "r003", "r005"])
    assert [r.id for r in got] == ["r003", "r000", "r003", "r005"]
    assert driver.calls == [("get", (["r003", "absent", "r000", "r005"],))]  # each id asked once
    driver.calls.clear()
    assert store.get("c", []) == [] and driver.calls == []


def test_scroll_pages_through_every_record_once(front: MakeStore) -> None:
    store, driver = _ready(front, n=10)
    driver.fail("scroll", ConnectionError("reset"), ConnectionError("reset"))
    pages = store.scroll("c", batch_size=3)
    assert driver.calls == []  # lazy: nothing is read before the first record is asked for
    ids = [r.id for r in pages]
    assert sorted(ids) == [f"r{i:03d}" for i in range(10)] and len(set(ids)) == 10
    cursors = [args for name, args in driver.calls if name == "scroll"]
    assert cursors == [(None, 3), (None, 3), (None, 3), (3, 3), (6, 3), (9, 3)]
    driver.calls.clear()
    flt = F("lang") == "en"
    assert sorted(r.id for r in store.scroll("c", filter=flt, batch_size=1)) == ["r000", "r002", "r007"]
    assert [args for name, args in driver.calls if name == "scroll"] == [(None, 1), (1, 1), (2, 1)]
    assert list(store.scroll("c", filter=F("lang") == "zz")) == []


# -- negation normal form ----------------------------------------------------------------------

ALL_METADATA: list[dict[str, Any]] = [*FLAT_METADATA, *NESTED_METADATA, *LIST_METADATA]
CASES: list[tuple[str, Filter]] = [
    *FLAT_CASES,
    *NESTED_CASES,
    *LIST_CASES,
    *[(f"not_{name}", Not(flt)) for name, flt in [*FLAT_CASES, *NESTED_CASES, *LIST_CASES]],
    *[(f"not_not_{name}", Not(Not(flt))) for name, flt in FLAT_CASES],
]


def _assert_nnf(flt: Filter) -> None:
    if isinstance(flt, And | Or):
        for child in flt.children:
            _assert_nnf(child)
    elif isinstance(flt, Not):
        assert isinstance(flt.child, Exists) or (isinstance(flt.child, Cmp) and flt.child.cmp in RANGE_OPS), (
            f"Not over {flt.child!r}"
        )


@pytest.mark.parametrize(("case", "flt"), CASES, ids=[name for name, _ in CASES])
def test_to_nnf_keeps_the_meaning(case: str, flt: Filter) -> None:
    nnf = to_nnf(flt)
    _assert_nnf(nnf)
    for metadata in ALL_METADATA:
        assert nnf.matches(metadata) == flt.matches(metadata), (case, metadata, nnf.to_dict())
    assert to_nnf(nnf) == nnf
