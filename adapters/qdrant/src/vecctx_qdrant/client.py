"""Qdrant server / cluster and qdrant-client local mode: what the drivers share, without I/O.

One code path serves ``qdrant://host:6333`` (a server or cluster, REST or gRPC) and
``qdrant+local://...`` (qdrant-client's local mode, which accepts the same calls and is how this
path is tested without a server). :class:`ClientCore` builds every request, reads every
response and classifies every error; the async driver in :mod:`vecctx_qdrant._async.client`
(and the synchronous one generated from it) only makes the calls.

The CollectionSpec is stored in the collection's ``metadata`` (``{"vecctx": {...}}``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from vecctx.contract.batch import record_columns
from vecctx.contract.driver import CheckedSearch
from vecctx.contract.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    InvalidInputError,
    StoreLockedError,
    TransientBackendError,
    VecctxError,
)
from vecctx.contract.filters import Filter
from vecctx.contract.store import Capabilities, Fusion, HybridSupport
from vecctx.contract.types import CollectionSpec, FloatArray, IndexKind, Record
from vecctx_qdrant._common import (
    DENSE,
    DISTANCE,
    ID_KEY,
    SPARSE,
    check_spec,
    named_vectors,
    payload,
    point_ids,
    sparse_of,
    spec_from_json,
    spec_to_json,
)
from vecctx_qdrant.config import ClientOptions
from vecctx_qdrant.filters import ClientFilterCompiler, payload_path

META_FIELD = "vecctx"


def capabilities_for(options: ClientOptions) -> Capabilities:
    return Capabilities(
        name="qdrant" if options.mode == "server" else "qdrant-local",
        sparse=True,
        hybrid=HybridSupport.NATIVE,
        fusions=frozenset(Fusion),
        exact_search=True,
        approximate=options.mode == "server",
        async_native=True,
        max_batch=None,
        persistent=not options.memory,
    )


class ClientCore:
    """The sans-I/O half of the qdrant-client driver: its declared data, requests, responses
    and error translation."""

    def __init__(self, options: ClientOptions) -> None:
        from qdrant_client import models

        self.m: Any = models
        self.options = options
        self.capabilities = capabilities_for(options)
        self.target = options.url
        self.secrets: Sequence[str] = (options.api_key,) if options.api_key else ()
        self.retry = options.retry
        self.compiler = ClientFilterCompiler()

    def client_kwargs(self) -> dict[str, Any]:
        o = self.options
        if o.mode == "local":
            return {"location": ":memory:"} if o.path is None else {"path": str(o.path)}
        return {
            "host": o.host,
            "port": o.port,
            "grpc_port": o.grpc_port,
            "prefer_grpc": o.grpc,
            "https": o.https,
            "api_key": o.api_key,
            "prefix": o.prefix,
            "timeout": math.ceil(o.timeout) if o.timeout is not None else None,
        }

    def translate(self, exc: Exception, action: str, collection: str | None) -> VecctxError:
        msg = str(exc)
        low = msg.lower()
        if "already accessed by another instance" in low:
            return StoreLockedError(str(self.options.path), msg)
        if collection is not None and _not_found(exc, low):
            return CollectionNotFoundError(collection)
        text = f"Qdrant {action} failed ({self.target}): {type(exc).__name__}: {msg}"
        return TransientBackendError(text, exc) if _transient(exc) else BackendError(text, exc)

    def compile_filter(self, spec: CollectionSpec, flt: Filter) -> Any:
        return self.compiler(flt)

    # -- collections ---------------------------------------------------------------------
    def create_kwargs(self, spec: CollectionSpec) -> dict[str, Any]:
        check_spec(spec)
        m, o = self.m, self.options
        hnsw = m.HnswConfigDiff(m=spec.index.m, ef_construct=spec.index.ef_construct)
        distance = m.Distance(DISTANCE[spec.metric])
        kw: dict[str, Any] = {
            "collection_name": spec.name,
            "vectors_config": {
                DENSE: m.VectorParams(size=spec.dimension, distance=distance, hnsw_config=hnsw)
            },
            "sparse_vectors_config": (
                {SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF if o.idf else None)}
                if spec.sparse
                else None
            ),
            "metadata": {META_FIELD: spec_to_json(spec, idf=o.idf)},
        }
        if o.mode == "server":
            kw["shard_number"] = o.shards
            kw["replication_factor"] = o.replication
            kw["write_consistency_factor"] = o.write_consistency
        return kw

    def index_kwargs(self, spec: CollectionSpec) -> list[dict[str, Any]]:
        if self.options.mode == "local":
            return []  # local mode has no payload indexes (it scans); the spec still records them
        return [
            {
                "collection_name": spec.name,
                "field_name": payload_path(key),
                "field_schema": self.m.PayloadSchemaType(ftype.value),
                "wait": True,
            }
            for key, ftype in spec.indexed_fields.items()
        ]

    def spec_from_info(self, name: str, info: Any) -> CollectionSpec:
        data = (getattr(info.config, "metadata", None) or {}).get(META_FIELD)
        if data is None:
            raise ConfigError(
                f"collection {name!r} was not created by vecctx (no '{META_FIELD}' metadata): "
                "vecctx needs a named 'dense' vector and its stored spec"
            )
        return spec_from_json(data)

    # -- writes --------------------------------------------------------------------------
    def batches(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> list[Any]:
        """The ``points`` of each write, ``options.batch`` records each (read as columns, ids
        hashed per chunk), all built before the first write."""
        n, step, point = len(records), self.options.batch, self.m.PointStruct
        out: list[Any] = []
        for i in range(0, n, step):
            ids, texts, metas, sparse = record_columns(records, i, min(i + step, n))
            rows = vectors[i : i + step].tolist()
            try:
                out.append(
                    [
                        point(id=pid, vector=named_vectors(self.m, row, sv), payload=payload(rid, text, meta))
                        for pid, rid, text, meta, sv, row in zip(
                            point_ids(ids), ids, texts, metas, sparse, rows, strict=True
                        )
                    ]
                )
            except ValueError as exc:
                raise InvalidInputError(f"a record cannot be stored in Qdrant: {exc}") from exc
        return out

    def selectors(self, ids: Sequence[str] | None, filter: Any) -> list[Any]:
        """One points selector per delete: the ids, the filter."""
        out: list[Any] = []
        if ids:
            out.append(self.m.PointIdsList(points=point_ids(list(dict.fromkeys(ids)))))
        if filter is not None:
            out.append(self.m.FilterSelector(filter=filter))
        return out

    # -- searches ------------------------------------------------------------------------
    def query(self, spec: CollectionSpec, q: CheckedSearch) -> Any:
        """The ``models.QueryRequest`` of a checked search."""
        m = self.m
        exact = q.exact or spec.index.kind is IndexKind.FLAT
        params = (
            m.SearchParams(hnsw_ef=q.ef, exact=exact)
            if (exact or q.ef is not None) and self.options.mode == "server"
            else None  # local mode is always exact and warns about search params
        )
        common: dict[str, Any] = {
            "filter": q.filter,
            "limit": q.k,
            "with_payload": True if q.with_payload else [ID_KEY],
            "with_vector": q.with_vectors,
        }
        sv = sparse_of(m, q.sparse) if q.sparse is not None else None
        if sv is None:
            assert q.vector is not None
            return m.QueryRequest(query=q.vector.tolist(), using=DENSE, params=params, **common)
        if q.vector is None:
            return m.QueryRequest(query=sv, using=SPARSE, **common)
        prefetch = [
            m.Prefetch(
                query=q.vector.tolist(), using=DENSE, filter=q.filter, params=params, limit=q.prefetch_k
            ),
            m.Prefetch(query=sv, using=SPARSE, filter=q.filter, limit=q.prefetch_k),
        ]
        # Qdrant ranks from 0 in 1 / (k + rank); vecctx ranks from 1: shift k by one.
        fusion = (
            m.RrfQuery(rrf=m.Rrf(k=q.rrf_k + 1))
            if q.fusion is Fusion.RRF
            else m.FusionQuery(fusion=m.Fusion.DBSF)
        )
        return m.QueryRequest(prefetch=prefetch, query=fusion, **common)


def _not_found(exc: BaseException, low: str) -> bool:
    if getattr(exc, "status_code", None) == 404:
        return True
    if isinstance(exc, ValueError) and low.endswith("not found") and "collection" in low:
        return True  # local mode
    return _grpc_code(exc) == "NOT_FOUND"


def _grpc_code(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    if callable(code):
        try:
            return str(getattr(code(), "name", ""))
        except Exception:
            return None
    return None


def _transient(exc: BaseException) -> bool:
    if getattr(exc, "status_code", None) in (408, 429, 502, 503, 504):
        return True
    if _grpc_code(exc) in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED"):
        return True
    import httpx
    from qdrant_client.http.exceptions import ResponseHandlingException

    return isinstance(exc, ResponseHandlingException | httpx.TransportError | ConnectionError | TimeoutError)


__all__ = ["META_FIELD", "ClientCore", "capabilities_for"]
