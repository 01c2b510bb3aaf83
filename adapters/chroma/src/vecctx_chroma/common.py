"""The Chroma driver's sans-I/O core, shared by the sync and async drivers: capabilities, the
collection spec codec, name mapping, request building, result parsing and error translation."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vecctx.contract.batch import record_columns
from vecctx.contract.driver import CheckedSearch
from vecctx.contract.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    TransientBackendError,
    UnsupportedFeatureError,
    VecctxError,
)
from vecctx.contract.store import Capabilities, HybridSupport
from vecctx.contract.types import (
    CollectionSpec,
    FloatArray,
    Hit,
    IndexKind,
    IndexParams,
    Metric,
    Record,
    make_hits,
    score_kind,
    spec_data,
    spec_from_data,
)
from vecctx_chroma.filters import MAX_FILTER_VALUES, decode_metadata, decode_text, encode_metadata

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
        hybrid=HybridSupport.EMULATED,
        approximate=True,
        async_native=async_native,
        max_batch=max_batch,
        persistent=True,
        max_filter_values=MAX_FILTER_VALUES,
    )


# -- names and specs ----------------------------------------------------------------------


def chroma_name(name: str) -> str:
    """The Chroma collection name for a vecctx name: itself, or for a name Chroma refuses (it
    wants 3-512 characters, a letter or digit at each end) or one starting with the stand-ins'
    ``vecctx-``, a deterministic stand-in (so no name can take another's stand-in)."""
    if _CHROMA_NAME.match(name) and ".." not in name and not name.startswith("vecctx-"):
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"vecctx-{name[:400]}-{digest}"


def creation_args(spec: CollectionSpec, ef_search: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(configuration, metadata)`` for ``create_collection``; raises for an index Chroma lacks."""
    if spec.index.kind is not IndexKind.HNSW:
        raise UnsupportedFeatureError(f"chroma builds only HNSW indexes, not {spec.index.kind.value}")
    hnsw: dict[str, Any] = {
        "space": SPACE[spec.metric],
        "ef_construction": spec.index.ef_construct,
        "max_neighbors": spec.index.m,
    }
    if ef_search is not None:
        hnsw["ef_search"] = ef_search
    return {"hnsw": hnsw}, {SPEC_KEY: json.dumps(spec_data(spec), sort_keys=True)}


def spec_of(name: str, col: Any) -> CollectionSpec:
    """The spec vecctx stored when it created ``col``, or one derived from a foreign collection."""
    raw = (col.metadata or {}).get(SPEC_KEY)
    if isinstance(raw, str):
        try:
            return spec_from_data(json.loads(raw))
        except (ValueError, VecctxError) as exc:
            raise ConfigError(f"collection {name!r} holds an unreadable vecctx spec: {exc}") from exc
    hnsw = _hnsw(col)
    metric = METRIC_OF_SPACE.get(str(hnsw.get("space", "l2")))
    if metric is None:
        raise ConfigError(f"collection {name!r} uses an unknown space {hnsw.get('space')!r}")
    dimension = getattr(getattr(col, "_model", None), "dimension", None)  # None before a vector
    if not isinstance(dimension, int):
        raise ConfigError(
            f"collection {name!r} was not created by vecctx and holds no vectors yet, "
            "so its dimension is unknown"
        )
    index = IndexParams(
        m=int(hnsw.get("max_neighbors", 16)), ef_construct=int(hnsw.get("ef_construction", 100))
    )
    return CollectionSpec(name=name, dimension=dimension, metric=metric, index=index)


def list_name(col: Any) -> str:
    """The vecctx name of a listed Chroma collection (from its spec when vecctx made it)."""
    try:
        name = json.loads((col.metadata or {})[SPEC_KEY])["name"]
    except (KeyError, TypeError, ValueError):
        name = None
    return name if isinstance(name, str) and name else str(col.name)


def _hnsw(col: Any) -> Mapping[str, Any]:
    hnsw = (col.configuration_json or {}).get("hnsw") or {}
    return hnsw if isinstance(hnsw, Mapping) else {}


def ef_search_of(col: Any) -> int:
    """The HNSW beam width ``col`` searches with (fixed once its index is loaded)."""
    value = _hnsw(col).get("ef_search")
    return int(value) if isinstance(value, int) else CHROMA_DEFAULT_EF_SEARCH


# -- requests -----------------------------------------------------------------------------


def dense(spec: CollectionSpec, ef_search: int, query: CheckedSearch) -> FloatArray:
    """The query's vector, after the check only Chroma can make: its HNSW beam is fixed per
    collection, so a wider ``ef`` cannot be honoured."""
    if query.ef is not None and query.ef > ef_search:
        raise UnsupportedFeatureError(
            f"chroma cannot widen the HNSW beam per query: collection {spec.name!r} searches with "
            f"ef_search={ef_search}; create it with a larger ?ef_search= in the store URL "
            "(an ef_search changed after creation is not picked up by a loaded index)"
        )
    assert query.vector is not None  # no sparse capability: every search is dense
    return query.vector  # Chroma normalises cosine queries itself; the exact path does it in numpy


def include(payload: bool, vectors: bool, *, distances: bool = False) -> list[Any]:
    """Chroma's ``include`` list."""
    inc: list[Any] = ["distances"] if distances else []
    if payload:
        inc += ["metadatas", "documents"]
    if vectors:
        inc.append("embeddings")
    return inc


def groups(queries: Sequence[CheckedSearch]) -> list[list[int]]:
    """The searches (by index) in groups that can share one Chroma ``query`` call: the same
    filter, ``k`` and fields to return. An exact search is a group of its own."""
    found: dict[str, list[int]] = {}
    for i, q in enumerate(queries):
        key = [i] if q.exact else [q.filter, q.k, q.with_payload, q.with_vectors]
        found.setdefault(json.dumps(key, sort_keys=True), []).append(i)
    return list(found.values())


def upsert_columns(
    spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray
) -> tuple[list[str], FloatArray, list[dict[str, Any] | None], list[str]]:
    """``(ids, vectors, metadatas, documents)`` as Chroma stores them (cosine vectors unit length)."""
    vectors = _unit(vectors) if spec.metric is Metric.COSINE else vectors
    ids, texts, metas, _ = record_columns(records)  # a RecordBatch's own columns, no Record per row
    texts = list(texts)
    metadatas = [encode_metadata(m, t) for m, t in zip(metas, texts, strict=True)]
    return list(ids), vectors, metadatas, [t if t is not None else "" for t in texts]


def clear_stale_keys(
    ids: Sequence[str], metadatas: Sequence[dict[str, Any] | None], old: Mapping[str, Any]
) -> list[dict[str, Any] | None]:
    """Chroma's upsert merges metadata: keys of the stored version (``old``, a ``get``
    result) that the new one lacks are set to ``None`` (deleted), so the record is replaced."""
    existing = dict(zip(old["ids"], old["metadatas"] or [], strict=False))
    out: list[dict[str, Any] | None] = []
    for rid, meta in zip(ids, metadatas, strict=True):
        stale = existing.get(rid)
        if stale:
            meta = {**dict.fromkeys(stale), **(meta or {})}
        out.append(meta)
    return out


# -- results ------------------------------------------------------------------------------


def records(result: Mapping[str, Any], with_vectors: bool, row: int | None = None) -> list[Record]:
    """The records of a ``get`` result (or of one ``row`` of a ``query`` result)."""

    def column(name: str) -> list[Any] | None:
        col = result.get(name)
        if col is not None and row is not None:
            col = col[row]
        return None if col is None else list(col)

    ids: list[str] = column("ids") or []
    metas = column("metadatas") or [None] * len(ids)
    docs = column("documents") or [None] * len(ids)
    embs = column("embeddings") if with_vectors else None
    return [
        Record(
            id=rid,
            vector=np.asarray(embs[i] if embs is not None else (), dtype=np.float32),
            text=decode_text(docs[i], metas[i]),
            metadata=decode_metadata(metas[i]),
        )
        for i, rid in enumerate(ids)
    ]


def query_hits(result: Mapping[str, Any], row: int, metric: Metric, query: CheckedSearch) -> list[Hit]:
    """The hits of one row of a Chroma ``query`` result, best first, ties broken by id."""
    found = records(result, query.with_vectors, row)
    scores = [to_score(metric, float(d)) for d in result["distances"][row]]
    sign = 1.0 if metric is Metric.EUCLIDEAN else -1.0
    ranked = sorted(zip((r.id for r in found), scores, strict=True), key=lambda p: (sign * p[1], p[0]))
    return hits(metric, ranked, found, query)


def to_score(metric: Metric, distance: float) -> float:
    """Chroma's distance in the metric's canonical unit."""
    if metric is Metric.EUCLIDEAN:
        return math.sqrt(max(distance, 0.0))
    return 1.0 - distance  # cosine: 1 - cos; ip: 1 - dot


def exact_top_k(
    metric: Metric, query: FloatArray, pages: Sequence[Mapping[str, Any]], k: int
) -> list[tuple[str, float]]:
    """Brute-force top-k over the vectors of ``get`` results: ``(id, canonical score)`` best
    first, ties broken by id."""
    ids = [rid for page in pages for rid in page["ids"]]
    if not ids:
        return []
    m = np.concatenate([np.asarray(p["embeddings"], dtype=np.float64) for p in pages if p["ids"]])
    q = np.asarray(
        _unit(query) if metric is Metric.COSINE else query, dtype=np.float64
    )  # float32, as the reference
    if metric is Metric.EUCLIDEAN:
        diff = m - q
        scores = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        key = scores
    else:
        scores = (_unit(m) if metric is Metric.COSINE else m) @ q
        key = -scores
    if len(ids) > k:
        part = np.argpartition(key, k - 1)[:k]
        cand = np.nonzero(key <= key[part].max())[0]  # every tie of the k-th as a candidate
    else:
        cand = np.arange(len(ids))
    order = sorted(cand.tolist(), key=lambda j: (float(key[j]), ids[j]))[:k]
    return [(ids[j], float(scores[j])) for j in order]


def _unit(m: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``m`` (a vector, or each row of a matrix) scaled to unit length, in its own precision."""
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)


def hits(
    metric: Metric, ranked: list[tuple[str, float]], found: Sequence[Record], query: CheckedSearch
) -> list[Hit]:
    """Hits for ranked ``(id, score)`` pairs, with the payload and vectors of ``found``."""
    by_id = {r.id: r for r in found}
    rows = [by_id.get(rid) for rid, _ in ranked]
    return make_hits(
        score_kind(metric),
        [rid for rid, _ in ranked],
        [score for _, score in ranked],
        texts=[r.text if r else None for r in rows] if query.with_payload else None,
        metadata=[r.metadata if r else None for r in rows] if query.with_payload else None,
        vectors=[np.asarray(r.vector, dtype=np.float32) if r else None for r in rows]
        if query.with_vectors
        else None,
    )


# -- errors -------------------------------------------------------------------------------


def translate(exc: Exception, action: str, collection: str | None) -> VecctxError:
    """The vecctx error for a chromadb exception."""
    import httpx
    from chromadb.errors import NotFoundError, RateLimitError, UniqueConstraintError

    message = f"chroma {action} failed: {type(exc).__name__}: {exc}"
    if isinstance(exc, NotFoundError) and collection is not None:
        return CollectionNotFoundError(collection)
    if action == "create" and (
        isinstance(exc, UniqueConstraintError) or "already exists" in str(exc).lower()
    ):
        return ConfigError(f"collection {collection!r} already exists")  # lost a race to create it
    if isinstance(exc, ConnectionError | TimeoutError | httpx.TransportError | RateLimitError) or (
        isinstance(exc, ValueError) and "could not connect" in str(exc).lower()
    ):
        return TransientBackendError(message, exc)
    return BackendError(message, exc)
