"""Qdrant server / cluster and qdrant-client local mode: what the drivers share, without I/O.

One code path serves ``qdrant://host:6333`` (a server or cluster, REST or gRPC) and
``qdrant+local://...`` (qdrant-client's local mode, which accepts the same calls and is how this
path is tested without a server). :class:`ClientCore` adds the client's settings, collection
arguments and error translation to what :class:`~vecctx_qdrant._common.QdrantCore` builds and
reads; the async driver in :mod:`vecctx_qdrant._async.client` (and the synchronous one generated
from it) only makes the calls. The CollectionSpec is stored in the collection's ``metadata``
(``{"vecctx": {...}}``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from vecctx.contract.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    StoreLockedError,
    TransientBackendError,
    VecctxError,
)
from vecctx.contract.types import CollectionSpec
from vecctx_qdrant._common import (
    DENSE,
    DISTANCE,
    PAYLOAD_SCHEMA,
    SPARSE,
    QdrantCore,
    capabilities_for,
    point_ids,
)
from vecctx_qdrant.config import ClientOptions
from vecctx_qdrant.filters import ClientFilterCompiler, payload_path

META_FIELD = "vecctx"


class ClientCore(QdrantCore[ClientOptions]):
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
        self.tunes_search = options.mode == "server"  # local mode is exact and warns about params

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

    # -- collections ---------------------------------------------------------------------
    def create_kwargs(self, spec: CollectionSpec) -> dict[str, Any]:
        m, o = self.m, self.options
        stored = self.stored_spec(spec)
        hnsw = m.HnswConfigDiff(m=spec.index.m, ef_construct=spec.index.ef_construct)
        dense = m.VectorParams(
            size=spec.dimension, distance=m.Distance(DISTANCE[spec.metric]), hnsw_config=hnsw
        )
        sparse = m.SparseVectorParams(modifier=m.Modifier.IDF if o.idf else None)
        kw: dict[str, Any] = {
            "collection_name": spec.name,
            "vectors_config": {DENSE: dense},
            "sparse_vectors_config": {SPARSE: sparse} if spec.sparse else None,
            "metadata": {META_FIELD: stored},
        }
        if o.mode == "server":
            kw.update(
                shard_number=o.shards,
                replication_factor=o.replication,
                write_consistency_factor=o.write_consistency,
            )
        return kw

    def payload_indexes(self, spec: CollectionSpec) -> list[tuple[str, Any]]:
        """The path and schema of each payload index (none in local mode: it scans; the spec
        still records them)."""
        if self.options.mode == "local":
            return []
        schema = self.m.PayloadSchemaType
        return [
            (payload_path(key), schema(PAYLOAD_SCHEMA[ftype.value]))
            for key, ftype in spec.indexed_fields.items()
        ]

    def spec_from_info(self, name: str, info: Any) -> CollectionSpec:
        data = (getattr(info.config, "metadata", None) or {}).get(META_FIELD)
        if data is None:
            raise ConfigError(
                f"collection {name!r} was not created by vecctx (no '{META_FIELD}' metadata): "
                "vecctx needs a named 'dense' vector and its stored spec"
            )
        return self.read_spec(data)

    # -- writes, searches ------------------------------------------------------------------
    def point(self, pid: str, vectors: dict[str, Any], body: dict[str, Any]) -> Any:
        return self.m.PointStruct(id=pid, vector=vectors, payload=body)

    def selectors(self, ids: Sequence[str] | None, filter: Any) -> list[Any]:
        """One points selector per delete: the ids, the filter."""
        out: list[Any] = []
        if ids:
            out.append(self.m.PointIdsList(points=point_ids(list(dict.fromkeys(ids)))))
        if filter is not None:
            out.append(self.m.FilterSelector(filter=filter))
        return out

    def nearest(
        self, make: Any, vector: Any, using: str, params: Any, limit: int, filter: Any, **kw: Any
    ) -> Any:
        return make(query=vector, using=using, params=params, limit=limit, filter=filter, **kw)

    def fused(self, prefetch: list[Any], rrf_k: int | None, **kw: Any) -> Any:
        m = self.m
        fusion = m.FusionQuery(fusion=m.Fusion.DBSF) if rrf_k is None else m.RrfQuery(rrf=m.Rrf(k=rrf_k))
        return m.QueryRequest(query=fusion, prefetch=prefetch, **kw)


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


__all__ = ["META_FIELD", "ClientCore"]
