"""The checks the store front runs before any I/O, pure functions shared by the synchronous and
the async front (and by nothing else: a driver never re-checks)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from vecctx.contract.compiler import to_nnf
from vecctx.contract.driver import CheckedSearch
from vecctx.contract.errors import ConfigError, InvalidInputError, UnsupportedFeatureError, VecctxError, mask
from vecctx.contract.filters import Filter, as_filter
from vecctx.contract.store import Capabilities, FilterArg, Fusion, HybridSupport, SearchParams, SearchRequest
from vecctx.contract.types import CollectionSpec, Metric, Record, SparseVector, VectorLike
from vecctx.contract.validation import validate_search


def check_collection_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"collection name must be a non-empty string, got {name!r}")
    return name


def check_spec(spec: object, capabilities: Capabilities) -> CollectionSpec:
    """A collection spec this backend can create."""
    if not isinstance(spec, CollectionSpec):
        raise InvalidInputError(f"expected a CollectionSpec, got {type(spec).__name__}")
    if Metric(spec.metric) not in capabilities.metrics:
        names = ", ".join(sorted(m.value for m in capabilities.metrics))
        raise UnsupportedFeatureError(f"{capabilities.name} has no {spec.metric.value} metric (has {names})")
    if spec.sparse and not capabilities.sparse:
        raise UnsupportedFeatureError(f"{capabilities.name} stores no sparse vectors")
    return spec


def check_compatible(existing: CollectionSpec, wanted: CollectionSpec) -> None:
    """Raise ``ConfigError`` when an existing collection cannot serve ``wanted``."""
    if not existing.compatible_with(wanted):
        raise ConfigError(
            f"collection {wanted.name!r} exists with dimension={existing.dimension}, "
            f"metric={existing.metric.value}, sparse={existing.sparse}; asked for "
            f"dimension={wanted.dimension}, metric={wanted.metric.value}, sparse={wanted.sparse}"
        )


def check_filter(capabilities: Capabilities, filter: FilterArg) -> Filter | None:
    """Parse ``filter``, rewrite it into negation normal form and check that the backend can
    compile every operator it uses."""
    flt = as_filter(filter)
    if flt is None:
        return None
    nnf = to_nnf(flt)
    capabilities.require_ops(nnf)
    return nnf


def check_batch_size(batch_size: object) -> int:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")
    return batch_size


def check_requests(requests: object) -> list[SearchRequest]:
    if isinstance(requests, SearchRequest) or not isinstance(requests, Sequence):
        raise InvalidInputError("search_batch takes a sequence of SearchRequest")
    for i, r in enumerate(requests):
        if not isinstance(r, SearchRequest):
            raise InvalidInputError(f"request {i} is a {type(r).__name__}, not a SearchRequest")
    return list(requests)


def check_search(
    spec: CollectionSpec,
    capabilities: Capabilities,
    compile_filter: Callable[[CollectionSpec, Filter], Any],
    *,
    vector: VectorLike | None,
    sparse: SparseVector | None,
    filter: FilterArg,
    k: int,
    params: SearchParams | None,
    fusion: Fusion | str,
    with_payload: bool,
    with_vectors: bool,
) -> CheckedSearch:
    """Validate one search against the collection and the backend's capabilities, and compile
    its filter with ``compile_filter`` (the driver's)."""
    caps = capabilities
    try:
        fused_by = fusion if type(fusion) is Fusion else Fusion(fusion)
    except ValueError:
        raise InvalidInputError(
            f"unknown fusion {fusion!r}: use one of {[f.value for f in Fusion]}"
        ) from None
    if sparse is not None and not caps.sparse:  # the backend's limit first: its message has the hint
        raise UnsupportedFeatureError(
            f"{caps.name} has no sparse search: search with a dense vector and let vecctx's "
            f"retriever fuse sparse results client-side (capabilities.hybrid == {caps.hybrid.value!r})"
        )
    q, _, p = validate_search(spec, vector=vector, sparse=sparse, filter=None, k=k, params=params)
    flt = check_filter(caps, filter) if filter is not None else None
    if q is not None and sparse is not None:
        if caps.hybrid is not HybridSupport.NATIVE:
            raise UnsupportedFeatureError(f"{caps.name} cannot fuse a hybrid search server-side")
        if fused_by not in caps.fusions:
            have = ", ".join(sorted(f.value for f in caps.fusions)) or "none"
            raise UnsupportedFeatureError(f"{caps.name} cannot fuse with {fused_by.value} (has {have})")
    if p.exact and not caps.exact_search:
        raise UnsupportedFeatureError(f"{caps.name} has no exact (brute-force) search")
    return CheckedSearch(
        vector=q,
        sparse=sparse,
        filter=compile_filter(spec, flt) if flt is not None else None,
        k=k,
        exact=bool(p.exact),
        ef=p.ef,
        prefetch_k=max(p.prefetch_k or max(4 * k, 50), k),
        rrf_k=p.rrf_k,
        fusion=fused_by,
        with_payload=bool(with_payload),
        with_vectors=bool(with_vectors),
    )


def order_records(found: Sequence[Record], wanted: Sequence[str]) -> list[Record]:
    """``found`` in the order of ``wanted`` (an id asked twice is returned twice)."""
    by_id = {r.id: r for r in found}
    return [by_id[i] for i in wanted if i in by_id]


def redact_chain(exc: BaseException, secrets: Sequence[str]) -> None:
    """Mask every secret in the string arguments of ``exc`` and of the exceptions it was
    raised from or during (a traceback prints them all)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and secrets:
        seen.add(id(current))
        _mask_args(current, secrets)
        current = current.__cause__ or current.__context__


def _mask_args(exc: BaseException, secrets: Sequence[str]) -> bool:
    args: list[Any] = []
    changed = False
    for arg in exc.args:
        if isinstance(arg, str):
            masked = mask(arg, secrets)
            changed = changed or masked != arg
            args.append(masked)
        else:
            args.append(arg)
    if changed:
        try:
            exc.args = tuple(args)
        except (AttributeError, TypeError):  # an exception type that forbids it
            return False
    return changed


def redacted(err: VecctxError, secrets: Sequence[str]) -> VecctxError:
    """``err`` with every secret masked in its message (the same object, its args replaced)."""
    if secrets:
        _mask_args(err, secrets)
    return err


__all__ = [
    "check_batch_size",
    "check_collection_name",
    "check_compatible",
    "check_filter",
    "check_requests",
    "check_search",
    "check_spec",
    "order_records",
    "redact_chain",
    "redacted",
]
