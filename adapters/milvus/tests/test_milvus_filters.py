"""The filter index and compiler: hostile strings stay literal, and random filters over tricky
metadata select exactly what the reference store selects (on a real Milvus Lite)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vecctx_milvus import MilvusStore, compile_filter, index_fields, open_store, quote

from vecctx import CollectionSpec, MemoryStore, Record, SearchParams
from vecctx.contract.errors import UnsupportedFeatureError
from vecctx.contract.filters import And, Cmp, Exists, F, Filter, In, Not, Op, Or

HOSTILE = [
    '"',
    "'",
    "\\",
    '\\"',
    'a" or 1==1 or "',
    "x') or ('1'=='1",
    "line\nbreak",
    "tab\there\r",
    "",
    " ",
    "true",
    "1",
    "null",
    "$meta",
    '$meta["a.$n"] == 1',
    "ünï ✓ 字",
    "]",
    "[",
    "a.b",
    ".$s",
    "\x00nul",
    "%_like",
]

KEYS = ["a", "b", 'q"k', "it's", "back\\slash", "new\nline", "ünï", "sp ace", "or 1==1"]


def test_quote_roundtrips_through_milvus_lite_parser() -> None:
    from milvus_lite.search.filter import parse_expr
    from milvus_lite.search.filter.ast import CmpOp, StringLit

    for s in HOSTILE:
        ast = parse_expr(f"x == {quote(s)}")
        assert isinstance(ast, CmpOp) and isinstance(ast.right, StringLit)
        assert ast.right.value == s


def test_compiled_expressions_parse_with_hostile_keys_and_values() -> None:
    from milvus_lite.search.filter import parse_expr

    for key in KEYS:
        for v in HOSTILE:
            for flt in (
                F(key) == v,
                F(key) != v,
                F(key).in_([v, 1, True]),
                ~F(key).nin([v]),
                F(key).exists(),
            ):
                parse_expr(compile_filter(flt))  # raises on any syntax break-out
        parse_expr(compile_filter((F(key) > -1.5e-7) & (F(key) <= 2**63 - 1)))


def test_index_fields_layout() -> None:
    got = index_fields(
        {"a": 1, "b": True, "c": "x", "d": [1, 2.5, "s", False, None], "e": {"f": None, "g": 2.0}}
    )
    assert got == {
        "a.$x": True,
        "a.$n": 1,
        "b.$x": True,
        "b.$b": True,
        "c.$x": True,
        "c.$s": "x",
        "d.$x": True,
        "d.$ln.1": True,
        "d.$ln.2.5": True,
        "d.$ls.s": True,
        "d.$lb.false": True,
        "d.$lo": 1,
        "d.$hi": 2.5,
        "e.$x": True,
        "e.g.$x": True,
        "e.g.$n": 2.0,
    }
    assert index_fields({"l": [None, None], "m": []}) == {}


def test_out_of_range_integer_is_unsupported_before_io() -> None:
    with pytest.raises(UnsupportedFeatureError):
        compile_filter(F("a") == 2**64 + 1)
    assert "1.8446744073709552e+19" in compile_filter(F("a") < 2**64)


# -- differential: random filters, Milvus Lite vs the reference --------------------------------

SCALARS: list[Any] = [
    0,
    1,
    -1,
    2,
    1.0,
    2.5,
    -0.0,
    1e-7,
    2**53 + 1,
    2020,
    2020.0,
    True,
    False,
    "x",
    "X",
    "1",
    "true",
    *HOSTILE[:8],
]


def _value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if r < 0.55:
        return rng.choice(SCALARS)
    if r < 0.65:
        return None
    if r < 0.85:
        return [rng.choice([*SCALARS, None]) for _ in range(rng.randint(0, 3))]
    if depth < 2:
        return {k: _value(rng, depth + 1) for k in rng.sample(KEYS[:4], rng.randint(0, 3))}
    return rng.choice(SCALARS)


def _metadata(rng: random.Random) -> dict[str, Any]:
    return {k: _value(rng) for k in rng.sample(KEYS, rng.randint(0, 5))}


def _key(rng: random.Random) -> str:
    k = rng.choice(KEYS)
    if rng.random() < 0.25:
        k += "." + rng.choice(KEYS[:4])
    return k


def _leaf(rng: random.Random) -> Filter:
    key = _key(rng)
    op = rng.choice([Op.EQ, Op.NE, Op.LT, Op.LTE, Op.GT, Op.GTE, Op.IN, Op.NIN, Op.EXISTS])
    if op is Op.EXISTS:
        return Exists(key)
    if op in (Op.IN, Op.NIN):
        return In(key, tuple(rng.choice(SCALARS) for _ in range(rng.randint(1, 3))), negate=op is Op.NIN)
    if op in (Op.EQ, Op.NE):
        return Cmp(key, op, rng.choice(SCALARS))
    return Cmp(key, op, rng.choice([0, 1, -1, 2, 1.0, 2.5, 1e-7, 2020, 2**53 + 1]))


def _filter(rng: random.Random, depth: int = 0) -> Filter:
    r = rng.random()
    if depth >= 3 or r < 0.45:
        return _leaf(rng)
    if r < 0.65:
        return Not(_filter(rng, depth + 1))
    kids = tuple(_filter(rng, depth + 1) for _ in range(rng.randint(2, 3)))
    return And(kids) if r < 0.85 else Or(kids)


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[MilvusStore]:
    with open_store(f"milvus://{tmp_path / 'f.db'}") as s:
        yield s


def _fill(store: MilvusStore, metas: list[dict[str, Any]]) -> MemoryStore:
    spec = CollectionSpec(name="fz", dimension=4)
    rng = np.random.default_rng(3)
    recs = [Record(id=f"r{i:03d}", vector=rng.standard_normal(4), metadata=m) for i, m in enumerate(metas)]
    store.create_collection(spec)
    store.upsert("fz", recs)
    ref = MemoryStore()
    ref.create_collection(spec)
    ref.upsert("fz", recs)
    return ref


def test_hostile_values_match_literally(lite: MilvusStore) -> None:
    keys = [h for h in HOSTILE if h and "." not in h and not h.startswith("$")]
    metas = [{"s": h} for h in HOSTILE] + [{"s": ["x", h]} for h in HOSTILE] + [{k: 1} for k in keys]
    ref = _fill(lite, metas)
    for h in HOSTILE:
        for flt in (F("s") == h, F("s") != h, F("s").in_([h, "zz"])):
            want = sorted(r.id for r in ref.scroll("fz", filter=flt))
            assert sorted(r.id for r in lite.scroll("fz", filter=flt)) == want, flt.to_dict()
    for key in keys:
        for flt in (F(key).exists(), F(key) == 1, F(key) >= 1):
            want = sorted(r.id for r in ref.scroll("fz", filter=flt))
            assert sorted(r.id for r in lite.scroll("fz", filter=flt)) == want, flt.to_dict()


def test_random_filters_match_reference(lite: MilvusStore) -> None:
    rng = random.Random(20240611)
    metas = [_metadata(rng) for _ in range(120)]
    metas += [
        {"a": True},
        {"a": 1},
        {"a": 1.0},
        {"a": "1"},
        {"a": [True]},
        {"a": [1]},
        {"a": None},
        {"a": []},
    ]
    ref = _fill(lite, metas)
    q = np.ones(4, dtype=np.float32)
    for i in range(150):
        flt = _filter(rng)
        want = sorted(r.id for r in ref.scroll("fz", filter=flt))
        assert lite.count("fz", filter=flt) == len(want), flt.to_dict()
        if i % 3 == 0:
            got = lite.search("fz", vector=q, filter=flt, k=len(metas), params=SearchParams(exact=True))
            assert sorted(h.id for h in got) == want, flt.to_dict()
