"""Milvus-specific behaviour: URLs, names, read-after-write, Milvus's sparse rules, ids and
text, errors, the Lite lock, and persistence across a real server restart."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from vecctx_milvus import MilvusDriver, MilvusStore, open_store, parse_url
from vecctx_milvus.common import milvus_name, vecctx_name

from vecctx import (
    CollectionSpec,
    F,
    IndexKind,
    IndexParams,
    Metric,
    Record,
    ScoreKind,
    SearchParams,
    SparseVector,
    connect,
)
from vecctx.contract.errors import (
    BackendError,
    CollectionNotFoundError,
    InvalidInputError,
    StoreLockedError,
    TransientBackendError,
    UnsupportedFeatureError,
)
from vecctx.contract.store import Fusion
from vecctx.testing import BackendServer, free_port

DIM = 8


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[MilvusStore]:
    with open_store(f"milvus://{tmp_path / 'm.db'}") as s:
        yield s


# -- URLs ------------------------------------------------------------------------------------


def test_parse_url_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MILVUS_TOKEN", raising=False)
    c = parse_url("milvus:///tmp/x/file.db?flush_threshold=0&db=d1")
    assert c.is_lite and c.lite_path == "/tmp/x/file.db" and c.flush_threshold == 0 and c.db_name == "d1"
    c = parse_url("milvus://example.org")
    assert c.uri == "http://example.org:19530" and not c.secure and c.token == ""
    c = parse_url("milvus+https://example.org?token=abc&server_name=n&ca=/ca.pem")
    assert c.uri == "https://example.org:443" and c.secure and c.token == "abc"
    assert c.server_name == "n" and c.ca_pem_path == "/ca.pem"
    c = parse_url("milvus://u%40x:p%3Aw@h:1234?tls=true&timeout=2.5")
    assert c.uri == "https://h:1234" and c.token == "u@x:p:w" and c.timeout == 2.5
    monkeypatch.setenv("MILVUS_TOKEN", "from-env")
    assert parse_url("milvus+http://h:1").token == "from-env"
    assert parse_url("milvus+http://h:1?token=q").token == "q"


def test_registry_connects_by_scheme(tmp_path: Path) -> None:
    store = connect(f"milvus://{tmp_path / 'reg.db'}")
    try:
        assert isinstance(store, MilvusStore)
        assert store.capabilities.name == "milvus"
        driver = store.driver
        assert isinstance(driver, MilvusDriver)
        assert driver.server_version.startswith("milvus_lite") and driver.reconnects == 0
        assert "reg.db" in repr(store)
    finally:
        store.close()


def test_collection_names_outside_milvus_rules(lite: MilvusStore) -> None:
    """Every name of the core's rule is a Milvus collection: ``-`` and the ``vxh_`` prefix are
    hex-encoded (``vxh_`` names too, so a stored ``vxh_`` name is always an encoding)."""
    names = ["with-dash", "plain_name", "vxh_reserved", "vxh_", "x" + "-" * 99, "z" * 100]
    for name in names:
        lite.create_collection(CollectionSpec(name=name, dimension=DIM))
        assert milvus_name(name).replace("_", "").isalnum()
        assert len(milvus_name(name)) <= 255
        assert vecctx_name(milvus_name(name)) == name
    assert lite.list_collections() == sorted(names)
    assert lite.collection_spec("with-dash").name == "with-dash"
    assert milvus_name("vxh_reserved") != "vxh_reserved"


def test_spec_persists_index_settings(tmp_path: Path) -> None:
    url = f"milvus://{tmp_path / 'spec.db'}"
    spec = CollectionSpec(
        name="ivf",
        dimension=DIM,
        metric=Metric.EUCLIDEAN,
        sparse=True,
        index=IndexParams(kind=IndexKind.IVF, nlist=4),
    )
    with open_store(url) as s:
        s.create_collection(spec)
    with open_store(url) as s:
        assert s.collection_spec("ivf") == spec


# -- reads see writes --------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0, 256])
def test_search_right_after_upsert_sees_it(tmp_path: Path, threshold: int) -> None:
    with open_store(f"milvus://{tmp_path / 'raw.db'}?flush_threshold={threshold}") as s:
        s.create_collection(CollectionSpec(name="c", dimension=DIM))
        rng = np.random.default_rng(0)
        for i in range(5):
            v = rng.standard_normal(DIM)
            s.upsert("c", [Record(id=f"r{i}", vector=v, metadata={"i": i})])
            (top,) = s.search("c", vector=v, k=1)
            assert top.id == f"r{i}" and top.score == pytest.approx(1.0, abs=1e-5)
            assert s.count("c", filter=F("i") == i) == 1
        s.upsert("c", [Record(id="r0", vector=rng.standard_normal(DIM), metadata={"i": 99})])
        assert s.count("c", filter=F("i") == 0) == 0 and s.count("c", filter=F("i") == 99) == 1
        s.delete("c", ids=["r1"])
        assert s.get("c", ["r1"]) == [] and s.count("c") == 4


# -- ids, text, sparse rules -------------------------------------------------------------------


def test_hostile_ids_roundtrip(lite: MilvusStore) -> None:
    ids = ['"', "'", "\\", 'a" or id != "', "line\nbreak", "tab\t", "ünï ✓", "]", "x" * 1000, "\x00z"]
    lite.create_collection(CollectionSpec(name="ids", dimension=DIM))
    vecs = np.random.default_rng(1).standard_normal((len(ids), DIM))
    lite.upsert("ids", [Record(id=i, vector=vecs[n], text=i) for n, i in enumerate(ids)])
    got = lite.get("ids", [*reversed(ids), "absent", ids[0]])
    assert [r.id for r in got] == [*reversed(ids), ids[0]]
    assert all(r.text == r.id for r in got)
    assert sorted(r.id for r in lite.scroll("ids", batch_size=3)) == sorted(ids)
    lite.delete("ids", ids=[ids[3], ids[4]])
    assert lite.count("ids") == len(ids) - 2
    assert lite.get("ids", [ids[3]]) == []


def test_too_long_id_or_text_is_rejected_before_writing(lite: MilvusStore) -> None:
    lite.create_collection(CollectionSpec(name="long", dimension=DIM))
    ok = Record(id="ok", vector=np.ones(DIM))
    with pytest.raises(InvalidInputError):
        lite.upsert("long", [ok, Record(id="é" * 40_000, vector=np.ones(DIM))])
    with pytest.raises(InvalidInputError):
        lite.upsert("long", [ok, Record(id="t", vector=np.ones(DIM), text="é" * 40_000)])
    assert lite.count("long") == 0


def test_sparse_rules(lite: MilvusStore) -> None:
    lite.create_collection(CollectionSpec(name="sp", dimension=DIM, sparse=True))
    v = np.ones(DIM)
    for bad in [
        SparseVector((1,), (-1.0,)),
        SparseVector((2**32 - 2,), (1.0,)),
        SparseVector((2**32 - 1,), (1.0,)),
    ]:
        with pytest.raises(InvalidInputError):
            lite.upsert("sp", [Record(id="ok", vector=v), Record(id="bad", vector=v, sparse=bad)])
    assert lite.count("sp") == 0
    lite.upsert(
        "sp",
        [
            Record(id="none", vector=v),
            Record(id="zeros", vector=v, sparse=SparseVector((3,), (0.0,))),
            Record(id="one", vector=v, sparse=SparseVector((3, 5), (2.0, 1.0))),
        ],
    )
    hits = lite.search("sp", sparse=SparseVector((3,), (1.5,)), k=10)
    assert [(h.id, h.kind) for h in hits] == [("one", ScoreKind.SPARSE_DOT)]
    assert hits[0].score == pytest.approx(3.0)
    got = {r.id: r.sparse for r in lite.get("sp", ["none", "zeros", "one"])}
    assert got["none"] is None and got["zeros"] is None
    assert got["one"] == SparseVector((3, 5), (2.0, 1.0))
    with pytest.raises(InvalidInputError):
        lite.search("sp", sparse=SparseVector((2**32 - 2,), (1.0,)), k=1)
    assert lite.search("sp", sparse=SparseVector((3,), (0.0,)), k=3) == []


def test_hybrid_rrf_and_dbsf_refused_before_io(lite: MilvusStore) -> None:
    lite.create_collection(CollectionSpec(name="hy", dimension=DIM, sparse=True))
    rng = np.random.default_rng(5)
    lite.upsert(
        "hy",
        [
            Record(id=f"h{i}", vector=rng.standard_normal(DIM), sparse=SparseVector((i % 3, 7), (1.0, 0.5)))
            for i in range(12)
        ],
    )
    hits = lite.search("hy", vector=rng.standard_normal(DIM), sparse=SparseVector((1, 7), (1.0, 1.0)), k=4)
    assert len(hits) == 4 and all(h.kind is ScoreKind.RRF for h in hits)
    assert hits[0].score <= 2 / 61 + 1e-9
    with pytest.raises(UnsupportedFeatureError):
        lite.search("hy", vector=np.ones(DIM), sparse=SparseVector((1,), (1.0,)), fusion=Fusion.DBSF)


def test_scores_in_canonical_units_for_ivf_and_euclidean(lite: MilvusStore) -> None:
    spec = CollectionSpec(
        name="l2", dimension=DIM, metric=Metric.EUCLIDEAN, index=IndexParams(kind=IndexKind.IVF, nlist=2)
    )
    lite.create_collection(spec)
    lite.upsert("l2", [Record(id="a", vector=np.zeros(DIM)), Record(id="b", vector=np.full(DIM, 2.0))])
    lite.optimize("l2")
    hits = lite.search("l2", vector=np.ones(DIM), k=2, params=SearchParams(exact=True))
    assert sorted(h.id for h in hits) == ["a", "b"]
    assert [h.score for h in hits] == pytest.approx([np.sqrt(DIM)] * 2)  # distance, not squared


# -- errors --------------------------------------------------------------------------------------


def test_unknown_collection_and_closed(lite: MilvusStore) -> None:
    with pytest.raises(CollectionNotFoundError):
        lite.count("nope")
    with pytest.raises(CollectionNotFoundError):
        lite.delete("nope", ids=["x"])


def test_second_process_gets_store_locked(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    with open_store(f"milvus://{path}") as s:
        s.create_collection(CollectionSpec(name="c", dimension=DIM))
        code = (
            "import sys\n"
            "from vecctx.contract.errors import StoreLockedError\n"
            "from vecctx_milvus import open_store\n"
            "try:\n"
            f"    open_store('milvus://{path}')\n"
            "except StoreLockedError:\n"
            "    sys.exit(3)\n"
            "sys.exit(0)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
        assert proc.returncode == 3, proc.stderr.decode()[-2000:]
    assert StoreLockedError  # the class the child raised


def test_unreachable_server_is_a_transient_error() -> None:
    with pytest.raises((TransientBackendError, BackendError)) as info:
        open_store(f"milvus://127.0.0.1:{free_port()}?timeout=2")
    assert isinstance(info.value, TransientBackendError), repr(info.value)


def test_reconnect_replaces_the_client_from_the_third_retry(milvus_server: str) -> None:
    """The driver's retry hook: from the third retry of a call on, a new client (at most one
    every 2 s); never for Milvus Lite in this process."""
    with open_store(milvus_server) as s:
        driver = s.driver
        assert isinstance(driver, MilvusDriver)
        err = TransientBackendError("unavailable")
        driver.on_retry(err, 2)
        assert driver.reconnects == 0
        driver.on_retry(err, 3)
        driver.on_retry(err, 4)  # within 2 s of the last: no second reconnect
        assert driver.reconnects == 1
        assert isinstance(s.list_collections(), list)  # the new client works


# -- a real restart ------------------------------------------------------------------------------


def test_data_survives_a_server_restart(tmp_path: Path) -> None:
    spec = CollectionSpec(name="keep", dimension=DIM, metric=Metric.DOT, sparse=True)
    rng = np.random.default_rng(9)
    recs = [
        Record(id=f"k{i}", vector=rng.standard_normal(DIM), text=f"t{i}", metadata={"i": i, "tags": ["x", i]})
        for i in range(50)
    ]
    with BackendServer("milvus", tmp_path / "srv") as server:
        with open_store(server.url()) as s:
            s.create_collection(spec)
            s.upsert("keep", recs)
            before = [h.id for h in s.search("keep", vector=recs[0].vector, k=5, filter=F("tags") == "x")]
        server.stop()
        server.start()  # the same port and data directory
        with open_store(server.url()) as s:
            assert s.collection_spec("keep") == spec
            assert s.count("keep") == 50
            assert [
                h.id for h in s.search("keep", vector=recs[0].vector, k=5, filter=F("tags") == "x")
            ] == before
            assert s.count("keep", filter=F("tags") == 7) == 1
            (r,) = s.get("keep", ["k3"])
            assert r.metadata == {"i": 3, "tags": ["x", 3]} and r.text == "t3"


def test_search_batch_matches_single_searches(lite: MilvusStore) -> None:
    from vecctx import SearchRequest

    lite.create_collection(CollectionSpec(name="sb", dimension=DIM, sparse=True))
    rng = np.random.default_rng(12)
    lite.upsert(
        "sb",
        [
            Record(
                id=f"s{i}",
                vector=rng.standard_normal(DIM),
                metadata={"g": i % 3},
                sparse=SparseVector((i % 4,), (1.0,)),
            )
            for i in range(40)
        ],
    )
    qs = rng.standard_normal((6, DIM))
    reqs = [SearchRequest(vector=q, k=5) for q in qs[:3]]
    reqs += [
        SearchRequest(vector=q, k=3, filter=F("g") == 1, params=SearchParams(exact=True)) for q in qs[3:]
    ]
    reqs += [
        SearchRequest(sparse=SparseVector((1,), (1.0,)), k=4),
        SearchRequest(vector=qs[0], sparse=SparseVector((2,), (1.0,)), k=4),
    ]
    reqs.insert(2, SearchRequest(vector=qs[5], k=5, with_payload=False))
    got = lite.search_batch("sb", reqs)
    want = [lite.search("sb", **{f.name: getattr(r, f.name) for f in dataclasses.fields(r)}) for r in reqs]
    assert [[(h.id, round(h.score, 5), h.metadata) for h in hs] for hs in got] == [
        [(h.id, round(h.score, 5), h.metadata) for h in hs] for hs in want
    ]
    assert got[2][0].metadata is None and got[0][0].metadata is not None


def test_flush_sequencing_race_is_transient() -> None:
    """Milvus Lite's "current_seq is monotonic" flush error (concurrent flushes) is retried."""
    from pymilvus.exceptions import MilvusException
    from vecctx_milvus.common import translate

    exc = MilvusException(code=1, message="current_seq is monotonic; tried to set 2797 < 2846")
    assert isinstance(translate(exc, "flush", "c"), TransientBackendError)
    assert isinstance(
        MilvusDriver(parse_url("milvus://h")).translate(exc, "flush", None), TransientBackendError
    )
    assert not isinstance(
        translate(MilvusException(code=1, message="bad expr"), "query", "c"), TransientBackendError
    )
