"""The Weaviate driver's sans-I/O core, shared by the sync and the async driver: capabilities
by server version, the cached state of a class, request arguments and reply conversion."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from time import monotonic
from typing import Any

import numpy as np
from weaviate.classes.config import Reconfigure
from weaviate.classes.query import Filter as WFilter
from weaviate.classes.query import FilterReturn, HybridFusion, MetadataQuery
from weaviate.collections.classes.config import CollectionConfig, CollectionConfigSimple, DataType, Property
from weaviate.collections.classes.config import Tokenization as WTokenization
from weaviate.collections.classes.data import DataObject

from vecctx.contract.driver import CheckedSearch, Page
from vecctx.contract.errors import (
    BackendError,
    InvalidInputError,
    TransientBackendError,
    UnsupportedFeatureError,
)
from vecctx.contract.filters import ALL_OPS, Op
from vecctx.contract.store import Capabilities, Fusion, HybridSupport
from vecctx.contract.types import (
    CollectionSpec,
    FloatArray,
    Hit,
    Metric,
    Record,
    ScoreKind,
    VectorLike,
    make_hits,
    score_kind,
)
from vecctx.contract.validation import validate_k, validate_vector
from vecctx_weaviate.config import WeaviateConfig
from vecctx_weaviate.filters import Compiled
from vecctx_weaviate.schema import (
    ID_ONLY_PROPS,
    KIND_TYPES,
    PAYLOAD_PROPS,
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


class TextFusion(StrEnum):
    """How the driver's ``hybrid`` fuses its BM25 and vector rankings (Weaviate's names):
    ``ranked``, ``alpha / (60 + rank)`` (``ScoreKind.RRF``), or ``relative_score``, min-max
    normalised lists weighted and summed (``ScoreKind.CONVEX``). Neither is vecctx's DBSF."""

    RANKED = "ranked"
    RELATIVE_SCORE = "relative_score"

    @property
    def native(self) -> HybridFusion:
        return HybridFusion.RANKED if self is TextFusion.RANKED else HybridFusion.RELATIVE_SCORE

    @property
    def kind(self) -> ScoreKind:
        return ScoreKind.RRF if self is TextFusion.RANKED else ScoreKind.CONVEX


def text_fusion(value: TextFusion | Fusion | str) -> TextFusion:
    """``TextFusion``, or vecctx's ``Fusion.RRF`` (Weaviate's ranked fusion); DBSF raises."""
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


def hybrid_args(
    spec: CollectionSpec,
    query: str,
    vector: VectorLike | None,
    alpha: float,
    k: int,
    fusion: TextFusion,
    with_payload: bool,
    with_vectors: bool,
) -> dict[str, Any]:
    """The checked arguments of a ``query.hybrid`` call, but its filter."""
    if not isinstance(query, str):
        raise InvalidInputError(f"query must be a string, got {type(query).__name__}")
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not 0.0 <= float(alpha) <= 1.0:
        raise InvalidInputError(f"alpha must be a number in [0, 1], got {alpha!r}")
    if vector is None and alpha > 0.0:
        raise InvalidInputError("hybrid search with alpha > 0 needs the query vector (no vectorizer)")
    q = validate_vector(vector, spec.dimension) if vector is not None else None
    return {
        "query": query,
        "alpha": float(alpha),
        "limit": validate_k(k),
        "vector": q.tolist() if q is not None else None,
        "target_vector": VECTOR_NAME if q is not None else None,
        "query_properties": [PROP_TEXT],
        "fusion_type": fusion.native,
        "return_metadata": MetadataQuery(score=True),
        **returning(with_payload, with_vectors),
    }


def object_uuid(user_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, user_id)


def parse_version(text: str) -> tuple[int, int, int]:
    parts: list[int] = []
    for piece in text.split("-")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    parts += [0] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def capabilities(version: tuple[int, int, int]) -> Capabilities:
    """What a server of ``version`` can do (``ne``, ``nin`` and ``not`` need 1.33's ``Not``)."""
    ops = ALL_OPS if version >= NOT_VERSION else ALL_OPS - {Op.NE, Op.NIN, Op.NOT}
    return Capabilities(
        name="weaviate",
        filter_ops=frozenset(ops),
        hybrid=HybridSupport.NONE,
        approximate=True,
        async_native=True,  # both drivers: WeaviateAsyncClient is native
        persistent=True,
    )


def score_of(metric: Metric, distance: float) -> float:
    """The canonical score for Weaviate's distance (cosine ``1 - d``, dot ``-d``, l2-squared)."""
    if metric is Metric.COSINE:
        return 1.0 - distance
    if metric is Metric.DOT:
        return -distance
    return math.sqrt(max(distance, 0.0))


@dataclass(slots=True)
class CollState:
    """What a driver caches about one collection's class."""

    spec: CollectionSpec
    cls: str
    properties: set[str]
    ef: int | None
    flat_cutoff: int | None = None
    refreshed: float = field(default_factory=monotonic)


def state_from_config(config: CollectionConfig | CollectionConfigSimple) -> CollState | None:
    """The cached state for a class, or ``None`` when vecctx did not create it."""
    spec = spec_from_description(config.description, config.name)
    if spec is None:
        return None
    named = (config.vector_config or {}).get(VECTOR_NAME)
    index_config = named.vector_index_config if named is not None else None
    return CollState(
        spec=spec,
        cls=config.name,
        properties={p.name for p in config.properties},
        ef=getattr(index_config, "ef", None),
        flat_cutoff=getattr(index_config, "flat_search_cutoff", None),
    )


def new_property(name: str, kind: Kind) -> Property:
    """The typed metadata property ``name``, as the client adds it (``schema.typed_property``)."""
    return Property(
        name=name,
        data_type=DataType(KIND_TYPES[kind]),
        tokenization=WTokenization.FIELD if kind == "s" else None,
        index_filterable=True,
        index_searchable=False,
    )


def prepare_objects(
    records: Sequence[Record], matrix: FloatArray
) -> tuple[list[DataObject[dict[str, Any], None]], dict[str, Kind]]:
    """Weaviate objects for validated records and the typed properties they use."""
    objects: list[DataObject[dict[str, Any], None]] = []
    kinds: dict[str, Kind] = {}
    for record, row in zip(records, matrix.tolist(), strict=True):
        flat = flatten(record.metadata)
        kinds.update(flat.kinds)
        props = properties_for(record.id, record.text, record.metadata, flat)
        objects.append(DataObject(properties=props, uuid=object_uuid(record.id), vector={VECTOR_NAME: row}))
    return objects, kinds


def check_inserted(result: Any, chunk: Sequence[DataObject[dict[str, Any], None]], collection: str) -> None:
    """Raise ``BackendError`` naming the objects of a batch Weaviate rejected."""
    errors: Mapping[int, Any] = result.errors
    if not result.has_errors:
        return
    named = [
        f"{chunk[i].properties[PROP_ID] if 0 <= i < len(chunk) else '?'!r}: {getattr(e, 'message', e)}"
        for i, e in list(errors.items())[:3]
    ]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    raise BackendError(
        f"Weaviate rejected {len(errors)} of {len(chunk)} objects in {collection!r}: {'; '.join(named)}{more}"
    )


def ids_filter(user_ids: Sequence[str]) -> FilterReturn:
    return WFilter.by_id().contains_any([object_uuid(i) for i in user_ids])


def fetch_args(user_ids: Sequence[str], with_vectors: bool) -> dict[str, Any]:
    """A ``fetch_objects`` of the records with these ids (at most ``ID_CHUNK``)."""
    return {"filters": ids_filter(user_ids), "limit": len(user_ids), **returning(True, with_vectors)}


def match_all() -> FilterReturn:
    """A filter every vecctx object matches (each has a ``vecctx_id``)."""
    return WFilter.by_property(PROP_ID).like("*")


def native(where: Compiled) -> FilterReturn | None:
    """A compiled filter that is not ``False`` as the client takes it (``None``: all objects)."""
    return None if isinstance(where, bool) else where


def delete_targets(ids: Sequence[str] | None, where: Compiled | None) -> list[FilterReturn]:
    """What a delete removes: id filters (``ID_CHUNK`` ids each), then the compiled filter
    (``None``: none given; ``True``, from a real filter, matches everything)."""
    id_list = list(ids or ())
    targets = [ids_filter(id_list[i : i + ID_CHUNK]) for i in range(0, len(id_list), ID_CHUNK)]
    if where is not None and where is not False:
        targets.append(match_all() if where is True else where)
    return targets


def deleted_all(result: Any, collection: str) -> bool:
    """Whether a batch delete left nothing to delete (one stops at QUERY_MAXIMUM_RESULTS)."""
    if result.failed:
        raise BackendError(f"Weaviate failed to delete {result.failed} objects from {collection!r}")
    return bool(result.matches == 0 or result.successful == 0)


def returning(with_payload: bool, with_vectors: bool) -> dict[str, Any]:
    """The arguments of a query saying what it returns."""
    return {
        "include_vector": [VECTOR_NAME] if with_vectors else False,
        "return_properties": PAYLOAD_PROPS if with_payload else ID_ONLY_PROPS,
    }


def near_vector_args(query: CheckedSearch, where: Compiled) -> dict[str, Any]:
    assert query.vector is not None  # no sparse vectors: the front refused sparse searches
    return {
        "near_vector": query.vector.tolist(),
        "target_vector": VECTOR_NAME,
        "limit": query.k,
        "filters": native(where),
        "return_metadata": MetadataQuery(distance=True),
        **returning(query.with_payload, query.with_vectors),
    }


def ef_update(ef: int) -> Any:
    """The class update setting HNSW's ``ef`` (a collection-level setting in Weaviate)."""
    index = Reconfigure.VectorIndex.hnsw(ef=ef)
    return Reconfigure.Vectors.update(name=VECTOR_NAME, vector_index_config=index)


def page_args(where: Compiled, cursor: Any, limit: int, with_vectors: bool) -> dict[str, Any]:
    """One scroll page: without a filter the cursor API (``after``, for any size), with one
    offsets (which Weaviate caps at QUERY_MAXIMUM_RESULTS)."""
    at = {"after": cursor} if where is True else {"offset": cursor or 0, "filters": native(where)}
    return {"limit": limit, **at, **returning(True, with_vectors)}


def page_of(objects: Sequence[Any], args: dict[str, Any], with_vectors: bool) -> Page:
    records = [record_from(o, with_vectors=with_vectors) for o in objects]
    if len(objects) < args["limit"]:
        return Page(records)
    return Page(records, objects[-1].uuid if "after" in args else args["offset"] + args["limit"])


def indexed(shards: Sequence[Any]) -> bool:
    """Whether every shard has caught up with (possibly asynchronous) vector indexing."""
    return all(s.vector_queue_size == 0 and s.status in ("READY", "READONLY") for s in shards)


def grpc_down(config: WeaviateConfig) -> TransientBackendError:
    return TransientBackendError(
        f"Weaviate at {config.url} answered over REST but its gRPC endpoint "
        f"({config.grpc_host}:{config.grpc_port}) did not: check ?grpc_port="
    )


def check_flat_cutoff(state: CollState, matches: int) -> None:
    """Raise unless a filtered HNSW search matching ``matches`` objects is brute force: below
    ``flatSearchCutoff`` (Weaviate's documented flat path; see the README, "exact search")."""
    cutoff = state.flat_cutoff
    if cutoff is None or matches >= cutoff:
        raise UnsupportedFeatureError(
            f"exact search on {state.spec.name!r} would match {matches} objects, at or above the HNSW "
            f"flatSearchCutoff ({cutoff}): Weaviate would search the graph, not brute force. Use a "
            "narrower filter, raise flatSearchCutoff, or create the collection with IndexKind.FLAT"
        )


def _vector(obj: Any) -> FloatArray | None:
    vectors = getattr(obj, "vector", None)
    vec = vectors.get(VECTOR_NAME) if isinstance(vectors, Mapping) else None
    return np.asarray(vec, dtype=np.float32) if vec is not None else None


def user_id_of(obj: Any) -> str:
    uid = obj.properties.get(PROP_ID) if isinstance(obj.properties, Mapping) else None
    if type(uid) is not str:
        raise BackendError(f"Weaviate object {obj.uuid} has no {PROP_ID} property: not written by vecctx")
    return uid


def _hits(
    kind: ScoreKind, objects: Sequence[Any], scores: list[float], with_payload: bool, with_vectors: bool
) -> list[Hit]:
    return make_hits(
        kind,
        [user_id_of(o) for o in objects],
        scores,
        texts=[o.properties.get(PROP_TEXT) for o in objects] if with_payload else None,
        metadata=[metadata_from(o.properties.get(PROP_META)) for o in objects] if with_payload else None,
        vectors=[_vector(o) for o in objects] if with_vectors else None,
        # a hybrid's weights sum to 1, so one "list": RRF's best is 1/60 (rrf_k 59, ranks from 1)
        n_lists=1,
        rrf_k=59,
    )


def hits_from(objects: Sequence[Any], metric: Metric, *, with_payload: bool, with_vectors: bool) -> list[Hit]:
    """Hits for a vector search, in canonical scores, ties ordered by id (as the reference)."""
    if any(o.metadata.distance is None for o in objects):
        raise BackendError("Weaviate returned a hit without its distance")
    scored = [(score_of(metric, float(o.metadata.distance)), user_id_of(o), o) for o in objects]
    sign = 1.0 if metric is Metric.EUCLIDEAN else -1.0
    scored.sort(key=lambda t: (sign * t[0], t[1]))
    ordered = [o for _, _, o in scored]
    return _hits(score_kind(metric), ordered, [s for s, _, _ in scored], with_payload, with_vectors)


def fused_hits(
    objects: Sequence[Any], fusion: TextFusion, *, with_payload: bool, with_vectors: bool
) -> list[Hit]:
    """Hits for a hybrid search, in the server's order, with Weaviate's fused scores."""
    if any(o.metadata.score is None for o in objects):
        raise BackendError("Weaviate returned a hybrid hit without its score")
    scores = [float(o.metadata.score) for o in objects]
    return _hits(fusion.kind, objects, scores, with_payload, with_vectors)


def record_from(obj: Any, *, with_vectors: bool) -> Record:
    vec = _vector(obj) if with_vectors else None
    return Record(
        id=user_id_of(obj),
        vector=vec if vec is not None else np.zeros(0, dtype=np.float32),
        text=obj.properties.get(PROP_TEXT),
        metadata=metadata_from(obj.properties.get(PROP_META)),
    )
