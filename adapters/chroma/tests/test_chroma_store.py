"""Chroma-specific behaviour beyond the conformance suite."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings
from vecctx_chroma import AsyncChromaStore, ChromaDriver, ChromaStore, open_async_store, open_store
from vecctx_chroma.common import chroma_name

import vecctx
from vecctx import (
    CollectionNotFoundError,
    CollectionSpec,
    ConfigError,
    F,
    IndexKind,
    IndexParams,
    InvalidInputError,
    MemoryStore,
    Metric,
    Record,
    RetryDeadlineError,
    SearchParams,
    SearchRequest,
    SparseVector,
    TransientBackendError,
    UnsupportedFeatureError,
    VecctxError,
)
from vecctx.contract.store import HybridSupport
from vecctx.testing import lowrank, lowrank_queries

DIM = 8


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChromaStore]:
    with open_store(f"chroma://{tmp_path / 'db'}") as s:
        yield s


def _recs(n: int, *, seed: int = 0, meta: Any = None) -> list[Record]:
    vecs = lowrank(n, DIM, rank=4, seed=seed)
    return [
        Record(id=f"r{i}", vector=vecs[i], text=f"t{i}", metadata=meta(i) if meta else {"i": i})
        for i in range(n)
    ]


def test_connect_through_the_registry(tmp_path: Path) -> None:
    with vecctx.connect(f"chroma://{tmp_path}") as s:
        assert isinstance(s, ChromaStore) and isinstance(s.driver, ChromaDriver)
        assert s.client is s.driver.client
        caps = s.capabilities
        assert caps.name == "chroma" and caps.persistent and caps.exact_search and caps.approximate
        assert caps.max_batch == 5461
        assert caps.hybrid is HybridSupport.EMULATED and not caps.sparse and not caps.async_native
    with pytest.raises(ConfigError):
        vecctx.connect_async(f"chroma://{tmp_path}")


def test_upsert_replaces_instead_of_merging(store: ChromaStore) -> None:
    """Chroma's own upsert merges metadata and keeps the old document when given None."""
    store.create_collection(CollectionSpec(name="rep", dimension=DIM))
    v = np.ones(DIM)
    store.upsert("rep", [Record(id="a", vector=v, text="old", metadata={"tags": ["x", "y"], "n": {"k": 1}})])
    store.upsert("rep", [Record(id="a", vector=v, text=None, metadata={"tags": "z"})])
    (got,) = store.get("rep", ["a"])
    assert got.text is None
    assert got.metadata == {"tags": "z"}
    assert store.count("rep", filter=F("tags") == "x") == 0
    assert store.count("rep", filter=F("n.k").exists()) == 0
    assert store.count("rep", filter=F("tags") == "z") == 1
    store.upsert("rep", [Record(id="a", vector=v, text="back", metadata={})])
    (got,) = store.get("rep", ["a"])
    assert (got.text, got.metadata) == ("back", {})
    assert store.count("rep", filter=F("tags").exists()) == 0


def test_float_operand_against_int_values(store: ChromaStore) -> None:
    """Chroma compares an int value with a float operand after truncating the operand
    (2 == 2.5 and 2 >= 2.5 match there); the compiler keeps ints and floats apart."""
    metas = [{"x": 2}, {"x": 2.0}, {"x": 2.5}, {"x": 3}, {"x": -2}, {"x": -3}, {"x": [2, 7]}, {"x": [-2.5]}]
    recs = [Record(id=f"r{i}", vector=np.ones(DIM), metadata=m) for i, m in enumerate(metas)]
    spec = CollectionSpec(name="trunc", dimension=DIM)
    ref = MemoryStore()
    for s in (store, ref):
        s.create_collection(spec)
        s.upsert("trunc", recs)
    for flt in [
        F("x") == 2.5,
        F("x") != 2.5,
        F("x") >= 2.5,
        F("x") < 2.5,
        F("x") > -2.5,
        F("x") <= -2.5,
        F("x").in_([2.5, -2.5]),
        ~(F("x") >= 2.5),
    ]:
        want = sorted(r.id for r in ref.scroll("trunc", filter=flt))
        assert sorted(r.id for r in store.scroll("trunc", filter=flt)) == want, flt.to_dict()


@pytest.mark.parametrize("name", ["ab", "x", "docs_", "a-", "b" + "-" * 99])
def test_names_chroma_rejects_are_mapped(store: ChromaStore, name: str) -> None:
    assert chroma_name(name) != name
    store.create_collection(CollectionSpec(name=name, dimension=DIM))
    store.upsert(name, _recs(3))
    assert store.has_collection(name)
    assert name in store.list_collections()
    assert store.count(name) == 3
    store.drop_collection(name)
    assert not store.has_collection(name)


def test_a_name_cannot_take_another_names_stand_in(store: ChromaStore) -> None:
    twin = chroma_name("ab")  # a valid vecctx name too
    assert twin.startswith("vecctx-") and chroma_name(twin) != twin
    store.create_collection(CollectionSpec(name="ab", dimension=DIM))
    store.create_collection(CollectionSpec(name=twin, dimension=DIM))
    store.upsert("ab", _recs(3))
    assert (store.count("ab"), store.count(twin)) == (3, 0)
    assert sorted(store.list_collections()) == sorted(["ab", twin])


def test_valid_names_are_kept(store: ChromaStore) -> None:
    assert chroma_name("docs") == "docs"
    store.create_collection(CollectionSpec(name="docs", dimension=DIM))
    assert [c.name for c in store.client.list_collections()] == ["docs"]


def test_cannot_build(store: ChromaStore) -> None:
    with pytest.raises(UnsupportedFeatureError):
        store.create_collection(CollectionSpec(name="sp", dimension=DIM, sparse=True))
    with pytest.raises(UnsupportedFeatureError):
        store.create_collection(
            CollectionSpec(name="fl", dimension=DIM, index=IndexParams(kind=IndexKind.FLAT))
        )
    assert store.list_collections() == []


def test_sparse_query_is_unsupported_before_io(store: ChromaStore) -> None:
    store.create_collection(CollectionSpec(name="d", dimension=DIM))
    # the store front refuses it (no collection of this backend holds sparse vectors)
    with pytest.raises((UnsupportedFeatureError, InvalidInputError), match="sparse"):
        store.search("d", vector=np.ones(DIM), sparse=SparseVector((1,), (1.0,)))


def test_hnsw_settings_and_spec_persist(tmp_path: Path) -> None:
    url = f"chroma://{tmp_path}?ef_search=20"
    spec = CollectionSpec(
        name="cfg", dimension=DIM, metric=Metric.EUCLIDEAN, index=IndexParams(m=24, ef_construct=64)
    )
    with open_store(url) as s:
        s.create_collection(spec)
        s.upsert("cfg", _recs(5))
        s.search("cfg", vector=np.ones(DIM), params=SearchParams(ef=20))
        s.search("cfg", vector=np.ones(DIM), params=SearchParams(ef=10))  # a narrower beam is covered
        with pytest.raises(UnsupportedFeatureError, match="ef_search=20"):
            s.search("cfg", vector=np.ones(DIM), params=SearchParams(ef=64))
    with open_store(f"chroma://{tmp_path}") as s:  # no option: the collection keeps its settings
        assert s.collection_spec("cfg") == spec
        hnsw = s.client.get_collection(chroma_name("cfg"), embedding_function=None).configuration_json["hnsw"]
        assert (hnsw["space"], hnsw["max_neighbors"], hnsw["ef_construction"], hnsw["ef_search"]) == (
            "l2",
            24,
            64,
            20,
        )
        with pytest.raises(UnsupportedFeatureError):
            s.search("cfg", vector=np.ones(DIM), params=SearchParams(ef=21))


def test_cosine_vectors_are_stored_normalised(store: ChromaStore) -> None:
    store.create_collection(CollectionSpec(name="cos", dimension=DIM))
    store.upsert("cos", [Record(id="a", vector=np.full(DIM, 3.0))])
    (got,) = store.get("cos", ["a"], with_vectors=True)
    assert np.allclose(got.vector, np.full(DIM, 1 / np.sqrt(DIM)), atol=1e-6)
    (hit,) = store.search("cos", vector=np.full(DIM, 0.5), k=1, with_vectors=True)
    assert hit.score == pytest.approx(1.0, abs=1e-5)
    assert hit.vector is not None and np.allclose(hit.vector, got.vector)


@pytest.mark.parametrize("metric", list(Metric))
def test_scores_are_canonical(store: ChromaStore, metric: Metric) -> None:
    recs = _recs(50, seed=3)
    spec = CollectionSpec(name="sc", dimension=DIM, metric=metric)
    ref = MemoryStore()
    for s in (store, ref):
        s.create_collection(spec)
        s.upsert("sc", recs)
    q = lowrank_queries(1, DIM, rank=4, seed=3)[0] * 2
    got = store.search("sc", vector=q, k=5)  # HNSW path (exact search is tested by the suite)
    want = ref.search("sc", vector=q, k=5)
    assert [h.id for h in got] == [h.id for h in want]
    for g, w in zip(got, want, strict=True):
        assert g.kind is w.kind
        assert g.score == pytest.approx(w.score, rel=1e-4, abs=1e-4)
        assert g.relevance == pytest.approx(w.relevance, rel=1e-4, abs=1e-4)


def test_get_keeps_order_and_duplicates(store: ChromaStore) -> None:
    store.create_collection(CollectionSpec(name="g", dimension=DIM))
    store.upsert("g", _recs(4))
    got = store.get("g", ["r2", "nope", "r0", "r2"])
    assert [r.id for r in got] == ["r2", "r0", "r2"]
    assert store.get("g", []) == []
    with pytest.raises(InvalidInputError):
        store.get("g", "r1")


def test_scroll_and_count_page_through(store: ChromaStore) -> None:
    store.create_collection(CollectionSpec(name="p", dimension=DIM))
    store.upsert("p", _recs(23))
    assert sorted(r.id for r in store.scroll("p", batch_size=5)) == sorted(f"r{i}" for i in range(23))
    assert len(list(store.scroll("p", filter=F("i") >= 10, batch_size=4))) == 13
    assert store.count("p", filter=F("i") < 5) == 5
    with pytest.raises(InvalidInputError):
        list(store.scroll("p", batch_size=0))


def test_delete_by_ids_and_filter_together(store: ChromaStore) -> None:
    store.create_collection(CollectionSpec(name="del", dimension=DIM))
    store.upsert("del", _recs(10))
    store.delete("del", ids=["r0"], filter=F("i") >= 8)
    assert sorted(r.id for r in store.scroll("del")) == [f"r{i}" for i in range(1, 8)]
    store.delete("del")  # neither: nothing
    assert store.count("del") == 7


def test_search_batch_matches_single_searches(store: ChromaStore) -> None:
    store.create_collection(CollectionSpec(name="sb", dimension=DIM))
    store.upsert("sb", _recs(200, seed=4))
    qs = lowrank_queries(6, DIM, rank=4, seed=4)
    reqs = [
        SearchRequest(vector=qs[0], k=5),
        SearchRequest(vector=qs[1], k=5),
        SearchRequest(vector=qs[2], k=5, filter=F("i") < 50),
        SearchRequest(vector=qs[3], k=3, params=SearchParams(exact=True)),
        SearchRequest(vector=qs[4], k=5, with_payload=False),
        SearchRequest(vector=qs[5], k=5, filter=F("i") < 50),
    ]
    batch = store.search_batch("sb", reqs)
    for r, hits in zip(reqs, batch, strict=True):
        single = store.search(
            "sb", vector=r.vector, k=r.k, filter=r.filter, params=r.params, with_payload=r.with_payload
        )
        assert [h.id for h in hits] == [h.id for h in single]
        assert [h.metadata for h in hits] == [h.metadata for h in single]
    assert batch[4][0].metadata is None and batch[0][0].metadata is not None


def test_foreign_collection_is_readable(tmp_path: Path) -> None:
    client = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    col = client.create_collection(
        "foreign", embedding_function=None, configuration={"hnsw": {"space": "ip"}}
    )
    col.add(ids=["x"], embeddings=[[1.0, 0.0]], metadatas=[{"source": "a.pdf", "page": 3}], documents=["hi"])
    with open_store(f"chroma://{tmp_path}") as s:
        spec = s.collection_spec("foreign")
        assert (spec.dimension, spec.metric) == (2, Metric.DOT)
        (hit,) = s.search("foreign", vector=[2.0, 0.0], k=1)
        assert (hit.id, hit.text, hit.metadata) == ("x", "hi", {"source": "a.pdf", "page": 3})
        assert hit.score == pytest.approx(2.0, abs=1e-5)
    client.close()


def test_dropped_elsewhere_is_not_found_then_recreated(tmp_path: Path) -> None:
    with open_store(f"chroma://{tmp_path}") as a, open_store(f"chroma://{tmp_path}") as b:
        a.create_collection(CollectionSpec(name="shared", dimension=DIM))
        a.upsert("shared", _recs(3))
        assert b.count("shared") == 3
        a.drop_collection("shared")
        with pytest.raises(CollectionNotFoundError):
            b.count("shared")
        a.create_collection(CollectionSpec(name="shared", dimension=DIM))
        assert b.count("shared") == 0  # the stale handle was forgotten


def test_closed_store(store: ChromaStore) -> None:
    store.close()
    store.close()  # idempotent
    assert "closed" in repr(store)
    with pytest.raises(VecctxError):
        store.list_collections()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_unreachable_server_is_transient() -> None:
    with pytest.raises(RetryDeadlineError, match="chroma connect") as info:
        open_store(f"chroma+http://127.0.0.1:{_free_port()}?token=s3cret&retry_deadline=1")
    assert "s3cret" not in str(info.value)
    assert isinstance(info.value.original, TransientBackendError)


def test_async_store_retries_too() -> None:
    """The async store connects on first use and retries under the same policy as the sync one."""

    async def run() -> None:
        url = f"chroma+http://127.0.0.1:{_free_port()}?token=s3cret&retry_deadline=1"
        async with open_async_store(url) as store:
            with pytest.raises(RetryDeadlineError, match="chroma list collections") as info:
                await store.list_collections()
        assert info.value.attempts >= 2
        assert "s3cret" not in str(info.value)

    asyncio.run(run())


def test_token_is_sent_and_never_echoed() -> None:
    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            body = json.dumps({"error": "AuthError", "message": "bad token"}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(VecctxError) as info:
            open_store(f"chroma+http://127.0.0.1:{server.server_address[1]}?token=s3cret")
    finally:
        server.shutdown()
        server.server_close()
    assert seen and seen[0] == "Bearer s3cret"
    assert "s3cret" not in str(info.value) and "s3cret" not in repr(info.value)


# -- over HTTP ------------------------------------------------------------------------------


def test_http_store_declares_async(chroma_server: str) -> None:
    with open_store("chroma+" + chroma_server) as s:
        assert s.capabilities.async_native
        assert s.capabilities.max_batch == 5461


def test_async_store_end_to_end(chroma_server: str) -> None:
    recs = _recs(30, seed=9)
    ref = MemoryStore()
    spec = CollectionSpec(name="asyncall", dimension=DIM)
    ref.create_collection(spec)
    ref.upsert("asyncall", recs)
    q = lowrank_queries(2, DIM, rank=4, seed=9)

    async def run() -> None:
        store = vecctx.connect_async("chroma+" + chroma_server)
        assert isinstance(store, AsyncChromaStore)
        async with store:
            await store.ensure_collection(spec)
            await store.ensure_collection(spec)
            with pytest.raises(ConfigError):
                await store.ensure_collection(CollectionSpec(name="asyncall", dimension=DIM + 1))
            await store.upsert("asyncall", recs)
            assert "asyncall" in await store.list_collections()
            assert await store.count("asyncall") == 30
            assert await store.count("asyncall", filter=F("i") >= 20) == 10
            got = await store.get("asyncall", ["r3", "zz", "r1"], with_vectors=True)
            assert [r.id for r in got] == ["r3", "r1"] and len(got[0].vector) == DIM
            batch = await store.search_batch(
                "asyncall",
                [SearchRequest(vector=q[0], k=4), SearchRequest(vector=q[1], k=4, filter=F("i") < 10)],
            )
            assert [h.id for h in batch[0]] == [h.id for h in ref.search("asyncall", vector=q[0], k=4)]
            want = ref.search("asyncall", vector=q[1], k=4, filter=F("i") < 10)
            assert [h.id for h in batch[1]] == [h.id for h in want]
            exact = await store.search("asyncall", vector=q[0], k=4, params=SearchParams(exact=True))
            assert [h.id for h in exact] == [h.id for h in batch[0]]
            await store.delete("asyncall", ids=["r0"], filter=F("i") >= 25)
            assert await store.count("asyncall") == 24
            assert sorted([r.id async for r in store.scroll("asyncall", batch_size=7)]) == sorted(
                r.id for r in recs if r.id != "r0" and int(r.id[1:]) < 25
            )
            await store.drop_collection("asyncall")
            assert not await store.has_collection("asyncall")
            with pytest.raises(CollectionNotFoundError):
                await store.drop_collection("asyncall")
            await store.drop_collection("asyncall", missing_ok=True)
        with pytest.raises(VecctxError):
            await store.count("asyncall")

    asyncio.run(run())
