"""What the Edge and the client code paths share: ids, payloads, specs, hits, capabilities."""

from __future__ import annotations

import hashlib
import importlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import numpy as np

from vecctx.errors import ConfigError
from vecctx.filters import Filter
from vecctx.store import Fusion, SearchParams
from vecctx.types import (
    CollectionSpec,
    FieldType,
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
from vecctx.validation import MAX_K


def _load_sha1() -> Callable[[bytes], Any]:
    """CPython's own SHA-1 (0.7 us a short id here, against 1.2 us for OpenSSL's through
    hashlib: the OpenSSL context costs more to set up than hashing a short id)."""
    try:
        return cast(Callable[[bytes], Any], importlib.import_module("_sha1").sha1)
    except (ImportError, AttributeError):  # pragma: no cover - a Python built without it
        return hashlib.sha1


_sha1 = _load_sha1()

#: Fixed namespace of the point ids: a user id ``s`` is stored as ``uuid5(NAMESPACE, s)``.
NAMESPACE = uuid.UUID("6f1d3c1e-6a57-5b4e-9a43-2f0c7e1b5d88")
_NS_BYTES = NAMESPACE.bytes
#: RFC 4122 variant bits (10xx) applied to the 17th hex digit.
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}
#: Unicode code points of the hex digits, and where the 32 digits go in the 36-character form.
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).astype(np.uint32)
_DIGIT_AT = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
_DASH = ord("-")

DENSE = "dense"
SPARSE = "sparse"
ID_KEY = "id"
TEXT_KEY = "text"
META_KEY = "meta"
SPEC_FORMAT = 1


def point_id(user_id: str) -> str:
    """The stable Qdrant point id (a UUIDv5 string) of a user's string id.

    Equal to ``str(uuid.uuid5(NAMESPACE, user_id))``, computed without building UUID objects
    (a quarter of the time ``uuid.uuid5`` takes here)."""
    h = _sha1(_NS_BYTES + user_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def point_ids(user_ids: Sequence[str]) -> list[str]:
    """``[point_id(i) for i in user_ids]`` for a batch, at about 1 us an id against 2.8: the
    SHA-1 digests are taken in one pass and the version bits and hex formatting are done by
    numpy on the whole batch."""
    n = len(user_ids)
    if n < 8:
        return [point_id(i) for i in user_ids]
    ns, sha1 = _NS_BYTES, _sha1
    digests = b"".join([sha1(ns + u.encode("utf-8", "surrogatepass")).digest() for u in user_ids])
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(n, 20)[:, :16].copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50  # version 5
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    chars = np.full((n, 36), _DASH, dtype=np.uint32)
    chars[:, _DIGIT_AT[0::2]] = _HEX[raw >> 4]
    chars[:, _DIGIT_AT[1::2]] = _HEX[raw & 15]
    ids: list[str] = chars.view("<U36").ravel().tolist()
    return ids


def payload(rid: str, text: str | None, metadata: Any) -> dict[str, Any]:
    """The stored payload: the user's id and text beside (never inside) their metadata."""
    if text is None:
        return {ID_KEY: rid, META_KEY: metadata}
    return {ID_KEY: rid, TEXT_KEY: text, META_KEY: metadata}


def payload_of(r: Record) -> dict[str, Any]:
    """:func:`payload` of a record."""
    return payload(r.id, r.text, r.metadata)


# -- specs ------------------------------------------------------------------------------------


def spec_to_json(spec: CollectionSpec, *, idf: bool) -> dict[str, Any]:
    return {
        "format": SPEC_FORMAT,
        "name": spec.name,
        "dimension": spec.dimension,
        "metric": spec.metric.value,
        "sparse": spec.sparse,
        "sparse_idf": idf,
        "indexed_fields": {k: v.value for k, v in spec.indexed_fields.items()},
        "index": {
            "kind": spec.index.kind.value,
            "m": spec.index.m,
            "ef_construct": spec.index.ef_construct,
            "nlist": spec.index.nlist,
        },
    }


def spec_from_json(data: Mapping[str, Any]) -> tuple[CollectionSpec, bool]:
    """The spec and whether the sparse vector uses Qdrant's IDF modifier."""
    try:
        if int(data.get("format", 0)) > SPEC_FORMAT:
            raise ConfigError(f"collection spec format {data['format']} is newer than this adapter")
        idx = data.get("index") or {}
        spec = CollectionSpec(
            name=str(data["name"]),
            dimension=int(data["dimension"]),
            metric=Metric(data["metric"]),
            sparse=bool(data["sparse"]),
            indexed_fields={str(k): FieldType(v) for k, v in dict(data.get("indexed_fields") or {}).items()},
            index=IndexParams(
                kind=IndexKind(idx.get("kind", "hnsw")),
                m=int(idx.get("m", 16)),
                ef_construct=int(idx.get("ef_construct", 128)),
                nlist=int(idx.get("nlist", 128)),
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"stored collection spec is unreadable: {exc}") from exc
    return spec, bool(data.get("sparse_idf", False))


def dump_spec(spec: CollectionSpec, *, idf: bool) -> str:
    return json.dumps(spec_to_json(spec, idf=idf), indent=2, sort_keys=True)


# -- searches ---------------------------------------------------------------------------------


def result_kind(spec: CollectionSpec, dense: bool, sparse: bool, fusion: Fusion) -> ScoreKind:
    if dense and sparse:
        return ScoreKind.RRF if fusion is Fusion.RRF else ScoreKind.DBSF
    if sparse:
        return ScoreKind.SPARSE_DOT
    return score_kind(spec.metric)


def prefetch_depth(k: int, prefetch_k: int | None) -> int:
    return prefetch_k if prefetch_k is not None else max(4 * k, 50)


def check_index_kind(spec: CollectionSpec) -> None:
    from vecctx.errors import UnsupportedFeatureError

    if spec.index.kind is IndexKind.IVF:
        raise UnsupportedFeatureError("Qdrant has no IVF index: use IndexKind.HNSW or IndexKind.FLAT")


def _relevance_fn(kind: ScoreKind, rrf_k: int) -> Any:
    if kind is ScoreKind.RRF:
        return lambda s: relevance_of(kind, s, n_lists=2, rrf_k=rrf_k)
    if kind is ScoreKind.DBSF:
        return lambda s: relevance_of(kind, s, n_lists=2)
    return lambda s: relevance_of(kind, s)


DEFAULT_PARAMS = SearchParams()


def fast_dense_args(
    dimension: int, vector: Any, k: Any, filter: Any, params: Any
) -> tuple[list[float], Filter | None, SearchParams] | None:
    """``validate_search``'s checks for the common dense query, without numpy ufuncs.

    Applies when ``vector`` is a 1-D float32 numpy array of the right size, ``k`` an int in
    range, ``filter`` a :class:`Filter` or None and ``params`` a valid :class:`SearchParams` or
    None; returns the vector as the list Qdrant takes. Anything else (and any NaN or infinity:
    ``sum`` of float32 values propagates them and cannot overflow a double) returns None, and the
    caller runs ``validate_search``, which raises the precise error. Measured here: between two
    engine calls (cold caches) ``validate_search`` took ~85 us a query, mostly numpy's ufunc
    machinery (``asarray``, ``isfinite().all()``); this takes a few.
    """
    if type(vector) is not np.ndarray or vector.dtype.char != "f" or vector.ndim != 1:
        return None
    if vector.shape[0] != dimension or type(k) is not int or not 1 <= k <= MAX_K:
        return None
    if filter is not None and not isinstance(filter, Filter):
        return None
    if params is None:
        p = DEFAULT_PARAMS
    elif type(params) is SearchParams and (params.ef is None or (type(params.ef) is int and params.ef >= 1)):
        p = params
    else:
        return None
    values: list[float] = vector.tolist()
    total = sum(values)
    if total - total != 0.0:
        return None
    return values, filter, p


def hit_builder(kind: ScoreKind) -> Callable[[Sequence[Any]], list[Hit] | None]:
    """A function making :class:`Hit` objects (id, text, metadata, relevance) from the scored
    points of a plain dense query, for the collection's score kind; it returns None when a
    score is NaN or infinite (the caller then validates the query, which is how a NaN or
    infinite query vector is caught without a pass over it before the search: Edge drops NaN
    scores and such a query scores every point non-finite).

    Each hit's slots are stored directly: ``Hit(...)`` would enter the dataclass ``__init__``
    through the C type call, a frame per hit. The Edge store inlines the same loop for cosine.
    """
    new = object.__new__
    cls = Hit
    rel = _relevance_fn(kind, 60)

    def hits(points: Sequence[Any]) -> list[Hit] | None:
        out = []
        for p in points:
            pl = p.payload
            s = p.score
            if s - s != 0.0:
                return None
            h = new(cls)
            h.id = pl[ID_KEY]
            h.score = s
            h.relevance = rel(s)
            h.kind = kind
            h.text = pl.get(TEXT_KEY)
            h.metadata = pl[META_KEY]
            h.vector = None
            h.sparse = None
            out.append(h)
        return out

    return hits


def to_hits(
    points: Sequence[Any],
    kind: ScoreKind,
    *,
    with_payload: bool,
    with_vectors: bool,
    rrf_k: int = 60,
) -> list[Hit]:
    """Hits from Qdrant scored points (Edge's or qdrant-client's: both have ``score``,
    ``payload`` and ``vector``). The user's id comes from the payload, never from the point
    id (a UUID object costs a microsecond to build)."""
    if with_payload and not with_vectors:
        # The hot path: relevance inlined per metric (same formulas as ``relevance_of``).
        if kind is ScoreKind.COSINE:
            out = []
            for p in points:
                pl = p.payload
                s = p.score
                r = (1.0 + s) * 0.5
                out.append(
                    Hit(pl[ID_KEY], s, r if 0.0 <= r <= 1.0 else min(1.0, max(0.0, r)), kind,
                        pl.get(TEXT_KEY), pl[META_KEY])
                )  # fmt: skip
            return out
        if kind is ScoreKind.EUCLIDEAN:
            return [
                Hit(pl[ID_KEY], s, 1.0 / (1.0 + s) if s > 0.0 else 1.0, kind, pl.get(TEXT_KEY), pl[META_KEY])
                for p in points
                for pl, s in ((p.payload, p.score),)
            ]
    rel = _relevance_fn(kind, rrf_k)
    out = []
    for p in points:
        pl = p.payload
        s = p.score
        h = Hit(pl[ID_KEY], s, rel(s), kind)
        if with_payload:
            h.text = pl.get(TEXT_KEY)
            h.metadata = pl.get(META_KEY, {})
        if with_vectors:
            h.vector, h.sparse = vectors_of(p.vector)
        out.append(h)
    return out


def vectors_of(vec: Any) -> tuple[Any, SparseVector | None]:
    """(dense float32 array or None, sparse vector or None) from a point's named vectors."""
    if not vec:
        return None, None
    dense = vec.get(DENSE)
    sp = vec.get(SPARSE)
    d = np.asarray(dense, dtype=np.float32) if dense is not None else None
    s = SparseVector(tuple(sp.indices), tuple(float(x) for x in sp.values)) if sp is not None else None
    return d, s


def to_record(p: Any, *, with_vectors: bool) -> Record:
    pl = p.payload or {}
    dense, sp = vectors_of(p.vector)
    return Record(
        id=pl[ID_KEY],
        vector=dense if with_vectors and dense is not None else np.zeros(0, dtype=np.float32),
        text=pl.get(TEXT_KEY),
        metadata=pl.get(META_KEY, {}),
        sparse=sp,
    )


def order_records(records: Iterable[Record], ids: Sequence[str]) -> list[Record]:
    by_id = {r.id: r for r in records}
    return [by_id[i] for i in ids if i in by_id]


__all__ = [
    "DENSE",
    "ID_KEY",
    "META_KEY",
    "NAMESPACE",
    "SPARSE",
    "TEXT_KEY",
    "dump_spec",
    "hit_builder",
    "order_records",
    "payload_of",
    "point_id",
    "point_ids",
    "prefetch_depth",
    "result_kind",
    "spec_from_json",
    "spec_to_json",
    "to_hits",
    "to_record",
    "vectors_of",
]
