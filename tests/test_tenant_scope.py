"""Tenant scoping (``vecctx.scoped``): every test tries to escape a scope.

The escape attempts run against the in-memory reference and three real embedded engines
(Qdrant Edge, Chroma, Milvus Lite), so isolation is shown on the backends' own filter
engines, not only on the pure-Python evaluator. A scope on a shared collection is compared
with a dedicated store holding only that tenant's records: they must agree exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import vecctx
from vecctx import (
    AsyncMemoryStore,
    AsyncTenantScopedStore,
    CollectionNotFoundError,
    CollectionSpec,
    ConfigError,
    F,
    FieldType,
    Filter,
    InvalidFilterError,
    InvalidInputError,
    MemoryStore,
    Record,
    SearchParams,
    SearchRequest,
    SparseVector,
    StoreClosedError,
    TenantScopedStore,
    UnsupportedFeatureError,
    VectorStore,
)
from vecctx.contract.driver import InProcessAsyncDriver
from vecctx.contract.filters import MAX_FILTER_DEPTH
from vecctx.contract.store import AsyncVectorStore
from vecctx.contract.types import FloatArray
from vecctx.front import AsyncStore, Store
from vecctx.memory import MemoryDriver
from vecctx.scoped import DEFAULT_TENANT_FIELD, MAX_TENANT_BYTES, tenant_prefix
from vecctx.testing import BlockingStore, ConformanceSuite
from vecctx.testing.data import FLAT_METADATA, lowrank, records_for

DIM = 8
EXACT = SearchParams(exact=True)
FIELD = DEFAULT_TENANT_FIELD
BACKENDS = ["memory", "qdrant", "chroma", "milvus"]


def _name() -> str:
    return "t" + uuid.uuid4().hex[:12]


# -- backends -----------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VectorStore]:
    """One store per backend for the whole module; each test works in its own collection."""
    kind: str = request.param
    root = tmp_path_factory.mktemp(f"scope-{kind}")
    url = {
        "memory": "memory://",
        "qdrant": f"qdrant://{root / 'q'}",
        "chroma": f"chroma://{root / 'c'}",
        "milvus": f"milvus://{root / 'm.db'}",
    }[kind]
    store = vecctx.connect(url)
    try:
        yield store
    finally:
        store.close()


# -- the shared world: tenants a and b and unscoped records in one collection ------------

A_IDS = ["1", "2", "3", "shared", "x:y"]
B_IDS = ["1", "2", "3", "shared", "b-only", "raw"]
RAW_IDS = ["raw", "1", tenant_prefix("b") + "1-forged"]
QUERY = np.eye(DIM, dtype=np.float32)[0] + 0.1
QUERY_SPARSE = SparseVector((1, 2, 3), (1.0, 1.0, 1.0))


def _a_records() -> list[Record]:
    vecs = lowrank(len(A_IDS), DIM, rank=4, seed=21)
    return [
        Record(
            id=rid,
            vector=vecs[i],
            text=f"a:{rid}",
            metadata={"n": i, "owner": "a", "grp": "x" if i % 2 else "y", "obj": {"_tenant": "b"}},
            sparse=SparseVector((i % 3 + 1, 10 + i), (0.5, 1.0)),
        )
        for i, rid in enumerate(A_IDS)
    ]


def _b_records() -> list[Record]:
    """Tenant b's records are exactly the query (dense and sparse): any leak ranks first."""
    return [
        Record(
            id=rid,
            vector=QUERY,
            text=f"b:{rid}",
            metadata={"n": i, "owner": "b", "grp": "x"},
            sparse=SparseVector((1, 2, 3), (5.0, 5.0, 5.0)),
        )
        for i, rid in enumerate(B_IDS)
    ]


def _raw_records() -> list[Record]:
    """Written without a scope: untagged, or with an id in b's namespace but no tag."""
    return [
        Record(id=rid, vector=QUERY, text=f"raw:{rid}", metadata={"n": 1, "owner": "raw"}) for rid in RAW_IDS
    ]


def _strip_sparse(records: list[Record], sparse: bool) -> list[Record]:
    if sparse:
        return records
    return [Record(id=r.id, vector=r.vector, text=r.text, metadata=r.metadata) for r in records]


@dataclass
class World:
    store: VectorStore
    name: str
    a: TenantScopedStore
    b: TenantScopedStore
    ref: MemoryStore  # tenant a's records alone, in a dedicated store
    sparse: bool

    def raw_count(self) -> int:
        return self.store.count(self.name)


def _build(store: VectorStore) -> World:
    sparse = store.capabilities.sparse
    name = _name()
    a = vecctx.scoped(store, tenant="a")
    b = vecctx.scoped(store, tenant="b")
    spec = CollectionSpec(name=name, dimension=DIM, sparse=sparse, indexed_fields={"n": FieldType.INTEGER})
    a.create_collection(spec)
    b.upsert(name, _strip_sparse(_b_records(), sparse))
    a.upsert(name, _strip_sparse(_a_records(), sparse))
    store.upsert(name, _raw_records())
    ref = MemoryStore()
    ref.create_collection(spec)
    ref.upsert(name, _strip_sparse(_a_records(), sparse))
    return World(store, name, a, b, ref, sparse)


@pytest.fixture(scope="module")
def world(backend: VectorStore) -> Iterator[World]:
    """A read-only world shared by the tests that do not write."""
    w = _build(backend)
    yield w
    backend.drop_collection(w.name, missing_ok=True)


@pytest.fixture
def fresh(backend: VectorStore) -> Iterator[World]:
    """A world of its own, for the tests that write or delete."""
    w = _build(backend)
    yield w
    with contextlib.suppress(StoreClosedError):
        backend.drop_collection(w.name, missing_ok=True)


def _ids(items: Iterable[Any]) -> list[str]:
    return [x.id for x in items]


def _assert_world_intact(w: World, *, a: int = len(A_IDS)) -> None:
    assert w.a.count(w.name) == a
    assert w.b.count(w.name) == len(B_IDS)
    assert sorted(r.text or "" for r in w.b.scroll(w.name)) == sorted(f"b:{i}" for i in B_IDS)
    assert w.raw_count() == a + len(B_IDS) + len(RAW_IDS)


# -- filters that try to widen the scope ----------------------------------------------------

ESCAPES: list[tuple[str, Filter | Mapping[str, Any]]] = [
    ("eq_other_owner", F("owner") == "b"),
    ("or_everything", (F("n") >= 0) | F("owner").exists()),
    ("or_other_tenants", (F("owner") == "b") | (F("owner") == "raw")),
    ("not_mine", ~(F("owner") == "a")),
    ("ne_mine", F("owner") != "a"),
    ("nin_mine", F("owner").nin(["a"])),
    ("missing_field", F("nothing").missing()),
    ("not_exists_owner", ~F("owner").exists()),
    ("not_and", ~((F("owner") == "a") & (F("n") >= 0))),
    ("or_with_not", (F("grp") == "x") | ~(F("grp") == "x")),
    ("nested_lookalike_key", F("obj._tenant") == "b"),
    ("dict_or", {"$or": [{"owner": "b"}, {"n": {"$gte": 0}}]}),
    ("dict_not", {"$not": {"owner": "a"}}),
    ("dict_nin", {"owner": {"$nin": ["a"]}}),
    ("dict_ne_missing", {"nothing": {"$ne": 1}}),
    ("dict_exists_false", {"owner": {"$exists": False}}),
]

RESERVED: list[tuple[str, Filter | Mapping[str, Any]]] = [
    ("eq_other", F(FIELD) == "b"),
    ("eq_own", F(FIELD) == "a"),
    ("ne_own", F(FIELD) != "a"),
    ("nin_own", F(FIELD).nin(["a"])),
    ("in_both", F(FIELD).in_(["a", "b"])),
    ("exists", F(FIELD).exists()),
    ("missing", F(FIELD).missing()),
    ("or_escape", (F("n") >= 0) | (F(FIELD) == "b")),
    ("not_own", ~(F(FIELD) == "a")),
    ("nested_path", F(FIELD + ".x") == 1),
    ("range", F(FIELD) > 0),
    ("dict_or", {"$or": [{FIELD: "b"}, {"n": 1}]}),
    ("dict_exists_false", {FIELD: {"$exists": False}}),
    ("dict_not", {"$not": {FIELD: "a"}}),
    ("dict_deep", {"$and": [{"n": {"$gte": 0}}, {"$or": [{"grp": "x"}, {FIELD: {"$ne": "a"}}]}]}),
]


@pytest.mark.parametrize(("case", "flt"), ESCAPES, ids=[c for c, _ in ESCAPES])
def test_filter_cannot_widen_scope(world: World, case: str, flt: Filter | Mapping[str, Any]) -> None:
    """count, scroll and search under a hostile filter equal a dedicated store of a's records."""
    w = world
    want = sorted(_ids(w.ref.scroll(w.name, filter=flt)))
    assert w.a.count(w.name, filter=flt) == len(want)
    assert sorted(_ids(w.a.scroll(w.name, filter=flt))) == want
    hits = w.a.search(w.name, vector=QUERY, filter=flt, k=50, params=EXACT)
    assert _ids(hits) == _ids(w.ref.search(w.name, vector=QUERY, filter=flt, k=50))
    assert all((h.text or "").startswith("a:") for h in hits)
    # the same filter from b sees only b's records
    b_hits = w.b.search(w.name, vector=QUERY, filter=flt, k=50, params=EXACT)
    assert all((h.text or "").startswith("b:") for h in b_hits)
    assert {r.text for r in w.b.scroll(w.name, filter=flt)} <= {f"b:{i}" for i in B_IDS}


@pytest.mark.parametrize(("case", "flt"), RESERVED, ids=[c for c, _ in RESERVED])
def test_filter_on_tenant_field_is_rejected(world: World, case: str, flt: Filter | Mapping[str, Any]) -> None:
    """The tenant field is reserved: every entry point refuses such a filter before any I/O."""
    w = world
    with pytest.raises(InvalidFilterError, match="reserved"):
        w.a.count(w.name, filter=flt)
    with pytest.raises(InvalidFilterError):
        w.a.scroll(w.name, filter=flt)  # raises at the call, not at the first next()
    with pytest.raises(InvalidFilterError):
        w.a.search(w.name, vector=QUERY, filter=flt, k=5)
    parsed = vecctx.as_filter(flt)
    with pytest.raises(InvalidFilterError):
        w.a.search_batch(
            w.name, [SearchRequest(vector=QUERY, k=3), SearchRequest(vector=QUERY, filter=parsed)]
        )
    with pytest.raises(InvalidFilterError):
        w.a.delete(w.name, filter=flt)
    with pytest.raises(InvalidFilterError):
        w.a.delete(w.name, ids=["1"], filter=flt)
    _assert_world_intact(w)


def test_tenant_field_lookalikes_are_ordinary_keys() -> None:
    """Only the field itself and paths below it are reserved."""
    s = MemoryStore()
    a = vecctx.scoped(s, tenant="a")
    a.create_collection(CollectionSpec(name="c", dimension=2))
    a.upsert("c", [Record(id="1", vector=[1, 0], metadata={"_tenantx": 1, "obj": {"_tenant": "z"}})])
    assert a.count("c", filter=F("_tenantx") == 1) == 1
    assert a.count("c", filter=F("obj._tenant") == "z") == 1
    assert a.count("c", filter=F("_tenan") == 1) == 0


def test_repeated_filters_keep_their_meaning() -> None:
    """The scope caches guarded filters by identity: equal-looking filters that the semantics
    tell apart (``1`` and ``True``) never share an entry, and the cache can overflow."""
    s = MemoryStore()
    a = vecctx.scoped(s, tenant="a")
    a.create_collection(CollectionSpec(name="c", dimension=2))
    a.upsert(
        "c",
        [
            Record(id="int", vector=[1, 0], metadata={"x": 1}),
            Record(id="bool", vector=[1, 0], metadata={"x": True}),
        ],
    )
    vecctx.scoped(s, tenant="b").upsert("c", [Record(id="int", vector=[1, 0], metadata={"x": 1})])
    one = F("x") == 1
    for _ in range(3):
        assert _ids(a.scroll("c", filter=one)) == ["int"]
    assert _ids(a.scroll("c", filter=F("x") == True)) == ["bool"]  # noqa: E712
    assert _ids(a.scroll("c", filter=F("x") == 1.0)) == ["int"]
    for i in range(600):
        assert a.count("c", filter=F("x").in_([i])) == (1 if i == 1 else 0)
    assert _ids(a.scroll("c", filter=one)) == ["int"]
    with pytest.raises(InvalidFilterError):
        a.count("c", filter=F(FIELD) == "b")


# -- ids ----------------------------------------------------------------------------------


def test_same_user_ids_do_not_collide(world: World) -> None:
    w = world
    got_a = w.a.get(w.name, ["1", "shared", "b-only", "raw", "x:y"])
    assert [(r.id, r.text) for r in got_a] == [("1", "a:1"), ("shared", "a:shared"), ("x:y", "a:x:y")]
    got_b = w.b.get(w.name, ["1", "shared", "b-only", "raw", "x:y"])
    assert [(r.id, r.text) for r in got_b] == [
        ("1", "b:1"),
        ("shared", "b:shared"),
        ("b-only", "b:b-only"),
        ("raw", "b:raw"),
    ]
    # b's record "raw" is not the unscoped record "raw", and "1" is not the unscoped "1"
    assert {r.text for r in w.store.get(w.name, ["raw", "1"])} == {"raw:raw", "raw:1"}


def test_stored_ids_are_namespaced(world: World) -> None:
    w = world
    (stored,) = w.store.get(w.name, [tenant_prefix("a") + "1"])
    assert stored.text == "a:1"
    assert stored.metadata[FIELD] == "a"
    assert w.store.get(w.name, [tenant_prefix("b") + "b-only"])[0].metadata[FIELD] == "b"
    assert tenant_prefix("a") == "t61:" and tenant_prefix("b") == "t62:"


def test_ids_addressing_another_namespace_find_nothing(world: World) -> None:
    w = world
    forged = [
        tenant_prefix("b") + "1",  # b's stored id for "1"
        tenant_prefix("b") + "b-only",
        "t62:1",
        "b-only",
        "raw",
        tenant_prefix("b") + "1-forged",  # an unscoped record in b's namespace
        "1-forged",
        ":1",
        "../1",
    ]
    assert w.a.get(w.name, forged) == []
    assert _ids(w.b.get(w.name, ["1-forged"])) == []  # untagged: not b's, though its id is


@pytest.mark.parametrize("crafted", ["t62:1", "t61:1", "1:", ":", "t62:", "t:1", "é:1\u200b"])
def test_crafted_ids_cannot_overwrite_another_tenant(fresh: World, crafted: str) -> None:
    w = fresh
    w.a.upsert(w.name, [Record(id=crafted, vector=QUERY, text="a:crafted", metadata={"owner": "a"})])
    assert _ids(w.a.get(w.name, [crafted])) == [crafted]
    assert [r.text for r in w.a.get(w.name, ["1"])] == ["a:1"]
    assert [r.text for r in w.b.get(w.name, ["1"])] == ["b:1"]
    assert w.b.get(w.name, [crafted]) == []
    assert crafted not in _ids(w.b.scroll(w.name))
    _assert_world_intact(w, a=len(A_IDS) + 1)
    (stored,) = w.store.get(w.name, [tenant_prefix("a") + crafted])
    assert stored.metadata[FIELD] == "a"


TRICKY_TENANTS = [
    "a",
    "a:",
    "A",
    "a ",
    "ab",
    "6",
    "61",
    "t61:",
    ":",
    "é",  # NFC
    unicodedata.normalize("NFD", "é"),  # same text to a reader, another tenant
    "🙂",
    "ア",
    "a\u200b",
    "x" * MAX_TENANT_BYTES,
]


def test_tricky_tenant_names_are_isolated(backend: VectorStore) -> None:
    """Tenants whose names are prefixes of each other, or of each other's encodings, or
    differ only by normalisation or invisible characters, share nothing."""
    name = _name()
    scopes = [vecctx.scoped(backend, tenant=t) for t in TRICKY_TENANTS]
    scopes[0].create_collection(CollectionSpec(name=name, dimension=DIM))
    try:
        vec = lowrank(len(scopes), DIM, rank=4, seed=3)
        for i, s in enumerate(scopes):
            crafted = [tenant_prefix(o) + "1" for o in TRICKY_TENANTS[i + 1 : i + 3]]
            s.upsert(
                name,
                [
                    Record(id=rid, vector=vec[i], text=f"{i}:{rid}", metadata={"i": i})
                    for rid in ["1", *crafted]
                ],
            )
        for i, s in enumerate(scopes):
            owned = [r.text for r in s.scroll(name)]
            assert all(t is not None and t.startswith(f"{i}:") for t in owned), TRICKY_TENANTS[i]
            assert s.count(name) == len(owned)
            assert [r.text for r in s.get(name, ["1"])] == [f"{i}:1"]
            assert s.count(name, filter=F("i") != i) == 0
            hits = s.search(name, vector=vec[(i + 1) % len(scopes)], k=50, params=EXACT)
            assert {h.text for h in hits} == set(owned)
        assert len({tenant_prefix(t) for t in TRICKY_TENANTS}) == len(TRICKY_TENANTS)
    finally:
        backend.drop_collection(name, missing_ok=True)


@given(st.text(min_size=1, max_size=12), st.text(min_size=1, max_size=12))
def test_prefixes_are_prefix_free(t1: str, t2: str) -> None:
    """No tenant's id prefix is a prefix of another's: their id spaces are disjoint."""
    try:
        p1, p2 = tenant_prefix(t1), tenant_prefix(t2)
    except InvalidInputError:
        return  # a control character or a lone surrogate: refused (tested below)
    if t1 != t2:
        assert not p1.startswith(p2) and not p2.startswith(p1)
    else:
        assert p1 == p2


# -- metadata spoofing ----------------------------------------------------------------------

SPOOFS: list[Any] = ["b", "A", "a ", ["a", "b"], ["a"], 1, None, True, {"x": "a"}, ""]


@pytest.mark.parametrize("tag", SPOOFS, ids=[repr(s) for s in SPOOFS])
def test_spoofed_tenant_tag_rejects_whole_batch(fresh: World, tag: Any) -> None:
    w = fresh
    good = Record(id="new-good", vector=QUERY, text="a:new", metadata={"owner": "a"})
    spoof = Record(id="new-spoof", vector=QUERY, text="a:spoof", metadata={"owner": "a", FIELD: tag})
    with pytest.raises(InvalidInputError, match="reserved"):
        w.a.upsert(w.name, [good, spoof])
    assert w.a.get(w.name, ["new-good", "new-spoof"]) == []
    assert w.b.get(w.name, ["new-good", "new-spoof"]) == []
    _assert_world_intact(w)


def test_own_tag_is_accepted_and_hidden(fresh: World) -> None:
    w = fresh
    meta = {"owner": "a", FIELD: "a"}
    rec = Record(id="own", vector=QUERY, text="a:own", metadata=meta)
    w.a.upsert(w.name, [rec])
    assert meta == {"owner": "a", FIELD: "a"}  # the caller's record is not modified
    (got,) = w.a.get(w.name, ["own"])
    assert dict(got.metadata) == {"owner": "a"}
    assert all(FIELD not in r.metadata for r in w.a.scroll(w.name))
    hits = w.a.search(w.name, vector=QUERY, k=50, params=EXACT)
    assert hits and all(h.metadata is not None and FIELD not in h.metadata for h in hits)


# -- deletes ------------------------------------------------------------------------------


def test_delete_by_ids_touches_only_own_records(fresh: World) -> None:
    w = fresh
    w.a.delete(w.name, ids=["1", "shared", "b-only", "raw", tenant_prefix("b") + "2", "1-forged"])
    assert w.a.get(w.name, ["1", "shared"]) == []
    assert w.a.count(w.name) == len(A_IDS) - 2
    _assert_world_intact(w, a=len(A_IDS) - 2)
    assert [r.text for r in w.b.get(w.name, ["1", "shared", "2"])] == ["b:1", "b:shared", "b:2"]
    assert {r.text for r in w.store.get(w.name, RAW_IDS)} == {f"raw:{i}" for i in RAW_IDS}


def test_delete_by_ids_spares_foreign_record_in_own_namespace(fresh: World) -> None:
    """An unscoped record stored under a's id prefix but tagged b is not a's to delete or read."""
    w = fresh
    forged = Record(id=tenant_prefix("a") + "planted", vector=QUERY, text="b:planted", metadata={FIELD: "b"})
    w.store.upsert(w.name, [forged])
    assert w.a.get(w.name, ["planted"]) == []
    assert w.b.get(w.name, ["planted"]) == []
    w.a.delete(w.name, ids=["planted"])
    assert _ids(w.store.get(w.name, [forged.id])) == [forged.id]
    assert "planted" not in _ids(w.a.scroll(w.name))
    assert "planted" not in _ids(w.a.search(w.name, vector=QUERY, k=50, params=EXACT))


@pytest.mark.parametrize(("case", "flt"), ESCAPES, ids=[c for c, _ in ESCAPES])
def test_delete_by_hostile_filter_stays_in_scope(fresh: World, case: str, flt: Any) -> None:
    w = fresh
    doomed = len(_ids(w.ref.scroll(w.name, filter=flt)))
    w.a.delete(w.name, filter=flt)
    _assert_world_intact(w, a=len(A_IDS) - doomed)


def test_delete_everything_in_scope(fresh: World) -> None:
    w = fresh
    w.a.delete(w.name, filter=F("n") >= 0)
    assert w.a.count(w.name) == 0
    assert list(w.a.scroll(w.name)) == []
    assert w.a.search(w.name, vector=QUERY, k=10, params=EXACT) == []
    _assert_world_intact(w, a=0)


def test_delete_without_target_is_a_no_op(fresh: World) -> None:
    w = fresh
    w.a.delete(w.name)
    w.a.delete(w.name, filter={})
    w.a.delete(w.name, ids=[])
    w.a.delete(w.name, ids=[], filter=None)
    _assert_world_intact(w)


def test_delete_by_ids_and_filter_is_a_union(fresh: World) -> None:
    w = fresh
    w.a.delete(w.name, ids=["1", "b-only"], filter=F("n") == 2)  # a's "n" is its index in A_IDS
    gone = {"1", A_IDS[2]}
    assert sorted(_ids(w.a.scroll(w.name))) == sorted(set(A_IDS) - gone)
    _assert_world_intact(w, a=len(A_IDS) - 2)


# -- reads --------------------------------------------------------------------------------


def test_counts_scroll_and_search_see_one_tenant(world: World) -> None:
    w = world
    assert w.a.count(w.name) == len(A_IDS)
    assert w.b.count(w.name) == len(B_IDS)
    assert w.raw_count() == len(A_IDS) + len(B_IDS) + len(RAW_IDS)
    assert sorted(_ids(w.a.scroll(w.name, batch_size=2))) == sorted(A_IDS)
    assert sorted(_ids(w.b.scroll(w.name, batch_size=2))) == sorted(B_IDS)
    hits = w.a.search(w.name, vector=QUERY, k=50, params=EXACT)
    assert _ids(hits) == _ids(w.ref.search(w.name, vector=QUERY, k=50))
    for h, r in zip(hits, w.ref.search(w.name, vector=QUERY, k=50), strict=True):
        assert h.text == r.text and dict(h.metadata or {}) == dict(r.metadata or {})
        assert h.score == pytest.approx(r.score, abs=1e-4)


def test_filter_is_applied_before_top_k(world: World) -> None:
    """b's records equal the query and outrank all of a's: a post-filter would return nothing."""
    w = world
    hits = w.a.search(w.name, vector=QUERY, k=2, params=EXACT)
    assert _ids(hits) == _ids(w.ref.search(w.name, vector=QUERY, k=2))
    approx = w.a.search(w.name, vector=QUERY, k=2)
    assert len(approx) == 2 and all((h.text or "").startswith("a:") for h in approx)


def test_search_without_payload(world: World) -> None:
    w = world
    hits = w.a.search(w.name, vector=QUERY, k=3, params=EXACT, with_payload=False)
    assert _ids(hits) == _ids(w.ref.search(w.name, vector=QUERY, k=3))
    assert all(h.metadata is None for h in hits)


def test_get_with_vectors_round_trips(world: World) -> None:
    w = world
    got = w.a.get(w.name, ["shared", "3"], with_vectors=True)
    want = {r.id: r for r in _a_records()}
    assert _ids(got) == ["shared", "3"]
    for g in got:
        v = np.asarray(g.vector, dtype=np.float64)
        u = np.asarray(want[g.id].vector, dtype=np.float64)
        assert float(v @ u / (np.linalg.norm(v) * np.linalg.norm(u))) > 0.9999
        assert dict(g.metadata) == dict(want[g.id].metadata)


def test_search_batch_is_scoped(world: World) -> None:
    w = world
    requests = [
        SearchRequest(vector=QUERY, k=50, params=EXACT),
        SearchRequest(vector=QUERY, k=50, params=EXACT, filter=(F("owner") == "b") | (F("n") >= 2)),
        SearchRequest(vector=QUERY, k=1, params=EXACT, filter=~(F("owner") == "a")),
        SearchRequest(vector=QUERY, k=3, params=EXACT, filter=F("grp") == "x"),
    ]
    got = w.a.search_batch(w.name, requests)
    want = w.ref.search_batch(w.name, requests)
    assert [_ids(g) for g in got] == [_ids(x) for x in want]
    assert [len(g) for g in got] == [len(A_IDS), 3, 0, 2]
    with pytest.raises(InvalidInputError):
        w.a.search_batch(w.name, [{"vector": QUERY}])  # type: ignore[list-item]


def test_sparse_and_hybrid_search_are_scoped(world: World) -> None:
    """b's sparse vectors hold the query's terms with the highest weights."""
    w = world
    assert w.sparse == (w.store.capabilities.name != "chroma")
    if not w.sparse:  # Chroma: no sparse vectors; refused through the scope, as without one
        with pytest.raises((InvalidInputError, UnsupportedFeatureError)):
            w.a.search(w.name, sparse=QUERY_SPARSE, k=5)
        with pytest.raises((InvalidInputError, UnsupportedFeatureError)):
            w.a.search(w.name, vector=QUERY, sparse=QUERY_SPARSE, k=5)
        return
    touched = {r.id for r in _a_records() if r.sparse and set(r.sparse.indices) & set(QUERY_SPARSE.indices)}
    sparse_hits = w.a.search(w.name, sparse=QUERY_SPARSE, k=50)
    assert {h.id for h in sparse_hits} == touched
    assert all((h.text or "").startswith("a:") for h in sparse_hits)
    assert len(w.a.search(w.name, sparse=QUERY_SPARSE, k=1)) == 1
    for fusion in w.store.capabilities.fusions:
        hybrid = w.a.search(
            w.name, vector=QUERY, sparse=QUERY_SPARSE, k=50, fusion=fusion, params=SearchParams(prefetch_k=50)
        )
        assert sorted(_ids(hybrid)) == sorted(A_IDS)
        assert all(h.is_fusion and (h.text or "").startswith("a:") for h in hybrid)
        top2 = w.a.search(w.name, vector=QUERY, sparse=QUERY_SPARSE, k=2, fusion=fusion)
        assert len(top2) == 2 and all((h.text or "").startswith("a:") for h in top2)
    batch = w.a.search_batch(
        w.name,
        [SearchRequest(sparse=QUERY_SPARSE, k=50), SearchRequest(vector=QUERY, sparse=QUERY_SPARSE, k=50)],
    )
    assert {h.id for h in batch[0]} == touched
    assert sorted(_ids(batch[1])) == sorted(A_IDS)
    b_hits = w.b.search(w.name, sparse=QUERY_SPARSE, k=50)
    assert sorted(_ids(b_hits)) == sorted(B_IDS)


def test_untagged_record_in_own_namespace_is_invisible(fresh: World) -> None:
    w = fresh
    w.store.upsert(
        w.name, [Record(id=tenant_prefix("a") + "legacy", vector=QUERY, text="legacy", metadata={})]
    )
    assert w.a.get(w.name, ["legacy"]) == []
    assert "legacy" not in _ids(w.a.scroll(w.name))
    assert "legacy" not in _ids(w.a.search(w.name, vector=QUERY, k=50, params=EXACT))
    assert w.a.count(w.name) == len(A_IDS)


def test_tagged_record_outside_namespace_is_not_returned(fresh: World) -> None:
    """Tagged a by an unscoped writer, but stored outside a's id namespace: dropped on the way
    out (a scope returns a record only when both its id and its tag are the tenant's)."""
    w = fresh
    w.store.upsert(w.name, [Record(id="outside", vector=QUERY, text="x", metadata={FIELD: "a"})])
    assert "outside" not in _ids(w.a.scroll(w.name))
    got = w.a.search(w.name, vector=QUERY, k=50, params=EXACT)
    assert "outside" not in _ids(got) and all(h.id in A_IDS for h in got)
    assert w.a.get(w.name, ["outside"]) == []


class _LeakyMemory(MemoryStore):
    """A broken backend that ignores every filter on reads: the scope's last line of defence
    (a record is returned only when its id prefix and its tag are both the tenant's) must
    still keep other tenants' records out."""

    def search(self, collection: str, **kw: Any) -> list[Any]:
        return super().search(collection, **{**kw, "filter": None})

    def scroll(self, collection: str, **kw: Any) -> Iterator[Record]:
        return super().scroll(collection, **{**kw, "filter": None})


def test_defence_in_depth_against_a_backend_that_ignores_filters() -> None:
    store = _LeakyMemory()
    w = _build(store)
    planted = Record(id=tenant_prefix("a") + "planted", vector=QUERY, text="b:planted", metadata={FIELD: "b"})
    store.upsert(w.name, [planted])
    hits = w.a.search(w.name, vector=QUERY, k=50)
    assert sorted(_ids(hits)) == sorted(A_IDS)
    assert all((h.text or "").startswith("a:") for h in hits)
    assert sorted(_ids(w.a.search(w.name, vector=QUERY, k=50, with_payload=False))) == sorted(
        [*A_IDS, "planted"]
    )  # without a payload only the id prefix can be checked: the backend's filter is trusted
    assert sorted(_ids(w.a.scroll(w.name))) == sorted(A_IDS)
    assert sorted(_ids(w.b.scroll(w.name))) == sorted(B_IDS)
    assert all((r.text or "").startswith("b:") for r in w.b.search(w.name, vector=QUERY, k=50))


# -- collections --------------------------------------------------------------------------


def test_scope_cannot_drop_shared_collection(world: World) -> None:
    w = world
    with pytest.raises(UnsupportedFeatureError, match="shared"):
        w.a.drop_collection(w.name)
    with pytest.raises(UnsupportedFeatureError):
        w.a.drop_collection(w.name, missing_ok=True)
    assert w.store.has_collection(w.name)
    _assert_world_intact(w)


def test_collection_spec_indexes_tenant_field(backend: VectorStore) -> None:
    name = _name()
    a = vecctx.scoped(backend, tenant="a")
    try:
        a.ensure_collection(CollectionSpec(name=name, dimension=DIM, indexed_fields={"n": FieldType.INTEGER}))
        fields = dict(backend.collection_spec(name).indexed_fields)
        assert fields == {"n": FieldType.INTEGER, FIELD: FieldType.KEYWORD}
        assert a.has_collection(name) and name in a.list_collections()
        a.ensure_collection(CollectionSpec(name=name, dimension=DIM))  # compatible: no error
        with pytest.raises(ConfigError):
            a.ensure_collection(CollectionSpec(name=name, dimension=DIM + 1))
        with pytest.raises(ConfigError):
            a.create_collection(CollectionSpec(name=name, dimension=DIM))
        a.optimize(name)
        assert a.count(name) == 0
    finally:
        backend.drop_collection(name, missing_ok=True)
    with pytest.raises(ConfigError, match="keyword"):
        a.create_collection(
            CollectionSpec(name=name, dimension=DIM, indexed_fields={FIELD: FieldType.INTEGER})
        )
    assert not backend.has_collection(name)


def test_custom_tenant_field(backend: VectorStore) -> None:
    name = _name()
    org = vecctx.scoped(backend, tenant="acme", field="org_id")
    other = vecctx.scoped(backend, tenant="globex", field="org_id")
    try:
        org.create_collection(CollectionSpec(name=name, dimension=DIM))
        assert backend.collection_spec(name).indexed_fields == {"org_id": FieldType.KEYWORD}
        org.upsert(name, [Record(id="1", vector=QUERY, text="acme", metadata={"_tenant": "anything"})])
        other.upsert(name, [Record(id="1", vector=QUERY, text="globex")])
        assert [(r.text, dict(r.metadata)) for r in org.get(name, ["1"])] == [
            ("acme", {"_tenant": "anything"})
        ]
        assert [r.text for r in other.scroll(name)] == ["globex"]
        with pytest.raises(InvalidFilterError):
            org.count(name, filter=F("org_id") == "globex")
        with pytest.raises(InvalidInputError):
            org.upsert(name, [Record(id="2", vector=QUERY, metadata={"org_id": "globex"})])
        assert org.count(name) == 1 and other.count(name) == 1
    finally:
        backend.drop_collection(name, missing_ok=True)


# -- tenants and fields -----------------------------------------------------------------------

BAD_TENANTS: list[Any] = [
    "",
    None,
    1,
    b"a",
    ["a"],
    "a\x00",
    "a\nb",
    "\t",
    "\ud800",
    "x" * (MAX_TENANT_BYTES + 1),
]


@pytest.mark.parametrize("tenant", BAD_TENANTS, ids=[repr(t)[:20] for t in BAD_TENANTS])
def test_bad_tenants_are_refused(tenant: Any) -> None:
    with pytest.raises(InvalidInputError):
        vecctx.scoped(MemoryStore(), tenant=tenant)
    with pytest.raises(InvalidInputError):
        AsyncTenantScopedStore(AsyncMemoryStore(), tenant=tenant)


@pytest.mark.parametrize("field", ["", "a.b", "$t", "1x", "t-x", "ü", None])
def test_bad_tenant_fields_are_refused(field: Any) -> None:
    with pytest.raises(ConfigError):
        vecctx.scoped(MemoryStore(), tenant="a", field=field)


def test_str_subclass_tenant_is_normalised() -> None:
    class Sneaky(str):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = str.__hash__

    s = vecctx.scoped(MemoryStore(), tenant=Sneaky("a"))
    assert type(s.tenant) is str and s.tenant == "a"
    s.create_collection(CollectionSpec(name="c", dimension=2))
    with pytest.raises(InvalidInputError):
        s.upsert("c", [Record(id="1", vector=[1, 0], metadata={FIELD: "b"})])


def test_scope_api_and_lifetime() -> None:
    inner = MemoryStore()
    with vecctx.scoped(inner, tenant="ü") as s:
        assert isinstance(s, TenantScopedStore) and isinstance(s, VectorStore)
        assert (s.tenant, s.field, s.store) == ("ü", FIELD, inner)
        assert s.capabilities == replace(inner.capabilities, max_filter_depth=MAX_FILTER_DEPTH - 1)
        assert "tenant='ü'" in repr(s)
        s.create_collection(CollectionSpec(name="c", dimension=2))
        s.upsert("c", [Record(id="1", vector=[1, 0])])
    with pytest.raises(StoreClosedError):
        s.count("c")
    with pytest.raises(StoreClosedError):
        s.upsert("c", [Record(id="2", vector=[1, 0])])
    with pytest.raises(StoreClosedError):
        s.drop_collection("c")
    assert inner.count("c") == 1  # closing a scope leaves the shared store open
    with pytest.raises(InvalidInputError):
        vecctx.scoped(inner, tenant="a").upsert("c", Record(id="1", vector=[1, 0]))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        vecctx.scoped(inner, tenant="a").upsert("c", [Record(id="", vector=[1, 0])])
    with pytest.raises(InvalidInputError):
        vecctx.scoped(inner, tenant="a").get("c", "1")
    assert inner.count("c") == 1


def test_scope_survives_reopen(tmp_path: Path) -> None:
    url = f"qdrant://{tmp_path / 'q'}"
    with vecctx.connect(url) as store:
        a, b = vecctx.scoped(store, tenant="a"), vecctx.scoped(store, tenant="b")
        a.create_collection(CollectionSpec(name="docs", dimension=DIM))
        a.upsert("docs", [Record(id="1", vector=QUERY, text="a")])
        b.upsert("docs", [Record(id="1", vector=QUERY, text="b")])
    with vecctx.connect(url) as store:
        a, b = vecctx.scoped(store, tenant="a"), vecctx.scoped(store, tenant="b")
        assert [r.text for r in a.get("docs", ["1"])] == ["a"]
        assert [h.text for h in b.search("docs", vector=QUERY, k=5)] == ["b"]
        assert (a.count("docs"), store.count("docs")) == (1, 2)


# -- async ------------------------------------------------------------------------------------


def test_async_scope_isolates() -> None:
    async def run() -> None:
        inner = AsyncMemoryStore()
        a = vecctx.scoped(inner, tenant="a")
        b = vecctx.scoped(inner, tenant="b")
        assert isinstance(a, AsyncTenantScopedStore)
        async with a:
            await a.create_collection(CollectionSpec(name="c", dimension=DIM, sparse=True))
            await a.upsert("c", _a_records())
            await b.upsert("c", _b_records())
            assert (await a.count("c"), await b.count("c")) == (len(A_IDS), len(B_IDS))
            assert [r.text for r in await a.get("c", ["1", "b-only"])] == ["a:1"]
            hits = await a.search("c", vector=QUERY, k=2, filter=F("owner") != "a")
            assert hits == []
            assert len(await a.search("c", vector=QUERY, sparse=QUERY_SPARSE, k=50)) == len(A_IDS)
            batch = await a.search_batch("c", [SearchRequest(vector=QUERY, k=50)])
            assert sorted(_ids(batch[0])) == sorted(A_IDS)
            scrolled = [r async for r in a.scroll("c")]
            assert sorted(_ids(scrolled)) == sorted(A_IDS)
            assert all(FIELD not in r.metadata for r in scrolled)
            with pytest.raises(InvalidFilterError):
                a.scroll("c", filter=F(FIELD) != "a")
            with pytest.raises(InvalidInputError):
                await a.upsert("c", [Record(id="z", vector=QUERY, metadata={FIELD: "b"})])
            await a.delete("c", ids=["1", "b-only"])
            await a.delete("c", filter=F("owner") != "a")
            await a.delete("c")
            assert (await a.count("c"), await b.count("c")) == (len(A_IDS) - 1, len(B_IDS))
            with pytest.raises(UnsupportedFeatureError):
                await a.drop_collection("c")
            assert await a.has_collection("c") and await a.list_collections() == ["c"]
            assert (await a.collection_spec("c")).indexed_fields == {FIELD: FieldType.KEYWORD}
            await a.ensure_collection(CollectionSpec(name="c", dimension=DIM, sparse=True))
            await a.optimize("c")
        with pytest.raises(StoreClosedError):
            await a.count("c")
        assert await b.count("c") == len(B_IDS)

    asyncio.run(run())


# -- the conformance suite, through a scope, next to an identical twin tenant ------------------


class _TwinDriver(MemoryDriver):
    """A backend where every write of tenant ``a`` is mirrored to tenant ``twin`` with the same
    user ids, vectors, texts and metadata: a leak shows up as duplicates or wrong counts."""

    def __init__(self) -> None:
        super().__init__()
        self.twin_ids: dict[str, set[str]] = {}

    def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        super().upsert(spec, records, vectors)
        mine, theirs = tenant_prefix("a"), tenant_prefix("twin")
        rows = [i for i, r in enumerate(records) if r.id.startswith(mine)]
        twins = [
            Record(
                id=theirs + records[i].id[len(mine) :],
                vector=vectors[i],
                text=records[i].text,
                metadata={**records[i].metadata, FIELD: "twin"},
                sparse=records[i].sparse,
            )
            for i in rows
        ]
        if twins:
            super().upsert(spec, twins, vectors[rows])
            self.twin_ids.setdefault(spec.name, set()).update(r.id for r in twins)

    def drop_collection(self, name: str) -> bool:
        self.twin_ids.pop(name, None)
        return super().drop_collection(name)


class TestScopedConformance(ConformanceSuite):
    """The scope is a faithful VectorStore: the whole conformance suite passes through it,
    on a collection shared with a twin tenant that holds identical records."""

    @pytest.fixture
    def twin(self) -> _TwinDriver:
        return _TwinDriver()

    @pytest.fixture
    def shared(self, twin: _TwinDriver) -> Store:
        """The unscoped store over the scope's backend."""
        return Store(twin)

    @pytest.fixture
    def store(self, shared: Store) -> Iterator[VectorStore]:
        with vecctx.scoped(shared, tenant="a") as s:
            yield s

    @pytest.fixture
    def collection(self, store: VectorStore, shared: Store, twin: _TwinDriver) -> Iterator[str]:
        name = _name()
        yield name
        if shared.has_collection(name):  # the scope never touched a twin record
            ids = twin.twin_ids.get(name, set())
            assert vecctx.scoped(shared, tenant="twin").count(name) == len(ids)
            assert shared.count(name, filter=F(FIELD) == "twin") == len(ids)
            assert sorted(r.id for r in shared.scroll(name, filter=F(FIELD) == "twin")) == sorted(ids)
        shared.drop_collection(name, missing_ok=True)

    def test_collection_lifecycle(self, store: VectorStore, collection: str) -> None:
        spec = CollectionSpec(name=collection, dimension=DIM)
        assert not store.has_collection(collection)
        store.create_collection(spec)
        assert store.has_collection(collection) and collection in store.list_collections()
        with pytest.raises(ConfigError):
            store.create_collection(spec)
        with pytest.raises(UnsupportedFeatureError):
            store.drop_collection(collection)
        assert store.has_collection(collection)

    def test_dropped_collection_is_gone_for_every_call(  # type: ignore[override]  # one more fixture
        self, store: VectorStore, collection: str, shared: Store
    ) -> None:
        """A scope cannot drop; a drop of the shared collection is seen through the scope."""
        self._fill(store, collection, records_for(FLAT_METADATA[:3], DIM))
        with pytest.raises(UnsupportedFeatureError):
            store.drop_collection(collection)
        assert store.count(collection) == 3
        shared.drop_collection(collection)
        with pytest.raises(CollectionNotFoundError):
            store.count(collection)
        store.create_collection(CollectionSpec(name=collection, dimension=DIM + 1))
        assert store.collection_spec(collection).dimension == DIM + 1
        assert store.count(collection) == 0


class TestAsyncScopedConformance(TestScopedConformance):
    """The same, through the async scope (``AsyncTenantScopedStore``) over the async front."""

    @pytest.fixture
    def store(self, twin: _TwinDriver) -> Iterator[VectorStore]:
        def make() -> AsyncVectorStore:
            scope = vecctx.scoped(AsyncStore(InProcessAsyncDriver(twin)), tenant="a")
            assert isinstance(scope, AsyncTenantScopedStore)
            return scope

        with BlockingStore(make) as s:
            yield s
