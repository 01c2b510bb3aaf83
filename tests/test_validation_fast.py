"""Differential test of ``validate_records``: the fast version against a verbatim copy of the
previous, straightforward one. Both must accept the same batches and return the same float32
matrix, or raise the same exception type with the same message (naming the same record)."""

from __future__ import annotations

import math
import random
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest

from vecctx.contract import validation as V
from vecctx.contract.batch import RecordBatch, record_columns
from vecctx.contract.errors import DimensionMismatchError, InvalidInputError
from vecctx.contract.types import CollectionSpec, FloatArray, Record, SparseVector, is_text

# --- reference: the implementation before the fast paths, copied verbatim --------------------
# (limits are read from ``V`` at call time, so monkeypatching them affects both sides; the
# metadata and sparse checks are the same functions on both sides, so the reference calls them)


def _ref_validate_records(records: Sequence[Record], spec: CollectionSpec) -> FloatArray:
    """Check a whole batch and return its dense vectors as one float32 matrix (n, dim).

    Raises :class:`InvalidInputError` (or :class:`DimensionMismatchError`) naming the first
    offending record; nothing has been written when it does.
    """
    if isinstance(records, Record):
        raise InvalidInputError("upsert takes a sequence of records, not a single record")
    n = len(records)
    if n == 0:
        return np.zeros((0, spec.dimension), dtype=np.float32)
    seen: set[str] = set()
    for i, r in enumerate(records):
        if not isinstance(r, Record):
            raise InvalidInputError(f"item {i} is a {type(r).__name__}, not a Record")
        rid = r.id
        if not isinstance(rid, str) or not rid or not is_text(rid):
            raise InvalidInputError(f"record {i}: id must be a non-empty string of text, got {rid!r}")
        if rid in seen:
            raise InvalidInputError(f"record {i}: id {rid!r} appears twice in the batch")
        seen.add(rid)
        if r.text is not None and not isinstance(r.text, str):
            raise InvalidInputError(f"record {rid!r}: text must be a string or None")
        if r.text is not None and not is_text(r.text):
            raise InvalidInputError(f"record {rid!r}: text holds a lone surrogate (not text)")
        if not isinstance(r.metadata, Mapping):
            raise InvalidInputError(f"record {rid!r}: metadata must be a mapping")
        size = V._check_json(r.metadata, f"record {rid!r} metadata", 0)
        if size > V.MAX_METADATA_BYTES:
            raise InvalidInputError(
                f"record {rid!r}: metadata is about {size} bytes, over the {V.MAX_METADATA_BYTES} limit"
            )
        if r.sparse is not None:
            if not spec.sparse:
                raise InvalidInputError(
                    f"record {rid!r} has a sparse vector but collection {spec.name!r} "
                    "was created without sparse=True"
                )
            V.validate_sparse(r.sparse, f"record {rid!r} sparse vector")
    matrix = _ref_stack(records, spec.dimension)
    if not np.isfinite(matrix).all():
        bad = int(np.nonzero(~np.isfinite(matrix).all(axis=1))[0][0])
        raise InvalidInputError(f"record {records[bad].id!r}: vector holds NaN or infinite values")
    return matrix


def _ref_stack(records: Sequence[Record], dim: int) -> FloatArray:
    vecs = [r.vector for r in records]
    for r, v in zip(records, vecs, strict=True):
        try:
            shape = np.shape(v)
        except ValueError as exc:  # ragged nested lists
            raise InvalidInputError(f"record {r.id!r}: vector must be one-dimensional: {exc}") from exc
        if len(shape) != 1:
            raise InvalidInputError(f"record {r.id!r}: vector must be one-dimensional, got shape {shape}")
        if shape[0] != dim:
            raise DimensionMismatchError(dim, shape[0], f"record {r.id!r} vector")
    try:
        arr = np.asarray(vecs)
        if arr.dtype.kind == "O":
            arr = np.asarray(arr.tolist())
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"vectors must hold numbers: {exc}") from exc
    if arr.dtype.kind not in "fiu":  # booleans, strings, objects: refused, never coerced
        raise InvalidInputError(f"vectors must hold ints or floats, got {arr.dtype.name} values")
    return arr.astype(np.float32)


# --- harness ----------------------------------------------------------------------------------

Outcome = tuple[Any, ...]


def _outcome(fn: Callable[[Any, CollectionSpec], FloatArray], records: Any, spec: CollectionSpec) -> Outcome:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m = fn(records, spec)
        except Exception as exc:
            cause = exc.__cause__
            return (
                "raise",
                type(exc),
                str(exc),
                type(cause),
                None if cause is None else str(cause),
                getattr(exc, "expected", None),
                getattr(exc, "got", None),
            )
    return ("ok", m)


def assert_same(records: Any, spec: CollectionSpec) -> Outcome:
    """Run both implementations on the same objects; return the reference outcome. The batch
    is also given as :class:`RecordBatch` columns (vectors as given, and stacked into one
    array where numpy can), which must match the reference on the equivalent records."""
    for batch in _as_batches(records):
        _assert_outcomes_match(_outcome(_ref_validate_records, list(batch), spec), batch, spec)
    return _assert_outcomes_match(_outcome(_ref_validate_records, records, spec), records, spec)


def _as_batches(records: Any) -> list[RecordBatch]:
    if not isinstance(records, list | tuple) or not records or any(type(r) is not Record for r in records):
        return []
    cols: dict[str, Any] = {
        "ids": [r.id for r in records],
        "vectors": [r.vector for r in records],
        "texts": [r.text for r in records],
        "metadata": [r.metadata for r in records],
        "sparse": [r.sparse for r in records],
    }
    if all(t is None for t in cols["texts"]):
        cols["texts"] = None
    if all(s is None for s in cols["sparse"]):
        cols["sparse"] = None
    if all(type(m) is dict and not m for m in cols["metadata"]):
        cols["metadata"] = None
    out = [RecordBatch(**cols)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            stacked = np.asarray(cols["vectors"])
        except Exception:
            stacked = None
    if stacked is not None and stacked.ndim >= 1 and len(stacked) == len(records):
        out.append(RecordBatch(**{**cols, "vectors": stacked}))
    return out


def _assert_outcomes_match(old: Outcome, records: Any, spec: CollectionSpec) -> Outcome:
    new = _outcome(V.validate_records, records, spec)
    if old[0] == "ok":
        assert new[0] == "ok", f"reference accepted the batch, new raised {new[1:]}"
        assert isinstance(new[1], np.ndarray)
        assert new[1].dtype == np.float32 == old[1].dtype
        assert new[1].shape == old[1].shape == (len(records), spec.dimension)
        assert np.array_equal(new[1], old[1])
    else:
        assert new == old
    return old


class Color(StrEnum):
    RED = "red"
    DOTTED = "a.b"


class Num(IntEnum):
    ONE = 1
    BIG = 2**63


class MyStr(str):
    pass


class HugeStr(str):
    """A str whose length lies: the size accounting must ask it, as the reference does."""

    def __len__(self) -> int:
        return 10**6


class MyInt(int):
    pass


class MyFloat(float):
    pass


class MyDict(dict[str, Any]):
    pass


class MyMapping(Mapping[str, Any]):
    def __init__(self, data: dict[Any, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class SubRecord(Record):
    pass


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque>"


def deep(levels: int, leaf: Any = 1) -> Any:
    """``levels`` nested dicts around ``leaf``: the leaf sits at depth ``levels`` + 1 of a record."""
    v = leaf
    for _ in range(levels):
        v = {"d": v}
    return v


GOOD_SCALARS: list[Any] = [
    "",
    "x",
    "héllo wörld",
    "a" * 100,
    0,
    1,
    -7,
    2**63 - 1,
    -(2**63),
    1.5,
    -0.0,
    1e308,
    -1e308,
    5e-324,
    True,
    False,
    None,
]
BAD_SCALARS: list[Any] = [
    2**63,
    -(2**63) - 1,
    2**100,
    -(2**200),
    math.nan,
    math.inf,
    -math.inf,
    {1, 2},
    frozenset(),
    b"bytes",
    bytearray(b"x"),
    Opaque(),
    1 + 2j,
    Decimal("1.5"),
    np.int64(5),
    np.bool_(True),
    np.float32(1.0),
    np.array([1.0, 2.0]),
]
# Subclasses of JSON scalars: the precise path decides (some pass, some do not).
ODD_SCALARS: list[Any] = [
    MyStr("s"),
    MyInt(3),
    MyInt(2**64),
    MyFloat(2.5),
    MyFloat(math.nan),
    Color.RED,
    Num.ONE,
    Num.BIG,
    np.float64(1.25),
    np.float64(math.inf),
    np.str_("numpy str"),
]
NESTED: list[Any] = [
    {},
    [],
    (),
    {"a": 1},
    {"a": {"b": [1, "x", None, {"c": 2.5}]}},
    [1, "x", None, True],
    (1, 2),
    {"a.b": 1},
    {"$a": 1},
    {"": 1},
    {1: 1},
    [math.nan],
    [2**64],
    {"x": {"y": 2**64}},
    {"x": [1, [2, [3, Opaque()]]]},
    {"x": {1, 2}},
    MappingProxyType({"a": 1}),
    OrderedDict(a=[1, 2]),
    deep(14),
    deep(15),
    deep(16),
    deep(17),
    deep(30),
    deep(15, [1]),
    deep(15, {}),
    deep(15, math.nan),
]
GOOD_KEYS: list[str] = ["lang", "year", "score", "a", "a$", "x_y", "ключ", "k" * 40, "tags", "A-B"]
BAD_KEYS: list[Any] = [
    "a.b",
    ".",
    "$a",
    "$",
    "",
    1,
    None,
    (1,),
    1.5,
    True,
    b"k",
    MyStr("k"),
    MyStr("a.b"),
    MyStr(""),
    Color.RED,
    Color.DOTTED,
    np.str_("npkey"),
]


def _as_dict(meta: Any) -> dict[Any, Any]:
    return dict(meta) if isinstance(meta, Mapping) else {}


def _good_value(rnd: random.Random) -> Any:
    kind = rnd.random()
    if kind < 0.35:
        return rnd.choice(["en", "fr", "de", "", "x" * rnd.randrange(0, 300)])
    if kind < 0.6:
        return rnd.choice([rnd.randrange(-(10**6), 10**6), 2**63 - 1, -(2**63), 0])
    if kind < 0.85:
        return rnd.choice([rnd.uniform(-1e6, 1e6), 0.0, -0.0, 1e308, 5e-324])
    return rnd.choice([True, False, None])


def _good_meta(rnd: random.Random) -> dict[str, Any]:
    keys = rnd.sample(GOOD_KEYS, rnd.randrange(0, 6))
    return {k: _good_value(rnd) for k in keys}


def _good_vector(rnd: random.Random, nrng: np.random.Generator, dim: int) -> Any:
    row = nrng.standard_normal(dim)
    kind = rnd.randrange(9)
    if kind == 0:
        return row.astype(np.float32)
    if kind == 1:
        return row  # float64
    if kind == 2:
        return [float(x) for x in row]
    if kind == 3:
        return tuple(float(x) for x in row)
    if kind == 4:
        return [int(x * 10) for x in row]
    if kind == 5:
        return [np.float32(x) for x in row]
    if kind == 6:
        return np.ascontiguousarray(row[::-1])[::-1]  # negative strides
    if kind == 7:
        return nrng.standard_normal((dim, 2)).astype(np.float32)[:, 0]  # strided view
    return (row * 100).astype(np.int64)


def _bad_vector(rnd: random.Random, nrng: np.random.Generator, dim: int) -> Any:
    row = [float(x) for x in nrng.standard_normal(dim)]
    options: list[Callable[[], Any]] = [
        lambda: [*row, 1.0],
        lambda: row[:-1],
        lambda: [],
        lambda: np.zeros(dim + 3, np.float32),
        lambda: np.asarray([row], np.float32),  # (1, dim)
        lambda: np.asarray(row, np.float32).reshape(dim, 1),
        lambda: [row],
        lambda: [[x] for x in row],
        lambda: 1.0,
        lambda: np.float32(1.0),
        lambda: np.array(1.0),
        lambda: None,
        lambda: "1" * dim,
        lambda: "abc",
        lambda: b"1" * dim,
        lambda: [str(x) for x in row],  # numeric strings
        lambda: ["x"] * dim,
        lambda: ["1.5", "nan"] + ["0"] * (dim - 2) if dim >= 2 else ["nan"],
        lambda: {"v": row},
        lambda: set(range(dim)),
        lambda: iter(row),
        lambda: (x for x in row),
        lambda: np.asmatrix(np.asarray(row)),
        lambda: np.array([*row[:-1], [1.0, 2.0]], dtype=object),
        lambda: np.array(row, dtype=object),
        lambda: np.asarray(row) + 1j,
        lambda: np.zeros(dim + 1, complex),
        lambda: [1 + 2j] * dim,
        lambda: [10**400] * dim,
        lambda: [2**70] * dim,
        lambda: [None] * dim,
        lambda: [*row[:-1], [1.0]],
        lambda: [[1.0, 2.0], [3.0]],
        lambda: [*row[:-1], math.nan],
        lambda: [math.inf, *row[1:]],
        lambda: np.full(dim, -np.inf),
        lambda: [1e39] * dim,  # finite, overflows float32
        lambda: [Opaque()] * dim,
        lambda: [True] * dim,
        lambda: np.zeros(dim, dtype=np.float16),
        lambda: np.zeros((0, dim)),
        lambda: [Decimal("1.5")] * dim,
    ]
    return rnd.choice(options)()


def _good_record(rnd: random.Random, nrng: np.random.Generator, k: int, spec: CollectionSpec) -> Record:
    sparse = None
    if spec.sparse and rnd.random() < 0.3:
        idx = rnd.sample(range(1000), rnd.randrange(0, 5))
        sparse = SparseVector(tuple(idx), tuple(rnd.uniform(-1, 1) for _ in idx))
    return Record(
        f"doc-{k}",
        _good_vector(rnd, nrng, spec.dimension),
        rnd.choice([None, "some text", "", "t" * 100]),
        _good_meta(rnd),
        sparse,
    )


def _mutate(
    rnd: random.Random, nrng: np.random.Generator, recs: list[Any], pos: int, spec: CollectionSpec
) -> None:
    if not isinstance(recs[pos], Record):
        return
    r: Any = recs[pos]  # deliberately assigned ill-typed fields below
    kind = rnd.choice(
        ["item", "subclass", "id", "text", "meta", "key", "value", "nested", "size", "vector", "sparse"]
    )
    if kind == "item":
        recs[pos] = rnd.choice([None, {"id": "x", "vector": [1.0]}, ("x", [1.0]), "record", 5, [r]])
    elif kind == "subclass":
        recs[pos] = SubRecord(r.id, r.vector, r.text, r.metadata, r.sparse)
    elif kind == "id":
        others = [o.id for o in recs if isinstance(o, Record)]
        r.id = rnd.choice(["", None, 7, b"id", MyStr("s-1"), MyStr(""), ("t",), rnd.choice(others)])
    elif kind == "text":
        r.text = rnd.choice([5, b"t", MyStr("t"), ["t"], Color.RED, "", None])
    elif kind == "meta":
        d = _as_dict(r.metadata)
        r.metadata = rnd.choice(
            [None, [], [("a", 1)], "m", 5, OrderedDict(d), MappingProxyType(d), MyDict(d), MyMapping(d)]
        )
    elif kind == "key":
        d = _as_dict(r.metadata)
        d[rnd.choice(BAD_KEYS)] = _good_value(rnd)
        if rnd.random() < 0.5:  # the bad key not first
            d = dict(reversed(list(d.items())))
        r.metadata = d
    elif kind == "value":
        d = _as_dict(r.metadata)
        d[rnd.choice(GOOD_KEYS)] = rnd.choice(rnd.choice([GOOD_SCALARS, BAD_SCALARS, ODD_SCALARS]))
        r.metadata = d
    elif kind == "nested":
        d = _as_dict(r.metadata)
        d[rnd.choice(GOOD_KEYS)] = rnd.choice(NESTED)
        r.metadata = d
    elif kind == "size":
        # One string sized so the record lands just under, on, or just over the limit.
        d = {k: v for k, v in _as_dict(r.metadata).items() if k != "big"}
        base = V._check_json(d, "x", 0) + len("big") + 4 + 2
        d["big"] = "x" * max(0, V.MAX_METADATA_BYTES - base + rnd.choice([-1, 0, 1, 2]))
        r.metadata = d
    elif kind == "vector":
        r.vector = _bad_vector(rnd, nrng, spec.dimension)
    else:
        r.sparse = rnd.choice(
            [
                SparseVector((1, 2), (0.5, 1.0)),
                SparseVector((1, 1), (1.0, 2.0)),
                SparseVector((-1,), (1.0,)),
                SparseVector((1,), (math.inf,)),
                SparseVector((1, 2), (1.0,)),
                {1: 1.0},
            ]
        )


def _random_batch(seed: int) -> tuple[Any, CollectionSpec]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # np.asmatrix
        return _build_batch(seed)


def _build_batch(seed: int) -> tuple[Any, CollectionSpec]:
    rnd = random.Random(seed)
    nrng = np.random.default_rng(seed)
    spec = CollectionSpec("s" if rnd.random() < 0.3 else "t", rnd.choice([1, 2, 3, 4, 7, 16]))
    if spec.name == "s":
        spec = CollectionSpec("s", spec.dimension, sparse=True)
    n = rnd.choice([1, 1, 2, 3, 5, 8, 20])
    recs: list[Any] = [_good_record(rnd, nrng, k, spec) for k in range(n)]
    for _ in range(rnd.choice([0, 0, 1, 1, 1, 2, 3])):
        _mutate(rnd, nrng, recs, rnd.randrange(n), spec)
    mode = rnd.random()
    real: list[Any] = [r for r in recs if isinstance(r, Record)]
    if mode < 0.04:  # every vector 2-D (1, dim): the stacked array is 3-D
        for r in real:
            r.vector = np.ones((1, spec.dimension), np.float32)
    elif mode < 0.08:  # every vector a scalar: the stacked array is 1-D
        for r in real:
            r.vector = rnd.choice([1.0, np.float32(2.0), 3])
    elif mode < 0.12:  # every vector of the same wrong dimension
        for r in real:
            r.vector = [0.5] * (spec.dimension + 1)
    elif mode < 0.15:  # every vector a list of numeric strings
        for r in real:
            r.vector = [str(float(x)) for x in range(spec.dimension)]
    if rnd.random() < 0.15:
        return tuple(recs), spec
    return recs, spec


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", range(40))
def test_random_batches_match_reference(chunk: int) -> None:
    for seed in range(chunk * 25, chunk * 25 + 25):
        records, spec = _random_batch(seed)
        assert_same(records, spec)


def test_random_batches_cover_both_outcomes() -> None:
    """The generator is not vacuous: many batches pass, many fail, for many reasons."""
    oks = 0
    reasons: set[str] = set()
    for seed in range(1000):
        records, spec = _random_batch(seed)
        out = _outcome(_ref_validate_records, records, spec)
        if out[0] == "ok":
            oks += 1
        else:
            msg = out[2]
            reasons.add(f"{out[1].__name__}:{msg.split(':', 1)[-1][:25]}")
    assert 250 < oks < 800
    assert len(reasons) > 40


def _rec(
    rid: str = "a", vector: Any = (1.0, 2.0, 3.0), text: Any = None, metadata: Any = None, sparse: Any = None
) -> Record:
    return Record(rid, vector, text, {} if metadata is None else metadata, sparse)


SPEC3 = CollectionSpec("t", 3)
SPEC3_SPARSE = CollectionSpec("s", 3, sparse=True)
LIMIT = V.MAX_METADATA_BYTES


def _explicit_cases() -> list[tuple[str, Any, CollectionSpec]]:
    v = [1.0, 2.0, 3.0]
    cases: list[tuple[str, Any, CollectionSpec]] = [
        ("empty list", [], SPEC3),
        ("empty tuple", (), SPEC3),
        ("single record", _rec(), SPEC3),
        ("one good", [_rec()], SPEC3),
        (
            "flat common",
            [_rec(f"doc-{i}", v, "t" * 100, {"lang": "en", "year": 2001, "score": 0.3}) for i in range(5)],
            SPEC3,
        ),
        ("non-record first", [None, _rec()], SPEC3),
        ("non-record after bad id", [_rec(""), None], SPEC3),
        ("bad id after non-record", [None, _rec("")], SPEC3),
        ("subclass ok", [SubRecord("a", v)], SPEC3),
        ("subclass bad meta", [SubRecord("a", v, None, {"a.b": 1})], SPEC3),
        ("empty id", [_rec("")], SPEC3),
        ("none id", [_rec(None)], SPEC3),  # type: ignore[arg-type]
        ("int id", [_rec(5)], SPEC3),  # type: ignore[arg-type]
        ("str subclass id", [_rec(MyStr("a")), _rec("b")], SPEC3),
        ("str subclass id dup", [_rec("a"), _rec(MyStr("a"))], SPEC3),
        ("dup", [_rec("a"), _rec("b"), _rec("a")], SPEC3),
        ("dup before bad text", [_rec("a"), _rec("a"), _rec("c", text=5)], SPEC3),
        ("bad text before dup", [_rec("a"), _rec("b", text=5), _rec("a")], SPEC3),
        ("dup before bad vector", [_rec("a"), _rec("a", vector=[1.0])], SPEC3),
        ("bad vector before bad meta", [_rec("a", vector=[1.0]), _rec("b", metadata={"$x": 1})], SPEC3),
        ("bytes text", [_rec(text=b"t")], SPEC3),
        ("str subclass text", [_rec(text=MyStr("t"))], SPEC3),
        ("none meta", [_rec(metadata=None)], SPEC3),
        ("list meta", [Record("a", v, None, [])], SPEC3),  # type: ignore[arg-type]
        ("str meta", [Record("a", v, None, "m")], SPEC3),  # type: ignore[arg-type]
        ("int meta", [Record("a", v, None, 3)], SPEC3),  # type: ignore[arg-type]
        ("ordered dict", [_rec(metadata=OrderedDict(a=1, b=[1, 2]))], SPEC3),
        ("ordered dict bad", [_rec(metadata=OrderedDict(a=math.nan))], SPEC3),
        ("mapping proxy", [_rec(metadata=MappingProxyType({"a": 1}))], SPEC3),
        ("mapping proxy bad", [_rec(metadata=MappingProxyType({"a.b": 1}))], SPEC3),
        ("dict subclass", [_rec(metadata=MyDict(a=1))], SPEC3),
        ("custom mapping", [_rec(metadata=MyMapping({"a": 1, "b": {"c": None}}))], SPEC3),
        ("custom mapping bad", [_rec(metadata=MyMapping({"a": 2**64}))], SPEC3),
        ("bool vs int", [_rec(metadata={"a": True, "b": 1, "c": False, "d": 0})], SPEC3),
        ("int64 bounds ok", [_rec(metadata={"a": 2**63 - 1, "b": -(2**63)})], SPEC3),
        ("int64 over", [_rec(metadata={"a": 2**63})], SPEC3),
        ("int64 under", [_rec(metadata={"a": -(2**63) - 1})], SPEC3),
        ("intenum big", [_rec(metadata={"a": Num.BIG})], SPEC3),
        ("nan meta", [_rec(metadata={"a": math.nan})], SPEC3),
        ("inf meta", [_rec(metadata={"ok": 1, "a": math.inf})], SPEC3),
        ("set meta", [_rec(metadata={"a": {1}})], SPEC3),
        ("bytes meta", [_rec(metadata={"a": b"x"})], SPEC3),
        ("object meta", [_rec(metadata={"a": Opaque()})], SPEC3),
        ("np float64 meta", [_rec(metadata={"a": np.float64(0.5)})], SPEC3),
        ("np int64 meta", [_rec(metadata={"a": np.int64(5)})], SPEC3),
        ("key with dot", [_rec(metadata={"a.b": 1})], SPEC3),
        ("key with dollar", [_rec(metadata={"$a": 1})], SPEC3),
        ("key dollar later", [_rec(metadata={"a$": 1})], SPEC3),
        ("empty key", [_rec(metadata={"": 1})], SPEC3),
        ("int key", [_rec(metadata={1: 1})], SPEC3),
        ("strenum key", [_rec(metadata={Color.RED: 1})], SPEC3),
        ("strenum dotted key", [_rec(metadata={Color.DOTTED: 1})], SPEC3),
        (
            "same key str then subclass",
            [_rec("a", metadata={"k": 1}), _rec("b", metadata={MyStr("k"): 1})],
            SPEC3,
        ),
        (
            "lying-length key after same str key",
            [_rec("a", metadata={"k": 1}), _rec("b", metadata={HugeStr("k"): 1})],
            SPEC3,
        ),
        ("lying-length value", [_rec(metadata={"k": HugeStr("v")})], SPEC3),
        (
            "bad key after good keys",
            [_rec("a", metadata={"k": 1}), _rec("b", metadata={"k": 1, "k.x": 2})],
            SPEC3,
        ),
        ("nested ok", [_rec(metadata={"a": {"b": [1, {"c": "x"}]}})], SPEC3),
        ("nested bad key", [_rec(metadata={"a": {"b.c": 1}})], SPEC3),
        ("nested nan in list", [_rec(metadata={"a": [1, math.nan]})], SPEC3),
        ("depth 15", [_rec(metadata={"a": deep(15)})], SPEC3),
        ("depth 16", [_rec(metadata={"a": deep(16)})], SPEC3),
        ("depth 17", [_rec(metadata={"a": deep(17)})], SPEC3),
        ("at limit", [_rec(metadata={"big": "x" * (LIMIT - 11)})], SPEC3),
        ("over limit", [_rec(metadata={"big": "x" * (LIMIT - 10)})], SPEC3),
        ("many small keys over limit", [_rec(metadata={f"k{i}": 1.5 for i in range(3000)})], SPEC3),
        ("many small keys under limit", [_rec(metadata={f"k{i}": None for i in range(3000)})], SPEC3),
        (
            "long keys near limit",
            [_rec(metadata={"k" * 20000: 1, "j" * 20000: 2.0, "i" * 25000: True})],
            SPEC3,
        ),
        ("sparse on dense spec", [_rec(sparse=SparseVector((1,), (1.0,)))], SPEC3),
        ("sparse ok", [_rec(sparse=SparseVector((1,), (1.0,)))], SPEC3_SPARSE),
        ("sparse dup idx", [_rec(sparse=SparseVector((1, 1), (1.0, 2.0)))], SPEC3_SPARSE),
        ("sparse not sparse", [_rec(sparse={1: 1.0})], SPEC3_SPARSE),
        (
            "sparse after flat meta",
            [_rec(metadata={"a": 1}, sparse=SparseVector((1,), (math.nan,)))],
            SPEC3_SPARSE,
        ),
        ("ragged", [_rec("a"), _rec("b", vector=[1.0, 2.0])], SPEC3),
        ("2-D one", [_rec("a"), _rec("b", vector=[[1.0, 2.0, 3.0]])], SPEC3),
        ("2-D all", [_rec(str(i), vector=np.ones((1, 3))) for i in range(3)], SPEC3),
        ("2-D all single", [_rec(vector=np.ones((1, 3)))], SPEC3),
        ("column vectors", [_rec(str(i), vector=np.ones((3, 1))) for i in range(3)], SPEC3),
        ("scalars all", [_rec(str(i), vector=1.0) for i in range(3)], SPEC3),
        ("scalar one", [_rec("a"), _rec("b", vector=2.0)], SPEC3),
        ("wrong dim all", [_rec(str(i), vector=[1.0, 2.0]) for i in range(3)], SPEC3),
        ("wrong dim one", [_rec("a"), _rec("b", vector=[1.0] * 4)], SPEC3),
        ("numeric strings", [_rec(vector=["1.0", "2", "-3e2"])], SPEC3),
        ("numeric strings nan", [_rec(vector=["1.0", "nan", "2"])], SPEC3),
        ("non-numeric strings", [_rec(vector=["a", "b", "c"])], SPEC3),
        ("string vector len dim", [_rec(vector="123")], SPEC3),
        ("string vectors all", [_rec(str(i), vector="1.5") for i in range(3)], SPEC3),
        ("bytes vector", [_rec(vector=b"123")], SPEC3),
        ("nan vector", [_rec("a"), _rec("b", vector=[1.0, math.nan, 2.0])], SPEC3),
        (
            "inf vector",
            [_rec("a", vector=[math.inf, 1.0, 2.0]), _rec("b", vector=[math.nan, 1.0, 2.0])],
            SPEC3,
        ),
        ("float32 overflow", [_rec(vector=[1e39, 0.0, 0.0])], SPEC3),
        ("huge int vector", [_rec(vector=[10**400, 1, 2])], SPEC3),
        (
            "huge int after 2-D",
            [_rec("a", vector=[[1.0, 2.0, 3.0]]), _rec("b", vector=[[10**400, 1, 2]])],
            SPEC3,
        ),
        ("complex list", [_rec(vector=[1j, 1, 2])], SPEC3),
        ("complex array", [_rec(vector=np.array([1j, 1, 2]))], SPEC3),
        ("complex array wrong dim", [_rec(vector=np.array([1j, 1]))], SPEC3),
        ("none vector", [_rec(vector=None)], SPEC3),
        ("dict vector", [_rec(vector={"a": 1.0})], SPEC3),
        ("generator vector", [_rec(vector=(x for x in v))], SPEC3),
        ("iterator vector", [_rec(vector=iter(v))], SPEC3),
        ("matrix vector", [_rec(vector=np.asmatrix(v))], SPEC3),
        ("object array", [_rec(vector=np.array([1.0, 2.0, [3.0]], dtype=object))], SPEC3),
        ("object array ok", [_rec(vector=np.array(v, dtype=object))], SPEC3),
        (
            "mixed containers",
            [_rec("a", vector=v), _rec("b", vector=tuple(v)), _rec("c", vector=np.array(v))],
            SPEC3,
        ),
        ("bool vector", [_rec(vector=[True, False, True])], SPEC3),
        ("decimal vector", [_rec(vector=[Decimal(1), Decimal(2), Decimal(3)])], SPEC3),
        ("opaque items", [_rec(vector=[Opaque()] * 3)], SPEC3),
        ("list with array items", [_rec(vector=[np.float64(1), np.array(2.0), 3])], SPEC3),
        ("nested ragged", [_rec(vector=[[1.0, 2.0], [3.0]])], SPEC3),
        ("float16", [_rec(vector=np.ones(3, np.float16))], SPEC3),
        ("datetime64 mix", [_rec(vector=[np.datetime64("2020-01-01"), 1.0, 2.0])], SPEC3),
        ("timedelta64", [_rec(vector=[np.timedelta64(5)] * 3)], SPEC3),
        ("bytes and str", [_rec(vector=[b"1", "2", "3.5"])], SPEC3),
        ("str and complex", [_rec(vector=["1", 1j, 2])], SPEC3),
        ("big endian", [_rec(vector=np.ones(3, ">f8"))], SPEC3),
        ("surrogate id", [_rec(), _rec("b\ud800")], SPEC3),
        ("surrogate text", [_rec(text="ok \udfff")], SPEC3),
        ("surrogate key", [_rec(metadata={"k\ud83d": 1})], SPEC3),
        ("surrogate value", [_rec(metadata={"k": "\ud83d"})], SPEC3),
        ("surrogate nested", [_rec(metadata={"k": {"l": ["x", "\udc80"]}})], SPEC3),
        ("emoji pair", [_rec("\U0001f600", text="\U0001f600", metadata={"\U0001f600": "\U0001f600"})], SPEC3),
    ]
    return cases


with warnings.catch_warnings():
    warnings.simplefilter("ignore", PendingDeprecationWarning)  # np.asmatrix
    EXPLICIT = _explicit_cases()


@pytest.mark.parametrize(("records", "spec"), [(c[1], c[2]) for c in EXPLICIT], ids=[c[0] for c in EXPLICIT])
def test_explicit_cases_match_reference(records: Any, spec: CollectionSpec) -> None:
    assert_same(records, spec)


def test_explicit_cases_hit_the_intended_outcomes() -> None:
    """Spot checks that the explicit cases really exercise accept and reject paths."""
    outcomes = {name: _outcome(_ref_validate_records, recs, spec) for name, recs, spec in EXPLICIT}
    for name in [
        "flat common",
        "ordered dict",
        "mapping proxy",
        "at limit",
        "strenum key",
    ]:
        assert outcomes[name][0] == "ok", name
    for name in [
        "over limit",
        "int64 over",
        "nan meta",
        "key with dot",
        "depth 17",
        "2-D all",
        "scalars all",
    ]:
        assert outcomes[name][0] == "raise", name
    assert outcomes["wrong dim all"][1] is DimensionMismatchError
    for name in ["huge int vector", "nested ragged", "numeric strings", "bool vector"]:  # never coerced
        assert outcomes[name][1] is InvalidInputError, name
    for name in ["surrogate id", "surrogate text", "surrogate key", "surrogate value", "surrogate nested"]:
        assert outcomes[name][1] is InvalidInputError, name
    assert outcomes["emoji pair"][0] == "ok"  # a surrogate pair written as one code point is text
    assert outcomes["non-numeric strings"][1] is InvalidInputError


@pytest.mark.parametrize("limit", [20, 40, 64, 100, 150, 300, 1000])
def test_size_limit_boundaries_match_reference(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """With a small limit, random flat metadata straddles it: the size bound in the fast
    path must never accept what the exact count rejects (nor reject what it accepts)."""
    monkeypatch.setattr(V, "MAX_METADATA_BYTES", limit)
    rnd = random.Random(limit)
    outcomes = set()
    for trial in range(150):
        meta = {}
        for _ in range(rnd.randrange(0, 5)):
            key = "k" * rnd.randrange(1, 2 + limit // 10)
            meta[key] = rnd.choice(["s" * rnd.randrange(0, limit // 2), 1, 2.5, True, None, -(2**63)])
        recs = [_rec(f"r{trial}-{j}", metadata=dict(meta) if j else meta) for j in range(rnd.randrange(1, 3))]
        outcomes.add(assert_same(recs, SPEC3)[0])
    assert outcomes == {"ok", "raise"}


@pytest.mark.parametrize("depth_limit", [0, 1, 2, 5])
def test_depth_limit_matches_reference(monkeypatch: pytest.MonkeyPatch, depth_limit: int) -> None:
    monkeypatch.setattr(V, "MAX_METADATA_DEPTH", depth_limit)
    outcomes = set()
    for levels in range(0, 8):
        for leaf in [1, "x", [1], {}, {"a": None}]:
            outcomes.add(assert_same([_rec(metadata={"a": deep(levels, leaf)})], SPEC3)[0])
            outcomes.add(assert_same([_rec(metadata={"a": 1, "b": "x"})], SPEC3)[0])
    assert outcomes == {"ok", "raise"} if depth_limit > 0 else "raise" in outcomes


def test_common_batch_matches_reference_at_full_size() -> None:
    nrng = np.random.default_rng(7)
    X = nrng.standard_normal((2000, 384)).astype(np.float32)
    spec = CollectionSpec("bench", 384)
    recs = [
        Record(
            f"doc-{i}",
            X[i],
            "lorem ipsum " * 8,
            {"lang": ["en", "fr"][i % 2], "year": 1990 + i % 30, "score": i / 7},
        )
        for i in range(2000)
    ]
    out = assert_same(recs, spec)
    assert out[0] == "ok" and np.array_equal(out[1], X)
    with_nan = X[3].copy()
    with_nan[7] = np.nan
    recs[1500].vector = with_nan
    recs[1700].metadata = {"lang": "en", "year": 2**64}
    out = assert_same(recs, spec)
    assert out[0] == "raise" and "doc-1700" in out[2]  # metadata is checked before any vector
    recs[1700].metadata = {}
    out = assert_same(recs, spec)
    assert out[0] == "raise" and "'doc-1500': vector holds NaN" in out[2]


def test_flat_batches_take_the_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common case never reaches the recursive check or the per-vector shape scan."""
    calls = {"json": 0, "shape": 0}
    real_json, real_shape = V._check_json, np.shape

    def counting_json(*args: Any) -> int:
        calls["json"] += 1
        return real_json(*args)

    def counting_shape(*args: Any, **kwargs: Any) -> Any:
        calls["shape"] += 1
        return real_shape(*args, **kwargs)

    monkeypatch.setattr(V, "_check_json", counting_json)
    monkeypatch.setattr(np, "shape", counting_shape)
    recs = [
        _rec(
            f"d{i}",
            [1.0, 2.0, float(i)],
            "t",
            {"lang": "en", "year": 2001, "score": 0.3, "ok": True, "n": None},
        )
        for i in range(50)
    ]
    m = V.validate_records(recs, SPEC3)
    assert calls == {"json": 0, "shape": 0}
    assert m.shape == (50, 3) and m.dtype == np.float32 and m[7, 2] == 7.0
    recs[10].metadata = {"nested": {"a": 1}}
    recs[20].vector = [1.0, 2.0]
    with pytest.raises(DimensionMismatchError, match="'d20' vector has dimension 2"):
        V.validate_records(recs, SPEC3)
    assert calls["json"] > 0 and calls["shape"] > 0


def test_records_unchanged_by_validation() -> None:
    meta = {"a": [1, 2], "b": "x"}
    vec = [1.0, 2.0, 3.0]
    recs = [_rec("a", vec, "t", meta)]
    V.validate_records(recs, SPEC3)
    assert recs[0].metadata is meta and meta == {"a": [1, 2], "b": "x"}
    assert recs[0].vector is vec and vec == [1.0, 2.0, 3.0]


def _sequence_types() -> list[Callable[[list[Record]], Sequence[Record]]]:
    return [list, tuple]


@pytest.mark.parametrize("make", _sequence_types())
def test_sequence_kinds_match_reference(make: Callable[[list[Record]], Sequence[Record]]) -> None:
    recs = [_rec(f"x{i}", [float(i)] * 3, metadata={"i": i}) for i in range(4)]
    assert assert_same(make(recs), SPEC3)[0] == "ok"
    recs[2].id = "x1"
    assert assert_same(make(recs), SPEC3)[0] == "raise"


# --- RecordBatch ------------------------------------------------------------------------------


def test_random_batches_as_columns_cover_both_outcomes() -> None:
    """``assert_same`` really compares columns: stacked matrices and lists, accepted and refused."""
    seen: dict[tuple[bool, str], int] = {}
    for seed in range(300):
        records, spec = _random_batch(seed)
        for batch in _as_batches(records):
            out = _outcome(V.validate_records, batch, spec)
            key = (type(batch.vectors) is np.ndarray, out[0])
            seen[key] = seen.get(key, 0) + 1
    assert all(seen.get((stacked, kind), 0) >= 10 for stacked in (True, False) for kind in ("ok", "raise")), (
        seen
    )


def test_batch_matrix_is_float32_without_copying_float32() -> None:
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    batch = RecordBatch([f"d{i}" for i in range(4)], X, texts=["t"] * 4)
    m = V.validate_records(batch, SPEC3)
    assert m.dtype == np.float32 and m.shape == (4, 3) and np.array_equal(m, X)
    # A float32 matrix is passed on as it is: no second copy of a bulk load (drivers only read it).
    X32 = X.astype(np.float32)
    m32 = V.validate_records(RecordBatch(["a", "b", "c", "d"], X32), SPEC3)
    assert m32 is X32


def test_batch_errors_name_the_record() -> None:
    X = np.ones((3, 3), dtype=np.float32)
    X[2, 1] = np.nan
    with pytest.raises(InvalidInputError, match="record 'c': vector holds NaN"):
        V.validate_records(RecordBatch(["a", "b", "c"], X), SPEC3)
    with pytest.raises(InvalidInputError, match="record 2: id 'a' appears twice"):
        V.validate_records(RecordBatch(["a", "b", "a"], np.ones((3, 3))), SPEC3)
    with pytest.raises(DimensionMismatchError, match="'a' vector has dimension 2"):
        V.validate_records(RecordBatch(["a", "b"], np.ones((2, 2))), SPEC3)
    with pytest.raises(InvalidInputError, match=r"record 'b' metadata\.x: object value"):
        V.validate_records(RecordBatch(["a", "b"], np.ones((2, 3)), metadata=[{}, {"x": object()}]), SPEC3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ids": "abc", "vectors": np.ones((3, 3))}, "not one string"),
        ({"ids": ["a", "b"], "vectors": np.ones((3, 3))}, "vectors has 3 rows but there are 2 ids"),
        ({"ids": ["a"], "vectors": None}, "needs vectors"),
        ({"ids": ["a"], "vectors": [[1.0, 2.0, 3.0]], "texts": "x"}, "texts must hold one entry per id"),
        ({"ids": ["a"], "vectors": [[1.0, 2.0, 3.0]], "metadata": {"k": 1}}, "metadata must hold one entry"),
        ({"ids": ["a"], "vectors": [[1.0, 2.0, 3.0]], "metadata": [{}, {}]}, "metadata has 2 rows"),
        ({"ids": 5, "vectors": [[1.0, 2.0, 3.0]]}, "ids must be a sequence"),
    ],
)
def test_batch_constructor_refuses_bad_columns(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        RecordBatch(**kwargs)


def test_batch_is_a_sequence_of_records() -> None:
    X = np.arange(9, dtype=np.float32).reshape(3, 3)
    batch = RecordBatch(["a", "b", "c"], X, texts=["x", None, "z"])
    recs = list(batch)
    assert [r.id for r in recs] == ["a", "b", "c"] and [r.text for r in recs] == ["x", None, "z"]
    assert recs[0].metadata == {} and recs[0].metadata is not recs[1].metadata  # fresh dicts
    assert np.array_equal(recs[2].vector, X[2]) and recs[1].sparse is None
    assert batch[1].id == "b" and batch[1].text is None and batch[-1].id == "c"
    tail = batch[1:]
    assert isinstance(tail, RecordBatch) and len(tail) == 2 and [r.id for r in tail] == ["b", "c"]
    assert "3 records" in repr(batch) and "texts" in repr(batch) and "metadata" not in repr(batch)


def test_record_columns_of_batches_and_records() -> None:
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    batch = RecordBatch(["a", "b", "c", "d"], X, metadata=[{"i": i} for i in range(4)])
    ids, texts, metas, sparse = record_columns(batch, 1, 3)
    assert list(ids) == ["b", "c"] and list(texts) == [None, None]
    assert list(metas) == [{"i": 1}, {"i": 2}] and list(sparse) == [None, None]
    recs = list(batch)
    recs[2].text = "t"
    ids, texts, metas, sparse = record_columns(recs, 2)
    assert (list(ids), list(texts), list(metas)) == (["c", "d"], ["t", None], [{"i": 2}, {"i": 3}])
    assert list(record_columns(RecordBatch(["x"], X[:1]))[2]) == [{}]
