"""Logic shared by the sync and async stores: no I/O here."""

from __future__ import annotations

import itertools
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from weaviate.classes.query import Filter as WFilter
from weaviate.classes.query import FilterReturn, HybridFusion
from weaviate.collections.classes.config import CollectionConfig, CollectionConfigSimple, DataType, Property
from weaviate.collections.classes.config import Tokenization as WTokenization
from weaviate.collections.classes.data import DataObject

from vecctx.errors import BackendError, InvalidInputError, UnsupportedFeatureError
from vecctx.filters import ALL_OPS, Op
from vecctx.store import Capabilities, Fusion, HybridSupport
from vecctx.types import (
    CollectionSpec,
    FloatArray,
    Hit,
    IndexKind,
    Metric,
    Record,
    ScoreKind,
    relevance_of,
    score_kind,
)
from vecctx_weaviate.schema import (
    INTERNAL_PROPS,
    PROP_ID,
    PROP_META,
    PROP_TEXT,
    VECTOR_NAME,
    Kind,
    flatten,
    metadata_from,
    properties_for,
    spec_from_description,
)

#: Namespace of the UUIDv5 object ids (``uuid5(NAMESPACE, user_id)``). Never change it:
#: existing data would no longer be found.
NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-5e8f-9a0b-1c2d3e4f5a6b")
#: The first server version with the ``Not`` filter operator.
NOT_VERSION = (1, 33, 0)
#: Ids per ``ContainsAny`` request (fetch and delete by id).
ID_CHUNK = 1000
#: Seconds between two schema re-reads triggered by a filter on an unknown property.
SCHEMA_REFRESH_SECONDS = 1.0
_NEGATIONS = frozenset({Op.NE, Op.NIN, Op.NOT})


class TextFusion(StrEnum):
    """How :meth:`WeaviateStore.hybrid` fuses its BM25 and vector rankings (Weaviate's names).

    ``ranked``: reciprocal rank fusion, ``alpha / (60 + rank)`` (hits have ``ScoreKind.RRF``).
    ``relative_score``: each list min-max normalised then ``alpha``-weighted and summed
    (a convex combination: ``ScoreKind.CONVEX``). Neither is vecctx's DBSF.
    """

    RANKED = "ranked"
    RELATIVE_SCORE = "relative_score"

    @property
    def native(self) -> HybridFusion:
        return HybridFusion.RANKED if self is TextFusion.RANKED else HybridFusion.RELATIVE_SCORE

    @property
    def kind(self) -> ScoreKind:
        return ScoreKind.RRF if self is TextFusion.RANKED else ScoreKind.CONVEX


def text_fusion(value: TextFusion | Fusion | str) -> TextFusion:
    """``TextFusion``, or vecctx's ``Fusion.RRF`` (Weaviate's ranked fusion). ``Fusion.DBSF`` has
    no Weaviate counterpart (``relative_score`` is min-max, not mean +/- 3 sigma): it raises."""
    if isinstance(value, Fusion):
        if value is Fusion.RRF:
            return TextFusion.RANKED
        raise UnsupportedFeatureError(
            "Weaviate has no DBSF fusion; TextFusion.RELATIVE_SCORE is its min-max (convex) fusion"
        )
    try:
        return TextFusion(value)
    except ValueError:
        raise InvalidInputError(f"unknown fusion {value!r}: use ranked or relative_score") from None


def object_uuid(user_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, user_id)


def parse_version(text: str) -> tuple[int, int, int]:
    parts: list[int] = []
    for piece in text.split("-")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


def capabilities(version: tuple[int, int, int], *, async_native: bool) -> Capabilities:
    ops = ALL_OPS if version >= NOT_VERSION else ALL_OPS - _NEGATIONS
    return Capabilities(
        name="weaviate",
        filter_ops=frozenset(ops),
        metrics=frozenset(Metric),
        sparse=False,
        hybrid=HybridSupport.NONE,
        fusions=frozenset(),
        exact_search=True,
        approximate=True,
        async_native=async_native,
        max_batch=None,
        persistent=True,
        nested_keys=True,
        list_values=True,
    )


def score_of(metric: Metric, distance: float) -> float:
    """The canonical score for Weaviate's distance: cosine ``1 - d``, dot ``-d``,
    Euclidean ``sqrt(d)`` (Weaviate's ``l2-squared``)."""
    if metric is Metric.COSINE:
        return 1.0 - distance
    if metric is Metric.DOT:
        return -distance
    return math.sqrt(max(distance, 0.0))


@dataclass(slots=True)
class CollState:
    """What the store caches about one collection."""

    spec: CollectionSpec
    cls: str
    properties: set[str]
    ef: int | None
    flat_cutoff: int | None = None
    refreshed: float = field(default_factory=time.monotonic)
    #: compiled filters by ``repr`` (not by equality: ``F(k) == 1`` equals ``F(k) == True``)
    compiled: dict[str, Any] = field(default_factory=dict)


def state_from_config(config: CollectionConfig | CollectionConfigSimple) -> CollState | None:
    """The cached state for a class, or ``None`` when vecctx did not create it."""
    spec = spec_from_description(config.description, config.name)
    if spec is None:
        return None
    ef: int | None = None
    cutoff: int | None = None
    vectors = config.vector_config or {}
    named = vectors.get(VECTOR_NAME)
    if named is not None:
        index_config = named.vector_index_config
        ef = getattr(index_config, "ef", None)
        cutoff = getattr(index_config, "flat_search_cutoff", None)
    return CollState(
        spec=spec,
        cls=config.name,
        properties={p.name for p in config.properties},
        ef=ef,
        flat_cutoff=cutoff,
    )


def new_property(name: str, kind: Kind) -> Property:
    """The typed metadata property ``name`` (see :mod:`vecctx_weaviate.schema`)."""
    if kind == "s":
        return Property(
            name=name,
            data_type=DataType.TEXT_ARRAY,
            tokenization=WTokenization.FIELD,
            index_filterable=True,
            index_searchable=False,
        )
    return Property(
        name=name,
        data_type=DataType.NUMBER_ARRAY if kind == "n" else DataType.BOOL_ARRAY,
        index_filterable=True,
        index_searchable=False,
    )


def prepare_objects(
    records: Sequence[Record], matrix: FloatArray
) -> tuple[list[DataObject[dict[str, Any], None]], dict[str, Kind]]:
    """Weaviate objects for validated records and the typed properties they use."""
    objects: list[DataObject[dict[str, Any], None]] = []
    kinds: dict[str, Kind] = {}
    rows = matrix.tolist()
    for record, row in zip(records, rows, strict=True):
        flat = flatten(record.metadata)
        kinds.update(flat.kinds)
        objects.append(
            DataObject(
                properties=properties_for(record.id, record.text, record.metadata, flat),
                uuid=object_uuid(record.id),
                vector={VECTOR_NAME: row},
            )
        )
    return objects, kinds


def batch_errors(errors: Mapping[int, Any], objects: Sequence[DataObject[dict[str, Any], None]]) -> str:
    parts = []
    for index, err in list(errors.items())[:3]:
        message = getattr(err, "message", str(err))
        uid = objects[index].properties[PROP_ID] if 0 <= index < len(objects) else "?"
        parts.append(f"{uid!r}: {message}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def ids_filter(user_ids: Sequence[str]) -> FilterReturn:
    return WFilter.by_id().contains_any([object_uuid(i) for i in user_ids])


def combine_or(parts: Sequence[FilterReturn | bool]) -> FilterReturn | bool:
    if any(p is True for p in parts):
        return True
    live = [p for p in parts if not isinstance(p, bool)]
    if not live:
        return False
    return live[0] if len(live) == 1 else WFilter.any_of(live)


def needs_flat_search(state: CollState, exact: bool) -> bool:
    """Whether an exact search must be steered onto Weaviate's flat (brute-force) path.

    A ``flat`` index is always exact. An HNSW index has no per-query "exact" switch, but
    Weaviate documents ``flatSearchCutoff``: a *filtered* vector search whose filter matches
    fewer objects than the cutoff (40,000 by default) bypasses HNSW and scans the matches.
    So ``exact=True`` on HNSW counts the matches, adds a match-all filter when there is none,
    and raises ``UnsupportedFeatureError`` (before searching) when the matches reach the cutoff.
    """
    return exact and state.spec.index.kind is IndexKind.HNSW


def check_flat_cutoff(state: CollState, matches: int) -> None:
    cutoff = state.flat_cutoff
    if cutoff is None or matches >= cutoff:
        raise UnsupportedFeatureError(
            f"exact search on {state.spec.name!r} would match {matches} objects, at or above the HNSW "
            f"flatSearchCutoff ({cutoff}): Weaviate would search the graph, not brute force. Use a "
            "narrower filter, raise flatSearchCutoff, or create the collection with IndexKind.FLAT"
        )


def match_all() -> FilterReturn:
    """A filter every vecctx object matches (each has a ``vecctx_id``)."""
    return WFilter.by_property(PROP_ID).like("*")


def wanted_ef(state: CollState, ef: int | None) -> int | None:
    """The ``ef`` to set on the collection before searching, or ``None`` to leave it."""
    if ef is None or state.spec.index.kind is not IndexKind.HNSW or state.ef == ef:
        return None
    return ef


def _vector(obj: Any) -> FloatArray | None:
    vectors = getattr(obj, "vector", None)
    if not isinstance(vectors, Mapping):
        return None
    vec = vectors.get(VECTOR_NAME)
    if vec is None:
        return None
    out: FloatArray = np.asarray(vec, dtype=np.float32)
    return out


def user_id_of(obj: Any) -> str:
    props = obj.properties
    uid = props.get(PROP_ID) if type(props) is dict or isinstance(props, Mapping) else None
    if type(uid) is not str:
        raise BackendError(f"Weaviate object {obj.uuid} has no {PROP_ID} property: not written by vecctx")
    return uid


def hits_from(objects: Sequence[Any], metric: Metric, *, with_payload: bool, with_vectors: bool) -> list[Hit]:
    """Hits for a vector search's objects, in canonical scores, ties ordered by id."""
    kind = score_kind(metric)
    out: list[Hit] = []
    for obj in objects:
        distance = obj.metadata.distance
        if distance is None:
            raise BackendError("Weaviate returned a hit without its distance")
        score = score_of(metric, float(distance))
        props = obj.properties
        out.append(
            Hit(
                id=user_id_of(obj),
                score=score,
                relevance=relevance_of(kind, score),
                kind=kind,
                text=props.get(PROP_TEXT) if with_payload else None,
                metadata=metadata_from(props.get(PROP_META)) if with_payload else None,
                vector=_vector(obj) if with_vectors else None,
            )
        )
    return sort_hits(out)


def fused_hit_from(obj: Any, fusion: TextFusion, *, with_payload: bool, with_vectors: bool) -> Hit:
    raw = obj.metadata.score
    if raw is None:
        raise BackendError("Weaviate returned a hybrid hit without its score")
    score = float(raw)
    kind = fusion.kind
    # weights sum to 1, so one "list": RRF's best is 1/60 (rrf_k 59 with ranks from 1)
    relevance = relevance_of(kind, score, n_lists=1, rrf_k=59)
    props = obj.properties
    return Hit(
        id=user_id_of(obj),
        score=score,
        relevance=relevance,
        kind=kind,
        text=props.get(PROP_TEXT) if with_payload else None,
        metadata=metadata_from(props.get(PROP_META)) if with_payload else None,
        vector=_vector(obj) if with_vectors else None,
    )


def sort_hits(hits: list[Hit]) -> list[Hit]:
    """Weaviate orders by distance; break exact ties by id as the reference store does."""
    if all(a.score != b.score for a, b in itertools.pairwise(hits)):
        return hits  # no ties: keep the server's order
    if hits[0].kind is ScoreKind.EUCLIDEAN:
        return sorted(hits, key=lambda h: (h.score, h.id))
    return sorted(hits, key=lambda h: (-h.score, h.id))


def record_from(obj: Any, *, with_vectors: bool) -> Record:
    props = obj.properties
    vec = _vector(obj) if with_vectors else None
    return Record(
        id=user_id_of(obj),
        vector=vec if vec is not None else np.zeros(0, dtype=np.float32),
        text=props.get(PROP_TEXT),
        metadata=metadata_from(props.get(PROP_META)),
    )


def check_alpha(alpha: float) -> float:
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not 0.0 <= float(alpha) <= 1.0:
        raise InvalidInputError(f"alpha must be a number in [0, 1], got {alpha!r}")
    return float(alpha)


def check_query_text(query: str) -> str:
    if not isinstance(query, str):
        raise InvalidInputError(f"query must be a string, got {type(query).__name__}")
    return query


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


__all__ = [
    "ID_CHUNK",
    "INTERNAL_PROPS",
    "NAMESPACE",
    "NOT_VERSION",
    "SCHEMA_REFRESH_SECONDS",
    "CollState",
    "TextFusion",
    "batch_errors",
    "capabilities",
    "check_alpha",
    "check_flat_cutoff",
    "check_query_text",
    "chunks",
    "combine_or",
    "fused_hit_from",
    "hits_from",
    "ids_filter",
    "match_all",
    "needs_flat_search",
    "new_property",
    "object_uuid",
    "parse_version",
    "prepare_objects",
    "record_from",
    "score_of",
    "text_fusion",
    "sort_hits",
    "state_from_config",
    "user_id_of",
    "wanted_ef",
]
