"""The qdrant-client code path (server and local mode share it), tested in local mode, plus the
requests it would send to a server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from vecctx_qdrant import AsyncQdrantClientStore, QdrantClientStore, open_async_store, open_store, parse_url
from vecctx_qdrant.client import ClientCore
from vecctx_qdrant.config import ClientOptions

from vecctx import F, SearchRequest
from vecctx.contract.driver import CheckedSearch
from vecctx.contract.errors import CollectionNotFoundError, ConfigError, StoreClosedError, StoreLockedError
from vecctx.contract.store import Fusion
from vecctx.contract.types import CollectionSpec, FieldType, Record, SparseVector
from vecctx.testing import lowrank

DIM = 8


def _records(n: int) -> list[Record]:
    vecs = lowrank(n, DIM, rank=4, seed=2)
    return [
        Record(
            id=f"c{i}",
            vector=vecs[i],
            text=f"t{i}",
            metadata={"g": i % 3},
            sparse=SparseVector((i % 7, 10 + i % 5), (1.0, 0.5)),
        )
        for i in range(n)
    ]


def _local(url: str) -> QdrantClientStore:
    store = open_store(url)
    assert isinstance(store, QdrantClientStore)
    return store


def test_spec_lives_in_collection_metadata(tmp_path: Path) -> None:
    """(That every field of a spec and the data survive a reopen on this path is tested in
    test_qdrant_edge.py.)"""
    spec = CollectionSpec(name="docs", dimension=DIM, sparse=True, indexed_fields={"g": FieldType.INTEGER})
    url = f"qdrant+local://{tmp_path / 'db'}"
    with _local(url) as store:
        store.create_collection(spec)
        store.upsert("docs", _records(20))
    with _local(url) as store:
        assert store.collection_spec("docs") == spec
        assert store.count("docs", filter=F("g") == 1) == 7
    raw = QdrantClient(path=str(tmp_path / "db"))
    try:
        meta = raw.get_collection("docs").config.metadata
        assert meta is not None and meta["vecctx"]["indexed_fields"] == {"g": "integer"}
        raw.create_collection(
            "foreign", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
        )
    finally:
        raw.close()
    with _local(url) as store:
        with pytest.raises(ConfigError, match="not created by vecctx"):
            store.collection_spec("foreign")
        assert store.list_collections() == ["docs", "foreign"]


def test_local_path_lock(tmp_path: Path) -> None:
    url = f"qdrant+local://{tmp_path / 'db'}"
    with _local(url):
        with pytest.raises(StoreLockedError) as info:
            _local(url)
        assert info.value.path == str(tmp_path / "db")


def test_search_batch_and_hybrid_requests() -> None:
    recs = _records(40)
    q = np.asarray(recs[3].vector)
    sq = SparseVector((1, 11), (1.0, 1.0))
    with _local("qdrant+local://:memory:") as store:
        store.create_collection(CollectionSpec(name="b", dimension=DIM, sparse=True))
        store.upsert("b", recs)
        reqs = [
            SearchRequest(vector=q, k=4),
            SearchRequest(sparse=sq, k=3, filter=F("g") != 0),
            SearchRequest(vector=q, sparse=sq, k=5, fusion=Fusion.DBSF),
            SearchRequest(vector=q, k=2, with_payload=False, with_vectors=True),
        ]
        batch = store.search_batch("b", reqs)
        single = [
            store.search(
                "b", vector=r.vector, sparse=r.sparse, filter=r.filter, k=r.k, fusion=r.fusion,
                with_payload=r.with_payload, with_vectors=r.with_vectors,
            )
            for r in reqs
        ]  # fmt: skip
        assert [[h.id for h in hs] for hs in batch] == [[h.id for h in hs] for hs in single]
        assert batch[3][0].text is None and batch[3][0].vector is not None
        assert all(h.metadata is not None and h.metadata["g"] != 0 for h in batch[1])


def test_server_requests() -> None:
    """What the store would send to a server: collection settings, payload indexes, RRF's k."""
    opts = parse_url("qdrant://h:6333?shards=3&replication=2&write_consistency=2&idf=1")
    assert isinstance(opts, ClientOptions)
    core = ClientCore(opts)
    spec = CollectionSpec(
        name="s",
        dimension=DIM,
        sparse=True,
        indexed_fields={"lang": FieldType.KEYWORD, "a b": FieldType.FLOAT},
    )
    kw = core.create_kwargs(spec)
    assert (kw["shard_number"], kw["replication_factor"], kw["write_consistency_factor"]) == (3, 2, 2)
    assert kw["sparse_vectors_config"]["sparse"].modifier == models.Modifier.IDF
    assert kw["vectors_config"]["dense"].size == DIM
    assert core.payload_indexes(spec) == [
        ("meta.lang", models.PayloadSchemaType.KEYWORD),
        ('meta."a b"', models.PayloadSchemaType.FLOAT),
    ]
    query = CheckedSearch(
        vector=np.ones(DIM, dtype=np.float32), sparse=SparseVector((1,), (1.0,)),
        filter=core.compile_filter(spec, F("lang") == "en"), k=5, exact=False, ef=99, prefetch_k=50,
        rrf_k=60, fusion=Fusion.RRF, with_payload=True, with_vectors=False,
    )  # fmt: skip
    req = core.request(spec, query)
    assert isinstance(req.query, models.RrfQuery) and req.query.rrf.k == 61
    assert req.prefetch[0].params == models.SearchParams(hnsw_ef=99, exact=False)
    assert req.prefetch[0].limit == 50
    assert req.prefetch[0].filter == req.prefetch[1].filter == req.filter
    local = ClientCore(ClientOptions(mode="local"))
    assert local.payload_indexes(spec) == []  # local mode has no payload indexes


async def _async_roundtrip(store: AsyncQdrantClientStore) -> None:
    async with store:
        spec = CollectionSpec(name="a", dimension=DIM, sparse=True)
        await store.ensure_collection(spec)
        await store.ensure_collection(spec)
        recs = _records(30)
        await store.upsert("a", recs)
        assert await store.has_collection("a")
        assert await store.list_collections() == ["a"]
        assert (await store.collection_spec("a")).sparse
        got = await store.get("a", ["c4", "nope", "c1"], with_vectors=True)
        assert [r.id for r in got] == ["c4", "c1"] and got[0].sparse == recs[4].sparse
        await store.delete("a", ids=["c4"], filter=F("g") == 2)
        assert await store.count("a") == 30 - 1 - 10
        ids = sorted([r.id async for r in store.scroll("a", filter=F("g") == 1, batch_size=3)])
        assert ids == sorted(r.id for r in recs if r.metadata["g"] == 1 and r.id != "c4")
        q = np.asarray(recs[0].vector)
        batch = await store.search_batch("a", [SearchRequest(vector=q, k=3), SearchRequest(vector=q, k=2)])
        single = await store.search("a", vector=q, k=3)
        assert [h.id for h in batch[0]] == [h.id for h in single]
        await store.optimize("a")
        await store.drop_collection("a")
        with pytest.raises(CollectionNotFoundError):
            await store.count("a")
        await store.drop_collection("a", missing_ok=True)
    with pytest.raises(StoreClosedError):
        await store.count("a")


def test_async_store_local() -> None:
    store = open_async_store("qdrant+local://:memory:")
    assert store.capabilities.async_native
    asyncio.run(_async_roundtrip(store))
