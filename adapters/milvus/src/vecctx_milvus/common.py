"""Backend-neutral pieces shared by the sync and async stores: capabilities, the collection
layout, names, the persisted spec, rows, hits, search parameters and error translation.

Layout of a collection::

    id      VARCHAR primary key     the user's id, as given (no hashing: ids round-trip exactly)
    vector  FLOAT_VECTOR(dim)       index from CollectionSpec.index (FLAT, HNSW or IVF_FLAT)
    sparse  SPARSE_FLOAT_VECTOR     only with spec.sparse; SPARSE_INVERTED_INDEX, IP
    text    VARCHAR, nullable
    meta    JSON                    the user's metadata, verbatim
    $meta   dynamic fields          the filter index of :mod:`vecctx_milvus.filters`

The CollectionSpec is stored in the collection's properties under ``vecctx.spec``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vecctx.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    InvalidInputError,
    TransientBackendError,
    UnsupportedFeatureError,
    VecctxError,
)
from vecctx.filters import ALL_OPS, Filter, as_filter
from vecctx.store import Capabilities, Fusion, HybridSupport, SearchParams, SearchRequest
from vecctx.types import (
    CollectionSpec,
    FieldType,
    FloatArray,
    Hit,
    IndexKind,
    IndexParams,
    Metric,
    Record,
    ScoreKind,
    SparseVector,
    VectorLike,
    relevance_of,
)
from vecctx_milvus.filters import compile_filter, index_fields, quote

ID, VECTOR, SPARSE, TEXT, META = "id", "vector", "sparse", "text", "meta"
SPEC_PROPERTY = "vecctx.spec"
SPEC_VERSION = 1
MAX_VARCHAR_BYTES = 65_535
#: Milvus reserves sparse index 2**32 - 1; vecctx reserves 2**32 - 2 for "no sparse vector".
SPARSE_PLACEHOLDER = 2**32 - 2
#: Default HNSW beam width (Milvus Lite's own default).
DEFAULT_EF = 64
#: Default IVF cells scanned per query (Milvus Lite's own default).
DEFAULT_NPROBE = 10
#: Upper bound on one request's rows and approximate bytes.
BATCH_ROWS = 2048
BATCH_BYTES = 16 * 1024 * 1024
#: Largest ``limit`` a Milvus query/search accepts.
MAX_LIMIT = 16_384
#: Page size floor for scroll (each page re-evaluates the filter over the collection).
MIN_SCROLL_PAGE = 1024
#: Pauses before retrying a call that failed transiently (then the error is raised); the
#: sync store retries idempotent calls per its RetryPolicy instead, and non-idempotent ones
#: (create/drop) at most ``len(RETRY_DELAYS) + 1`` times.
RETRY_DELAYS = (0.2, 1.0)
#: How long a load waits out Milvus Lite's background index writes.
LOAD_RETRY_SECONDS = 120.0
#: Ids per ``id in [...]`` expression.
IDS_PER_EXPR = 1024

CAPABILITIES = Capabilities(
    name="milvus",
    filter_ops=ALL_OPS,
    metrics=frozenset(Metric),
    sparse=True,
    hybrid=HybridSupport.NATIVE,
    fusions=frozenset({Fusion.RRF}),
    exact_search=True,
    approximate=True,
    async_native=True,
    max_batch=None,
    persistent=True,
    nested_keys=True,
    list_values=True,
)

_METRIC_TO_MILVUS = {Metric.COSINE: "COSINE", Metric.DOT: "IP", Metric.EUCLIDEAN: "L2"}
_INDEX_TO_MILVUS = {IndexKind.FLAT: "FLAT", IndexKind.HNSW: "HNSW", IndexKind.IVF: "IVF_FLAT"}

# -- names -----------------------------------------------------------------------------------

_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_ENCODED_PREFIX = "vxh_"


def milvus_name(name: str) -> str:
    """The Milvus collection name for a vecctx name.

    Milvus allows ASCII letters, digits and ``_``; vecctx names may also hold ``-`` and
    non-ASCII letters. Those are stored hex-encoded under the reserved prefix ``vxh_``.
    """
    if _PLAIN_NAME.match(name):
        if name.startswith(_ENCODED_PREFIX):
            raise ConfigError(f"collection names starting with {_ENCODED_PREFIX!r} are reserved")
        out = name
    else:
        out = _ENCODED_PREFIX + name.encode("utf-8").hex()
    if len(out) > 255:
        raise ConfigError(f"collection name {name!r} is too long for Milvus (255 characters)")
    return out


def vecctx_name(stored: str) -> str:
    if stored.startswith(_ENCODED_PREFIX):
        try:
            return bytes.fromhex(stored[len(_ENCODED_PREFIX) :]).decode("utf-8")
        except ValueError:
            return stored
    return stored


# -- the persisted spec ----------------------------------------------------------------------


def spec_to_property(spec: CollectionSpec) -> str:
    return json.dumps(
        {
            "v": SPEC_VERSION,
            "name": spec.name,
            "dimension": spec.dimension,
            "metric": spec.metric.value,
            "sparse": spec.sparse,
            "indexed_fields": {k: v.value for k, v in spec.indexed_fields.items()},
            "index": {
                "kind": spec.index.kind.value,
                "m": spec.index.m,
                "ef_construct": spec.index.ef_construct,
                "nlist": spec.index.nlist,
            },
        },
        sort_keys=True,
    )


def spec_from_description(desc: Mapping[str, Any], name: str) -> CollectionSpec:
    props = desc.get("properties") or {}
    raw = props.get(SPEC_PROPERTY)
    if raw is None:
        raise ConfigError(f"collection {name!r} was not created by vecctx (no {SPEC_PROPERTY} property)")
    try:
        d = json.loads(raw)
        index = d["index"]
        return CollectionSpec(
            name=d["name"],
            dimension=int(d["dimension"]),
            metric=Metric(d["metric"]),
            sparse=bool(d["sparse"]),
            indexed_fields={k: FieldType(v) for k, v in d.get("indexed_fields", {}).items()},
            index=IndexParams(
                kind=IndexKind(index["kind"]),
                m=int(index["m"]),
                ef_construct=int(index["ef_construct"]),
                nlist=int(index["nlist"]),
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"collection {name!r} has an unreadable {SPEC_PROPERTY} property: {exc}") from exc


def check_index_params(spec: CollectionSpec) -> None:
    ix = spec.index
    if ix.kind not in _INDEX_TO_MILVUS:  # pragma: no cover - IndexKind is closed
        raise UnsupportedFeatureError(f"Milvus adapter cannot build a {ix.kind} index")
    if ix.kind is IndexKind.HNSW and not (2 <= ix.m <= 2048 and ix.ef_construct >= 1):
        raise ConfigError(f"HNSW needs 2 <= m <= 2048 and ef_construct >= 1, got {ix}")
    if ix.kind is IndexKind.IVF and not 1 <= ix.nlist <= 65536:
        raise ConfigError(f"IVF needs 1 <= nlist <= 65536, got {ix.nlist}")


def build_schema(spec: CollectionSpec) -> tuple[Any, Any]:
    """The pymilvus schema and index params for ``spec``."""
    from pymilvus import DataType, MilvusClient  # type: ignore[import-untyped]

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field(ID, DataType.VARCHAR, is_primary=True, max_length=MAX_VARCHAR_BYTES)
    schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=spec.dimension)
    if spec.sparse:
        schema.add_field(SPARSE, DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field(TEXT, DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES, nullable=True)
    schema.add_field(META, DataType.JSON)
    index = MilvusClient.prepare_index_params()
    ix = spec.index
    params: dict[str, int] = {}
    if ix.kind is IndexKind.HNSW:
        params = {"M": ix.m, "efConstruction": ix.ef_construct}
    elif ix.kind is IndexKind.IVF:
        params = {"nlist": ix.nlist}
    index.add_index(
        VECTOR,
        index_type=_INDEX_TO_MILVUS[ix.kind],
        metric_type=_METRIC_TO_MILVUS[spec.metric],
        params=params,
    )
    if spec.sparse:
        index.add_index(SPARSE, index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    return schema, index


# -- rows ------------------------------------------------------------------------------------


def _utf8_len(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8"))


def check_id(rid: str, where: str = "id") -> None:
    if _utf8_len(rid) > MAX_VARCHAR_BYTES:
        raise InvalidInputError(f"{where} {rid[:40]!r}... is over Milvus's {MAX_VARCHAR_BYTES}-byte limit")


def check_sparse(sparse: SparseVector, where: str) -> dict[int, float]:
    """Milvus's extra rules for a (validated) sparse vector; returns its nonzero weights."""
    out: dict[int, float] = {}
    for i, v in zip(sparse.indices, sparse.values, strict=True):
        if i >= SPARSE_PLACEHOLDER:
            raise InvalidInputError(
                f"{where}: index {i} is reserved on Milvus (indices must be below {SPARSE_PLACEHOLDER})"
            )
        if v < 0:
            raise InvalidInputError(f"{where}: Milvus sparse vectors hold no negative weights ({i}: {v})")
        if v > 3.4e38:
            raise InvalidInputError(f"{where}: weight {v} does not fit in float32")
        if v != 0:
            out[i] = float(v)
    return out


def build_rows(records: Sequence[Record], matrix: FloatArray, spec: CollectionSpec) -> list[dict[str, Any]]:
    """One Milvus row per record (the batch is already validated by vecctx)."""
    rows: list[dict[str, Any]] = []
    for i, r in enumerate(records):
        check_id(r.id, "record id")
        if r.text is not None and _utf8_len(r.text) > MAX_VARCHAR_BYTES:
            raise InvalidInputError(f"record {r.id!r}: text is over Milvus's {MAX_VARCHAR_BYTES}-byte limit")
        meta = dict(r.metadata)
        row = index_fields(meta)
        row[ID] = r.id
        row[VECTOR] = matrix[i]
        row[TEXT] = r.text
        row[META] = meta
        if spec.sparse:
            weights = check_sparse(r.sparse, f"record {r.id!r} sparse vector") if r.sparse is not None else {}
            row[SPARSE] = weights or {SPARSE_PLACEHOLDER: 1.0}
        rows.append(row)
    return rows


def batches(rows: list[dict[str, Any]], dimension: int) -> list[list[dict[str, Any]]]:
    """Split rows into requests of at most BATCH_ROWS rows and about BATCH_BYTES bytes."""
    out: list[list[dict[str, Any]]] = []
    cur: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        est = 4 * dimension + 256 + 3 * len(json.dumps(row[META], default=str))
        if cur and (len(cur) >= BATCH_ROWS or size + est > BATCH_BYTES):
            out.append(cur)
            cur, size = [], 0
        cur.append(row)
        size += est
    if cur:
        out.append(cur)
    return out


def ids_expr(ids: Sequence[str]) -> str:
    return f"{ID} in [" + ", ".join(quote(i) for i in ids) + "]"


def filter_expr(flt: Filter | None) -> str:
    return compile_filter(flt) if flt is not None else ""


def output_fields(spec: CollectionSpec, *, with_payload: bool, with_vectors: bool) -> list[str]:
    """Fields for a search hit (sparse only with the vectors, as the reference store)."""
    fields = [ID]
    if with_payload:
        fields += [TEXT, META]
    if with_vectors:
        fields.append(VECTOR)
        if spec.sparse:
            fields.append(SPARSE)
    return fields


def record_fields(spec: CollectionSpec, *, with_vectors: bool) -> list[str]:
    """Fields for a record read by get/scroll (the sparse vector always, as the reference)."""
    fields = [ID, TEXT, META]
    if with_vectors:
        fields.append(VECTOR)
    if spec.sparse:
        fields.append(SPARSE)
    return fields


def _sparse_of(value: Any) -> SparseVector | None:
    if not value:
        return None
    if isinstance(value, Mapping):
        items = {int(k): float(v) for k, v in value.items()}
    else:  # pragma: no cover - pymilvus returns dicts
        return None
    if set(items) == {SPARSE_PLACEHOLDER}:
        return None
    return SparseVector.from_dict(items)


def _vector_of(value: Any) -> FloatArray:
    return np.asarray(value, dtype=np.float32)


def record_of(row: Mapping[str, Any], *, with_vectors: bool) -> Record:
    meta = row.get(META)
    return Record(
        id=row[ID],
        vector=_vector_of(row[VECTOR]) if with_vectors else np.zeros(0, dtype=np.float32),
        text=row.get(TEXT),
        metadata=meta if isinstance(meta, dict) else {},
        sparse=_sparse_of(row.get(SPARSE)),
    )


# -- search ----------------------------------------------------------------------------------


def dense_params(spec: CollectionSpec, p: SearchParams, k: int, row_count: int | None) -> dict[str, Any]:
    """Milvus search params for the dense field. ``row_count`` is given for exact search on
    an ANN index: HNSW then searches with ef = the collection size (an exhaustive walk of the
    graph), IVF with nprobe = nlist (every cell)."""
    kind = spec.index.kind
    if kind is IndexKind.HNSW:
        ef = p.ef if p.ef is not None else DEFAULT_EF
        if p.exact and row_count is not None:
            ef = max(ef, row_count)
        return {"ef": max(ef, k)}
    if kind is IndexKind.IVF:
        nprobe = (
            spec.index.nlist
            if p.exact
            else min(p.ef if p.ef is not None else DEFAULT_NPROBE, spec.index.nlist)
        )
        return {"nprobe": nprobe}
    return {}


def needs_row_count(spec: CollectionSpec, p: SearchParams) -> bool:
    return p.exact and spec.index.kind is IndexKind.HNSW


def query_sparse(sparse: SparseVector) -> dict[int, float]:
    return check_sparse(sparse, "sparse query")


@dataclass(slots=True)
class SearchPlan:
    """One search, ready for a sync or async client: ``hybrid_search`` when ``reqs`` is set,
    else ``search``; ``empty`` when nothing can match (a sparse query with no weights)."""

    kind: ScoreKind
    k: int
    fields: list[str]
    with_payload: bool
    with_vectors: bool
    rrf_k: int = 60
    empty: bool = False
    data: list[Any] | None = None
    anns_field: str = VECTOR
    limit: int = 10
    expr: str = ""
    search_params: dict[str, Any] | None = None
    reqs: list[Any] | None = None
    ranker: Any = None

    def hits(self, raw: Sequence[Mapping[str, Any]]) -> list[Hit]:
        return hits_of(
            raw,
            self.kind,
            k=self.k,
            with_payload=self.with_payload,
            with_vectors=self.with_vectors,
            rrf_k=self.rrf_k,
        )


def check_fusion(vector: VectorLike | None, sparse: SparseVector | None, fusion: Fusion) -> None:
    if vector is not None and sparse is not None and fusion is not Fusion.RRF:
        raise UnsupportedFeatureError(
            f"Milvus fuses hybrid searches with RRF only; {fusion.value} is not available"
        )


def plan_search(
    spec: CollectionSpec,
    q: FloatArray | None,
    sparse: SparseVector | None,
    expr: str,
    k: int,
    p: SearchParams,
    *,
    with_payload: bool,
    with_vectors: bool,
    row_count: int | None,
) -> SearchPlan:
    """The Milvus request for a validated search."""
    fields = output_fields(spec, with_payload=with_payload, with_vectors=with_vectors)
    sq = query_sparse(sparse) if sparse is not None else None
    if q is not None and sq is not None:
        from pymilvus import AnnSearchRequest, RRFRanker

        depth = min(p.prefetch_k or max(4 * k, 50), MAX_LIMIT)
        reqs = [
            AnnSearchRequest(
                data=[q],
                anns_field=VECTOR,
                param={"params": dense_params(spec, p, depth, row_count)},
                limit=depth,
                expr=expr or None,
            )
        ]
        if sq:
            reqs.append(
                AnnSearchRequest(
                    data=[sq], anns_field=SPARSE, param={"metric_type": "IP"}, limit=depth, expr=expr or None
                )
            )
        return SearchPlan(
            ScoreKind.RRF,
            k,
            fields,
            with_payload,
            with_vectors,
            rrf_k=p.rrf_k,
            limit=min(2 * depth, MAX_LIMIT),
            reqs=reqs,
            ranker=RRFRanker(p.rrf_k),
        )
    if q is not None:
        return SearchPlan(
            dense_kind(spec),
            k,
            fields,
            with_payload,
            with_vectors,
            data=[q],
            limit=k,
            expr=expr,
            search_params={"params": dense_params(spec, p, k, row_count)},
        )
    return SearchPlan(
        ScoreKind.SPARSE_DOT,
        k,
        fields,
        with_payload,
        with_vectors,
        empty=not sq,
        data=[sq],
        anns_field=SPARSE,
        limit=k,
        expr=expr,
        search_params={"metric_type": "IP"},
    )


#: Queries per batched ``search`` call.
NQ_PER_CALL = 256


def group_requests(requests: Sequence[SearchRequest]) -> tuple[list[tuple[str, list[int]]], list[int]]:
    """Split a batch into groups of dense-only requests that share filter, k and settings
    (one Milvus call each, ``nq`` > 1) and the rest (one call per request). Groups carry
    their compiled filter."""
    groups: dict[tuple[Any, ...], tuple[str, list[int]]] = {}
    singles: list[int] = []
    for i, r in enumerate(requests):
        if r.vector is None or r.sparse is not None:
            singles.append(i)
            continue
        expr = filter_expr(as_filter(r.filter))
        key = (expr, r.k, r.params, r.with_payload, r.with_vectors)
        groups.setdefault(key, (expr, []))[1].append(i)
    return list(groups.values()), singles


def dense_kind(spec: CollectionSpec) -> ScoreKind:
    return ScoreKind(spec.metric.value)


def hits_of(
    raw: Sequence[Mapping[str, Any]],
    kind: ScoreKind,
    *,
    k: int,
    with_payload: bool,
    with_vectors: bool,
    rrf_k: int = 60,
) -> list[Hit]:
    """vecctx hits from one query's Milvus hits: scores in the metric's unit, ties broken by
    id (as the reference store does), at most ``k``."""
    out: list[Hit] = []
    euclid = kind is ScoreKind.EUCLIDEAN
    ordered = True
    prev: float | None = None
    for h in raw:
        d = h["distance"]
        score = (math.sqrt(d) if d > 0 else 0.0) if euclid else d
        if prev is not None and (score <= prev if euclid else score >= prev):
            ordered = False  # a tie or out of order: sort below
        prev = score
        rel = relevance_of(kind, score, rrf_k=rrf_k) if kind is ScoreKind.RRF else relevance_of(kind, score)
        if with_payload or with_vectors:
            entity = h["entity"]
            meta = entity.get(META)
            out.append(
                Hit(
                    h["id"],
                    score,
                    rel,
                    kind,
                    entity.get(TEXT) if with_payload else None,
                    (meta if isinstance(meta, dict) else {}) if with_payload else None,
                    _vector_of(entity[VECTOR]) if with_vectors and VECTOR in entity else None,
                    _sparse_of(entity.get(SPARSE)) if with_vectors else None,
                )
            )
        else:
            out.append(Hit(h["id"], score, rel, kind))
    if not ordered:
        out.sort(key=(lambda x: (x.score, x.id)) if euclid else (lambda x: (-x.score, x.id)))
    return out[:k]


# -- errors ----------------------------------------------------------------------------------


def not_loaded(exc: BaseException) -> bool:
    """Is this Milvus's "collection not loaded" error (code 101)?"""
    return getattr(exc, "code", None) == 101 or "call load() before" in str(exc)


_TRANSIENT_GRPC = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED"}
#: pymilvus's ``Status.CONNECT_FAILED``: "Fail connecting to server ... server unavailable",
#: "No channel in handler" (the server is down or restarting).
_CONNECT_FAILED = 2
_TRANSIENT_TEXT = (
    "unavailable",
    "fail connecting",
    "no channel in handler",
    "connection refused",
    "connection reset",
    "deadline exceeded",
    "socket closed",
    "too many pings",
    # Milvus Lite's flush under concurrent writes and flush-before-read from other threads
    # (seen once in the 16-thread load test): flush is idempotent, so retry it.
    "current_seq is monotonic",
)


def _grpc_code_name(code: Any) -> str:
    name = getattr(code, "name", None)
    return name if isinstance(name, str) else ""


def translate(exc: BaseException, action: str, collection: str | None = None) -> VecctxError:
    """A vecctx error for a backend exception (the original is kept as ``.original``)."""
    if isinstance(exc, VecctxError):
        return exc
    try:
        from pymilvus.exceptions import (  # type: ignore[import-untyped]
            ConnectError,
            MilvusException,
            MilvusUnavailableException,
        )
    except ImportError:  # pragma: no cover
        return BackendError(f"milvus {action} failed: {exc}", exc)
    message = f"milvus {action} failed: {exc}"
    if isinstance(exc, MilvusException):
        text = str(getattr(exc, "message", "") or exc).lower()
        if collection is not None and (
            exc.code == 100 or "collection not found" in text or "can't find collection" in text
        ):
            err: VecctxError = CollectionNotFoundError(collection)
            return err
        if (
            isinstance(exc, MilvusUnavailableException | ConnectError)
            or exc.code == _CONNECT_FAILED
            or _grpc_code_name(exc.code) in _TRANSIENT_GRPC  # pymilvus re-raises gRPC errors so
            or any(t in text for t in _TRANSIENT_TEXT)
        ):
            return TransientBackendError(message, exc)
        return BackendError(message, exc)
    code = getattr(exc, "code", None)
    if callable(code):
        try:
            name = getattr(code(), "name", "")
        except Exception:  # pragma: no cover - defensive
            name = ""
        if name in _TRANSIENT_GRPC:
            return TransientBackendError(message, exc)
    if isinstance(exc, ConnectionError | TimeoutError):
        return TransientBackendError(message, exc)
    return BackendError(message, exc)


__all__ = [
    "CAPABILITIES",
    "META",
    "SPARSE",
    "TEXT",
    "VECTOR",
    "build_rows",
    "build_schema",
    "milvus_name",
    "spec_from_description",
    "spec_to_property",
    "translate",
    "vecctx_name",
]
