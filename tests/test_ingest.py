"""Ingestion: idempotence, replacement of changed documents, sync, metadata for citations,
loaders; and SciFact with the real MiniLM model into Qdrant Edge."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vecctx
from vecctx import MemoryStore
from vecctx.chunking import Chunker, Document
from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.embedders import HashingEmbedder
from vecctx.ingest import BatchDone, Ingestor, ingest
from vecctx.loaders import data_root, load_beir, load_jsonl, load_text_dir
from vecctx.retrieval.sparse import BM25Encoder

SCIFACT = data_root() / "scifact"


def _docs(n: int = 30) -> list[Document]:
    return list(load_beir(SCIFACT, limit=n))


def _by_doc(store: Any, collection: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for r in store.scroll(collection):
        out[r.metadata["doc_id"]].add(r.id)
    return dict(out)


def _ingestor(store: Any, **kw: Any) -> Ingestor:
    emb = HashingEmbedder(dimension=32, max_input_tokens=96)
    return Ingestor(store, "docs", embedder=emb, batch_size=16, progress=False, **kw)


def test_ingest_twice_writes_nothing_the_second_time() -> None:
    store = MemoryStore()
    ing = _ingestor(store)
    docs = _docs()
    first = ing.ingest(docs)
    assert first.documents == 30 and first.written == first.chunks > 30  # some docs need several chunks
    assert store.count("docs") == first.chunks
    emb = ing.embedder
    assert isinstance(emb, HashingEmbedder)
    calls = emb.calls
    second = ing.ingest(docs)
    assert (second.written, second.unchanged, second.deleted) == (0, first.chunks, 0)
    assert emb.calls == calls  # the model was not called
    assert store.count("docs") == first.chunks


def test_changed_document_replaces_only_its_chunks() -> None:
    store = MemoryStore()
    ing = _ingestor(store)
    docs = _docs()
    ing.ingest(docs)
    before = _by_doc(store, "docs")
    victim = docs[5]
    docs[5] = Document(victim.id, "A new first sentence. " + victim.text, dict(victim.metadata))
    report = ing.ingest(docs)
    after = _by_doc(store, "docs")
    assert report.replaced_documents == 1
    assert report.deleted == len(before[victim.id])
    assert not after[victim.id] & before[victim.id]  # all its chunks are new (offsets moved)
    for doc_id, ids in before.items():
        if doc_id != victim.id:
            assert after[doc_id] == ids
    text = "".join(
        r.text or ""
        for r in sorted(store.scroll("docs", filter={"doc_id": victim.id}), key=lambda r: r.metadata["chunk"])
    )
    assert text.startswith("A new first sentence.")


def test_metadata_change_and_shrinking_document() -> None:
    store = MemoryStore()
    ing = _ingestor(store)
    docs = _docs(10)
    ing.ingest(docs)
    many = next(d for d in docs if len(ing.chunks_of(d)) >= 2)
    shorter = Document(many.id, many.text[: ing.chunks_of(many)[0][1].end], dict(many.metadata))
    report = ing.ingest([shorter if d.id == many.id else d for d in docs])
    assert report.written == 0  # the first chunk is unchanged, the rest is stale
    assert report.deleted == len(ing.chunks_of(many)) - 1
    retitled = Document(docs[0].id, docs[0].text, {"title": "Another title"})
    report = ing.ingest([retitled, *docs[1:]])
    assert report.written == len(ing.chunks_of(retitled)) and report.replaced_documents >= 1
    assert {r.metadata["title"] for r in store.scroll("docs", filter={"doc_id": docs[0].id})} == {
        "Another title"
    }


def test_sync_removes_documents_that_disappeared() -> None:
    store = MemoryStore()
    ing = _ingestor(store)
    docs = _docs(20)
    ing.ingest(docs)
    kept = docs[:15]
    report = ing.ingest(kept)  # no sync: nothing removed
    assert report.removed_documents == 0 and set(_by_doc(store, "docs")) == {d.id for d in docs}
    report = ing.ingest(kept, sync=True)
    assert report.removed_documents == 5 and report.written == 0
    assert set(_by_doc(store, "docs")) == {d.id for d in kept}


def test_chunk_metadata_for_citations() -> None:
    store = MemoryStore()
    ing = _ingestor(store)
    docs = {d.id: d for d in _docs(10)}
    ing.ingest(docs.values())
    for r in store.scroll("docs"):
        m = r.metadata
        doc = docs[m["doc_id"]]
        assert doc.text[m["start"] : m["end"]] == r.text
        assert m["title"] == doc.metadata["title"]
        assert r.id.startswith(f"{m['doc_id']}#{m['chunk']}#") and r.id.endswith(m["content_hash"])


def test_sparse_statistics_saved_and_hybrid_search(tmp_path: Path) -> None:
    store = MemoryStore()
    path = tmp_path / "bm25" / "docs.json"
    ing = _ingestor(store, sparse=BM25Encoder(), sparse_path=path)
    docs = _docs(40)
    report = ing.ingest(docs)
    assert store.collection_spec("docs").sparse
    enc = BM25Encoder.load(path)
    assert enc.stats.n_docs == report.chunks == report.bm25.stats.n_docs  # type: ignore[union-attr]
    target = docs[7]
    query = target.metadata["title"]
    hits = store.search("docs", sparse=enc.encode_query(query), k=3)
    assert hits[0].metadata is not None and hits[0].metadata["doc_id"] == target.id
    hybrid = store.search("docs", vector=ing.embedder.embed_query(query), sparse=enc.encode_query(query), k=3)
    assert target.id in {h.metadata["doc_id"] for h in hybrid if h.metadata is not None}
    # the statistics are a function of the collection's final content: same after a no-op run
    ing.ingest(docs)
    assert BM25Encoder.load(path).stats == enc.stats


def test_sparse_collection_mismatch_is_a_config_error() -> None:
    store = MemoryStore()
    _ingestor(store).ingest(_docs(3))
    with pytest.raises(ConfigError):
        _ingestor(store, sparse=BM25Encoder()).ingest(_docs(3))


def test_pipelined_and_serial_runs_agree_and_report_batches() -> None:
    seen: list[BatchDone] = []
    a, b = MemoryStore(), MemoryStore()
    _ingestor(a, on_batch=seen.append).ingest(_docs())
    _ingestor(b, pipeline=False).ingest(_docs())
    assert seen and seen[-1].written == seen[-1].to_write == a.count("docs")
    assert [s.batch for s in seen] == list(range(1, seen[-1].batches + 1))
    ra = {r.id: r for r in a.scroll("docs", with_vectors=True)}
    rb = {r.id: r for r in b.scroll("docs", with_vectors=True)}
    assert ra.keys() == rb.keys()
    for k in ra:
        np.testing.assert_array_equal(ra[k].vector, rb[k].vector)


def test_bad_sources() -> None:
    store = MemoryStore()
    ing = _ingestor(store)
    with pytest.raises(InvalidInputError, match="reserved"):
        ing.ingest([Document("a", "text", {"doc_id": "x"})])
    with pytest.raises(InvalidInputError, match="twice"):
        ing.ingest([Document("a", "one"), Document("a", "two")])
    assert not store.has_collection("docs") or store.count("docs") == 0


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    store = MemoryStore()
    emb = HashingEmbedder(dimension=8)
    ingest(store, "docs", _docs(5), embedder=emb, progress=True)
    assert "chunk" in capsys.readouterr().err
    ingest(store, "docs2", _docs(5), embedder=emb)  # not a tty: no bar
    assert capsys.readouterr().err == ""


def test_embedding_cache_skips_the_model(tmp_path: Path) -> None:
    emb = HashingEmbedder(dimension=8)
    ingest(MemoryStore(), "docs", _docs(5), embedder=emb, cache=tmp_path)
    calls = emb.texts_embedded
    emb2 = HashingEmbedder(dimension=8)
    report = ingest(MemoryStore(), "docs", _docs(5), embedder=emb2, cache=tmp_path)
    assert calls > 0 and emb2.texts_embedded == 0 and report.written == calls


def test_loaders(tmp_path: Path) -> None:
    (tmp_path / "notes" / "sub").mkdir(parents=True)
    (tmp_path / "notes" / "a.md").write_text("# Alpha notes\n\nSome text.")
    (tmp_path / "notes" / "sub" / "b.txt").write_text("Plain text.")
    (tmp_path / "notes" / "skip.bin").write_bytes(b"\x00")
    docs = list(load_text_dir(tmp_path / "notes"))
    assert [(d.id, d.metadata["title"]) for d in docs] == [("a.md", "Alpha notes"), ("sub/b.txt", "b")]
    jl = tmp_path / "d.jsonl"
    jl.write_text(
        json.dumps({"key": 1, "body": "hello", "lang": "en", "year": 2020, "n": None})
        + "\n\n"
        + json.dumps({"key": "x", "body": "bye", "lang": "de"})
        + "\n"
    )
    rows = list(load_jsonl(jl, id_field="key", text_field="body"))
    assert [(d.id, d.text, dict(d.metadata)) for d in rows] == [
        ("1", "hello", {"lang": "en", "year": 2020}),
        ("x", "bye", {"lang": "de"}),
    ]
    assert [
        dict(d.metadata) for d in load_jsonl(jl, id_field="key", text_field="body", metadata_fields=["year"])
    ] == [
        {"year": 2020},
        {},
    ]
    with pytest.raises(InvalidInputError):
        list(load_jsonl(jl, id_field="missing", text_field="body"))
    beir = list(load_beir(SCIFACT, limit=3))
    assert len(beir) == 3 and beir[0].text.startswith(beir[0].metadata["title"] + "\n\n")
    with pytest.raises(ConfigError):
        list(load_beir(tmp_path))


# -- SciFact, real model, Qdrant Edge -------------------------------------------------------
@pytest.fixture(scope="module")
def minilm() -> Any:
    from vecctx.embedders import default_embedder

    return default_embedder(threads=1)


def test_scifact_subset_with_minilm_into_qdrant_edge(tmp_path: Path, minilm: Any) -> None:
    docs = list(load_beir(SCIFACT, limit=300))
    store = vecctx.connect(f"qdrant://{tmp_path / 'qdrant'}")
    ing = Ingestor(
        store,
        "scifact",
        embedder=minilm,
        chunker=Chunker.for_embedder(minilm),
        sparse=BM25Encoder(),
        sparse_path=tmp_path / "scifact.bm25.json",
        cache=True,
        batch_size=64,
        progress=False,
    )
    first = ing.ingest(docs)
    n = store.count("scifact")
    assert n == first.chunks == first.written and first.chunks > 300
    second = ing.ingest(docs)
    assert (second.written, second.deleted) == (0, 0) and store.count("scifact") == n

    before = _by_doc(store, "scifact")
    changed = docs[42]
    docs[42] = Document(changed.id, changed.text + " This sentence was added later.", dict(changed.metadata))
    third = ing.ingest(docs)
    after = _by_doc(store, "scifact")
    assert third.replaced_documents == 1 and third.written >= 1
    assert third.written + third.unchanged == third.chunks
    assert {k: v for k, v in after.items() if k != changed.id} == {
        k: v for k, v in before.items() if k != changed.id
    }
    assert after[changed.id] != before[changed.id]
    assert store.count("scifact") == third.chunks

    # retrieval works end to end: a document's title finds that document
    q = docs[10].metadata["title"]
    hits = store.search("scifact", vector=minilm.embed_query(q), k=3)
    assert hits[0].metadata is not None and hits[0].metadata["doc_id"] == docs[10].id
    store.close()
