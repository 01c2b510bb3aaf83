"""Differential test against the exact reference store on 20,000 low-rank vectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from vecctx_chroma import ChromaStore, open_store

from vecctx import CollectionSpec, F, MemoryStore, Record, SearchParams
from vecctx.testing import lowrank, lowrank_queries, recall_at_k

N, DIM, NQ = 20_000, 128, 100


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChromaStore, MemoryStore]]:
    vecs = lowrank(N, DIM, seed=21)
    recs = [Record(id=f"d{i}", vector=vecs[i], metadata={"g": i % 10}) for i in range(N)]
    spec = CollectionSpec(name="recall", dimension=DIM)  # vecctx defaults: HNSW m=16, ef_construct=128
    ref = MemoryStore()
    ref.create_collection(spec)
    ref.upsert("recall", recs)
    path: Path = tmp_path_factory.mktemp("chroma-recall")
    with open_store(f"chroma://{path}") as store:  # Chroma's default ef_search (100)
        store.create_collection(spec)
        store.upsert("recall", recs)  # 4 batches of at most 5,461
        yield store, ref


def test_all_records_landed(loaded: tuple[ChromaStore, MemoryStore]) -> None:
    store, _ = loaded
    assert store.count("recall") == N
    assert store.count("recall", filter=F("g") == 3) == N // 10


def test_recall_at_default_settings(loaded: tuple[ChromaStore, MemoryStore]) -> None:
    store, ref = loaded
    queries = lowrank_queries(NQ, DIM, seed=21)
    found = [[h.id for h in store.search("recall", vector=q, k=10, with_payload=False)] for q in queries]
    truth = [[h.id for h in ref.search("recall", vector=q, k=10, with_payload=False)] for q in queries]
    assert recall_at_k(found, truth, 10) >= 0.95


def test_filtered_recall(loaded: tuple[ChromaStore, MemoryStore]) -> None:
    store, ref = loaded
    flt = F("g") == 3
    queries = lowrank_queries(30, DIM, seed=22)
    found = [[h.id for h in store.search("recall", vector=q, k=10, filter=flt)] for q in queries]
    truth = [[h.id for h in ref.search("recall", vector=q, k=10, filter=flt)] for q in queries]
    assert all(int(i[1:]) % 10 == 3 for ids in found for i in ids)
    assert recall_at_k(found, truth, 10) >= 0.95


def test_exact_search_is_exact(loaded: tuple[ChromaStore, MemoryStore]) -> None:
    store, ref = loaded
    for q in lowrank_queries(2, DIM, seed=23):
        got = store.search("recall", vector=q, k=10, params=SearchParams(exact=True))
        want = ref.search("recall", vector=q, k=10)
        assert [h.id for h in got] == [h.id for h in want]
        assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-5)
