"""Types, validation, registry and fusion."""

import math
import subprocess
import sys

import numpy as np
import pytest

import vecctx
from vecctx import (
    CollectionSpec,
    ConfigError,
    Hit,
    MemoryStore,
    Metric,
    Record,
    ScoreKind,
    SparseVector,
    connect,
    register,
    relevance_of,
    rrf,
)
from vecctx.contract.store import Capabilities, VectorStore
from vecctx.registry import default_url
from vecctx.retrieval.fusion import convex, dbsf


def test_import_is_light() -> None:
    code = (
        "import sys, vecctx; "
        "heavy = [m for m in ('qdrant_edge','qdrant_client','pymilvus','chromadb','weaviate',"
        "'torch','sentence_transformers','pytest') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api_is_reexported() -> None:
    for name in vecctx.__all__:
        assert hasattr(vecctx, name), name


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "", "dimension": 3}, "non-empty"),
        ({"name": "9lives", "dimension": 3}, "start with a letter"),
        ({"name": "a b", "dimension": 3}, "letters"),
        ({"name": "ok", "dimension": 0}, "positive"),
        ({"name": "ok", "dimension": True}, "positive"),
        ({"name": "ok", "dimension": 3, "metric": "manhattan"}, "manhattan"),
    ],
)
def test_collection_spec_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises((ConfigError, ValueError), match=match):
        CollectionSpec(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [ScoreKind.COSINE, ScoreKind.DOT, ScoreKind.SPARSE_DOT])
def test_relevance_is_monotone_and_bounded(kind: ScoreKind) -> None:
    scores = [-50.0, -1.0, -0.5, 0.0, 0.1, 0.5, 1.0, 3.0, 50.0]
    if kind is ScoreKind.COSINE:
        scores = [-1.0, -0.5, 0.0, 0.5, 1.0]
    rel = [relevance_of(kind, s) for s in scores]
    assert all(0.0 <= r <= 1.0 for r in rel)
    assert rel == sorted(rel)


def test_euclidean_relevance_decreases_with_distance() -> None:
    rel = [relevance_of(ScoreKind.EUCLIDEAN, d) for d in [0.0, 0.5, 1.0, 10.0]]
    assert rel[0] == 1.0
    assert rel == sorted(rel, reverse=True)


def test_fusion_scores_are_marked_and_bounded() -> None:
    a = [Hit(id=i, score=s, relevance=0.0, kind=ScoreKind.COSINE) for i, s in [("x", 0.9), ("y", 0.8)]]
    b = [Hit(id=i, score=s, relevance=0.0, kind=ScoreKind.SPARSE_DOT) for i, s in [("y", 9), ("z", 3)]]
    fused = rrf([a, b], k=3)
    assert [h.id for h in fused] == ["y", "x", "z"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert all(h.is_fusion and 0 <= h.relevance <= 1 for h in fused)
    top = rrf([a, a], k=1)[0]
    assert top.relevance == pytest.approx(1.0)
    assert dbsf([a, b], k=3)[0].kind is ScoreKind.DBSF
    c = convex([a, b], weights=[0.5, 0.5], k=3)
    assert {h.id: round(h.score, 6) for h in c} == {"x": 0.5, "y": 0.5, "z": 0.0}


def test_euclidean_fusion_treats_lower_as_better() -> None:
    e = [
        Hit(id=i, score=s, relevance=0.0, kind=ScoreKind.EUCLIDEAN) for i, s in [("near", 0.1), ("far", 5.0)]
    ]
    assert convex([e], weights=[1.0], k=2)[0].id == "near"


def test_sparse_vector_helpers() -> None:
    sv = SparseVector.from_dict({5: 1.0, 2: 2.0})
    assert sv.indices == (2, 5)
    assert sv.dot(SparseVector((5,), (3.0,))) == 3.0


def test_registry_unknown_scheme_names_the_distribution() -> None:
    with pytest.raises(ConfigError, match="pip install vecctx-weaviate"):
        connect("weaviate://nowhere:1") if "weaviate" not in _installed() else _raise_cfg()
    with pytest.raises(ConfigError, match="no adapter"):
        connect("nosuch://x")
    with pytest.raises(ConfigError, match="no scheme"):
        connect("just-a-path")


def _installed() -> set[str]:
    from importlib.metadata import entry_points

    return {ep.name for ep in entry_points(group="vecctx.adapters")}


def _raise_cfg() -> None:
    raise ConfigError("pip install vecctx-weaviate (installed here; nothing to check)")


def test_registry_runtime_registration() -> None:
    made: list[str] = []

    def factory(url: str) -> MemoryStore:
        made.append(url)
        return MemoryStore()

    register("mine", factory)
    store = connect("mine://anything")
    assert made == ["mine://anything"]
    assert isinstance(store, VectorStore)
    assert isinstance(connect("memory://"), MemoryStore)


def test_default_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VECCTX_STORE", raising=False)
    assert default_url().startswith("qdrant:///") and default_url().endswith(".vecctx/qdrant")
    monkeypatch.setenv("VECCTX_STORE", "memory://")
    assert isinstance(connect(), MemoryStore)


def test_capabilities_reject_ops_before_io() -> None:
    from vecctx import F, UnsupportedFeatureError
    from vecctx.contract.filters import Op

    caps = Capabilities(name="tiny", filter_ops=frozenset({Op.EQ, Op.AND}))
    caps.require_ops((F("a") == 1) & (F("b") == 2))
    with pytest.raises(UnsupportedFeatureError, match="tiny cannot compile filter operator"):
        caps.require_ops(F("a").exists())
    row = caps.as_row()
    assert row["backend"] == "tiny" and row["filter ops"] == "$and, $eq"


def test_memory_store_ties_are_deterministic() -> None:
    s = MemoryStore()
    s.create_collection(CollectionSpec(name="t", dimension=2, metric=Metric.DOT))
    s.upsert("t", [Record(id=i, vector=[1.0, 0.0]) for i in ["b", "c", "a", "d"]])
    assert [h.id for h in s.search("t", vector=[1.0, 0.0], k=3)] == ["a", "b", "c"]


def test_validation_rejects_single_record_and_bad_sparse() -> None:
    from vecctx import InvalidInputError

    s = MemoryStore()
    s.create_collection(CollectionSpec(name="t", dimension=2, sparse=True))
    with pytest.raises(InvalidInputError, match="sequence"):
        s.upsert("t", Record(id="a", vector=[1.0, 0.0]))  # type: ignore[arg-type]
    for sv in [
        SparseVector((1, 1), (1.0, 2.0)),
        SparseVector((-1,), (1.0,)),
        SparseVector((1,), (math.inf,)),
        SparseVector((1, 2), (1.0,)),
    ]:
        with pytest.raises(InvalidInputError):
            s.upsert("t", [Record(id="a", vector=[1.0, 0.0], sparse=sv)])
    assert s.count("t") == 0
    with pytest.raises(InvalidInputError):
        s.get("t", "abc")
    with pytest.raises(InvalidInputError, match="needs a dense vector"):
        s.search("t")


def test_memory_store_returns_copies() -> None:
    s = MemoryStore()
    s.create_collection(CollectionSpec(name="t", dimension=2))
    meta = {"a": {"b": 1}}
    s.upsert("t", [Record(id="x", vector=np.ones(2), metadata=meta)])
    meta["a"]["b"] = 2
    got = s.get("t", ["x"])[0]
    assert got.metadata == {"a": {"b": 1}}
    got.metadata["a"]["b"] = 3  # type: ignore[index]
    assert s.get("t", ["x"])[0].metadata == {"a": {"b": 1}}
