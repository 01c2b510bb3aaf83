"""The checks the store front runs before any I/O, pure functions shared by the synchronous and
the async front (and by nothing else: a driver never re-checks)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

from vecctx.contract.batch import RecordBatch
from vecctx.contract.compiler import simplify, to_nnf
from vecctx.contract.dates import bind_filter, date_fields
from vecctx.contract.driver import CheckedSearch
from vecctx.contract.errors import (
    ConfigError,
    InvalidFilterError,
    InvalidInputError,
    UnsupportedFeatureError,
    VecctxError,
    mask,
)
from vecctx.contract.filters import Cmp, Exists, Filter, In, as_filter
from vecctx.contract.store import Capabilities, FilterArg, Fusion, HybridSupport, SearchParams, SearchRequest
from vecctx.contract.types import CollectionSpec, Metric, Record, SparseVector, VectorLike, is_text
from vecctx.contract.validation import validate_search


def check_collection_name(name: object) -> str:
    """``name`` if it is a non-empty string of text (``InvalidInputError`` otherwise). A string
    that is not a valid collection name (:func:`is_collection_name`) names no collection."""
    if not isinstance(name, str) or not name or not is_text(name):
        raise InvalidInputError(f"collection name must be a non-empty string of text, got {name!r}")
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
    if flt.depth > capabilities.max_filter_depth:
        raise InvalidFilterError(
            f"{capabilities.name} takes filters nested at most {capabilities.max_filter_depth} levels "
            f"of $and/$or/$not deep, this one is {flt.depth}",
            "$",
        )
    _check_size(capabilities, flt)
    nnf = to_nnf(flt)
    _check_operands(nnf)
    capabilities.require_ops(nnf)
    return nnf


def resolve_filter(spec: CollectionSpec, flt: Filter | None) -> Filter | bool:
    """A filter :func:`check_filter` returned, bound to the collection: its operands on the
    date fields ``spec`` declares are encoded as stored (:mod:`vecctx.contract.dates`) and its
    constants folded (:func:`~vecctx.contract.compiler.simplify`). ``True`` when it matches every
    record (send no filter), ``False`` when it matches none (answer without I/O)."""
    if flt is None:
        return True
    return simplify(bind_filter(flt, date_fields(spec)))


def _check_size(capabilities: Capabilities, flt: Filter) -> None:
    """``flt`` holds at most ``capabilities.max_filter_values`` operand values in all."""
    limit = capabilities.max_filter_values
    if limit is None:
        return
    n = sum(len(node.values) if isinstance(node, In) else int(isinstance(node, Cmp)) for node in flt.walk())
    if n > limit:
        raise InvalidFilterError(
            f"{capabilities.name} takes at most {limit:,} operand values in one filter (an in/nin list "
            f"counts its length), this one has {n:,}: split the query, or filter on a coarser field",
            "$",
        )


def _check_operands(flt: Filter) -> None:
    """Every key and value of ``flt`` is one any backend can take: text (no lone surrogate)
    and integers of 64 bits (no stored value is larger)."""
    for node in flt.walk():
        if not isinstance(node, Cmp | In | Exists):
            continue
        path = f"$.{node.key}"
        if not is_text(node.key):
            raise InvalidFilterError(f"key {node.key!r} holds a lone surrogate (not text)", path)
        for value in (node.value,) if isinstance(node, Cmp) else node.values if isinstance(node, In) else ():
            if isinstance(value, str) and not is_text(value):
                raise InvalidFilterError(f"value {value!r} holds a lone surrogate (not text)", path)
            if isinstance(value, int) and not -(2**63) <= value < 2**63:
                raise InvalidFilterError(f"integer {value} does not fit in 64 bits", path)


def check_text_sizes(capabilities: Capabilities, records: Sequence[Record]) -> None:
    """Refuse, before any I/O, a record whose text is longer (in UTF-8 bytes) than the backend
    stores (``Capabilities.max_text_bytes``); ``records`` have been validated."""
    limit = capabilities.max_text_bytes
    if limit is None:
        return
    texts = (records.texts or ()) if isinstance(records, RecordBatch) else [r.text for r in records]
    for i, text in enumerate(texts):
        size = len(text.encode("utf-8")) if text is not None else 0
        if size > limit:
            raise InvalidInputError(
                f"record {records[i].id[:40]!r}: its text is {size} bytes, over the "
                f"{limit} bytes {capabilities.name} stores in a record (split it into chunks)"
            )


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
) -> CheckedSearch | None:
    """Validate one search against the collection and the backend's capabilities, and compile
    its filter with ``compile_filter`` (the driver's); ``None`` when the filter matches no
    record (the search has no hits)."""
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
    bound = resolve_filter(spec, flt)
    if bound is False:
        return None
    return CheckedSearch(
        vector=q,
        sparse=sparse,
        filter=compile_filter(spec, bound) if isinstance(bound, Filter) else None,
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
    """Mask every secret in ``exc`` and in the exceptions it was raised from or during, or holds
    as an attribute (a traceback prints them; a debugger or an error reporter shows the rest):
    their arguments, notes and text attributes, and the URL, headers and body of the HTTP
    requests and responses that clients attach (httpx's ``HTTPStatusError``, qdrant-client's
    ``UnexpectedResponse``, requests' ``HTTPError``)."""
    if not any(secrets):
        return
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        _mask_args(current, secrets)
        todo += _mask_attributes(current, secrets, depth=2)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def _mask_args(exc: BaseException, secrets: Sequence[str]) -> None:
    args = tuple(_masked(arg, secrets) for arg in exc.args)
    if any(new is not old for new, old in zip(args, exc.args, strict=True)):
        with contextlib.suppress(AttributeError, TypeError):  # an exception type that forbids it
            exc.args = args


def _mask_attributes(obj: object, secrets: Sequence[str], depth: int) -> list[BaseException]:
    """Mask the secrets in ``obj``'s attributes (and, ``depth`` levels down, in the HTTP
    requests, responses and body streams it holds; never in other objects, such as a live
    client); return the exceptions it holds, to be masked in turn."""
    held: list[BaseException] = []
    for name, value in list(getattr(obj, "__dict__", {}).items()):
        if isinstance(value, BaseException):
            held.append(value)
        elif type(value).__name__.endswith(("Request", "Response", "Stream")) and depth > 0:
            held += _mask_attributes(value, secrets, depth - 1)
        elif isinstance(value, MutableMapping) and not isinstance(value, dict):
            for key, item in list(value.items()):  # headers: masked in place
                if (masked := _masked(item, secrets)) is not item:
                    with contextlib.suppress(Exception):
                        value[key] = masked
        elif (masked := _masked(value, secrets)) is not value:
            with contextlib.suppress(Exception):  # a read-only attribute keeps its value
                setattr(obj, name, masked)
    return held


def _masked(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` with the secrets masked (the same object when none is in it): text, bytes,
    a URL object, and the lists, tuples and dicts of them."""
    if isinstance(value, str):
        text = mask(value, secrets)
        return value if text == value else text
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "surrogateescape")  # any bytes, back unchanged
        data = mask(text, secrets).encode("utf-8", "surrogateescape")
        return value if data == value else type(value)(data)
    if isinstance(value, list | tuple):
        items = [_masked(v, secrets) for v in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return type(value)(items) if changed else value
    if isinstance(value, dict):
        masked = {k: _masked(v, secrets) for k, v in value.items()}
        return masked if any(masked[k] is not v for k, v in value.items()) else value
    if type(value).__name__ == "URL":  # httpx.URL and the like: rebuilt from the masked text
        text = mask(str(value), secrets)
        if text != str(value):
            with contextlib.suppress(Exception):
                return type(value)(text)
    return value


def redacted(err: VecctxError, secrets: Sequence[str]) -> VecctxError:
    """``err`` (the same object) with every secret masked, as :func:`redact_chain` masks them:
    in its message and attributes, and in the client's exception it holds as ``original``."""
    redact_chain(err, secrets)
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
    "resolve_filter",
]
