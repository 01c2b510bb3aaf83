"""The narrow interface a backend implements under vecctx's store front.

Users hold a :class:`~vecctx.front.Store` (or :class:`~vecctx.front.AsyncStore`); it owns
everything every backend needs the same way: argument checks, filter parsing and operator
checks, capability checks, the collection-spec cache, ``ensure_collection``, the
``search_batch`` fallback, retries under the deadline, error translation, secret redaction
and the closed state. A backend is a **driver**: it receives only checked input (validated
records with their float32 matrix, a :class:`CheckedSearch`, a filter already parsed into
negation normal form and compiled by the driver's own :class:`~vecctx.contract.compiler.FilterCompiler`)
and returns plain rows (:class:`~vecctx.contract.types.Record`, :class:`~vecctx.contract.types.Hit`).

A driver raises its client's own exceptions freely; the front passes each one through
:meth:`Driver.translate` and retries those it maps to
:class:`~vecctx.contract.errors.TransientBackendError`. ``AsyncDriver`` is the same interface with
``async`` methods, for backends whose client is natively async; write it once and let
``scripts/unasync.py`` generate the synchronous driver (see ``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from vecctx.contract.errors import TransientBackendError, VecctxError
from vecctx.contract.filters import Filter
from vecctx.contract.store import Capabilities, Fusion
from vecctx.contract.types import CollectionSpec, FloatArray, Hit, Record, SparseVector
from vecctx.retry import RetryPolicy


@dataclass(slots=True, unsafe_hash=True)  # treated as immutable; not frozen, whose __init__ is slow
class CheckedSearch:
    """One search the front has checked against the collection and the capabilities.

    ``vector`` is float32 of the collection's dimension and finite (``None`` for a sparse-only
    search); ``sparse`` is valid and only set on a collection with sparse vectors; at least one
    of the two is set, and both only where ``capabilities.hybrid`` is not ``NONE`` and
    ``fusion`` is one of ``capabilities.fusions``. ``filter`` is the driver's compiled filter
    (``None``: no filter). ``exact`` is only set where ``capabilities.exact_search``;
    ``prefetch_k`` is resolved (``max(4 * k, 50)`` unless given)."""

    vector: FloatArray | None
    sparse: SparseVector | None
    filter: Any
    k: int
    exact: bool
    ef: int | None
    prefetch_k: int
    rrf_k: int
    fusion: Fusion
    with_payload: bool
    with_vectors: bool


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a scroll: its records and the cursor of the next (``None``: the last)."""

    records: list[Record]
    next: Any = None


@runtime_checkable
class Driver(Protocol):
    """What a synchronous backend implements. Every method gets checked input."""

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def target(self) -> str:
        """Where the store lives, without credentials (for errors, logs and ``repr``)."""
        ...

    @property
    def secrets(self) -> Sequence[str]:
        """Strings that must never appear in an error, a repr or a log (tokens, keys)."""
        ...

    @property
    def retry(self) -> RetryPolicy: ...

    def translate(self, exc: Exception, action: str, collection: str | None) -> VecctxError:
        """The vecctx error for a client exception (``TransientBackendError`` if a retry
        may succeed, ``CollectionNotFoundError`` for a missing collection, else
        ``BackendError``)."""
        ...

    def compile_filter(self, spec: CollectionSpec, flt: Filter) -> Any:
        """The backend's form of ``flt`` (in negation normal form, operators checked)."""
        ...

    def collection_spec(self, name: str) -> CollectionSpec | None:
        """The stored spec, or ``None`` when the collection does not exist."""
        ...

    def list_collections(self) -> list[str]: ...

    def create_collection(self, spec: CollectionSpec) -> None:
        """Create ``spec`` (the front has checked that it does not exist)."""

    def drop_collection(self, name: str) -> bool:
        """Drop; ``False`` when there was nothing to drop."""
        ...

    def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        """Insert or replace by id; ``records`` are valid and ``vectors`` is their float32
        matrix. Retried on transient failure, so it must be idempotent."""

    def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        """The records of the ids that exist, in any order (the front orders them)."""
        ...

    def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Any) -> None:
        """Delete the records with these ids or matching the compiled filter (either)."""

    def count(self, spec: CollectionSpec, filter: Any) -> int: ...

    def scroll(self, spec: CollectionSpec, filter: Any, cursor: Any, limit: int, with_vectors: bool) -> Page:
        """One page of at most ``limit`` records from ``cursor`` (``None``: the start)."""
        ...

    def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]: ...

    def search_batch(self, spec: CollectionSpec, queries: Sequence[CheckedSearch]) -> list[list[Hit]] | None:
        """Run the searches in one round trip, or return ``None`` to let the front run
        them one by one."""
        ...

    def optimize(self, spec: CollectionSpec) -> None: ...

    def on_retry(self, err: TransientBackendError, failures: int) -> None:
        """Runs before each retry pause (a driver may reconnect here)."""

    def close(self) -> None: ...


@runtime_checkable
class AsyncDriver(Protocol):
    """The natively async twin of :class:`Driver` (same methods, ``async``)."""

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def target(self) -> str: ...

    @property
    def secrets(self) -> Sequence[str]: ...

    @property
    def retry(self) -> RetryPolicy: ...

    def translate(self, exc: Exception, action: str, collection: str | None) -> VecctxError: ...

    def compile_filter(self, spec: CollectionSpec, flt: Filter) -> Any: ...

    async def collection_spec(self, name: str) -> CollectionSpec | None: ...

    async def list_collections(self) -> list[str]: ...

    async def create_collection(self, spec: CollectionSpec) -> None: ...

    async def drop_collection(self, name: str) -> bool: ...

    async def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None: ...

    async def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]: ...

    async def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Any) -> None: ...

    async def count(self, spec: CollectionSpec, filter: Any) -> int: ...

    async def scroll(
        self, spec: CollectionSpec, filter: Any, cursor: Any, limit: int, with_vectors: bool
    ) -> Page: ...

    async def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]: ...

    async def search_batch(
        self, spec: CollectionSpec, queries: Sequence[CheckedSearch]
    ) -> list[list[Hit]] | None: ...

    async def optimize(self, spec: CollectionSpec) -> None: ...

    async def on_retry(self, err: TransientBackendError, failures: int) -> None: ...

    async def close(self) -> None: ...


class InProcessAsyncDriver:
    """The async face of a synchronous driver that does no I/O (the in-memory reference):
    each method calls the synchronous one directly. Never wrap a driver that blocks on I/O in
    it; vecctx hides no thread pool behind an async API."""

    def __init__(self, driver: Driver) -> None:
        self.sync = driver
        # declared data and the pure methods are the synchronous driver's own
        self.capabilities: Capabilities = driver.capabilities
        self.target: str = driver.target
        self.secrets: Sequence[str] = driver.secrets
        self.retry: RetryPolicy = driver.retry
        self.translate = driver.translate
        self.compile_filter = driver.compile_filter

    async def collection_spec(self, name: str) -> CollectionSpec | None:
        return self.sync.collection_spec(name)

    async def list_collections(self) -> list[str]:
        return self.sync.list_collections()

    async def create_collection(self, spec: CollectionSpec) -> None:
        self.sync.create_collection(spec)

    async def drop_collection(self, name: str) -> bool:
        return self.sync.drop_collection(name)

    async def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        self.sync.upsert(spec, records, vectors)

    async def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        return self.sync.get(spec, ids, with_vectors)

    async def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Any) -> None:
        self.sync.delete(spec, ids, filter)

    async def count(self, spec: CollectionSpec, filter: Any) -> int:
        return self.sync.count(spec, filter)

    async def scroll(
        self, spec: CollectionSpec, filter: Any, cursor: Any, limit: int, with_vectors: bool
    ) -> Page:
        return self.sync.scroll(spec, filter, cursor, limit, with_vectors)

    async def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        return self.sync.search(spec, query)

    async def search_batch(
        self, spec: CollectionSpec, queries: Sequence[CheckedSearch]
    ) -> list[list[Hit]] | None:
        return self.sync.search_batch(spec, queries)

    async def optimize(self, spec: CollectionSpec) -> None:
        self.sync.optimize(spec)

    async def on_retry(self, err: TransientBackendError, failures: int) -> None:
        self.sync.on_retry(err, failures)

    async def close(self) -> None:
        self.sync.close()


from vecctx._async.driver_base import AsyncDriverBase  # noqa: E402  (the bases need the protocols above)
from vecctx._sync.driver_base import DriverBase  # noqa: E402

__all__ = [
    "AsyncDriver",
    "AsyncDriverBase",
    "CheckedSearch",
    "Driver",
    "DriverBase",
    "InProcessAsyncDriver",
    "Page",
]
