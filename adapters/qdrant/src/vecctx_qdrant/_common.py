"""What the Edge and the client drivers share without I/O: ids, payloads, specs, and
:class:`QdrantCore`, the base of both drivers (points, requests, hits and records)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from vecctx.contract.batch import record_columns
from vecctx.contract.driver import CheckedSearch, Page
from vecctx.contract.errors import ConfigError, InvalidInputError, UnsupportedFeatureError
from vecctx.contract.filters import Filter
from vecctx.contract.store import Capabilities, Fusion, HybridSupport
from vecctx.contract.types import (
    CollectionSpec,
    FloatArray,
    Hit,
    IndexKind,
    Record,
    ScoreKind,
    SparseVector,
    make_hits,
    score_kind,
    spec_data,
    spec_from_data,
)
from vecctx_qdrant.config import ClientOptions, EdgeOptions
from vecctx_qdrant.filters import (
    MAX_FILTER_VALUES,
    MAX_FILTER_VALUES_LOCAL,
    QdrantFilterCompiler,
    payload_path,
)

#: Fixed namespace of the point ids: a user id ``s`` is stored as ``uuid5(NAMESPACE, s)``.
NAMESPACE = uuid.UUID("6f1d3c1e-6a57-5b4e-9a43-2f0c7e1b5d88")
_NS_BYTES = NAMESPACE.bytes
#: RFC 4122 variant bits (10xx) applied to the 17th hex digit.
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}

DENSE = "dense"
SPARSE = "sparse"
ID_KEY = "id"
TEXT_KEY = "text"
META_KEY = "meta"
SPEC_FORMAT = 1
#: Qdrant's names of the metrics (``Distance`` in both APIs), by ``Metric`` value.
DISTANCE = {"cosine": "Cosine", "dot": "Dot", "euclidean": "Euclid"}
#: Qdrant's payload index schema (lowercase) of each ``FieldType`` value: the front stores dates
#: as integer microseconds (:mod:`vecctx.contract.dates`).
PAYLOAD_SCHEMA = {
    "keyword": "keyword",
    "integer": "integer",
    "float": "float",
    "bool": "bool",
    "datetime": "integer",
}


def point_id(user_id: str) -> str:
    """The stable Qdrant point id (a UUIDv5 string) of a user's string id.

    Equal to ``str(uuid.uuid5(NAMESPACE, user_id))``, computed without building UUID objects
    (a quarter of the time ``uuid.uuid5`` takes), and defined for lone surrogates too."""
    h = hashlib.sha1(_NS_BYTES + user_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def point_ids(user_ids: Sequence[str]) -> list[str]:
    return [point_id(i) for i in user_ids]


def capabilities_for(options: EdgeOptions | ClientOptions) -> Capabilities:
    """What a Qdrant code path declares: every metric and filter operator, exact search, sparse
    vectors and native hybrid search with both fusions; ANN on an HNSW index (Edge's, built by
    ``optimize()``, or a server's); a native async API through qdrant-client."""
    edge = isinstance(options, EdgeOptions)
    server = isinstance(options, ClientOptions) and options.mode == "server"
    return Capabilities(
        name="qdrant-edge" if edge else "qdrant" if server else "qdrant-local",
        sparse=True,
        hybrid=HybridSupport.NATIVE,
        fusions=frozenset(Fusion),
        approximate=edge or server,
        async_native=not edge,
        persistent=not (isinstance(options, ClientOptions) and options.memory),
        max_filter_values=MAX_FILTER_VALUES if edge or server else MAX_FILTER_VALUES_LOCAL,
    )


# -- the drivers' base ------------------------------------------------------------------------

OptionsT = TypeVar("OptionsT", EdgeOptions, ClientOptions)


class QdrantCore(Generic[OptionsT]):
    """What both drivers build and read without I/O, in one API: ``m`` is ``qdrant_edge`` or
    ``qdrant_client.models``. As with the filter compilers, a subclass only spells what the two
    APIs construct differently: :meth:`point`, :meth:`nearest` and :meth:`fused`."""

    m: Any
    options: OptionsT
    capabilities: Capabilities
    compiler: QdrantFilterCompiler
    #: Whether requests carry ``SearchParams`` (qdrant-client's local mode warns about them).
    tunes_search = True

    #: What a subclass spells in its API: a point; ``make`` (``QueryRequest`` or ``Prefetch``)
    #: of a nearest query on the named vector ``using`` (search ``params``, ``limit``, ``filter``);
    #: the ``QueryRequest`` fusing prefetches by RRF with ``rrf_k`` (``None``: by DBSF).
    point: Callable[[str, dict[str, Any], dict[str, Any]], Any]
    nearest: Callable[..., Any]
    fused: Callable[..., Any]

    def compile_filter(self, spec: CollectionSpec, flt: Filter) -> Any:
        return self.compiler(flt)

    def stored_spec(self, spec: CollectionSpec) -> dict[str, Any]:
        """The stored form of ``spec`` (JSON data, with whether its sparse vector uses Qdrant's
        IDF modifier), after checking what Qdrant cannot create: an IVF index, an indexed key it
        cannot address."""
        if spec.index.kind is IndexKind.IVF:
            raise UnsupportedFeatureError("Qdrant has no IVF index: use IndexKind.HNSW or IndexKind.FLAT")
        for key in spec.indexed_fields:
            payload_path(key)
        return {"format": SPEC_FORMAT, "sparse_idf": self.options.idf, **spec_data(spec)}

    def read_spec(self, data: Mapping[str, Any]) -> CollectionSpec:
        """The spec :meth:`stored_spec` stored."""
        try:
            newer = int(data.get("format", 0)) > SPEC_FORMAT
        except (TypeError, ValueError):
            newer = True
        if newer:
            raise ConfigError(f"collection spec format {data.get('format')!r} is not one this adapter reads")
        return spec_from_data(data)

    # -- writes ------------------------------------------------------------------------------
    def point_chunks(self, records: Sequence[Record], vectors: FloatArray, step: int) -> Iterator[list[Any]]:
        """The points of ``records``, ``step`` at a time, read column by column (a ``RecordBatch``
        gives its columns as they are, with no ``Record`` per row); the vectors are converted
        once per chunk (:meth:`dense_rows`), the ids are hashed per chunk (:func:`point_ids`)."""
        for start in range(0, len(records), step):
            ids, texts, metas, sparse = record_columns(records, start, start + step)
            rows = self.dense_rows(vectors[start : start + step])
            try:
                points = [
                    self.point(pid, self._vectors(row, sv), _payload(rid, text, meta))
                    for pid, rid, text, meta, sv, row in zip(
                        point_ids(ids), ids, texts, metas, sparse, rows, strict=True
                    )
                ]
            except (TypeError, ValueError, OverflowError) as exc:
                raise InvalidInputError(
                    f"a record cannot be stored in {self.capabilities.name}: {exc}"
                ) from exc
            yield points

    def dense_rows(self, block: FloatArray) -> Iterable[Any]:
        """A chunk's dense vectors as both clients take them: a list of Python floats per row,
        made as its point is built. Measured on Edge (384-d float32, 20k points): a point from
        ``row.tolist()`` takes 14 us, from the numpy row itself 23 us, and from the rows of one
        ``block.tolist()`` 31 us (every float of the chunk allocated at once)."""
        return map(np.ndarray.tolist, block)

    def _vectors(self, row: Any, sv: SparseVector | None) -> dict[str, Any]:
        """A point's named vectors: ``dense``, and ``sparse`` when it has one."""
        return {DENSE: row} if sv is None else {DENSE: row, SPARSE: self._sparse(sv)}

    def _sparse(self, sv: SparseVector) -> Any:
        return self.m.SparseVector(indices=list(sv.indices), values=list(sv.values))

    # -- searches ----------------------------------------------------------------------------
    def request(self, spec: CollectionSpec, q: CheckedSearch, default_ef: int | None = None) -> Any:
        """The ``QueryRequest`` of a checked search: one nearest query, or the fusion of a dense
        and a sparse prefetch. The dense search's beam is ``q.ef``, else ``default_ef`` (else
        the engine's own default); an exact search has none."""
        m = self.m
        exact = q.exact or spec.index.kind is IndexKind.FLAT
        ef = None if exact else q.ef if q.ef is not None else default_ef
        tuned = (exact or ef is not None) and self.tunes_search
        params = m.SearchParams(hnsw_ef=ef, exact=exact) if tuned else None
        wp, wv = (True if q.with_payload else [ID_KEY]), q.with_vectors
        dense = q.vector.tolist() if q.vector is not None else None
        sparse = self._sparse(q.sparse) if q.sparse is not None else None
        if sparse is None:
            return self.nearest(
                m.QueryRequest, dense, DENSE, params, q.k, q.filter, with_payload=wp, with_vector=wv
            )
        if dense is None:
            return self.nearest(
                m.QueryRequest, sparse, SPARSE, None, q.k, q.filter, with_payload=wp, with_vector=wv
            )
        prefetch = [
            self.nearest(m.Prefetch, dense, DENSE, params, q.prefetch_k, q.filter),
            self.nearest(m.Prefetch, sparse, SPARSE, None, q.prefetch_k, q.filter),
        ]
        # Qdrant ranks from 0 in 1 / (k + rank); vecctx ranks from 1: shift k by one.
        rrf_k = q.rrf_k + 1 if q.fusion is Fusion.RRF else None
        return self.fused(prefetch, rrf_k, limit=q.k, filter=q.filter, with_payload=wp, with_vector=wv)

    def hits(self, points: Sequence[Any], spec: CollectionSpec, q: CheckedSearch) -> list[Hit]:
        """Hits from Qdrant scored points (Edge's or qdrant-client's: both have ``score``,
        ``payload`` and ``vector``). The user's id comes from the payload, never from the point id."""
        if q.vector is not None and q.sparse is not None:
            kind = ScoreKind.RRF if q.fusion is Fusion.RRF else ScoreKind.DBSF
        else:
            kind = ScoreKind.SPARSE_DOT if q.vector is None else score_kind(spec.metric)
        payloads = [p.payload for p in points]
        vectors = [_vectors_of(p.vector) for p in points] if q.with_vectors else None
        return make_hits(
            kind,
            [pl[ID_KEY] for pl in payloads],
            [p.score for p in points],
            texts=[pl.get(TEXT_KEY) for pl in payloads] if q.with_payload else None,
            metadata=[pl.get(META_KEY, {}) for pl in payloads] if q.with_payload else None,
            vectors=[v[0] for v in vectors] if vectors is not None else None,
            sparse=[v[1] for v in vectors] if vectors is not None else None,
            rrf_k=q.rrf_k,
        )

    # -- records -----------------------------------------------------------------------------
    def read_vectors(self, spec: CollectionSpec, with_vectors: bool) -> Any:
        """``with_vector`` for reading records: the sparse vector always comes back with a record."""
        return True if with_vectors else [SPARSE] if spec.sparse else False

    def records(self, points: Sequence[Any], with_vectors: bool) -> list[Record]:
        return [_record(p, with_vectors) for p in points]

    def page(self, points: Sequence[Any], after: Any, with_vectors: bool) -> Page:
        """A page of records from Qdrant points (``after``: the next page's offset)."""
        return Page(self.records(points, with_vectors), after if points else None)


def _payload(rid: str, text: str | None, metadata: Any) -> dict[str, Any]:
    """The stored payload: the user's id and text beside (never inside) their metadata. A
    missing text and empty metadata are left out (readers take ``None`` and ``{}``): an empty
    ``meta`` object costs Edge about 4 us a point to convert, a third of building the point."""
    payload: dict[str, Any] = {ID_KEY: rid}
    if text is not None:
        payload[TEXT_KEY] = text
    if metadata:
        payload[META_KEY] = metadata
    return payload


def _vectors_of(vec: Any) -> tuple[Any, SparseVector | None]:
    """(dense float32 array or None, sparse vector or None) from a point's named vectors."""
    if not vec:
        return None, None
    dense = vec.get(DENSE)
    sp = vec.get(SPARSE)
    d = np.asarray(dense, dtype=np.float32) if dense is not None else None
    s = SparseVector(tuple(sp.indices), tuple(float(x) for x in sp.values)) if sp is not None else None
    return d, s


def _record(p: Any, with_vectors: bool) -> Record:
    pl = p.payload or {}
    dense, sp = _vectors_of(p.vector)
    return Record(
        id=pl[ID_KEY],
        vector=dense if with_vectors and dense is not None else np.zeros(0, dtype=np.float32),
        text=pl.get(TEXT_KEY),
        metadata=pl.get(META_KEY, {}),
        sparse=sp,
    )


__all__ = [
    "DENSE",
    "DISTANCE",
    "NAMESPACE",
    "SPARSE",
    "QdrantCore",
    "capabilities_for",
    "point_id",
    "point_ids",
]
