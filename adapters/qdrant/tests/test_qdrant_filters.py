"""The filter compiler against the reference evaluator, on Qdrant Edge and on qdrant-client
local mode (one compiler, a small subclass per API).

Hand-picked edge cases (where Qdrant's own semantics differ from vecctx's and the compiler has
to compensate) plus a seeded differential fuzz over random filter trees and hostile metadata.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vecctx_qdrant import open_store, payload_path
from vecctx_qdrant.filters import ClientFilterCompiler, EdgeFilterCompiler, QdrantFilterCompiler

from vecctx import F, MemoryStore
from vecctx.contract.errors import UnsupportedFeatureError
from vecctx.contract.filters import And, Cmp, Exists, Filter, In, Not, Op, Or
from vecctx.contract.store import VectorStore
from vecctx.contract.types import CollectionSpec, FieldType, Record

DIM = 4

#: Values chosen where Qdrant and the reference could disagree: int vs float vs bool,
#: null inside lists, empty lists and objects, lists of lists, big integers, -0.0.
VALUES: list[Any] = [
    0, 1, -1, 1.0, 2.5, -0.0, 7, True, False, "1", "a", "", "true", "A", 2**60,
    None, [], [None], [None, 1], [1, "a"], [True], [[1]], [1.0, 2.5], ["a", "b"],
    {"x": 1}, [{"x": 1}], {}, [None, None], [False, 0],
]  # fmt: skip
SCALARS: list[Any] = [0, 1, -1, 1.0, 2.5, -0.0, 7, True, False, "1", "a", "", "true", "A", 2**60]
NUMBERS: list[float] = [0, 1, -1, 1.0, 2.5, -0.5, 7, 100]
KEYS = ["a", "b", "n.x", "n.y.z", "weird key", "ü"]


def _metadata(rng: random.Random) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key in ("a", "b", "weird key", "ü"):
        if rng.random() < 0.7:
            meta[key] = rng.choice(VALUES)
    r = rng.random()
    if r < 0.5:
        n: dict[str, Any] = {}
        if rng.random() < 0.7:
            n["x"] = rng.choice(VALUES)
        if rng.random() < 0.5:
            n["y"] = {"z": rng.choice(VALUES)} if rng.random() < 0.7 else rng.choice(VALUES)
        meta["n"] = n
    elif r < 0.7:
        meta["n"] = rng.choice(VALUES)
    return meta


def _leaf(rng: random.Random) -> Filter:
    key = rng.choice(KEYS)
    kind = rng.randrange(6)
    if kind == 0:
        return Cmp(key, Op.EQ, rng.choice(SCALARS))
    if kind == 1:
        return Cmp(key, Op.NE, rng.choice(SCALARS))
    if kind == 2:
        return Cmp(key, rng.choice([Op.LT, Op.LTE, Op.GT, Op.GTE]), rng.choice(NUMBERS))
    if kind == 3:
        return In(key, tuple(rng.sample(SCALARS, rng.randint(1, 3))))
    if kind == 4:
        return In(key, tuple(rng.sample(SCALARS, rng.randint(1, 3))), negate=True)
    return Exists(key)


def _tree(rng: random.Random, depth: int) -> Filter:
    if depth == 0 or rng.random() < 0.4:
        return _leaf(rng)
    kind = rng.randrange(3)
    if kind == 0:
        return And(tuple(_tree(rng, depth - 1) for _ in range(rng.randint(1, 3))))
    if kind == 1:
        return Or(tuple(_tree(rng, depth - 1) for _ in range(rng.randint(1, 3))))
    return Not(_tree(rng, depth - 1))


def _records(n: int, seed: int) -> list[Record]:
    rng = random.Random(seed)
    vecs = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return [Record(id=f"m{i}", vector=vecs[i], metadata=_metadata(rng)) for i in range(n)]


EDGE_CASES: list[tuple[str, dict[str, Any], Filter]] = [
    # (name, metadata, filter): each row is one record; the test checks match/no match
    ("bool_is_not_int", {"a": True}, F("a") == 1),
    ("int_is_not_bool", {"a": 1}, F("a") == True),  # noqa: E712
    ("bool_in_list", {"a": [True]}, F("a") == True),  # noqa: E712
    ("float_eq_int", {"a": 1.0}, F("a") == 1),
    ("int_eq_float", {"a": 1}, F("a") == 1.0),
    ("neg_zero", {"a": -0.0}, F("a") == 0),
    ("exists_null_list", {"a": [None]}, F("a").exists()),
    ("exists_null_and_value", {"a": [None, 1]}, F("a").exists()),
    ("exists_empty_object", {"a": {}}, F("a").exists()),
    ("exists_empty_list", {"a": []}, F("a").exists()),
    ("exists_null", {"a": None}, F("a").exists()),
    ("exists_object_in_list", {"a": [None, {"x": 1}]}, F("a").exists()),
    ("ne_matches_null", {"a": None}, F("a") != 1),
    ("ne_list_with_value", {"a": [None, 1]}, F("a") != 1),
    ("path_not_into_list", {"n": [{"x": 1}]}, F("n.x") == 1),
    ("path_into_object", {"n": {"x": 1}}, F("n.x") == 1),
    ("range_skips_strings", {"a": ["5", 1]}, F("a") > 2),
    ("range_skips_bools", {"a": True}, F("a") >= 1),
    ("in_bool_and_str", {"a": False}, F("a").in_(["x", False])),
    ("in_numbers", {"a": [3.0]}, F("a").in_([1, 3])),
    ("nin_missing", {}, F("a").nin([1])),
    ("big_int_exact", {"a": 2**60}, F("a") == 2**60),
    ("big_int_neighbour", {"a": 2**60 + 1}, F("a") == 2**60),
    # 2**53 + 1 has no double of its own (it becomes 2**53): the boundary is matched as an integer
    ("boundary", {"a": 2**53}, F("a") == 2**53),
    ("boundary_neighbour", {"a": 2**53 + 1}, F("a") == 2**53),
    ("boundary_asked_above", {"a": 2**53}, F("a") == 2**53 + 1),
    ("negative_boundary", {"a": -(2**53)}, F("a") == -(2**53)),
    ("negative_boundary_neighbour", {"a": -(2**53) - 1}, F("a") == -(2**53)),
    ("boundary_below", {"a": 2**53 - 1}, F("a").in_([2**53 - 1, 2**53])),
    ("boundary_in", {"a": [2**53 + 1]}, F("a").in_([2**53, -(2**53)])),
    ("boundary_nin", {"a": 2**53 + 1}, F("a").nin([2**53])),
    ("boundary_ne", {"b": 2**53 + 1}, F("b") != 2**53),
    ("list_of_lists", {"a": [[1]]}, F("a") == 1),
    ("empty_string", {"a": ""}, F("a") == ""),
    ("quoted_key", {"weird key": 3}, F("weird key") == 3),
    ("unicode_key", {"ü": "x"}, F("ü") == "x"),
]


@pytest.fixture(params=["edge", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    url = f"qdrant://{tmp_path / 'edge'}" if request.param == "edge" else "qdrant+local://:memory:"
    with open_store(url) as s:
        yield s


def _fill(
    store: VectorStore, records: list[Record], indexed: dict[str, FieldType] | None = None
) -> MemoryStore:
    """Write ``records`` into ``store`` and into the reference store, which is returned."""
    spec = CollectionSpec(name="f", dimension=DIM, indexed_fields=indexed or {})
    ref = MemoryStore()
    for s in (store, ref):
        s.create_collection(spec)
        s.upsert("f", records)
    return ref


def _ids(store: VectorStore, flt: Filter) -> list[str]:
    return sorted(r.id for r in store.scroll("f", filter=flt))


def test_edge_cases(store: VectorStore) -> None:
    records = [
        Record(id=name, vector=np.ones(DIM, dtype=np.float32), metadata=meta) for name, meta, _ in EDGE_CASES
    ]
    ref = _fill(store, records)
    for name, _, flt in EDGE_CASES:
        want = _ids(ref, flt)
        got = _ids(store, flt)
        assert got == want, f"{name}: {flt.to_dict()}"


@pytest.mark.parametrize("seed", [1, 2])
def test_differential_fuzz(store: VectorStore, seed: int) -> None:
    records = _records(80, seed)
    ref = _fill(store, records)
    rng = random.Random(seed * 7919)
    checked = 0
    for _ in range(150):
        flt = _tree(rng, 3)
        want = _ids(ref, flt)
        assert _ids(store, flt) == want, flt.to_dict()
        assert store.count("f", filter=flt) == len(want), flt.to_dict()
        checked += 1
    assert checked == 150


def test_fuzz_with_payload_indexes(tmp_path: Path) -> None:
    """Payload indexes (Edge builds them) must not change results for values of the declared type."""
    rng = random.Random(5)
    vecs = np.random.default_rng(5).standard_normal((120, DIM)).astype(np.float32)
    records = [
        Record(
            id=f"i{i}",
            vector=vecs[i],
            metadata={
                k: v
                for k, v in {
                    "kw": rng.choice(["a", "b", "c", ""]) if rng.random() < 0.8 else None,
                    "num": rng.choice([0, 1, 2.5, -1, 7]) if rng.random() < 0.8 else None,
                    "int": rng.choice([0, 1, 2, 3]) if rng.random() < 0.8 else None,
                    "flag": rng.choice([True, False]) if rng.random() < 0.8 else None,
                }.items()
                if v is not None or rng.random() < 0.3
            },
        )
        for i in range(120)
    ]
    indexed = {
        "kw": FieldType.KEYWORD,
        "num": FieldType.FLOAT,
        "int": FieldType.INTEGER,
        "flag": FieldType.BOOL,
    }
    with open_store(f"qdrant://{tmp_path / 'idx'}") as store:
        ref = _fill(store, records, indexed)
        cases: list[Filter] = [
            F("kw") == "a",
            F("kw").in_(["a", "b"]),
            F("kw").nin(["a"]),
            F("kw") != "",
            F("kw").exists(),
            ~F("kw").exists(),
            F("num") == 2.5,
            F("num") >= 1,
            F("num").in_([0, 7]),
            F("int") == 2,
            F("int").between(1, 2),
            F("int") != 3,
            F("int").exists(),
            F("flag") == True,  # noqa: E712
            F("flag") != False,  # noqa: E712
            F("flag").exists(),
            (F("kw") == "a") & (F("num") > 0) | ~F("flag").exists(),
        ]
        for flt in cases:
            want = _ids(ref, flt)
            assert _ids(store, flt) == want, flt.to_dict()
            hits = store.search("f", vector=np.ones(DIM), k=120, filter=flt)
            assert sorted(h.id for h in hits) == want, flt.to_dict()


def test_payload_paths() -> None:
    assert payload_path("year") == "meta.year"
    assert payload_path("author.name") == "meta.author.name"
    assert payload_path("first name.x") == 'meta."first name".x'
    assert payload_path("a-b_c9") == "meta.a-b_c9"
    assert payload_path("tags[]") == 'meta."tags[]"'  # never Qdrant's array syntax
    for bad in ['say "hi"', "back\\slash"]:
        with pytest.raises(UnsupportedFeatureError):
            payload_path(bad)


def test_unaddressable_key_raises_before_io(tmp_path: Path) -> None:
    with open_store(f"qdrant://{tmp_path / 'e'}") as store:
        store.create_collection(CollectionSpec(name="f", dimension=DIM))
        with pytest.raises(UnsupportedFeatureError):
            store.count("f", filter=F('say "hi"') == 1)
        with pytest.raises(UnsupportedFeatureError):
            store.create_collection(
                CollectionSpec(name="g", dimension=DIM, indexed_fields={'q"': FieldType.KEYWORD})
            )
        assert not store.has_collection("g")


@pytest.mark.parametrize("compiler", [EdgeFilterCompiler, ClientFilterCompiler])
def test_range_on_an_inexact_integer_is_refused(compiler: type[QdrantFilterCompiler]) -> None:
    """Qdrant's ranges are doubles: an integer operand a double cannot hold exactly is refused
    (it would silently become 2**53 and match wrong records); exact ones still compile."""
    compile_ = compiler()
    for bad in (2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63) + 1):
        for flt in (F("n") < bad, F("n") <= bad, F("n") > bad, F("n") >= bad, (F("x") == 1) | (F("n") > bad)):
            with pytest.raises(UnsupportedFeatureError, match="2\\*\\*53"):
                compile_(flt)
    for ok in (2**53, -(2**53), 2**62, 3, 2.0**60):  # 2**62 is a power of two: exact as a double
        compile_(F("n") > ok)
    compile_(F("n") == 2**53 + 1)  # equality on a big integer is an exact integer match


@pytest.mark.parametrize("compiler", [EdgeFilterCompiler, ClientFilterCompiler])
def test_compiler_tells_one_true_and_one_point_zero_apart(compiler: type[QdrantFilterCompiler]) -> None:
    """``Cmp(k, eq, 1) == Cmp(k, eq, True)`` in Python; they must compile differently."""
    compile_ = compiler()
    assert repr(compile_(F("a") == 1)) != repr(compile_(F("a") == True))  # noqa: E712
    assert repr(compile_(F("a") == 1)) == repr(compile_(F("a") == 1.0))
