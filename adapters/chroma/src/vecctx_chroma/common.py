"""Backend-neutral pieces shared by the sync and async Chroma stores: capabilities, the
collection spec codec, name mapping, result conversion and error translation."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vecctx.batch import record_columns
from vecctx.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    InvalidInputError,
    TransientBackendError,
    UnsupportedFeatureError,
    VecctxError,
)
from vecctx.filters import Filter
from vecctx.store import Capabilities, HybridSupport, SearchParams, SearchRequest
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
    relevance_of,
    score_kind,
)
from vecctx.validation import validate_search
from vecctx_chroma.filters import Where, compile_filter, decode_metadata, decode_text, encode_metadata

#: Collection-metadata key holding the vecctx ``CollectionSpec`` as JSON.
SPEC_KEY = "vecctx:spec"
#: Chroma's own default HNSW beam width at query time.
CHROMA_DEFAULT_EF_SEARCH = 100
#: Page size for reads that walk a collection (count with a filter, exact search).
PAGE = 5000

SPACE = {Metric.COSINE: "cosine", Metric.DOT: "ip", Metric.EUCLIDEAN: "l2"}
METRIC_OF_SPACE = {v: k for k, v in SPACE.items()}

_CHROMA_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


def capabilities(*, max_batch: int | None, async_native: bool) -> Capabilities:
    return Capabilities(
        name="chroma",
        metrics=frozenset(Metric),
        sparse=False,
        hybrid=HybridSupport.EMULATED,
        fusions=frozenset(),
        exact_search=True,
        approximate=True,
        async_native=async_native,
        max_batch=max_batch,
        persistent=True,
        nested_keys=True,
        list_values=True,
    )


# -- names and specs ----------------------------------------------------------------------


def chroma_name(name: str) -> str:
    """The Chroma collection name for a vecctx name.

    Chroma wants 3-512 characters that start and end with a letter or digit; vecctx
    allows names such as ``"ab"`` or ``"docs_"``. Those get a deterministic stand-in
    (the vecctx name is kept in the collection's spec, which ``list_collections`` reads).
    """
    if _CHROMA_NAME.match(name) and ".." not in name:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"vecctx-{name[:400]}-{digest}"


def check_creatable(spec: CollectionSpec) -> None:
    """Raise before I/O for what Chroma cannot build."""
    if spec.sparse:
        raise UnsupportedFeatureError(
            "chroma has no sparse vectors in local or server mode: create the collection with "
            "sparse=False and let vecctx's retriever run BM25 client-side for hybrid search"
        )
    if spec.index.kind is not IndexKind.HNSW:
        raise UnsupportedFeatureError(f"chroma builds only HNSW indexes, not {spec.index.kind.value}")


def creation_args(spec: CollectionSpec, ef_search: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(configuration, metadata)`` for ``create_collection``."""
    hnsw: dict[str, Any] = {
        "space": SPACE[spec.metric],
        "ef_construction": spec.index.ef_construct,
        "max_neighbors": spec.index.m,
    }
    if ef_search is not None:
        hnsw["ef_search"] = ef_search
    return {"hnsw": hnsw}, {SPEC_KEY: spec_to_json(spec)}


def spec_to_json(spec: CollectionSpec) -> str:
    return json.dumps(
        {
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


def spec_from_collection(
    name: str,
    metadata: Mapping[str, Any] | None,
    configuration: Mapping[str, Any] | None,
    dimension: int | None,
) -> CollectionSpec:
    """The spec vecctx stored at creation, or one derived from a foreign collection."""
    raw = (metadata or {}).get(SPEC_KEY)
    if isinstance(raw, str):
        try:
            d = json.loads(raw)
            idx = d.get("index", {})
            return CollectionSpec(
                name=d["name"],
                dimension=int(d["dimension"]),
                metric=Metric(d["metric"]),
                sparse=bool(d.get("sparse", False)),
                indexed_fields={k: FieldType(v) for k, v in d.get("indexed_fields", {}).items()},
                index=IndexParams(
                    kind=IndexKind(idx.get("kind", "hnsw")),
                    m=int(idx.get("m", 16)),
                    ef_construct=int(idx.get("ef_construct", 128)),
                    nlist=int(idx.get("nlist", 128)),
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"collection {name!r} holds an unreadable vecctx spec: {exc}") from exc
    hnsw = hnsw_config(configuration)
    metric = METRIC_OF_SPACE.get(str(hnsw.get("space", "l2")))
    if metric is None:
        raise ConfigError(f"collection {name!r} uses an unknown space {hnsw.get('space')!r}")
    if dimension is None:
        raise ConfigError(
            f"collection {name!r} was not created by vecctx and holds no vectors yet, "
            "so its dimension is unknown"
        )
    return CollectionSpec(
        name=name,
        dimension=dimension,
        metric=metric,
        index=IndexParams(
            m=int(hnsw.get("max_neighbors", 16)), ef_construct=int(hnsw.get("ef_construction", 100))
        ),
    )


def list_name(chroma_collection_name: str, metadata: Mapping[str, Any] | None) -> str:
    """The vecctx name of a listed Chroma collection (from its spec when vecctx made it)."""
    raw = (metadata or {}).get(SPEC_KEY)
    if isinstance(raw, str):
        try:
            name = json.loads(raw).get("name")
        except (ValueError, AttributeError):
            name = None
        if isinstance(name, str) and name:
            return name
    return chroma_collection_name


def dimension_of(col: Any) -> int | None:
    """A Chroma collection's dimension (``None`` until its first vector)."""
    dim = getattr(col, "dimension", None)
    if dim is None:
        dim = getattr(getattr(col, "_model", None), "dimension", None)
    return int(dim) if isinstance(dim, int) else None


def copy_record(record: Record) -> Record:
    return Record(
        id=record.id,
        vector=np.array(record.vector, dtype=np.float32, copy=True),
        text=record.text,
        metadata=copy.deepcopy(dict(record.metadata)),
        sparse=record.sparse,
    )


def hnsw_config(configuration: Mapping[str, Any] | None) -> Mapping[str, Any]:
    hnsw = (configuration or {}).get("hnsw") or {}
    return hnsw if isinstance(hnsw, Mapping) else {}


def ef_search_of(configuration: Mapping[str, Any] | None) -> int:
    value = hnsw_config(configuration).get("ef_search")
    return int(value) if isinstance(value, int) else CHROMA_DEFAULT_EF_SEARCH


# -- requests -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreparedSearch:
    """A validated search: query vector, compiled filter and what to include."""

    query: FloatArray
    where: Where | None
    k: int
    exact: bool
    with_payload: bool
    with_vectors: bool

    def include(self, *, distances: bool) -> list[Any]:
        inc: list[Any] = ["distances"] if distances else []
        if self.with_payload:
            inc += ["metadatas", "documents"]
        if self.with_vectors:
            inc.append("embeddings")
        return inc

    def group_key(self) -> str:
        """Searches with equal keys can share one Chroma ``query`` call."""
        return json.dumps(
            [self.where, self.k, self.with_payload, self.with_vectors], sort_keys=True, default=str
        )


def prepare_search(
    spec: CollectionSpec,
    ef_search: int,
    *,
    vector: Any,
    sparse: SparseVector | None,
    filter: Any,
    k: int,
    params: SearchParams | None,
    with_payload: bool,
    with_vectors: bool,
) -> PreparedSearch:
    """Validate a search and compile its filter; raise before any I/O."""
    if sparse is not None:
        raise UnsupportedFeatureError(
            "chroma has no sparse or hybrid search: search with a dense vector and let "
            "vecctx's retriever fuse BM25 client-side (capabilities.hybrid == 'emulated')"
        )
    q, flt, p = validate_search(spec, vector=vector, sparse=None, filter=filter, k=k, params=params)
    if q is None:  # pragma: no cover - validate_search requires a vector when sparse is None
        raise InvalidInputError("search needs a dense vector")
    if p.ef is not None and p.ef > ef_search:
        raise UnsupportedFeatureError(
            f"chroma cannot widen the HNSW beam per query: collection {spec.name!r} searches with "
            f"ef_search={ef_search}; create it with a larger ?ef_search= in the store URL "
            "(an ef_search changed after creation is not picked up by a loaded index)"
        )
    return PreparedSearch(
        query=q,  # Chroma normalises cosine queries itself; the exact path does it in numpy
        where=compile_where(flt),
        k=k,
        exact=p.exact,
        with_payload=bool(with_payload),
        with_vectors=bool(with_vectors),
    )


def prepare_batch(
    spec: CollectionSpec, ef_search: int, requests: Sequence[SearchRequest]
) -> list[PreparedSearch]:
    if isinstance(requests, SearchRequest):
        raise InvalidInputError("search_batch takes a sequence of SearchRequest")
    out = []
    for i, r in enumerate(requests):
        if not isinstance(r, SearchRequest):
            raise InvalidInputError(f"request {i} is a {type(r).__name__}, not a SearchRequest")
        out.append(
            prepare_search(
                spec,
                ef_search,
                vector=r.vector,
                sparse=r.sparse,
                filter=r.filter,
                k=r.k,
                params=r.params,
                with_payload=r.with_payload,
                with_vectors=r.with_vectors,
            )
        )
    return out


def compile_where(flt: Filter | None) -> Where | None:
    return compile_filter(flt)


def normalise_query(q: FloatArray, metric: Metric) -> FloatArray:
    if metric is Metric.COSINE:
        row: FloatArray = normalise_rows(q[None, :])[0]
        return row
    return q


def normalise_rows(m: FloatArray) -> FloatArray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: FloatArray = (m / norms).astype(np.float32)
    return out


@dataclass(slots=True)
class PreparedUpsert:
    ids: list[str]
    vectors: FloatArray
    metadatas: list[dict[str, Any] | None]
    documents: list[str]

    def batches(self, size: int) -> Iterator[tuple[slice, list[str]]]:
        for start in range(0, len(self.ids), size):
            sl = slice(start, start + size)
            yield sl, self.ids[sl]

    def clear_stale_keys(
        self, sl: slice, existing: Mapping[str, Mapping[str, Any] | None]
    ) -> list[dict[str, Any] | None]:
        """Chroma's upsert merges metadata: keys of the old version that the new one
        lacks are set to ``None`` (deleted) so the record is replaced, not merged."""
        out: list[dict[str, Any] | None] = []
        for rid, meta in zip(self.ids[sl], self.metadatas[sl], strict=True):
            old = existing.get(rid)
            if old:
                merged = dict(meta or {})
                for key in old:
                    if key not in merged:
                        merged[key] = None
                meta = merged
            out.append(meta)
        return out


def prepare_upsert(records: Sequence[Record], spec: CollectionSpec, matrix: FloatArray) -> PreparedUpsert:
    if spec.metric is Metric.COSINE:
        matrix = normalise_rows(matrix)
    ids, texts, metas, _ = record_columns(records)  # a RecordBatch's own columns, no Record per row
    texts = list(texts)
    return PreparedUpsert(
        ids=list(ids),
        vectors=matrix,
        metadatas=[encode_metadata(m, t) for m, t in zip(metas, texts, strict=True)],
        documents=[t if t is not None else "" for t in texts],
    )


# -- results ------------------------------------------------------------------------------


def to_score(metric: Metric, distance: float) -> float:
    """Chroma's distance in the metric's canonical unit."""
    if metric is Metric.EUCLIDEAN:
        return math.sqrt(max(distance, 0.0))
    return 1.0 - distance  # cosine: 1 - cos; ip: 1 - dot


def _column(result: Mapping[str, Any], name: str, row: int | None = None) -> list[Any] | None:
    col = result.get(name)
    if col is None:
        return None
    if row is not None:
        col = col[row]
        if col is None:
            return None
    return list(col)


def hits_from_query(
    result: Mapping[str, Any], row: int, metric: Metric, *, with_payload: bool, with_vectors: bool
) -> list[Hit]:
    ids: list[str] = list(result["ids"][row])
    distances = _column(result, "distances", row) or []
    metas = _column(result, "metadatas", row) if with_payload else None
    docs = _column(result, "documents", row) if with_payload else None
    embs = _column(result, "embeddings", row) if with_vectors else None
    kind = score_kind(metric)
    hits = []
    for i, rid in enumerate(ids):
        score = to_score(metric, float(distances[i]))
        hit = Hit(id=rid, score=score, relevance=relevance_of(kind, score), kind=kind)
        if metas is not None:
            meta = metas[i]
            hit.metadata = decode_metadata(meta)
            hit.text = decode_text(docs[i] if docs is not None else None, meta)
        if embs is not None:
            hit.vector = np.asarray(embs[i], dtype=np.float32)
        hits.append(hit)
    return sort_hits(hits, kind)


def sort_hits(hits: list[Hit], kind: ScoreKind) -> list[Hit]:
    """Best first, ties broken by id (as the reference store does)."""
    if kind is ScoreKind.EUCLIDEAN:
        return sorted(hits, key=lambda h: (h.score, h.id))
    return sorted(hits, key=lambda h: (-h.score, h.id))


def records_from_get(result: Mapping[str, Any], *, with_vectors: bool) -> dict[str, Record]:
    ids: list[str] = list(result["ids"])
    metas = _column(result, "metadatas") or [None] * len(ids)
    docs = _column(result, "documents") or [None] * len(ids)
    embs = _column(result, "embeddings") if with_vectors else None
    out: dict[str, Record] = {}
    for i, rid in enumerate(ids):
        vector = np.asarray(embs[i], dtype=np.float32) if embs is not None else np.zeros(0, dtype=np.float32)
        out[rid] = Record(
            id=rid,
            vector=vector,
            text=decode_text(docs[i], metas[i]),
            metadata=decode_metadata(metas[i]),
        )
    return out


def exact_top_k(
    metric: Metric, query: FloatArray, ids: list[str], vectors: npt.NDArray[Any], k: int
) -> list[tuple[str, float]]:
    """Brute-force top-k over fetched vectors: ``(id, canonical score)`` best first,
    ties broken by id."""
    if not ids:
        return []
    m = np.asarray(vectors, dtype=np.float64)
    q = normalise_query(query, metric).astype(np.float64)
    if metric is Metric.EUCLIDEAN:
        diff = m - q
        scores = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        key = scores
    else:
        if metric is Metric.COSINE:
            norms = np.linalg.norm(m, axis=1)
            norms[norms == 0] = 1.0
            m = m / norms[:, None]
        scores = m @ q
        key = -scores
    if len(ids) > k:
        part = np.argpartition(key, k - 1)[:k]
        threshold = key[part].max()
        cand = np.nonzero(key <= threshold)[0]
    else:
        cand = np.arange(len(ids))
    order = sorted(cand.tolist(), key=lambda j: (float(key[j]), ids[j]))[:k]
    return [(ids[j], float(scores[j])) for j in order]


def exact_hits(
    ranked: list[tuple[str, float]],
    records: Mapping[str, Record],
    metric: Metric,
    *,
    with_payload: bool,
    with_vectors: bool,
) -> list[Hit]:
    kind = score_kind(metric)
    hits = []
    for rid, score in ranked:
        rec = records.get(rid)
        hit = Hit(id=rid, score=score, relevance=relevance_of(kind, score), kind=kind)
        if rec is not None:
            if with_payload:
                hit.text = rec.text
                hit.metadata = rec.metadata
            if with_vectors:
                hit.vector = np.asarray(rec.vector, dtype=np.float32)
        hits.append(hit)
    return hits


def check_batch_size(batch_size: int) -> int:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")
    return batch_size


# -- errors -------------------------------------------------------------------------------


def _transient_types() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        import httpx

        kinds += [httpx.TransportError, httpx.TimeoutException]
    except ImportError:  # pragma: no cover - httpx ships with chromadb
        pass
    from chromadb.errors import RateLimitError

    kinds.append(RateLimitError)
    return tuple(kinds)


_TRANSIENT: tuple[type[BaseException], ...] | None = None


def transient_types() -> tuple[type[BaseException], ...]:
    global _TRANSIENT
    if _TRANSIENT is None:
        _TRANSIENT = _transient_types()
    return _TRANSIENT


class ErrorTranslator:
    """Wraps every Chroma exception in the vecctx hierarchy, scrubbing the token."""

    def __init__(self, secret: str | None, on_missing: Callable[[str], None] | None = None) -> None:
        self._secret = secret
        self._on_missing = on_missing

    def message(self, action: str, exc: BaseException) -> str:
        text = f"chroma {action} failed: {type(exc).__name__}: {exc}"
        if self._secret:
            text = text.replace(self._secret, "***")
        return text

    @contextmanager
    def __call__(self, action: str, collection: str | None = None) -> Iterator[None]:
        from chromadb.errors import NotFoundError

        try:
            yield
        except VecctxError:
            raise
        except NotFoundError as exc:
            if collection is not None:
                if self._on_missing is not None:  # a cached handle went stale: forget it
                    self._on_missing(collection)
                raise CollectionNotFoundError(collection) from exc
            raise BackendError(self.message(action, exc), exc) from exc
        except transient_types() as exc:
            raise TransientBackendError(self.message(action, exc), exc) from exc
        except ValueError as exc:
            if "could not connect" in str(exc).lower():
                raise TransientBackendError(self.message(action, exc), exc) from exc
            raise BackendError(self.message(action, exc), exc) from exc
        except Exception as exc:
            raise BackendError(self.message(action, exc), exc) from exc


def is_already_exists(exc: BaseException) -> bool:
    original = getattr(exc, "original", None) or exc
    from chromadb.errors import UniqueConstraintError

    return isinstance(original, UniqueConstraintError) or "already exists" in str(original).lower()


__all__ = [
    "PAGE",
    "SPEC_KEY",
    "ErrorTranslator",
    "PreparedSearch",
    "PreparedUpsert",
    "capabilities",
    "check_batch_size",
    "check_creatable",
    "chroma_name",
    "copy_record",
    "dimension_of",
    "list_name",
    "creation_args",
    "ef_search_of",
    "exact_hits",
    "exact_top_k",
    "hits_from_query",
    "is_already_exists",
    "prepare_batch",
    "prepare_search",
    "prepare_upsert",
    "records_from_get",
    "spec_from_collection",
    "to_score",
]
