"""The store contract: what every backend adapter implements.

Two small protocols, :class:`VectorStore` and its native-async twin :class:`AsyncVectorStore`.
Every argument after the collection name is keyword-only and there is no ``**kwargs``
pass-through: anything backend-specific lives in the adapter's URL/config, not in calls.
What a backend can do is declared up front in :class:`Capabilities`; asking for something it
cannot do raises :class:`~vecctx.contract.errors.UnsupportedFeatureError` before any I/O.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, Protocol, Self, TypeAlias, TypedDict, Unpack, runtime_checkable

from vecctx.contract.errors import UnsupportedFeatureError
from vecctx.contract.filters import ALL_OPS, MAX_FILTER_DEPTH, Filter, Op
from vecctx.contract.types import CollectionSpec, Hit, Metric, Record, SparseVector, VectorLike

FilterArg: TypeAlias = Filter | Mapping[str, Any] | None


class Fusion(StrEnum):
    """How a hybrid (dense + sparse) search merges its two rankings."""

    RRF = "rrf"
    DBSF = "dbsf"


class HybridSupport(StrEnum):
    NATIVE = "native"  # the backend fuses server-side
    EMULATED = "emulated"  # vecctx fuses client-side, declared as such
    NONE = "none"


@dataclass(frozen=True, slots=True)
class SearchParams:
    """Search-time settings. ``exact`` asks for brute-force search; ``ef`` sets the HNSW
    beam width; ``prefetch_k`` is how many candidates each side of a hybrid search fetches
    before fusion (default: ``max(4 * k, 50)``); ``rrf_k`` is RRF's constant."""

    exact: bool = False
    ef: int | None = None
    prefetch_k: int | None = None
    rrf_k: int = 60


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One search. Give ``vector``, ``sparse`` or both (hybrid, fused by ``fusion``)."""

    vector: VectorLike | None = None
    sparse: SparseVector | None = None
    filter: Filter | None = None
    k: int = 10
    params: SearchParams = field(default_factory=SearchParams)
    fusion: Fusion = Fusion.RRF
    with_payload: bool = True
    with_vectors: bool = False


class SearchOptions(TypedDict, total=False):
    """The keyword arguments of ``search``, each optional: ``vector`` (dense query), ``sparse``
    (sparse query; both for a hybrid search fused by ``fusion``, default RRF), ``filter``, ``k``
    (default 10), ``params`` (:class:`SearchParams`), ``with_payload`` (default true: metadata
    and text on each hit) and ``with_vectors`` (default false)."""

    vector: VectorLike | None
    sparse: SparseVector | None
    filter: FilterArg
    k: int
    params: SearchParams | None
    fusion: Fusion
    with_payload: bool
    with_vectors: bool


class ScrollOptions(TypedDict, total=False):
    """The keyword arguments of ``scroll``, each optional: ``filter``, ``batch_size`` (records
    fetched per round trip, default 256) and ``with_vectors`` (default false)."""

    filter: FilterArg
    batch_size: int
    with_vectors: bool


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do, as data (in the manner of SQLAlchemy's ``supports_*`` flags)."""

    name: str
    filter_ops: frozenset[Op] = ALL_OPS
    metrics: frozenset[Metric] = frozenset(Metric)
    sparse: bool = False
    hybrid: HybridSupport = HybridSupport.NONE
    fusions: frozenset[Fusion] = frozenset()
    exact_search: bool = True
    approximate: bool = False
    async_native: bool = False
    max_batch: int | None = None
    persistent: bool = False
    nested_keys: bool = True
    list_values: bool = True
    #: How deeply a filter may nest $and/$or/$not here (the language allows MAX_FILTER_DEPTH; a
    #: tenant view keeps one level for its guard).
    max_filter_depth: int = MAX_FILTER_DEPTH
    #: How many operand values one filter may hold in all (an ``in``/``nin`` list counts its
    #: length, a comparison one); ``None``: no limit. Beyond it the front raises
    #: ``InvalidFilterError`` before any I/O: each adapter declares what it measured to answer
    #: quickly and safely (longer lists crashed or stalled some backends).
    max_filter_values: int | None = None
    #: Largest record text, in UTF-8 bytes (``None``: bounded only by memory).
    max_text_bytes: int | None = None

    def require_ops(self, flt: Filter | None) -> None:
        """Raise before I/O when the filter uses an operator this backend cannot compile."""
        if flt is None:
            return
        missing = flt.ops() - self.filter_ops
        if missing:
            names = ", ".join(sorted(m.value for m in missing))
            raise UnsupportedFeatureError(f"{self.name} cannot compile filter operator(s): {names}")

    def as_row(self) -> dict[str, str]:
        """One row of the capability matrix in ``docs/backends.md``."""
        return {
            "backend": self.name,
            "metrics": ", ".join(sorted(m.value for m in self.metrics)),
            "filter ops": "all" if self.filter_ops == ALL_OPS else ", ".join(sorted(self.filter_ops)),
            "nested keys": _yn(self.nested_keys),
            "list values": _yn(self.list_values),
            "filter depth": str(self.max_filter_depth),
            "filter values": _bound(self.max_filter_values),
            "text bytes": _bound(self.max_text_bytes),
            "sparse": _yn(self.sparse),
            "hybrid": self.hybrid.value,
            "fusion": ", ".join(sorted(f.value for f in self.fusions)) or "-",
            "exact search": _yn(self.exact_search),
            "ANN": _yn(self.approximate),
            "async": "native" if self.async_native else "no",
            "max batch": str(self.max_batch) if self.max_batch else "unbounded",
            "persistent": _yn(self.persistent),
        }


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


def _bound(limit: int | None) -> str:
    return "unbounded" if limit is None else f"{limit:,}"


@runtime_checkable
class VectorStore(Protocol):
    """The synchronous store contract."""

    @property
    def capabilities(self) -> Capabilities: ...

    def create_collection(self, spec: CollectionSpec) -> None:
        """Create; raise ``ConfigError`` if it exists."""

    def ensure_collection(self, spec: CollectionSpec) -> None:
        """Create if missing; raise ``ConfigError`` if it exists with another dimension,
        metric or sparse setting."""

    def drop_collection(self, name: str, *, missing_ok: bool = False) -> None: ...

    def has_collection(self, name: str) -> bool: ...

    def list_collections(self) -> list[str]: ...

    def collection_spec(self, name: str) -> CollectionSpec: ...

    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        """Insert or replace by id. The whole batch is validated before anything is written."""

    def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        """Records for the ids that exist, in the order asked."""
        ...

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None) -> None:
        """Delete by ids, by filter, or both (records matching either)."""

    def count(self, collection: str, *, filter: FilterArg = None) -> int: ...

    def search(self, collection: str, **options: Unpack[SearchOptions]) -> list[Hit]:
        """The ``k`` nearest records; the options are those of :class:`SearchOptions`."""
        ...

    def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]: ...

    def scroll(self, collection: str, **options: Unpack[ScrollOptions]) -> Iterator[Record]:
        """Every (matching) record, in no particular order."""
        ...

    def optimize(self, collection: str) -> None:
        """Build indexes after a bulk load (no-op where the backend indexes eagerly)."""

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class AsyncVectorStore(Protocol):
    """The native-async twin of :class:`VectorStore`. Adapters implement it only when the
    backend's client is natively async; vecctx never hides a thread pool behind it."""

    @property
    def capabilities(self) -> Capabilities: ...

    async def create_collection(self, spec: CollectionSpec) -> None: ...

    async def ensure_collection(self, spec: CollectionSpec) -> None: ...

    async def drop_collection(self, name: str, *, missing_ok: bool = False) -> None: ...

    async def has_collection(self, name: str) -> bool: ...

    async def list_collections(self) -> list[str]: ...

    async def collection_spec(self, name: str) -> CollectionSpec: ...

    async def upsert(self, collection: str, records: Sequence[Record]) -> None: ...

    async def get(
        self, collection: str, ids: Sequence[str], *, with_vectors: bool = False
    ) -> list[Record]: ...

    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None
    ) -> None: ...

    async def count(self, collection: str, *, filter: FilterArg = None) -> int: ...

    async def search(self, collection: str, **options: Unpack[SearchOptions]) -> list[Hit]: ...

    async def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]: ...

    def scroll(self, collection: str, **options: Unpack[ScrollOptions]) -> AsyncIterator[Record]: ...

    async def optimize(self, collection: str) -> None: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


__all__ = [
    "AsyncVectorStore",
    "Capabilities",
    "FilterArg",
    "Fusion",
    "HybridSupport",
    "SearchParams",
    "SearchOptions",
    "ScrollOptions",
    "SearchRequest",
    "VectorStore",
]
