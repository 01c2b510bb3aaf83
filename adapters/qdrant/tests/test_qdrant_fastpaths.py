"""The adapter's hot-path helpers equal the plain definitions they replace."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vecctx_qdrant import open_store
from vecctx_qdrant._common import NAMESPACE, hit_builder, point_id, point_ids

from vecctx import F, Record, RecordBatch
from vecctx.errors import InvalidInputError
from vecctx.store import SearchParams
from vecctx.testing import lowrank, lowrank_queries
from vecctx.types import CollectionSpec, FieldType, Hit, Metric, ScoreKind, relevance_of


def _random_id(rng: random.Random) -> str:
    alphabet = "abcXYZ019-_./ éß日本語🙂"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300)))


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 100, 1000])
def test_point_ids_equal_uuid5(n: int) -> None:
    rng = random.Random(n)
    ids = [_random_id(rng) for _ in range(n)]
    got = point_ids(ids)
    assert got == [str(uuid.uuid5(NAMESPACE, i)) for i in ids]
    assert got == [point_id(i) for i in ids]


def test_point_ids_of_lone_surrogates_equal_point_id() -> None:
    # uuid.uuid5 cannot encode a lone surrogate; point_id hashes it with surrogatepass, and the
    # batch form must agree with it (so a record that fails later fails the same way).
    ids = [f"x\ud800{i}" for i in range(20)]
    assert point_ids(ids) == [point_id(i) for i in ids]
    assert len(set(point_ids(ids))) == 20


@dataclass
class _Point:
    score: float
    payload: dict[str, Any] = field(default_factory=dict)


def _points(scores: list[float], with_text: bool = True) -> list[_Point]:
    out = []
    for i, s in enumerate(scores):
        pl: dict[str, Any] = {"id": f"d{i}", "meta": {"i": i}}
        if with_text:
            pl["text"] = f"text {i}"
        out.append(_Point(s, pl))
    return out


@pytest.mark.parametrize("kind", [ScoreKind.COSINE, ScoreKind.EUCLIDEAN, ScoreKind.DOT])
@pytest.mark.parametrize("with_text", [True, False])
def test_hit_builder_equals_hit(kind: ScoreKind, with_text: bool) -> None:
    rng = random.Random(7)
    lo, hi = {ScoreKind.COSINE: (-1.0, 1.0), ScoreKind.EUCLIDEAN: (0.0, 40.0), ScoreKind.DOT: (-30.0, 30.0)}[
        kind
    ]
    scores = [rng.uniform(lo, hi) for _ in range(50)] + [lo, hi, 0.0]
    if kind is ScoreKind.COSINE:
        scores += [1.0000001, -1.0000001]  # rounding just outside [-1, 1] is clamped
    pts = _points(scores, with_text)
    got = hit_builder(kind)(pts)
    assert got is not None
    want = [
        Hit(
            p.payload["id"],
            p.score,
            relevance_of(kind, p.score),
            kind,
            p.payload.get("text"),
            p.payload["meta"],
        )
        for p in pts
    ]
    assert got == want
    assert all(type(h) is Hit for h in got)
    assert hit_builder(kind)([]) == []


@pytest.mark.parametrize("kind", [ScoreKind.COSINE, ScoreKind.EUCLIDEAN, ScoreKind.DOT])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_hit_builder_refuses_non_finite_scores(kind: ScoreKind, bad: float) -> None:
    assert hit_builder(kind)(_points([0.5, bad, 0.2])) is None
    assert hit_builder(kind)(_points([bad])) is None


@pytest.mark.parametrize("metric", list(Metric))
def test_express_lane_equals_general_path(tmp_path: Path, metric: Metric) -> None:
    """``search(vector=...)`` (the express lane, inlined for cosine) returns exactly what the
    general path returns for the same engine request (``params=SearchParams()`` takes it)."""
    store = open_store(f"qdrant://{tmp_path}")
    try:
        spec = CollectionSpec(name="c", dimension=16, metric=metric, indexed_fields={"g": FieldType.INTEGER})
        store.create_collection(spec)
        vecs = lowrank(300, 16, seed=3)
        store.upsert(
            "c",
            [Record(f"r{i}", vecs[i], None if i % 5 == 0 else f"t{i}", {"g": i % 3}) for i in range(300)],
        )
        for q in lowrank_queries(5, 16, seed=3):
            for flt in (None, F("g") == 1):
                fast = store.search("c", vector=q, k=7, filter=flt)
                general = store.search("c", vector=q, k=7, filter=flt, params=SearchParams())
                assert fast == general
                assert len(fast) == 7 and all(type(h) is Hit for h in fast)
        assert store.search("c", vector=np.ones(16, dtype=np.float32), k=3, filter=F("g") == 9) == []
    finally:
        store.close()


def test_express_lane_query_forms_equal_general_path(tmp_path: Path) -> None:
    """The express lane hands Edge a memoryview of the query: float16/32/64, strided and
    byte-swapped arrays give what the general path (``tolist`` of the validated float32
    query) gives; arrays it cannot view (object dtype) or does not take (ints, other byte
    order) go the general path, which validates."""
    store = open_store(f"qdrant://{tmp_path}")
    try:
        store.create_collection(CollectionSpec(name="c", dimension=16))
        vecs = lowrank(200, 16, seed=4)
        store.upsert("c", RecordBatch([f"r{i}" for i in range(200)], vecs, [f"t{i}" for i in range(200)]))
        for q in lowrank_queries(3, 16, seed=4):
            want = store.search("c", vector=q, k=5, params=SearchParams())
            wide = np.zeros(32, dtype=np.float32)
            wide[::2] = q
            forms = [q, q.astype(np.float64), wide[::2], q.astype(">f4"), q.astype(object), q.tolist()]
            for form in forms:
                got = store.search("c", vector=form, k=5)
                assert [h.id for h in got] == [h.id for h in want], type(form)
                assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-6)
            half = store.search("c", vector=q.astype(np.float16), k=5)
            assert [h.id for h in half] == [
                h.id for h in store.search("c", vector=q.astype(np.float16).tolist(), k=5)
            ]
        assert [h.id for h in store.search("c", vector=np.arange(16), k=2)] == [
            h.id for h in store.search("c", vector=np.arange(16, dtype=np.float32), k=2)
        ]
        with pytest.raises(InvalidInputError):
            store.search("c", vector=np.array(["x"] * 16, dtype=object), k=2)
        with pytest.raises(InvalidInputError):
            store.search("c", vector=np.ones((1, 16), dtype=np.float32), k=2)
    finally:
        store.close()
