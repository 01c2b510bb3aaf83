"""The sans-I/O half of the Milvus driver: :class:`MilvusCore` (what the driver in
:mod:`vecctx_milvus._async.driver` and its generated twin share without a call), the collection
layout (see the package README), names, rows, search requests, hits and error translation.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from time import monotonic
from typing import Any, TypeVar

import numpy as np

from vecctx.contract.driver import CheckedSearch, Page
from vecctx.contract.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    InvalidInputError,
    TransientBackendError,
)
from vecctx.contract.filters import Filter
from vecctx.contract.store import Capabilities, Fusion, HybridSupport
from vecctx.contract.types import (
    CollectionSpec,
    FloatArray,
    Hit,
    IndexKind,
    Metric,
    Record,
    ScoreKind,
    SparseVector,
    make_hits,
    score_kind,
    spec_data,
    spec_from_data,
)
from vecctx_milvus import lite
from vecctx_milvus.config import MilvusConfig
from vecctx_milvus.filters import MAX_FILTER_VALUES, MilvusFilterCompiler, index_fields, quote

T = TypeVar("T")
ID, VECTOR, SPARSE, TEXT, META = "id", "vector", "sparse", "text", "meta"
SPEC_PROPERTY = "vecctx.spec"
SPEC_VERSION = 1
MAX_VARCHAR_BYTES = 65_535
#: Milvus reserves sparse index 2**32 - 1; vecctx reserves 2**32 - 2 for "no sparse vector".
SPARSE_PLACEHOLDER = 2**32 - 2
#: Default HNSW beam width and IVF cells probed (Milvus Lite's own defaults).
DEFAULT_EF = 64
DEFAULT_NPROBE = 10
#: Upper bound on one request's rows and approximate bytes.
BATCH_ROWS = 2048
BATCH_BYTES = 16 * 1024 * 1024
#: Largest ``limit`` a Milvus query/search accepts.
MAX_LIMIT = 16_384
#: Ids per ``id in [...]`` expression; queries per batched ``search`` call.
IDS_PER_EXPR = 1024
NQ_PER_CALL = 256
#: How long a load waits out Milvus Lite's background index writes.
LOAD_RETRY_SECONDS = 120.0

CAPABILITIES = Capabilities(
    name="milvus",  # every filter operator, metric, exact search, nested keys and list values
    sparse=True,
    hybrid=HybridSupport.NATIVE,
    fusions=frozenset({Fusion.RRF}),
    approximate=True,
    async_native=True,
    persistent=True,
    max_filter_values=MAX_FILTER_VALUES,
    max_text_bytes=MAX_VARCHAR_BYTES,  # the text column is a VARCHAR
)

_METRIC_TO_MILVUS = {Metric.COSINE: "COSINE", Metric.DOT: "IP", Metric.EUCLIDEAN: "L2"}
_INDEX_TO_MILVUS = {IndexKind.FLAT: "FLAT", IndexKind.HNSW: "HNSW", IndexKind.IVF: "IVF_FLAT"}


# -- names -----------------------------------------------------------------------------------

_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_ENCODED_PREFIX = "vxh_"


def milvus_name(name: str) -> str:
    """The Milvus collection name for a vecctx name: itself, or for one holding ``-`` (Milvus
    allows letters, digits and ``_``) or starting with ``vxh_``, its hex under ``vxh_`` (at most
    204 characters for the core's 100: Milvus allows 255)."""
    if _PLAIN_NAME.match(name) and not name.startswith(_ENCODED_PREFIX):
        return name
    return _ENCODED_PREFIX + name.encode("utf-8").hex()


def vecctx_name(stored: str) -> str:
    if stored.startswith(_ENCODED_PREFIX):
        with contextlib.suppress(ValueError):
            return bytes.fromhex(stored[len(_ENCODED_PREFIX) :]).decode("utf-8")
    return stored


# -- the collection and its persisted spec ----------------------------------------------------


def spec_from_description(desc: Mapping[str, Any], name: str) -> CollectionSpec:
    raw = (desc.get("properties") or {}).get(SPEC_PROPERTY)
    if raw is None:
        raise ConfigError(f"collection {name!r} was not created by vecctx (no {SPEC_PROPERTY} property)")
    try:
        return spec_from_data(json.loads(raw))
    except (ValueError, ConfigError) as exc:
        raise ConfigError(f"collection {name!r} has an unreadable {SPEC_PROPERTY} property: {exc}") from exc


def collection_args(spec: CollectionSpec) -> tuple[dict[str, Any], Any]:
    """``create_collection``'s keyword arguments and the index params for ``spec``
    (``ConfigError`` for index settings Milvus refuses, before any I/O)."""
    from pymilvus import DataType, MilvusClient  # type: ignore[import-untyped]

    ix = spec.index
    if ix.kind is IndexKind.HNSW and not (2 <= ix.m <= 2048 and ix.ef_construct >= 1):
        raise ConfigError(f"HNSW needs 2 <= m <= 2048 and ef_construct >= 1, got {ix}")
    if ix.kind is IndexKind.IVF and not 1 <= ix.nlist <= 65536:
        raise ConfigError(f"IVF needs 1 <= nlist <= 65536, got {ix.nlist}")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field(ID, DataType.VARCHAR, is_primary=True, max_length=MAX_VARCHAR_BYTES)
    schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=spec.dimension)
    if spec.sparse:
        schema.add_field(SPARSE, DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field(TEXT, DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES, nullable=True)
    schema.add_field(META, DataType.JSON)
    params: dict[str, int] = {}
    if ix.kind is IndexKind.HNSW:
        params = {"M": ix.m, "efConstruction": ix.ef_construct}
    elif ix.kind is IndexKind.IVF:
        params = {"nlist": ix.nlist}
    index = MilvusClient.prepare_index_params()
    index.add_index(
        VECTOR,
        index_type=_INDEX_TO_MILVUS[ix.kind],
        metric_type=_METRIC_TO_MILVUS[spec.metric],
        params=params,
    )
    if spec.sparse:
        index.add_index(SPARSE, index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    properties = {SPEC_PROPERTY: json.dumps({"v": SPEC_VERSION, **spec_data(spec)}, sort_keys=True)}
    return {"schema": schema, "consistency_level": "Strong", "properties": properties}, index


# -- rows ------------------------------------------------------------------------------------


def sparse_weights(sparse: SparseVector, where: str) -> dict[int, float]:
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
    """One Milvus row per (validated) record; the id's length is checked first (the front checks
    the text against ``max_text_bytes``)."""
    rows: list[dict[str, Any]] = []
    for i, r in enumerate(records):
        if len(r.id.encode("utf-8")) > MAX_VARCHAR_BYTES:
            raise InvalidInputError(f"record {r.id[:40]!r}: id is over Milvus's {MAX_VARCHAR_BYTES} bytes")
        meta = dict(r.metadata)
        row = index_fields(meta)
        row.update({ID: r.id, VECTOR: matrix[i], TEXT: r.text, META: meta})
        if spec.sparse:
            weights = sparse_weights(r.sparse, f"record {r.id!r} sparse vector") if r.sparse else {}
            row[SPARSE] = weights or {SPARSE_PLACEHOLDER: 1.0}
        rows.append(row)
    return rows


def batches(rows: list[dict[str, Any]], dimension: int) -> list[list[dict[str, Any]]]:
    """Split rows into requests of at most BATCH_ROWS rows and about BATCH_BYTES bytes."""
    out: list[list[dict[str, Any]]] = [[]]
    size = 0
    for row in rows:
        est = 4 * dimension + 256 + 3 * len(json.dumps(row[META], default=str))
        if out[-1] and (len(out[-1]) >= BATCH_ROWS or size + est > BATCH_BYTES):
            out.append([])
            size = 0
        out[-1].append(row)
        size += est
    return out if out[-1] else []


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def ids_exprs(ids: Sequence[str]) -> list[tuple[str, int]]:
    """``id in [...]`` for every ``IDS_PER_EXPR`` ids, with how many it names; each id escaped
    (pymilvus's own ``ids=`` does not escape backslashes)."""
    return [(f"{ID} in [" + ", ".join(map(quote, c)) + "]", len(c)) for c in chunks(ids, IDS_PER_EXPR)]


def delete_exprs(ids: Sequence[str] | None, filter: str | None) -> list[tuple[str, int]]:
    """The ``delete`` expressions for ``ids`` and ``filter``, each with the rows it may write."""
    return [*ids_exprs(ids or ()), *([] if filter is None else [(filter, 1)])]


def scroll_query(
    spec: CollectionSpec, filter: str | None, after: str | None, limit: int, with_vectors: bool
) -> dict[str, Any]:
    """``query``'s arguments for a page of records matching ``filter`` in id order, after id
    ``after`` (``None``: from the start)."""
    parts = [] if after is None else [f"{ID} > {quote(after)}"]
    if filter:
        parts.append(f"({filter})")
    fields, limit = record_fields(spec, with_vectors), min(limit, MAX_LIMIT)
    return {"filter": " and ".join(parts), "output_fields": fields, "limit": limit, "iterator": "True"}


def page_of(rows: Sequence[Mapping[str, Any]], with_vectors: bool, limit: int) -> Page:
    """A page of a scroll of ``limit`` rows a page; the cursor is its last id (``None``: the last)."""
    records = [record_of(row, with_vectors) for row in rows]
    return Page(records, max(r.id for r in records) if len(records) >= limit else None)


def record_fields(spec: CollectionSpec, with_vectors: bool) -> list[str]:
    """Fields for a record read by get/scroll (the sparse vector always, as the reference)."""
    return [ID, TEXT, META, *([VECTOR] if with_vectors else []), *([SPARSE] if spec.sparse else [])]


def _sparse_of(value: Any) -> SparseVector | None:
    if not isinstance(value, Mapping) or not value:
        return None
    items = {int(k): float(v) for k, v in value.items()}
    return None if set(items) == {SPARSE_PLACEHOLDER} else SparseVector.from_dict(items)


def _meta_of(entity: Mapping[str, Any]) -> dict[str, Any]:
    meta = entity.get(META)
    return meta if isinstance(meta, dict) else {}


def record_of(row: Mapping[str, Any], with_vectors: bool) -> Record:
    return Record(
        id=row[ID],
        vector=np.asarray(row[VECTOR] if with_vectors else (), dtype=np.float32),
        text=row.get(TEXT),
        metadata=_meta_of(row),
        sparse=_sparse_of(row.get(SPARSE)),
    )


# -- search ----------------------------------------------------------------------------------


def batch_groups(queries: Sequence[CheckedSearch]) -> list[list[int]]:
    """The queries by Milvus search: at most ``NQ_PER_CALL`` dense-only queries that differ only
    in their vector share one; every other query has its own."""
    groups: dict[CheckedSearch | int, list[int]] = {}
    for i, q in enumerate(queries):
        dense_only = q.vector is not None and q.sparse is None
        groups.setdefault(replace(q, vector=None) if dense_only else i, []).append(i)
    return [list(chunk) for group in groups.values() for chunk in chunks(group, NQ_PER_CALL)]


def brute_force(spec: CollectionSpec, query: CheckedSearch) -> bool:
    """Is this an exact dense search on HNSW, answered by :func:`exact_hits` over every matching
    row? HNSW cannot be exact, even with ``ef`` as large as the collection: a graph over many
    equal vectors strands most of them (500 identical vectors came back as 198 after
    ``optimize()``)."""
    return query.exact and query.vector is not None and query.sparse is None and _hnsw(spec)


def needs_row_count(spec: CollectionSpec, query: CheckedSearch) -> bool:
    """An exact hybrid search on HNSW walks the whole graph: ef = the collection's row count."""
    return query.exact and query.vector is not None and query.sparse is not None and _hnsw(spec)


def _hnsw(spec: CollectionSpec) -> bool:
    return spec.index.kind is IndexKind.HNSW


def exact_hits(
    spec: CollectionSpec, group: Sequence[CheckedSearch], rows: Sequence[Mapping[str, Any]]
) -> list[list[Hit]]:
    """Each query's hits by brute force over ``rows`` (every row its filter matches, read with
    :func:`scroll_query` and the vectors), scored as Milvus scores them."""
    if not rows:
        return [[] for _ in group]
    matrix = np.asarray([row[VECTOR] for row in rows], dtype=np.float64)
    if spec.metric is Metric.COSINE:
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = matrix / np.where(norms == 0, 1.0, norms)
    out = []
    for query in group:
        q = np.asarray(query.vector, dtype=np.float64)
        if spec.metric is Metric.EUCLIDEAN:
            diff = matrix - q
            scores = np.einsum("ij,ij->i", diff, diff)  # squared, as Milvus's L2
        else:
            norm = float(np.linalg.norm(q)) if spec.metric is Metric.COSINE else 1.0
            scores = matrix @ (q / (norm or 1.0))
        raw = [
            {"id": row[ID], "distance": d, "entity": row}
            for row, d in zip(rows, scores.tolist(), strict=True)
        ]
        out.append(hits_of(raw, spec, query))
    return out


def _dense_params(
    spec: CollectionSpec, query: CheckedSearch, k: int, row_count: int | None
) -> dict[str, Any]:
    """HNSW: ``ef`` (at least ``k``; the row count when exact); IVF: ``nprobe`` (every cell
    when exact); FLAT is exact already."""
    kind, ef = spec.index.kind, query.ef
    if kind is IndexKind.HNSW:
        return {"params": {"ef": max(ef or DEFAULT_EF, row_count or 0, k)}}
    if kind is IndexKind.IVF:
        nlist = spec.index.nlist
        return {"params": {"nprobe": nlist if query.exact else min(ef or DEFAULT_NPROBE, nlist)}}
    return {"params": {}}


def search_call(
    spec: CollectionSpec,
    group: Sequence[CheckedSearch],
    sparse: dict[int, float] | None,
    row_count: int | None,
) -> tuple[str, dict[str, Any]]:
    """The client method and its keyword arguments for checked searches that differ only in their
    vector (see :func:`batch_groups`). ``sparse`` holds the nonzero weights of the (one) sparse
    or hybrid query; a hybrid query without any searches the dense side alone."""
    query = group[0]
    fields = [ID]
    if query.with_payload:
        fields += [TEXT, META]
    if query.with_vectors:  # the sparse vector only with the vectors, as the reference store
        fields += [VECTOR, SPARSE] if spec.sparse else [VECTOR]
    if query.vector is not None and query.sparse is not None:
        from pymilvus import AnnSearchRequest, RRFRanker

        depth = min(query.prefetch_k, MAX_LIMIT)
        sides: list[tuple[Any, str, dict[str, Any]]] = [
            (query.vector, VECTOR, _dense_params(spec, query, depth, row_count))
        ]
        if sparse:
            sides.append((sparse, SPARSE, {"metric_type": "IP"}))
        reqs = [AnnSearchRequest([d], f, p, limit=depth, expr=query.filter or None) for d, f, p in sides]
        # every fused candidate comes back, so ties are broken by id as the reference does
        ranker, limit = RRFRanker(query.rrf_k), min(2 * depth, MAX_LIMIT)
        return "hybrid_search", {"reqs": reqs, "ranker": ranker, "limit": limit, "output_fields": fields}
    dense = query.vector is not None
    return "search", {
        "data": [q.vector for q in group] if dense else [sparse],
        "anns_field": VECTOR if dense else SPARSE,
        "filter": query.filter or "",
        "limit": query.k,
        "output_fields": fields,
        "search_params": _dense_params(spec, query, query.k, row_count) if dense else {"metric_type": "IP"},
    }


def hits_of(raw: Sequence[Mapping[str, Any]], spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
    """vecctx hits from one query's Milvus hits: scores in the metric's unit (Milvus's L2 is
    squared), ties broken by id as the reference store does, at most ``k``."""
    if query.vector is not None:
        kind = ScoreKind.RRF if query.sparse is not None else score_kind(spec.metric)
    else:
        kind = ScoreKind.SPARSE_DOT
    euclid = kind is ScoreKind.EUCLIDEAN
    rows = [
        (math.sqrt(max(h["distance"], 0.0)) if euclid else float(h["distance"]), str(h["id"]), h) for h in raw
    ]
    top = sorted(rows, key=lambda t: (t[0] if euclid else -t[0], t[1]))[: query.k]
    entities: list[Mapping[str, Any]] = [h.get("entity") or {} for _, _, h in top]
    payload, vectors = query.with_payload, query.with_vectors
    return make_hits(
        kind,
        [i for _, i, _ in top],
        [s for s, _, _ in top],
        texts=[e.get(TEXT) for e in entities] if payload else None,
        metadata=[_meta_of(e) for e in entities] if payload else None,
        vectors=[np.asarray(e[VECTOR], dtype=np.float32) for e in entities] if vectors else None,
        sparse=[_sparse_of(e.get(SPARSE)) for e in entities] if vectors else None,
        rrf_k=query.rrf_k,
    )


# -- errors ----------------------------------------------------------------------------------


def not_loaded(exc: BaseException) -> bool:
    """Is this Milvus's "collection not loaded" error (code 101)?"""
    return getattr(exc, "code", None) == 101 or "call load() before" in str(exc)


def missing(exc: BaseException) -> bool:
    """Is this Milvus's "collection not found" error (code 100)?"""
    text = str(exc).lower()
    return (
        getattr(exc, "code", None) == 100 or "collection not found" in text or "can't find collection" in text
    )


def _grpc_code(exc: BaseException) -> str:
    """The gRPC status name of a raw ``grpc.RpcError`` or of one pymilvus re-raised."""
    code = getattr(exc, "code", None)
    if callable(code):
        with contextlib.suppress(Exception):
            code = code()
    name = getattr(code, "name", None)
    return name if isinstance(name, str) else ""


def unimplemented(exc: BaseException) -> bool:
    """Is this gRPC's UNIMPLEMENTED (an RPC the server lacks)?"""
    return _grpc_code(exc) == "UNIMPLEMENTED" or "UNIMPLEMENTED" in str(exc)


_TRANSIENT_GRPC = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED"}
#: pymilvus's ``Status.CONNECT_FAILED``: "Fail connecting to server ... server unavailable",
#: "No channel in handler" (the server is down or restarting).
_CONNECT_FAILED = 2
_TRANSIENT_TEXT = (
    *("unavailable", "fail connecting", "no channel in handler", "deadline exceeded", "socket closed"),
    *("connection refused", "connection reset"),
    "too many pings",  # the GOAWAY a Lite server sends against pymilvus's 10 s keepalive
    # Milvus Lite's flush under concurrent writes and flush-before-read from other threads
    # (seen once in the 16-thread load test): flush is idempotent, so retry it.
    "current_seq is monotonic",
)


def translate(exc: Exception, action: str, collection: str | None) -> BackendError | CollectionNotFoundError:
    """A vecctx error for a client exception (the original is kept as ``.original``)."""
    from pymilvus import exceptions as px

    milvus = isinstance(exc, px.MilvusException)
    if milvus and collection is not None and missing(exc):
        return CollectionNotFoundError(collection)
    if (
        isinstance(exc, px.MilvusUnavailableException | px.ConnectError | ConnectionError | TimeoutError)
        or _grpc_code(exc) in _TRANSIENT_GRPC
        or (milvus and getattr(exc, "code", None) == _CONNECT_FAILED)
        or (milvus and any(t in str(exc).lower() for t in _TRANSIENT_TEXT))
    ):
        return TransientBackendError(f"milvus {action} failed: {exc}", exc)
    return BackendError(f"milvus {action} failed: {exc}", exc)


class MilvusCore:
    """What both drivers share without a call: the configuration, the connection's state, the
    filter compiler and error translation. Milvus Lite starts (or is shared) when made."""

    capabilities = CAPABILITIES

    def __init__(self, config: MilvusConfig) -> None:
        self.config = config
        self.retry = config.retry
        self.target = config.describe()
        self.secrets = config.secrets
        #: The server's version once connected (``milvus_lite...`` on Milvus Lite).
        self.server_version = ""
        #: How many times a new client replaced one whose calls kept failing transiently.
        self.reconnects = 0
        self._last_reconnect = 0.0
        self._client: Any = None
        self._write = "upsert"
        self._unflushed: Counter[str] = Counter()  # rows written per collection since its flush
        self._compiler = MilvusFilterCompiler()
        uri = lite.acquire(config.lite_path) if config.lite_path is not None else config.uri
        self._client_kwargs = config.client_kwargs(uri or "")

    translate = staticmethod(translate)

    def compile_filter(self, spec: CollectionSpec, flt: Filter) -> str:
        return self._compiler.compile(flt)

    def _connected(self, client: Any, version: str) -> Any:
        """Keep a new client. Writes use ``insert`` on Milvus Lite (see the package README)."""
        self.server_version, self._client = version, client
        self._write = "insert" if version.startswith("milvus_lite") else "upsert"
        return client

    def _flush_due(self, mname: str) -> bool:
        """A read flushes first once ``flush_threshold`` rows written here await it (README)."""
        pending = self._unflushed[mname]
        return pending > 0 and pending >= self.config.flush_threshold

    def _stale_client(self, failures: int) -> Any:
        """From the third retry of a call on, the client to drop for a new one (at most once every
        2 s; pymilvus re-dials a channel by itself, this covers one it gave up on), else ``None``."""
        old = self._client
        if failures < 3 or self.config.is_lite or old is None or monotonic() - self._last_reconnect < 2.0:
            return None
        self._last_reconnect, self._client = monotonic(), None
        self.reconnects += 1
        return old
