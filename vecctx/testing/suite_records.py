"""Conformance areas: writes (upsert, record batches, delete) and reads (get, count, scroll)."""

from __future__ import annotations

from typing import Any

import numpy as np

from vecctx.contract.batch import RecordBatch
from vecctx.contract.filters import F
from vecctx.contract.store import VectorStore
from vecctx.contract.types import CollectionSpec, Record
from vecctx.memory import MemoryStore
from vecctx.testing.data import FLAT_METADATA, lowrank, lowrank_queries, records_for
from vecctx.testing.suite_base import DIM, SuiteBase, ids_of


def _cosine(a: Any, b: Any) -> float:
    v, w = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(v @ w / (np.linalg.norm(v) * np.linalg.norm(w)))


class WriteTests(SuiteBase):
    """Upserts (records and record batches) store exactly what was given; deletes remove
    exactly what they name."""

    def test_upsert_get_roundtrip(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA, DIM)
        self._fill(store, collection, recs)
        assert store.count(collection) == len(recs)
        want = [recs[3], recs[0], recs[7]]
        got = store.get(collection, [r.id for r in want] + ["absent"], with_vectors=True)
        assert [g.id for g in got] == [r.id for r in want]
        for g, r in zip(got, want, strict=True):
            assert g.text == r.text
            assert dict(g.metadata) == r.metadata
            for key, value in r.metadata.items():
                assert type(g.metadata[key]) is type(value), f"type of {key} changed"
            assert _cosine(g.vector, r.vector) > 0.9999

    def test_upsert_is_idempotent_and_replaces(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA, DIM)
        self._fill(store, collection, recs)
        store.upsert(collection, recs)
        assert store.count(collection) == len(recs)
        changed = Record(id=recs[0].id, vector=recs[1].vector, text="new", metadata={"lang": "xx"})
        store.upsert(collection, [changed])
        assert store.count(collection) == len(recs)
        (got,) = store.get(collection, [recs[0].id])
        assert got.text == "new"
        assert dict(got.metadata) == {"lang": "xx"}
        assert store.count(collection, filter=F("lang") == "xx") == 1

    def test_delete(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA, DIM)
        ref = self._fill(store, collection, recs)
        store.delete(collection, ids=[recs[0].id, "absent"])
        assert store.count(collection) == len(recs) - 1
        assert store.get(collection, [recs[0].id]) == []
        flt = F("lang") == "de"
        n_de = ref.count(collection, filter=flt)
        assert n_de > 0
        store.delete(collection, filter=flt)
        assert store.count(collection, filter=flt) == 0
        assert store.count(collection) == len(recs) - 1 - n_de
        store.delete(collection, filter={"lang": {"$in": ["nobody"]}})
        assert store.count(collection) == len(recs) - 1 - n_de

    def test_delete_by_ids_and_filter_is_a_union(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA, DIM)
        ref = self._fill(store, collection, recs)
        flt = F("lang") == "fr"
        doomed = {recs[0].id, recs[1].id} | {r.id for r in ref.scroll(collection, filter=flt)}
        store.delete(collection, ids=[recs[0].id, recs[1].id], filter=flt)
        assert sorted(r.id for r in store.scroll(collection)) == sorted(
            r.id for r in recs if r.id not in doomed
        )

    def test_metadata_roundtrip_types(self, store: VectorStore, collection: str) -> None:
        caps = self.caps(store)
        meta: dict[str, Any] = {
            "s": "ünïcødé ✓ \"'\\",
            "i": 7,
            "f": 2.5,
            "whole_float": 3.0,
            "t": True,
            "big": 2**53 + 1,
        }
        if caps.nested_keys:
            meta["obj"] = {"a": {"b": 1}}
        if caps.list_values:
            meta["l"] = ["x", "y"]
        self._fill(store, collection, [Record(id="ü/id with spaces", vector=np.ones(DIM), metadata=meta)])
        (got,) = store.get(collection, ["ü/id with spaces"])
        assert dict(got.metadata) == meta
        assert type(got.metadata["i"]) is int and type(got.metadata["whole_float"]) is float
        assert got.metadata["t"] is True

    def test_record_batch_equals_records(self, store: VectorStore, collection: str) -> None:
        """A RecordBatch (columns, vectors as one float64 matrix) stores exactly what the
        equivalent list of records stores; texts and metadata may be left out."""
        recs = records_for(FLAT_METADATA, DIM, seed=5)
        spec = CollectionSpec(name=collection, dimension=DIM)
        store.create_collection(spec)
        matrix = np.stack([np.asarray(r.vector, dtype=np.float64) for r in recs])
        store.upsert(
            collection,
            RecordBatch([r.id for r in recs], matrix, [r.text for r in recs], [r.metadata for r in recs]),
        )
        ref = MemoryStore()
        ref.create_collection(spec)
        ref.upsert(collection, recs)
        assert store.count(collection) == len(recs)
        got = store.get(collection, [r.id for r in recs], with_vectors=True)
        assert [g.id for g in got] == [r.id for r in recs]
        for g, r in zip(got, recs, strict=True):
            assert (g.text, dict(g.metadata)) == (r.text, r.metadata)
            assert _cosine(g.vector, r.vector) > 0.9999
        for q in lowrank_queries(2, DIM, seed=5):
            want = ref.search(collection, vector=q, k=5, filter=F("lang") == "de")
            assert ids_of(store.search(collection, vector=q, k=5, filter=F("lang") == "de")) == ids_of(want)
        # Columns left out: no text, empty metadata; replaces the first two records.
        store.upsert(collection, RecordBatch([recs[0].id, recs[1].id], matrix[:2].tolist()))
        assert store.count(collection) == len(recs)
        for g in store.get(collection, [recs[0].id, recs[1].id]):
            assert g.text is None and dict(g.metadata) == {}

    def test_batch_larger_than_backend_limit(self, store: VectorStore, collection: str) -> None:
        caps = self.caps(store)
        n = (caps.max_batch or 4096) + 17
        vecs = lowrank(n, DIM, rank=4, seed=3)
        recs = [Record(id=f"b{i}", vector=vecs[i], metadata={"i": i}) for i in range(n)]
        store.create_collection(CollectionSpec(name=collection, dimension=DIM))
        store.upsert(collection, recs)
        assert store.count(collection) == n
        assert store.count(collection, filter=F("i") >= n - 17) == 17


class ReadTests(SuiteBase):
    """get returns what exists in the order asked; scroll pages through every record once."""

    def test_get_keeps_the_order_asked(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA, DIM)
        self._fill(store, collection, recs)
        asked = [recs[5].id, "absent", recs[1].id, recs[5].id, recs[11].id]
        got = store.get(collection, asked)
        assert [g.id for g in got] == [recs[5].id, recs[1].id, recs[5].id, recs[11].id]
        assert [g.text for g in got] == [recs[5].text, recs[1].text, recs[5].text, recs[11].text]
        assert store.get(collection, []) == []
        assert store.get(collection, ["absent"]) == []

    def test_scroll(self, store: VectorStore, collection: str) -> None:
        recs = records_for(FLAT_METADATA, DIM)
        self._fill(store, collection, recs)
        got = list(store.scroll(collection, batch_size=5))
        assert sorted(r.id for r in got) == sorted(r.id for r in recs)
        by_id = {r.id: r for r in recs}
        for r in got:
            assert r.text == by_id[r.id].text
            assert dict(r.metadata) == by_id[r.id].metadata

    def test_scroll_pages_see_every_record_once(self, store: VectorStore, collection: str) -> None:
        """Whatever the page size (one record, a page boundary on the last record, more than
        the collection), a scroll returns each matching record exactly once."""
        vecs = lowrank(30, DIM, rank=4, seed=17)
        recs = [Record(id=f"p{i:02d}", vector=vecs[i], metadata={"i": i}) for i in range(30)]
        self._fill(store, collection, recs)
        every = [r.id for r in recs]
        for batch_size in (1, 7, 10, 30, 100):
            got = [r.id for r in store.scroll(collection, batch_size=batch_size)]
            assert sorted(got) == every, f"batch_size={batch_size}"
        odd = [r.id for r in store.scroll(collection, filter=F("i") >= 15, batch_size=4)]
        assert sorted(odd) == every[15:]
        assert list(store.scroll(collection, filter=F("i") > 99, batch_size=3)) == []
        with_vectors = list(store.scroll(collection, batch_size=8, with_vectors=True))
        by_id = {r.id: r for r in recs}
        assert sorted(r.id for r in with_vectors) == every
        assert all(_cosine(r.vector, by_id[r.id].vector) > 0.9999 for r in with_vectors)


__all__ = ["ReadTests", "WriteTests"]
