"""Differential tests against the exact reference store on 20,000 low-rank vectors:
FLAT returns the reference's ids, HNSW reaches the recall targets, exact search on an HNSW
collection returns the reference's ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from vecctx_milvus import MilvusStore, open_store

from vecctx import CollectionSpec, F, IndexKind, IndexParams, MemoryStore, Record, SearchParams
from vecctx.testing import lowrank, lowrank_queries, recall_at_k

N, DIM = 20_000, 64
N_QUERIES = 50


@pytest.fixture(scope="module")
def data() -> tuple[list[Record], np.ndarray, MemoryStore]:
    vecs = lowrank(N, DIM, seed=21)
    recs = [Record(id=f"v{i:05d}", vector=vecs[i], metadata={"g": i % 10}) for i in range(N)]
    ref = MemoryStore()
    ref.create_collection(CollectionSpec(name="ref", dimension=DIM))
    ref.upsert("ref", recs)
    return recs, lowrank_queries(N_QUERIES, DIM, seed=21), ref


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStore]:
    path: Path = tmp_path_factory.mktemp("milvus-diff") / "diff.db"
    with open_store(f"milvus://{path}") as s:
        yield s


def _ids(hits: list[object]) -> list[str]:
    return [h.id for h in hits]  # type: ignore[attr-defined]


def test_flat_returns_reference_ids(
    store: MilvusStore, data: tuple[list[Record], np.ndarray, MemoryStore]
) -> None:
    recs, queries, ref = data
    store.create_collection(
        CollectionSpec(name="flat", dimension=DIM, index=IndexParams(kind=IndexKind.FLAT))
    )
    store.upsert("flat", recs)
    store.optimize("flat")
    assert store.count("flat") == N
    for q in queries:
        got = store.search("flat", vector=q, k=10)
        want = ref.search("ref", vector=q, k=10)
        assert _ids(got) == _ids(want)
        assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-5)
    for q in queries[:10]:
        got = store.search("flat", vector=q, k=10, filter=F("g") == 3)
        want = ref.search("ref", vector=q, k=10, filter=F("g") == 3)
        assert _ids(got) == _ids(want)


def test_hnsw_recall(store: MilvusStore, data: tuple[list[Record], np.ndarray, MemoryStore]) -> None:
    recs, queries, ref = data
    store.create_collection(
        CollectionSpec(name="hnsw", dimension=DIM)
    )  # default: HNSW m=16, ef_construct=128
    store.upsert("hnsw", recs)
    store.optimize("hnsw")
    truth = [_ids(ref.search("ref", vector=q, k=10)) for q in queries]

    def recall(params: SearchParams | None) -> float:
        found = [_ids(store.search("hnsw", vector=q, k=10, params=params)) for q in queries]
        return recall_at_k(found, truth, 10)

    default = recall(None)
    assert default >= 0.95, default  # default ef = 64, measured 0.993 here
    # ef 64 (the default) lands at 0.990-0.994 on this data; ef 96 is the documented setting for 0.99
    assert recall(SearchParams(ef=96)) >= 0.99
    # exact on an HNSW collection: ef = collection size, an exhaustive walk of the graph
    for q, want in zip(queries[:10], truth[:10], strict=True):
        assert _ids(store.search("hnsw", vector=q, k=10, params=SearchParams(exact=True))) == want
