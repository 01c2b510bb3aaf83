"""Typed records, hits and collection specs shared by every backend."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float32]
VectorLike: TypeAlias = Sequence[float] | npt.NDArray[Any]
MetadataValue: TypeAlias = Any
Metadata: TypeAlias = Mapping[str, Any]


class Metric(StrEnum):
    """Distance of a collection's dense vectors."""

    COSINE = "cosine"
    DOT = "dot"
    EUCLIDEAN = "euclidean"


class ScoreKind(StrEnum):
    """What ``Hit.score`` measures.

    Dense scores are expressed in the metric's canonical unit on every backend: cosine
    similarity, dot product, or Euclidean distance (not squared; lower is closer).
    """

    COSINE = "cosine"
    DOT = "dot"
    EUCLIDEAN = "euclidean"
    SPARSE_DOT = "sparse_dot"
    RRF = "rrf"
    DBSF = "dbsf"
    CONVEX = "convex"
    #: Set by rerankers; the score is already a relevance in [0, 1].
    RERANK = "rerank"

    @property
    def is_fusion(self) -> bool:
        return self in (ScoreKind.RRF, ScoreKind.DBSF, ScoreKind.CONVEX)


class FieldType(StrEnum):
    """Type of a metadata field declared filterable (a payload index where supported)."""

    KEYWORD = "keyword"
    INTEGER = "integer"
    FLOAT = "float"
    BOOL = "bool"
    #: Timezone-aware datetimes (or ISO 8601 strings), stored as integer microseconds since
    #: 1970 UTC and read back as aware UTC datetimes (see :mod:`vecctx.contract.dates`).
    DATETIME = "datetime"


class IndexKind(StrEnum):
    HNSW = "hnsw"
    FLAT = "flat"
    IVF = "ivf"


@dataclass(frozen=True, slots=True)
class IndexParams:
    """Dense index settings. Backends use what applies to them and ignore nothing silently:
    an index kind a backend cannot build raises ``UnsupportedFeatureError``."""

    kind: IndexKind = IndexKind.HNSW
    m: int = 16
    ef_construct: int = 128
    nlist: int = 128

    def __post_init__(self) -> None:
        from vecctx.contract.errors import ConfigError

        try:
            object.__setattr__(self, "kind", IndexKind(self.kind))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        for key in ("m", "ef_construct", "nlist"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
                raise ConfigError(f"index {key} must be an int in [1, 2**31), got {value!r}")


@dataclass(frozen=True, slots=True)
class SparseVector:
    """A sparse vector: parallel lists of term ids and weights."""

    indices: tuple[int, ...]
    values: tuple[float, ...]

    @classmethod
    def from_dict(cls, weights: Mapping[int, float]) -> SparseVector:
        items = sorted(weights.items())
        return cls(tuple(int(i) for i, _ in items), tuple(float(v) for _, v in items))

    def to_dict(self) -> dict[int, float]:
        return dict(zip(self.indices, self.values, strict=True))

    def dot(self, other: SparseVector) -> float:
        mine = self.to_dict()
        return float(sum(mine.get(i, 0.0) * v for i, v in zip(other.indices, other.values, strict=True)))


@dataclass(slots=True)
class Record:
    """A stored item. ``id`` is the user's string id; adapters map it as the backend needs
    and always return the user's id."""

    id: str
    vector: VectorLike
    text: str | None = None
    metadata: Metadata = field(default_factory=dict)
    sparse: SparseVector | None = None


@dataclass(slots=True)
class Hit:
    """One search result.

    ``score`` is the raw score in the unit named by ``kind`` (see :class:`ScoreKind`);
    ``relevance`` is in [0, 1], higher is better, and monotone with ``score`` for a given kind.
    ``text``, ``metadata`` and ``vector`` are filled when requested.
    """

    id: str
    score: float
    relevance: float
    kind: ScoreKind
    text: str | None = None
    metadata: Metadata | None = None
    vector: FloatArray | None = None
    sparse: SparseVector | None = None

    @property
    def is_fusion(self) -> bool:
        return self.kind.is_fusion


#: Longest collection name (every backend's own name for it then fits its limits).
MAX_COLLECTION_NAME = 100
_COLLECTION_NAME = re.compile(rf"[A-Za-z][A-Za-z0-9_-]{{0,{MAX_COLLECTION_NAME - 1}}}")


def is_collection_name(name: object) -> bool:
    """The one rule for collection names, the same on every backend: an ASCII letter, then at
    most ``MAX_COLLECTION_NAME - 1`` ASCII letters, digits, ``_`` or ``-``. Each driver maps
    such a name to one its engine accepts (``a`` on Chroma, ``my-docs`` on Milvus, ...)."""
    return isinstance(name, str) and _COLLECTION_NAME.fullmatch(name) is not None


def is_text(value: str) -> bool:
    """Whether ``value`` is text every backend can store: no lone surrogate (a string that
    cannot be encoded as UTF-8)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    """What a collection holds. ``indexed_fields`` are the metadata keys (dotted paths)
    that filters will use; backends with payload indexes build them."""

    name: str
    dimension: int
    metric: Metric = Metric.COSINE
    sparse: bool = False
    indexed_fields: Mapping[str, FieldType] = field(default_factory=dict)
    index: IndexParams = field(default_factory=IndexParams)

    def __post_init__(self) -> None:
        from vecctx.contract.errors import ConfigError

        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"collection name must be a non-empty string, got {self.name!r}")
        if not is_collection_name(self.name):
            raise ConfigError(
                f"collection name {self.name!r} must start with a letter and hold only letters, digits, "
                f"'_' and '-' (ASCII), at most {MAX_COLLECTION_NAME} characters"
            )
        if not isinstance(self.dimension, int) or isinstance(self.dimension, bool) or self.dimension <= 0:
            raise ConfigError(f"dimension must be a positive int, got {self.dimension!r}")
        if not isinstance(self.sparse, bool):
            raise ConfigError(f"sparse must be a bool, got {self.sparse!r}")
        if not isinstance(self.index, IndexParams):
            raise ConfigError(f"index must be an IndexParams, got {type(self.index).__name__}")
        if not isinstance(self.indexed_fields, Mapping):
            raise ConfigError(f"indexed_fields must be a mapping, got {type(self.indexed_fields).__name__}")
        try:
            object.__setattr__(self, "metric", Metric(self.metric))
            fields = {k: FieldType(v) for k, v in self.indexed_fields.items()}
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"collection {self.name!r}: {exc}") from None
        for key in fields:
            if not isinstance(key, str) or not key or not is_text(key):
                raise ConfigError(
                    f"collection {self.name!r}: indexed field {key!r} must be a non-empty string"
                )
        object.__setattr__(self, "indexed_fields", fields)

    def compatible_with(self, other: CollectionSpec) -> bool:
        return (
            self.name == other.name
            and self.dimension == other.dimension
            and self.metric == other.metric
            and self.sparse == other.sparse
        )


def spec_data(spec: CollectionSpec) -> dict[str, Any]:
    """``spec`` as JSON data (its enums as their values): the form every driver stores, beside
    its own keys, to read the spec back with :func:`spec_from_data`."""
    index = spec.index
    return {
        "name": spec.name,
        "dimension": spec.dimension,
        "metric": spec.metric.value,
        "sparse": spec.sparse,
        "indexed_fields": {k: FieldType(v).value for k, v in spec.indexed_fields.items()},
        "index": {
            "kind": index.kind.value,
            "m": index.m,
            "ef_construct": index.ef_construct,
            "nlist": index.nlist,
        },
    }


def spec_from_data(data: Mapping[str, Any]) -> CollectionSpec:
    """The spec :func:`spec_data` stored (other keys, a driver's own, are ignored); a
    :class:`~vecctx.contract.errors.ConfigError` saying what is wrong when it is unreadable."""
    from vecctx.contract.errors import ConfigError

    try:
        index = dict(data.get("index") or {})
        return CollectionSpec(
            name=str(data["name"]),
            dimension=int(data["dimension"]),
            metric=Metric(data.get("metric", "cosine")),
            sparse=bool(data.get("sparse", False)),
            indexed_fields=dict(data.get("indexed_fields") or {}),
            index=IndexParams(kind=IndexKind(index.pop("kind", "hnsw")), **index),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"unreadable collection spec: {type(exc).__name__}: {exc}") from None


def relevance_of(kind: ScoreKind, score: float, *, n_lists: int = 2, rrf_k: int = 60) -> float:
    """Map a raw score to [0, 1], higher is better, monotone in ``score`` per kind."""
    r = _relevance_fn(kind, n_lists, rrf_k)(score)
    return 1.0 if r > 1.0 else (0.0 if r < 0.0 else r)


def _relevance_fn(kind: ScoreKind, n_lists: int, rrf_k: int) -> Callable[[float], float]:
    """The function :func:`relevance_of` applies for ``kind`` before clamping to [0, 1]."""
    fn = _RELEVANCE.get(kind)
    if fn is None:
        # RRF: a rank-1 hit in every list scores n_lists / (rrf_k + 1). DBSF and CONVEX: sums
        # of per-list scores normalised to [0, 1].
        scale = (rrf_k + 1) / n_lists if kind is ScoreKind.RRF else 1.0 / n_lists
        fn = partial(operator.mul, scale)
    return fn


def _sparse_rel(s: float) -> float:
    s = s if s > 0.0 else 0.0
    return s / (1.0 + s)


# A dict dispatch: this runs once per hit on every search, so it is kept lean.
_RELEVANCE: dict[ScoreKind, Callable[[float], float]] = {
    ScoreKind.COSINE: lambda s: (1.0 + s) / 2.0,
    ScoreKind.DOT: lambda s: _logistic(s),
    ScoreKind.EUCLIDEAN: lambda s: 1.0 / (1.0 + (s if s > 0.0 else 0.0)),
    ScoreKind.SPARSE_DOT: _sparse_rel,
    ScoreKind.RERANK: lambda s: s,
}


def _logistic(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def relevance_array(kind: ScoreKind, scores: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Vectorised :func:`relevance_of` for dense kinds."""
    s = np.asarray(scores, dtype=np.float64)
    if kind is ScoreKind.COSINE:
        r = (1.0 + s) / 2.0
    elif kind is ScoreKind.DOT:
        r = 0.5 * (1.0 + np.tanh(0.5 * s))
    elif kind is ScoreKind.EUCLIDEAN:
        r = 1.0 / (1.0 + np.maximum(s, 0.0))
    elif kind is ScoreKind.SPARSE_DOT:
        p = np.maximum(s, 0.0)
        r = p / (1.0 + p)
    else:
        raise ValueError(f"relevance_array does not handle {kind}")
    return np.clip(r, 0.0, 1.0)


def make_hits(
    kind: ScoreKind,
    ids: Sequence[str],
    scores: Sequence[float],
    *,
    texts: Sequence[str | None] | None = None,
    metadata: Sequence[Metadata | None] | None = None,
    vectors: Sequence[FloatArray | None] | None = None,
    sparse: Sequence[SparseVector | None] | None = None,
    rrf_k: int = 60,
    n_lists: int = 2,
) -> list[Hit]:
    """The one way a backend turns a ranked list into :class:`Hit` objects: relevance is
    computed here (:func:`relevance_of`) and nowhere else. The optional columns are as long
    as ``ids``; a column left out is ``None`` in every hit."""
    n = len(ids)
    none: list[None] = [None] * n
    rel = _relevance_fn(kind, n_lists, rrf_k)
    return [
        Hit(i, s, 1.0 if r > 1.0 else (0.0 if r < 0.0 else r), kind, t, m, v, sp)
        for i, s, r, t, m, v, sp in zip(
            ids,
            scores,
            map(rel, scores),
            texts if texts is not None else none,
            metadata if metadata is not None else none,
            vectors if vectors is not None else none,
            sparse if sparse is not None else none,
            strict=True,
        )
    ]


def score_kind(metric: Metric) -> ScoreKind:
    return _SCORE_KINDS[metric]


_SCORE_KINDS = {m: ScoreKind(m.value) for m in Metric}


__all__ = [
    "CollectionSpec",
    "FieldType",
    "FloatArray",
    "Hit",
    "IndexKind",
    "IndexParams",
    "MAX_COLLECTION_NAME",
    "Metadata",
    "Metric",
    "Record",
    "ScoreKind",
    "SparseVector",
    "VectorLike",
    "is_collection_name",
    "is_text",
    "make_hits",
    "relevance_array",
    "relevance_of",
    "score_kind",
    "spec_data",
    "spec_from_data",
]
