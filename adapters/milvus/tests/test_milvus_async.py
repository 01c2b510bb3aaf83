"""The native-async store agrees with the sync store operation by operation (Milvus Lite,
in-process, and the standalone server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from vecctx_milvus import AsyncMilvusStore, open_async_store, open_store

from vecctx import (
    CollectionSpec,
    F,
    IndexKind,
    IndexParams,
    Record,
    SearchParams,
    SparseVector,
    connect_async,
)
from vecctx.contract.errors import (
    CollectionNotFoundError,
    ConfigError,
    StoreClosedError,
    TransientBackendError,
    UnsupportedFeatureError,
)
from vecctx.contract.store import Fusion

DIM = 8


def _records() -> list[Record]:
    rng = np.random.default_rng(4)
    return [
        Record(
            id=f"a{i:02d}",
            vector=rng.standard_normal(DIM),
            text=f"doc {i}",
            metadata={"i": i, "tags": ["even" if i % 2 == 0 else "odd", i % 3]},
            sparse=SparseVector((i % 5, 10 + i % 2), (1.0 + i / 10, 0.5)),
        )
        for i in range(30)
    ]


async def _exercise(store: AsyncMilvusStore, name: str) -> dict[str, object]:
    recs = _records()
    q = recs[3].vector
    sq = SparseVector((1, 10), (1.0, 1.0))
    spec = CollectionSpec(name=name, dimension=DIM, sparse=True, index=IndexParams(kind=IndexKind.HNSW))
    await store.create_collection(spec)
    with pytest.raises(ConfigError):
        await store.create_collection(spec)
    await store.ensure_collection(spec)
    await store.upsert(name, recs)
    out: dict[str, object] = {}
    out["spec"] = await store.collection_spec(name)
    out["listed"] = name in await store.list_collections()
    out["dense"] = [h.id for h in await store.search(name, vector=q, k=5, params=SearchParams(exact=True))]
    out["filtered"] = [h.id for h in await store.search(name, vector=q, k=5, filter=F("tags") == "even")]
    out["sparse"] = [h.id for h in await store.search(name, sparse=sq, k=5)]
    out["hybrid"] = [h.id for h in await store.search(name, vector=q, sparse=sq, k=5)]
    out["count"] = await store.count(name, filter=F("i") >= 10)
    await store.delete(name, ids=["a00", "a01"], filter=F("i") == 29)
    out["after_delete"] = await store.count(name)
    got = await store.get(name, ["a05", "a00", "a07"], with_vectors=True)
    out["get"] = [(r.id, r.text, r.metadata, r.sparse) for r in got]
    out["scroll"] = sorted([r.id async for r in store.scroll(name, filter=F("tags") == 0, batch_size=2)])
    await store.optimize(name)
    out["after_optimize"] = [
        h.id for h in await store.search(name, vector=q, k=5, params=SearchParams(exact=True))
    ]
    from vecctx import SearchRequest

    reqs = [SearchRequest(vector=r.vector, k=3) for r in recs[:4]] + [SearchRequest(sparse=sq, k=3)]
    out["batch"] = [[h.id for h in hs] for hs in await store.search_batch(name, reqs)]
    await store.drop_collection(name)
    with pytest.raises(CollectionNotFoundError):
        await store.count(name)
    return out


def _sync_reference(url: str, name: str) -> dict[str, object]:
    recs = _records()
    q = recs[3].vector
    sq = SparseVector((1, 10), (1.0, 1.0))
    spec = CollectionSpec(name=name, dimension=DIM, sparse=True, index=IndexParams(kind=IndexKind.HNSW))
    with open_store(url) as s:
        s.create_collection(spec)
        s.upsert(name, recs)
        out: dict[str, object] = {
            "spec": s.collection_spec(name),
            "listed": True,
            "dense": [h.id for h in s.search(name, vector=q, k=5, params=SearchParams(exact=True))],
            "filtered": [h.id for h in s.search(name, vector=q, k=5, filter=F("tags") == "even")],
            "sparse": [h.id for h in s.search(name, sparse=sq, k=5)],
            "hybrid": [h.id for h in s.search(name, vector=q, sparse=sq, k=5)],
            "count": s.count(name, filter=F("i") >= 10),
        }
        s.delete(name, ids=["a00", "a01"], filter=F("i") == 29)
        out["after_delete"] = s.count(name)
        out["get"] = [
            (r.id, r.text, r.metadata, r.sparse)
            for r in s.get(name, ["a05", "a00", "a07"], with_vectors=True)
        ]
        out["scroll"] = sorted(r.id for r in s.scroll(name, filter=F("tags") == 0, batch_size=2))
        s.optimize(name)
        out["after_optimize"] = [h.id for h in s.search(name, vector=q, k=5, params=SearchParams(exact=True))]
        from vecctx import SearchRequest

        reqs = [SearchRequest(vector=r.vector, k=3) for r in recs[:4]] + [SearchRequest(sparse=sq, k=3)]
        out["batch"] = [[h.id for h in hs] for hs in s.search_batch(name, reqs)]
        s.drop_collection(name)
    return out


@pytest.mark.parametrize("where", ["lite", "server"])
def test_async_matches_sync(where: str, tmp_path: Path, milvus_server: str) -> None:
    url = f"milvus://{tmp_path / 'a.db'}" if where == "lite" else milvus_server
    want = _sync_reference(url, "sync_" + where)

    async def run() -> dict[str, object]:
        store = open_async_store(url)
        try:
            return await _exercise(store, "async_" + where)
        finally:
            await store.close()

    got = asyncio.run(run())
    got_spec, want_spec = got.pop("spec"), want.pop("spec")
    assert isinstance(got_spec, CollectionSpec) and isinstance(want_spec, CollectionSpec)
    assert got_spec.compatible_with(CollectionSpec(name=got_spec.name, dimension=DIM, sparse=True))
    assert want_spec.index == got_spec.index
    assert got == want


def test_async_registry_closed_and_dbsf(tmp_path: Path) -> None:
    async def run() -> None:
        store = connect_async(f"milvus://{tmp_path / 'r.db'}")
        assert isinstance(store, AsyncMilvusStore)
        async with store:
            await store.create_collection(CollectionSpec(name="c", dimension=DIM, sparse=True))
            with pytest.raises(UnsupportedFeatureError):
                await store.search(
                    "c", vector=np.ones(DIM), sparse=SparseVector((1,), (1.0,)), fusion=Fusion.DBSF
                )
        with pytest.raises(StoreClosedError):
            await store.count("c")

    asyncio.run(run())


def test_async_store_retries_per_the_configured_policy() -> None:
    """The async store follows the URL's retry policy (it used to keep two fixed retries)."""
    import socket
    import time

    from vecctx.contract.errors import RetryDeadlineError

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def run(options: str) -> tuple[BaseException, float]:
        store = open_async_store(f"milvus://127.0.0.1:{port}?timeout=1&{options}")
        start = time.monotonic()
        try:
            await store.list_collections()
        except Exception as exc:
            return exc, time.monotonic() - start
        finally:
            await store.close()
        raise AssertionError("an unreachable server answered")

    err, _ = asyncio.run(run("retry_deadline=0"))
    assert isinstance(err, TransientBackendError) and not isinstance(err, RetryDeadlineError)
    err, elapsed = asyncio.run(run("retry_deadline=3&retry_initial_backoff=0.05&retry_max_backoff=0.2"))
    assert isinstance(err, RetryDeadlineError) and err.attempts >= 2, repr(err)
    assert elapsed >= 2.5
