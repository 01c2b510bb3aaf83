"""The filter compiler and metadata codec, checked against the reference evaluator.

A seeded generator builds tricky metadata (missing keys, nulls, int/float/bool/str mixes,
big ints, nested objects, mixed lists, empty lists, lists of nulls) and random filter trees
over every operator, negations included; Chroma's answers must equal ``MemoryStore``'s.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vecctx_chroma import ChromaStore, compile_filter, decode_metadata, encode_metadata, open_store
from vecctx_chroma.filters import KEYS, META, NOTEXT, decode_text

from vecctx import CollectionSpec, F, InvalidFilterError, MemoryStore, Record, SearchParams
from vecctx.contract.filters import And, Filter, In, Not, Or, Scalar, parse_filter

DIM = 4
KEYS_POOL = ["a", "b", "n.x", "n.y", "n.deep.z"]
#: Values both stored and used as operands: equal ints and floats, bools and their look-alikes,
#: an int beyond float precision.
_SHARED: list[Scalar] = [0, 1, 1.0, 2, 2.5, -2.5, -3, 2**53 + 1, True, False, "a", "1", "", "true"]
#: Stored values add the int64 extremes and non-ASCII text; operands add float(2**53) and a float
#: beyond the int64 range (an int operand beyond 64 bits is refused before any I/O: see below).
SCALARS: list[Any] = [*_SHARED, -2, 2**63 - 1, -(2**63), "ü ✓"]
OPERANDS: list[Scalar] = [*_SHARED, float(2**53), 1e30]
NUMBERS: list[float] = [
    -3,
    -2.5,
    0,
    1,
    1.0,
    1.5,
    2,
    2.5,
    2**53 + 1,
    float(2**53),
    2**63 - 1,
    1e30,
    1e300,
    -1e300,
]


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.55:
        return rng.choice(SCALARS)
    if roll < 0.8:
        size = rng.choice([0, 1, 2, 3])
        pool = [*SCALARS, None, {"z": 1}, [1]]
        return [rng.choice(pool) for _ in range(size)]
    if depth < 2:
        return {k: _value(rng, depth + 1) for k in rng.sample(["x", "y", "deep", "z"], rng.randint(0, 3))}
    return rng.choice(SCALARS)


def tricky_metadata(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        meta: dict[str, Any] = {}
        for key in rng.sample(["a", "b", "n"], rng.randint(0, 3)):
            meta[key] = _value(rng)
        out.append(meta)
    out += [
        {"a": [0, 5], "b": [True, 1]},
        {"a": [1.0, "a"], "b": [None]},
        {"a": [], "n": {}},
        {"a": 2**53 + 1, "n": {"x": [2.5, -3], "deep": {"z": "a"}}},
        {"a": "1", "b": 1, "n": "not an object"},
        {"a": True, "b": False, "n": {"x": None}},
    ]
    return out


def _leaf(rng: random.Random) -> Filter:
    key = rng.choice(KEYS_POOL)
    kind = rng.randrange(6)
    if kind == 0:
        return F(key) == rng.choice(OPERANDS)
    if kind == 1:
        return F(key) != rng.choice(OPERANDS)
    if kind == 2:
        op = rng.choice(["<", "<=", ">", ">="])
        v = rng.choice(NUMBERS)
        f = F(key)
        return {"<": f < v, "<=": f <= v, ">": f > v, ">=": f >= v}[op]
    if kind in (3, 4):
        values = tuple(rng.sample(OPERANDS, rng.randint(1, 4)))
        return In(key, values, negate=kind == 4)
    return F(key).exists()


def random_filter(rng: random.Random, depth: int = 0) -> Filter:
    roll = rng.random()
    if depth >= 3 or roll < 0.4:
        return _leaf(rng)
    if roll < 0.6:
        return Not(random_filter(rng, depth + 1))
    kids = tuple(random_filter(rng, depth + 1) for _ in range(rng.randint(2, 3)))
    return And(kids) if roll < 0.8 else Or(kids)


# -- pure codec tests -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_codec_roundtrip(seed: int) -> None:
    for meta in tricky_metadata(200, seed):
        stored = encode_metadata(meta, "t")
        assert decode_metadata(stored) == meta


def test_flat_metadata_needs_no_json_blob() -> None:
    meta = {"year": 2020, "score": 1.0, "lang": "en", "draft": False, "author": {"name": "ann", "age": 3}}
    stored = encode_metadata(meta, "text")
    assert stored is not None
    assert META not in stored
    assert (
        stored["ni:year"] == 2020
        and stored["ni:author.age"] == 3
        and stored["nf:score"] == 1.0
        and stored["v:author.name"] == "ann"
    )
    back = decode_metadata(stored)
    assert back == meta
    assert type(back["score"]) is float and type(back["year"]) is int and back["draft"] is False


def test_lists_nulls_and_empty_objects_keep_a_json_copy() -> None:
    for meta in ({"l": [1, "a"]}, {"x": None}, {"o": {}}):
        stored = encode_metadata(meta, "t")
        assert stored is not None and META in stored
        assert decode_metadata(stored) == meta


def test_empty_metadata_and_text_none() -> None:
    assert encode_metadata({}, "t") is None
    stored = encode_metadata({}, None)
    assert stored == {NOTEXT: True}
    assert decode_metadata(stored) == {}
    assert decode_text("", stored) is None
    assert decode_text("", None) == ""


def test_foreign_metadata_is_returned_as_is() -> None:
    assert decode_metadata({"source": "x.pdf", "page": 3}) == {"source": "x.pdf", "page": 3}


def test_exists_and_missing_compile_to_the_keys_array() -> None:
    assert compile_filter(F("a").exists()) == {KEYS: {"$contains": "a"}}
    assert compile_filter(F("a").missing()) == {KEYS: {"$not_contains": "a"}}
    assert compile_filter(None) is None


def test_negation_is_pushed_down() -> None:
    where = compile_filter(~((F("a") == "x") | (F("b") > 1)))
    assert where is not None
    assert set(where) == {"$and"}
    ops = set(_operators(where))
    assert "$not" not in ops
    assert {"$ne", "$not_contains", "$lte", "$or"} <= ops


def _operators(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("$"):
                yield key
            yield from _operators(value)
    elif isinstance(node, list):
        for item in node:
            yield from _operators(item)


def test_and_of_one_key_is_flattened() -> None:
    where = compile_filter((F("a") >= 1) & ((F("b") == True) & F("c").exists()))  # noqa: E712
    assert where is not None
    assert list(where) == ["$and"] and len(where["$and"]) == 3


def test_int_operand_probes_float_lists_and_back() -> None:
    assert repr(compile_filter(F("a") == 2)).count("lf:a") == 1
    assert "li:a" in repr(compile_filter(F("a") == 2.0))
    assert "li:a" not in repr(compile_filter(F("a") == 2.5))
    assert "lf:a" not in repr(compile_filter(F("a") == 2**53 + 1))  # no exact float twin


# -- differential tests against the reference, on a real embedded Chroma ------------------


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChromaStore, MemoryStore]]:
    metas = tricky_metadata(150, seed=42)
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((len(metas), DIM)).astype(np.float32)
    recs = [
        Record(id=f"r{i}", vector=vecs[i], text=None if i % 7 == 0 else f"t{i}", metadata=m)
        for i, m in enumerate(metas)
    ]
    spec = CollectionSpec(name="tricky", dimension=DIM)
    ref = MemoryStore()
    ref.create_collection(spec)
    ref.upsert("tricky", recs)
    path: Path = tmp_path_factory.mktemp("chroma-filters")
    with open_store(f"chroma://{path}") as store:
        store.create_collection(spec)
        store.upsert("tricky", recs)
        yield store, ref


def _same(store: ChromaStore, ref: MemoryStore, flt: Filter) -> None:
    want = sorted(r.id for r in ref.scroll("tricky", filter=flt))
    got = sorted(r.id for r in store.scroll("tricky", filter=flt, batch_size=1000))
    assert got == want, f"filter {flt.to_dict()} -> chroma where {compile_filter(flt)}"
    assert store.count("tricky", filter=flt) == len(want)


def test_roundtrip_of_tricky_records(loaded: tuple[ChromaStore, MemoryStore]) -> None:
    store, ref = loaded
    want = {r.id: r for r in ref.scroll("tricky")}
    got = {r.id: r for r in store.scroll("tricky")}
    assert got.keys() == want.keys()
    for rid, r in want.items():
        assert got[rid].metadata == r.metadata
        assert got[rid].text == r.text


@pytest.mark.parametrize(
    "flt",
    [
        F("a") > 1,
        ~(F("a") > 1),
        F("a") < 1,
        ~(F("a") <= 0),
        F("a") == 1,
        F("a") == 1.0,
        F("a") != 1,
        F("a") == True,  # noqa: E712
        F("a") != False,  # noqa: E712
        F("a") == "a",
        F("a").in_([1, "a", True]),
        F("a").nin([1, "a", True]),
        F("a") == 2**53 + 1,
        F("a").exists(),
        F("a").missing(),
        F("b").exists(),
        F("n").exists(),
        F("n.x").exists(),
        ~F("n.x").exists(),
        F("n.deep.z") == "a",
        F("n.x") >= 2.5,
        ~(F("n.x") < 0) & F("n").exists(),
        F("a").between(0, 1),
        F("a") >= 2.5,
        F("a") < 2.5,
        F("a") > -2.5,
        F("a") <= -2.5,
        F("a") == 2.5,
        F("a") != 2.5,
        F("a").in_([2.5, -2.5]),
        F("a").nin([2.5]),
        F("a") >= 2**53 + 1,
        F("a") > float(2**53),
        F("a") == 1e30,
        F("a") != 1e30,
        F("a") < -1e300,
        ~(F("a") < -1e300),
        F("a") >= 2**63 - 1,
        ~F("a").between(0, 1),
        parse_filter({"$not": {"$or": [{"a": {"$gt": 0}}, {"b": {"$exists": True}}]}}),
    ],
    ids=lambda f: str(f.to_dict()),
)
def test_hand_picked_filters(loaded: tuple[ChromaStore, MemoryStore], flt: Filter) -> None:
    store, ref = loaded
    _same(store, ref, flt)


def test_random_filters_agree_with_reference(loaded: tuple[ChromaStore, MemoryStore]) -> None:
    store, ref = loaded
    rng = random.Random(7)
    for _ in range(400):
        _same(store, ref, random_filter(rng))


def test_filtered_search_agrees_with_reference(loaded: tuple[ChromaStore, MemoryStore]) -> None:
    store, ref = loaded
    rng = random.Random(11)
    q = np.ones(DIM, dtype=np.float32)
    for _ in range(40):
        flt = random_filter(rng)
        want = [h.id for h in ref.search("tricky", vector=q, k=200, filter=flt)]
        exact = [
            h.id for h in store.search("tricky", vector=q, k=200, filter=flt, params=SearchParams(exact=True))
        ]
        assert exact == want
        ann = [h.id for h in store.search("tricky", vector=q, k=200, filter=flt)]
        assert sorted(ann) == sorted(want)


def test_delete_by_random_filter(tmp_path: Path) -> None:
    metas = tricky_metadata(60, seed=3)
    rng = np.random.default_rng(1)
    vecs = rng.standard_normal((len(metas), DIM)).astype(np.float32)
    recs = [Record(id=f"r{i}", vector=vecs[i], metadata=m) for i, m in enumerate(metas)]
    frng = random.Random(5)
    with open_store(f"chroma://{tmp_path}") as store:
        for round_ in range(5):
            name = f"del{round_}"
            spec = CollectionSpec(name=name, dimension=DIM)
            ref = MemoryStore()
            ref.create_collection(spec)
            ref.upsert(name, recs)
            store.create_collection(spec)
            store.upsert(name, recs)
            flt = random_filter(frng)
            ref.delete(name, filter=flt)
            store.delete(name, filter=flt)
            assert sorted(r.id for r in store.scroll(name)) == sorted(r.id for r in ref.scroll(name))


@pytest.mark.parametrize("flt", [F("a") == 10**30, F("a") < -(10**400), ~(F("a") != 2**64)])
def test_integers_beyond_64_bits_are_refused_before_io(
    loaded: tuple[ChromaStore, MemoryStore], flt: Filter
) -> None:
    store, _ = loaded
    with pytest.raises(InvalidFilterError, match="64 bits"):
        store.count("tricky", filter=flt)
