"""Embedded Qdrant Edge specifics: locking, reopening, id mapping, indexing policy, requests."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
import qdrant_edge as qe
from vecctx_qdrant import NAMESPACE, QdrantEdgeStore, open_store, point_id
from vecctx_qdrant.store import default_ef

from vecctx import (
    CollectionNotFoundError,
    CollectionSpec,
    F,
    FieldType,
    Fusion,
    IndexKind,
    IndexParams,
    MemoryStore,
    Metric,
    Record,
    RecordBatch,
    ScoreKind,
    SearchParams,
    SearchRequest,
    SparseVector,
    StoreClosedError,
    StoreLockedError,
    UnsupportedFeatureError,
)
from vecctx.testing import held_in_another_process, lowrank

DIM = 8


def _edge(path: Path, query: str = "") -> QdrantEdgeStore:
    store = open_store(f"qdrant://{path}{query}")
    assert isinstance(store, QdrantEdgeStore)
    return store


def _records(n: int, *, sparse: bool = False, seed: int = 0) -> list[Record]:
    vecs = lowrank(n, DIM, rank=4, seed=seed)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        sv = None
        if sparse:
            terms = sorted(rng.choice(30, size=4, replace=False).tolist())
            sv = SparseVector(tuple(terms), tuple(float(x) for x in rng.uniform(0.1, 2.0, size=4)))
        out.append(
            Record(id=f"d{i}", vector=vecs[i], text=f"t{i}", metadata={"g": i % 3, "lang": "en" if i % 2 else "de"},
                   sparse=sv)
        )  # fmt: skip
    return out


# -- locking -------------------------------------------------------------------------------


def test_second_open_in_process_is_locked(tmp_path: Path) -> None:
    first = _edge(tmp_path / "db")
    with pytest.raises(StoreLockedError) as info:
        _edge(tmp_path / "db")
    assert info.value.path == str(tmp_path / "db")
    assert str(tmp_path / "db") in str(info.value)
    first.close()
    with _edge(tmp_path / "db") as again:  # released on close
        assert again.list_collections() == []


def test_other_process_holds_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "db"
    with held_in_another_process(f"qdrant://{db}"):
        with pytest.raises(StoreLockedError) as info:
            _edge(db)
        assert info.value.path == str(db)
    with _edge(db) as store:
        assert store.list_collections() == []


def test_edge_wal_lock_becomes_store_locked_error(tmp_path: Path) -> None:
    """A shard opened by something else (here a raw EdgeShard) maps to StoreLockedError naming
    the collection's directory."""
    with _edge(tmp_path / "db") as store:
        store.create_collection(CollectionSpec(name="c", dimension=DIM))
    raw = qe.EdgeShard.load(str(tmp_path / "db" / "c" / "shard"))
    try:
        with _edge(tmp_path / "db") as store, pytest.raises(StoreLockedError) as info:
            store.count("c")
        assert info.value.path == str(tmp_path / "db" / "c")
    finally:
        raw.close()


def test_dropped_without_close_releases_lock(tmp_path: Path) -> None:
    store = _edge(tmp_path / "db")
    del store
    with _edge(tmp_path / "db"):
        pass


# -- persistence ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["qdrant", "qdrant+local"])
def test_reopen_restores_spec_indexes_and_data(scheme: str, ram_path: Path) -> None:
    """On Edge (spec in ``spec.json``) and on the client's local mode (spec in the collection's
    metadata), which shares the server's code path."""
    spec = CollectionSpec(
        name="docs",
        dimension=DIM,
        metric=Metric.EUCLIDEAN,
        sparse=True,
        indexed_fields={"lang": FieldType.KEYWORD, "g": FieldType.INTEGER},
        index=IndexParams(m=8, ef_construct=64),
    )
    recs = _records(50, sparse=True)
    q = np.asarray(recs[3].vector)
    url, edge = f"{scheme}://{ram_path / 'db'}", scheme == "qdrant"
    with open_store(url) as store:
        store.create_collection(spec)
        store.upsert("docs", recs)
        before = store.search("docs", vector=q, k=5, filter=F("lang") == "en")
        schema = set(store.driver.native_shard("docs").info().payload_schema) if edge else set()
    if edge:
        assert schema == {"meta.lang", "meta.g"}
        assert (ram_path / "db" / "docs" / "spec.json").is_file()
    with open_store(url) as store:
        assert store.list_collections() == ["docs"]
        assert store.collection_spec("docs") == spec
        if edge:
            assert set(store.driver.native_shard("docs").info().payload_schema) == schema
        after = store.search("docs", vector=q, k=5, filter=F("lang") == "en")
        assert [(h.id, h.score) for h in after] == [(h.id, h.score) for h in before]
        assert after[0].kind is ScoreKind.EUCLIDEAN
        (r,) = store.get("docs", ["d7"], with_vectors=True)
        assert r.sparse is not None and recs[7].sparse is not None
        assert r.sparse.indices == recs[7].sparse.indices
        np.testing.assert_allclose(r.sparse.values, recs[7].sparse.values, rtol=1e-6)  # stored as f32
        np.testing.assert_allclose(r.vector, recs[7].vector, rtol=1e-6)


def test_unfinished_create_is_not_a_collection(tmp_path: Path) -> None:
    with _edge(tmp_path / "db") as store:
        (tmp_path / "db" / "half" / "shard").mkdir(parents=True)  # as if create crashed
        (tmp_path / "db" / "not a name").mkdir()
        assert store.list_collections() == []
        assert not store.has_collection("half")
        store.create_collection(CollectionSpec(name="half", dimension=DIM))
        assert store.list_collections() == ["half"]
        store.drop_collection("half")
        assert not (tmp_path / "db" / "half").exists()
        for name in ["../escape", "a/b", ".", "not a name"]:
            assert not store.has_collection(name)
            with pytest.raises(CollectionNotFoundError):
                store.count(name)
            store.drop_collection(name, missing_ok=True)
        assert (tmp_path / "db" / "not a name").is_dir()  # never the store's to drop


# -- ids -----------------------------------------------------------------------------------


def test_string_ids_map_to_stable_uuid5(tmp_path: Path) -> None:
    ids = ["a", "A", "ü/with spaces", "x" * 300, "123", "6f1d3c1e-6a57-5b4e-9a43-2f0c7e1b5d88"]
    for i in ids:
        assert point_id(i) == str(uuid.uuid5(NAMESPACE, i))
    with _edge(tmp_path / "db") as store:
        store.create_collection(CollectionSpec(name="c", dimension=DIM))
        store.upsert(
            "c", [Record(id=i, vector=np.ones(DIM) + n, metadata={"n": n}) for n, i in enumerate(ids)]
        )
        shard = store.driver.native_shard("c")
        raw = shard.retrieve([point_id("ü/with spaces")], with_payload=True, with_vector=False)
        assert str(raw[0].id) == point_id("ü/with spaces")
        assert raw[0].payload == {"id": "ü/with spaces", "meta": {"n": 2}}
        got = store.get("c", list(reversed(ids)))
        assert [r.id for r in got] == list(reversed(ids))
        hits = store.search("c", vector=np.ones(DIM), k=len(ids), with_payload=False)
        assert sorted(h.id for h in hits) == sorted(ids)
        assert all(h.text is None and h.metadata is None for h in hits)


# -- indexing policy -----------------------------------------------------------------------


def _builds(store: QdrantEdgeStore, name: str) -> int:
    """Index builds the driver ran on collection ``name``."""
    with store.driver._use(store.collection_spec(name)) as c:
        return c.builds


def test_auto_optimize_is_geometric(tmp_path: Path) -> None:
    with _edge(tmp_path / "db", "?auto_optimize=100") as store:
        store.create_collection(CollectionSpec(name="c", dimension=DIM))
        vecs = lowrank(1000, DIM, rank=4, seed=1)

        def load(start: int, n: int) -> None:
            store.upsert("c", [Record(id=f"p{i}", vector=vecs[i]) for i in range(start, start + n)])

        load(0, 60)
        assert _builds(store, "c") == 0
        load(60, 60)  # 120 waiting >= max(100, 0 indexed)
        assert _builds(store, "c") == 1
        load(120, 100)  # 100 waiting < 120 indexed
        assert _builds(store, "c") == 1
        load(220, 30)  # 130 waiting >= 120 indexed
        assert _builds(store, "c") == 2
        store.optimize("c")
        assert _builds(store, "c") == 3
        assert store.count("c") == 250  # every write survived the builds (the shard reloaded)
    with _edge(tmp_path / "off", "?auto_optimize=0") as store:
        store.create_collection(CollectionSpec(name="c", dimension=DIM))
        store.upsert("c", [Record(id=f"p{i}", vector=vecs[i]) for i in range(1000)])
        assert _builds(store, "c") == 0


#: Enough 384-d points for Edge to build an HNSW graph (its indexing threshold is 10 MB).
BUILD_N, BUILD_DIM = 8000, 384


def _loop_rate(seconds: float | None, work: Any = None) -> float:
    """Iterations a second of a pure-Python counting loop in another thread, while this one
    sleeps ``seconds`` or runs ``work()``."""
    stop = threading.Event()
    count = [0]

    def spin() -> None:
        n = 0
        while not stop.is_set():
            for _ in range(1000):
                n += 1
            count[0] = n

    t = threading.Thread(target=spin)
    t0 = time.perf_counter()
    t.start()
    if work is None:
        time.sleep(seconds or 0.0)
    else:
        work()
    stop.set()
    t.join()
    return count[0] / (time.perf_counter() - t0)


@pytest.mark.slow
def test_index_build_stops_no_other_thread(tmp_path: Path) -> None:
    """Edge's index build holds the GIL while it runs (in-process, another thread's loop falls
    to about 0.1 % of its rate); the driver builds in a child process, so a thread of the
    application keeps running while an upsert triggers a build."""
    vecs = lowrank(BUILD_N, BUILD_DIM, seed=2)
    with _edge(tmp_path / "db", f"?auto_optimize={BUILD_N}") as store:
        store.create_collection(CollectionSpec(name="c", dimension=BUILD_DIM))
        store.upsert("c", RecordBatch([f"p{i}" for i in range(BUILD_N - 1)], vecs[:-1]))
        assert _builds(store, "c") == 0
        idle = _loop_rate(0.5)
        # One more point: this upsert is almost all index build.
        during = _loop_rate(None, lambda: store.upsert("c", RecordBatch([f"p{BUILD_N - 1}"], vecs[-1:])))
        assert _builds(store, "c") == 1
        assert store.driver.native_shard("c").info().indexed_vectors_count == BUILD_N
        assert during / idle > 0.2, (during, idle)
        hits = store.search("c", vector=vecs[5], k=3)
        assert hits[0].id == "p5"


@pytest.mark.slow
def test_calls_wait_for_a_running_build(tmp_path: Path) -> None:
    """While the shard is closed for a build, a search on that collection waits for it and then
    answers; another collection answers at once; nothing fails."""
    vecs = lowrank(BUILD_N, BUILD_DIM, seed=3)
    with _edge(tmp_path / "db", "?auto_optimize=0") as store:
        store.create_collection(CollectionSpec(name="c", dimension=BUILD_DIM))
        store.create_collection(CollectionSpec(name="other", dimension=DIM))
        store.upsert("other", _records(10))
        store.upsert("c", RecordBatch([f"p{i}" for i in range(BUILD_N)], vecs))
        errors: list[BaseException] = []

        def build() -> None:
            try:
                store.optimize("c")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        t = threading.Thread(target=build)
        t.start()
        found, other = [], 0
        while t.is_alive():
            found.append(store.search("c", vector=vecs[7], k=1)[0].id)
            other += len(store.search("other", vector=np.ones(DIM), k=1))
        t.join()
        assert not errors
        assert _builds(store, "c") == 1
        assert found and set(found) == {"p7"}
        assert other >= len(found)


def test_failed_build_leaves_the_collection_usable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build process that fails raises a BackendError naming it; the shard is reloaded and
    every write is still there."""
    import vecctx_qdrant.store as edge_store

    from vecctx.contract.errors import BackendError

    def broken(shard_dir: Path) -> None:
        raise RuntimeError("the index build process exited with 1: boom")

    with _edge(tmp_path / "db") as store:
        store.create_collection(CollectionSpec(name="c", dimension=DIM))
        store.upsert("c", _records(20))
        monkeypatch.setattr(edge_store, "build_index", broken)
        with pytest.raises(BackendError, match="exited with 1: boom"):
            store.optimize("c")
        assert store.count("c") == 20
        store.upsert("c", _records(25))
        assert store.count("c") == 25
        assert _builds(store, "c") == 0


def test_default_ef_follows_the_collection_size(tmp_path: Path) -> None:
    """A search without ``ef`` gets :func:`default_ef` of the collection's size (Qdrant's own
    default loses recall as a collection grows); the user's ``ef`` wins; an exact search sets
    none."""
    sent: list[Any] = []

    class Recording:
        def __init__(self, shard: Any) -> None:
            self._shard = shard

        def query(self, req: Any) -> Any:
            sent.append(req.params)
            return self._shard.query(req)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._shard, name)

    assert default_ef(10_000) == 128
    assert [default_ef(n) for n in (1, 20_000, 20_001, 10**9)] == sorted(
        default_ef(n) for n in (1, 20_000, 20_001, 10**9)
    )
    with _edge(tmp_path / "db") as store:
        store.create_collection(CollectionSpec(name="c", dimension=DIM))
        store.upsert("c", _records(50))
        with store.driver._use(store.collection_spec("c")) as c:
            c.shard = Recording(c.shard)
            c.points = 150_000  # as if the collection were that large
        q = np.ones(DIM)
        store.search("c", vector=q, k=5)
        store.search("c", vector=q, k=5, params=SearchParams(ef=40))
        store.search("c", vector=q, k=5, params=SearchParams(exact=True))
        assert [(p.hnsw_ef, p.exact) for p in sent] == [
            (default_ef(150_000), False),
            (40, False),
            (None, True),
        ]
        assert default_ef(150_000) > default_ef(10_000)


def test_upsert_streams_chunks(tmp_path: Path) -> None:
    """A batch is written chunk by chunk (``batch`` points at a time, each chunk written before
    the next is built), and validation passes a float32 matrix on without copying it."""
    from vecctx.contract.validation import validate_records

    vecs = lowrank(100, DIM, rank=4, seed=4)
    spec = CollectionSpec(name="c", dimension=DIM)
    batch = RecordBatch([f"p{i}" for i in range(100)], vecs)
    assert np.shares_memory(validate_records(batch, spec), vecs)
    events: list[tuple[str, int]] = []

    class Recording:
        def __init__(self, shard: Any) -> None:
            self._shard = shard

        def update(self, op: Any) -> Any:
            events.append(("write", 0))
            return self._shard.update(op)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._shard, name)

    with _edge(tmp_path / "db", "?batch=16") as store:
        store.create_collection(spec)
        driver = store.driver
        orig = driver.point_chunks

        def chunks(*a: Any) -> Any:
            for points in orig(*a):
                events.append(("chunk", len(points)))
                yield points

        driver.point_chunks = chunks  # type: ignore[method-assign]
        with driver._use(spec) as c:
            c.shard = Recording(c.shard)
        store.upsert("c", batch)
        assert events == [e for n in [16] * 6 + [4] for e in (("chunk", n), ("write", 0))]
        assert store.count("c") == 100


# -- requests ------------------------------------------------------------------------------


def test_hybrid_scores_equal_reference_rrf(tmp_path: Path) -> None:
    recs = _records(60, sparse=True, seed=3)
    spec = CollectionSpec(name="h", dimension=DIM, sparse=True)
    ref = MemoryStore()
    ref.create_collection(spec)
    ref.upsert("h", recs)
    q = np.asarray(lowrank(1, DIM, rank=4, seed=9)[0])
    sq = SparseVector((1, 4, 9, 16, 25), (1.0, 0.5, 2.0, 0.7, 1.2))
    with _edge(tmp_path / "db") as store:
        store.create_collection(spec)
        store.upsert("h", recs)
        for rrf_k in (60, 2):
            p = SearchParams(exact=True, prefetch_k=20, rrf_k=rrf_k)
            got = store.search("h", vector=q, sparse=sq, k=8, params=p)
            want = ref.search("h", vector=q, sparse=sq, k=8, params=p)
            # Scores equal the reference's 1 / (rrf_k + rank), rank from 1 (Qdrant counts from 0:
            # the adapter shifts k). Ties may order differently: compare score multisets.
            assert sorted(h.score for h in got) == pytest.approx(sorted(h.score for h in want), rel=1e-6)
            assert all(h.kind is ScoreKind.RRF for h in got)
        got_d = store.search(
            "h", vector=q, sparse=sq, k=8, fusion=Fusion.DBSF, params=SearchParams(exact=True)
        )
        assert got_d[0].kind is ScoreKind.DBSF and 0 <= got_d[0].relevance <= 1
        flt = F("g") == 1
        got_f = store.search("h", vector=q, sparse=sq, k=8, filter=flt, params=SearchParams(exact=True))
        assert got_f and all(h.metadata is not None and h.metadata["g"] == 1 for h in got_f)


def test_search_batch_equals_single_searches(tmp_path: Path) -> None:
    recs = _records(80, sparse=True, seed=4)
    q = np.asarray(recs[5].vector)
    sq = SparseVector((2, 3, 5), (1.0, 1.0, 1.0))
    reqs = [
        SearchRequest(vector=q, k=5, params=SearchParams(exact=True)),
        SearchRequest(vector=q, k=3, filter=F("g") == 2, params=SearchParams(exact=True)),
        SearchRequest(sparse=sq, k=4),
        SearchRequest(vector=q, sparse=sq, k=6, fusion=Fusion.RRF, params=SearchParams(exact=True)),
        SearchRequest(vector=q, k=2, with_payload=False, with_vectors=True, params=SearchParams(ef=64)),
    ]
    with _edge(tmp_path / "db") as store:
        store.create_collection(CollectionSpec(name="b", dimension=DIM, sparse=True))
        store.upsert("b", recs)
        batch = store.search_batch("b", reqs)
        single = [
            store.search(
                "b", vector=r.vector, sparse=r.sparse, filter=r.filter, k=r.k, params=r.params, fusion=r.fusion,
                with_payload=r.with_payload, with_vectors=r.with_vectors,
            )
            for r in reqs
        ]  # fmt: skip
        assert [[(h.id, h.score) for h in hs] for hs in batch] == [
            [(h.id, h.score) for h in hs] for hs in single
        ]
        last = batch[-1][0]
        assert last.text is None and last.vector is not None and last.sparse is not None
        assert np.linalg.norm(last.vector) == pytest.approx(1.0, rel=1e-5)  # cosine: stored normalised
        assert store.search_batch("b", []) == []


def test_flat_index_and_ivf(tmp_path: Path) -> None:
    with _edge(tmp_path / "db") as store:
        with pytest.raises(UnsupportedFeatureError):
            store.create_collection(
                CollectionSpec(name="ivf", dimension=DIM, index=IndexParams(kind=IndexKind.IVF))
            )
        assert not store.has_collection("ivf")
        spec = CollectionSpec(name="flat", dimension=DIM, index=IndexParams(kind=IndexKind.FLAT))
        store.create_collection(spec)
        recs = _records(100)
        store.upsert("flat", recs)
        store.optimize("flat")
        ref = MemoryStore()
        ref.create_collection(spec)
        ref.upsert("flat", recs)
        q = np.asarray(recs[1].vector)
        assert [h.id for h in store.search("flat", vector=q, k=10)] == [
            h.id for h in ref.search("flat", vector=q, k=10)
        ]


def test_delete_by_ids_and_filter(tmp_path: Path) -> None:
    with _edge(tmp_path / "db") as store:
        store.create_collection(CollectionSpec(name="c", dimension=DIM))
        store.upsert("c", _records(30))
        store.delete("c", ids=["d0", "d1", "d1"], filter=F("g") == 2)
        left = sorted(r.id for r in store.scroll("c"))
        assert "d0" not in left and "d1" not in left
        assert all(int(i[1:]) % 3 != 2 for i in left)
        assert store.count("c") == 30 - 2 - 10 + (1 if 1 % 3 == 2 else 0) + (0 if 0 % 3 != 2 else 1)
        store.delete("c")  # neither ids nor filter: nothing
        assert store.count("c") == len(left)


def test_non_dict_metadata_is_stored(tmp_path: Path) -> None:
    with _edge(tmp_path / "db") as store:
        store.create_collection(CollectionSpec(name="c", dimension=DIM))
        meta = MappingProxyType({"a": MappingProxyType({"b": (1, 2)}), "n": 3})
        store.upsert("c", [Record(id="m", vector=np.ones(DIM), metadata=meta)])
        (r,) = store.get("c", ["m"])
        assert r.metadata == {"a": {"b": [1, 2]}, "n": 3}
        assert store.count("c", filter=F("a.b") == 2) == 1


def test_closed_store(tmp_path: Path) -> None:
    store = _edge(tmp_path / "db")
    store.create_collection(CollectionSpec(name="c", dimension=DIM))
    store.close()
    store.close()  # idempotent
    for call in (
        lambda: store.search("c", vector=np.ones(DIM)),
        lambda: store.list_collections(),
        lambda: store.get("c", ["x"]),
        lambda: store.optimize("c"),
    ):
        with pytest.raises(StoreClosedError):
            call()


def test_bad_queries_raise_and_query_forms_agree(tmp_path: Path) -> None:
    """A NaN, infinite, mis-sized or non-numeric query raises before the engine sees it (Edge
    drops NaN scores, so a NaN query would look like "no hits"); every numeric form of the
    same query (float16/32/64, strided, byte-swapped, a list, ints) finds the same points."""
    import math

    from vecctx.contract.errors import DimensionMismatchError, InvalidFilterError, InvalidInputError

    with _edge(tmp_path / "db") as store:
        store.create_collection(CollectionSpec(name="c", dimension=DIM))
        store.upsert("c", _records(50))
        for bad in (
            np.array([math.nan] * DIM, dtype=np.float32),
            np.array([1.0] * (DIM - 1) + [math.inf], dtype=np.float32),
            np.array(["x"] * DIM, dtype=object),
            np.ones((1, DIM), dtype=np.float32),
        ):
            with pytest.raises(InvalidInputError):
                store.search("c", vector=bad)
        with pytest.raises(DimensionMismatchError):
            store.search("c", vector=np.ones(DIM + 1, dtype=np.float32))
        good = np.ones(DIM, dtype=np.float32)
        with pytest.raises(InvalidInputError):
            store.search("c", vector=good, k=True)
        with pytest.raises(InvalidInputError):
            store.search("c", vector=good, params=SearchParams(ef=0))
        with pytest.raises(InvalidFilterError):
            store.search("c", vector=good, filter={"a": {"$nope": 1}})
        assert store.search("c", vector=good, k=3, filter=F("g") == 9) == []
        for q in lowrank(3, DIM, rank=4, seed=8):
            want = store.search("c", vector=q, k=5)
            wide = np.zeros(2 * DIM, dtype=np.float32)
            wide[::2] = q
            for form in (q.astype(np.float64), wide[::2], q.astype(">f4"), q.astype(object), q.tolist()):
                got = store.search("c", vector=form, k=5)
                assert [h.id for h in got] == [h.id for h in want], type(form)
                assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-6)
            half = q.astype(np.float16)
            assert [h.id for h in store.search("c", vector=half, k=5)] == [
                h.id for h in store.search("c", vector=half.astype(np.float32), k=5)
            ]
        assert [h.id for h in store.search("c", vector=np.arange(DIM), k=2)] == [
            h.id for h in store.search("c", vector=np.arange(DIM, dtype=np.float32), k=2)
        ]


def test_batch_edge_refuses_writes_nothing(tmp_path: Path) -> None:
    """A batch holding a string no backend can encode (a lone surrogate) fails whole, even one
    spanning several write chunks, before anything is written: the front validates the whole
    batch, the driver then streams it chunk by chunk."""
    from vecctx.contract.errors import InvalidInputError

    with _edge(tmp_path / "db", "?batch=4") as store:
        store.create_collection(CollectionSpec(name="c", dimension=DIM))
        recs = _records(10)
        recs.append(Record(id="bad", vector=np.ones(DIM), text="\ud800"))
        with pytest.raises(InvalidInputError):
            store.upsert("c", recs)
        assert store.count("c") == 0
        store.upsert("c", recs[:-1])  # 3 chunks of at most 4
        assert store.count("c") == 10
