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


# -- the manifest: a rerun checks only what changed -------------------------------------------
class _Spy(MemoryStore):
    """A memory store that counts scrolls (and how many of them were filtered)."""

    def __init__(self) -> None:
        super().__init__()
        self.scrolls: list[Any] = []

    def scroll(self, collection: str, **options: Any) -> Any:
        self.scrolls.append(options.get("filter"))
        return super().scroll(collection, **options)


def _manifested(store: Any, tmp_path: Path, **kw: Any) -> Ingestor:
    return _ingestor(
        store,
        sparse=BM25Encoder(),
        sparse_path=tmp_path / "docs.bm25.json",
        manifest_path=tmp_path / "docs.manifest.json",
        **kw,
    )


def _state(store: Any) -> dict[str, Any]:
    return {r.id: (r.text, dict(r.metadata), r.sparse) for r in store.scroll("docs")}


def _clean(docs: list[Document], tmp_path: Path) -> tuple[dict[str, Any], Any]:
    """The records and BM25 statistics of one clean run of ``docs`` into a fresh store."""
    store = MemoryStore()
    report = _ingestor(store, sparse=BM25Encoder()).ingest(docs)
    assert report.bm25 is not None
    return _state(store), report.bm25.stats


def test_rerun_with_nothing_changed_does_no_scroll_and_no_chunking(tmp_path: Path) -> None:
    store = _Spy()
    docs = _docs(40)
    first = _manifested(store, tmp_path).ingest(docs)
    assert not first.manifest and store.scrolls == [None]  # no manifest yet: one scroll
    ing = _manifested(store, tmp_path)
    split = ing.chunker.split
    ing.chunker.split = lambda *a, **k: pytest.fail("an unchanged document was chunked")  # type: ignore[method-assign]
    store.scrolls.clear()
    again = ing.ingest(docs)
    assert again.manifest and store.scrolls == []
    assert (again.written, again.deleted, again.unchanged, again.chunks) == (0, 0, first.chunks, first.chunks)
    assert (again.collection_documents, again.collection_chunks) == (40, store.count("docs"))
    # one changed document: it alone is read back (one filtered scroll) and chunked
    ing.chunker.split = split  # type: ignore[method-assign]
    docs[3] = Document(docs[3].id, docs[3].text + " Added.", dict(docs[3].metadata))
    third = ing.ingest(docs)
    assert third.manifest and store.scrolls == [{"doc_id": {"$in": [docs[3].id]}}]
    assert third.replaced_documents == 1 and third.written >= 1


def test_manifest_runs_equal_a_clean_run(tmp_path: Path) -> None:
    """Changed, new and (with sync) removed documents through the manifest: the same records
    and the same BM25 statistics as one clean run of the final source."""
    store = _Spy()
    docs = _docs(40)
    _manifested(store, tmp_path).ingest(docs[:30])
    docs[5] = Document(docs[5].id, "A new first sentence. " + docs[5].text, dict(docs[5].metadata))
    many = next(d for d in docs[10:30] if len(_ingestor(MemoryStore()).chunks_of(d)) >= 2)
    i = docs.index(many)
    docs[i] = Document(many.id, many.text[: len(many.text) // 3], dict(many.metadata))  # fewer chunks
    store.scrolls.clear()
    grown = _manifested(store, tmp_path).ingest(docs)  # 2 changed, 10 new, no scroll of the rest
    assert grown.manifest and None not in store.scrolls
    assert grown.replaced_documents == 2 and grown.collection_documents == 40
    state, stats = _clean(docs, tmp_path)
    assert _state(store).keys() == state.keys()
    assert BM25Encoder.load(tmp_path / "docs.bm25.json").stats == stats
    final = docs[:20] + docs[25:]
    synced = _manifested(store, tmp_path).ingest(final, sync=True)
    assert synced.manifest and synced.removed_documents == 5 and synced.written == 0
    state, stats = _clean(final, tmp_path)
    assert _state(store).keys() == state.keys()
    assert BM25Encoder.load(tmp_path / "docs.bm25.json").stats == stats
    again = _manifested(store, tmp_path).ingest(final, sync=True)
    assert again.manifest and (again.written, again.deleted) == (0, 0)


@pytest.mark.parametrize(
    "damage", ["corrupt", "truncated", "under way", "other settings", "store changed", "stats changed"]
)
def test_an_untrusted_manifest_costs_a_scroll_never_data(tmp_path: Path, damage: str) -> None:
    store = _Spy()
    docs = _docs(30)
    _manifested(store, tmp_path).ingest(docs)
    manifest, stats = tmp_path / "docs.manifest.json", tmp_path / "docs.bm25.json"
    victim = next(r for r in store.scroll("docs") if r.metadata["doc_id"] == docs[4].id)
    if damage == "corrupt":
        manifest.write_text("{not json")
    elif damage == "truncated":
        manifest.write_text(manifest.read_text()[:200])
    elif damage == "under way":  # what a run killed after it began to write leaves
        body = json.loads(manifest.read_text())
        manifest.write_text(json.dumps({**body, "complete": False}))
    elif damage == "other settings":
        body = json.loads(manifest.read_text())
        manifest.write_text(json.dumps({**body, "key": "0" * 32}))
    elif damage == "store changed":  # a chunk deleted behind the ingestor's back
        store.delete("docs", ids=[victim.id])
    else:  # the statistics file edited: the manifest no longer vouches for it
        BM25Encoder().fit(["something else"]).save(stats)
    store.scrolls.clear()
    report = _manifested(store, tmp_path).ingest(docs)
    assert not report.manifest and store.scrolls == [None]
    state, clean_stats = _clean(docs, tmp_path)
    assert _state(store) == state
    assert BM25Encoder.load(stats).stats == clean_stats
    assert report.written == (1 if damage == "store changed" else 0)
    store.scrolls.clear()
    assert _manifested(store, tmp_path).ingest(docs).manifest and store.scrolls == []  # trusted again


def test_a_manifest_is_never_trusted_for_another_store(tmp_path: Path) -> None:
    """Two stores holding a collection of the same name and size: the manifest one of them
    wrote (beside the BM25 statistics, keyed by collection) is not taken for the other."""
    docs = _docs(12)
    other = [*docs[:-1], Document(docs[-1].id, docs[-1].text.upper(), dict(docs[-1].metadata))]
    first = vecctx.connect(f"qdrant://{tmp_path / 'a'}")
    second = vecctx.connect(f"qdrant://{tmp_path / 'b'}")
    try:
        _manifested(first, tmp_path).ingest(docs)
        _ingestor(second, sparse=BM25Encoder()).ingest(other)  # same size, one document differs
        assert second.count("docs") == first.count("docs")
        report = _manifested(second, tmp_path).ingest(docs)
        assert not report.manifest and report.replaced_documents == 1
        assert {r.text for r in second.scroll("docs")} == {r.text for r in first.scroll("docs")}
    finally:
        first.close()
        second.close()


def test_verify_scrolls_and_repairs_what_the_count_cannot_see(tmp_path: Path) -> None:
    store = _Spy()
    docs = _docs(20)
    _manifested(store, tmp_path).ingest(docs)
    # another writer replaces a chunk's text and keeps the count: the manifest cannot tell
    rec = next(iter(store.scroll("docs", with_vectors=True)))
    store.upsert(
        "docs", [rec.__class__(id=rec.id, vector=rec.vector, text="tampered", metadata=rec.metadata)]
    )
    store.delete("docs", ids=[rec.id])
    store.upsert(
        "docs", [rec.__class__(id="stray", vector=rec.vector, text="x", metadata={"doc_id": docs[0].id})]
    )
    assert _manifested(store, tmp_path).ingest(docs).written == 0  # trusted: same count
    report = _manifested(store, tmp_path).ingest(docs, verify=True)
    assert not report.manifest and report.written == 1 and report.deleted == 1
    assert _state(store).keys() == _clean(docs, tmp_path)[0].keys()


def test_a_run_that_started_meanwhile_leaves_the_manifest_untrusted(tmp_path: Path) -> None:
    store = MemoryStore()
    docs = _docs(20)
    _manifested(store, tmp_path).ingest(docs[:10])
    manifest = tmp_path / "docs.manifest.json"

    def other_run_starts(done: BatchDone) -> None:
        if done.batch == 1:
            body = json.loads(manifest.read_text())
            manifest.write_text(json.dumps({**body, "run": "another", "complete": False}))

    _manifested(store, tmp_path, on_batch=other_run_starts).ingest(docs)
    assert json.loads(manifest.read_text())["complete"] is False
    report = _manifested(store, tmp_path).ingest(docs)
    assert not report.manifest and report.written == 0


def test_by_length_sorts_within_windows_only() -> None:
    from vecctx.chunking import Chunk
    from vecctx.ingest import by_length

    lengths = [3, 9, 1, 7, 2, 8, 5]
    items = [(f"c{i}", Chunk(f"d{i}", 0, "x" * n, 0, n, n), {}) for i, n in enumerate(lengths)]
    ordered = by_length(items, 3)
    assert [c.n_tokens for _, c, _ in ordered] == [9, 3, 1, 8, 7, 2, 5]
    assert sorted(i for i, _, _ in ordered) == sorted(i for i, _, _ in items)


def test_stale_chunks_go_after_the_new_ones_when_reordered() -> None:
    """A changed document's old chunks are deleted only once every new chunk is stored, also
    when length ordering moves its chunks away from document order."""
    store = MemoryStore()
    emb = HashingEmbedder(dimension=32)
    ing = Ingestor(
        store, "c", embedder=emb, chunker=Chunker(emb.tokenizer, max_tokens=40), batch_size=2, cache=False
    )

    def corpus(tag: str) -> list[Document]:  # lengths vary: ordering moves chunks across batches
        return [Document(f"d{i}", f"{tag} sentence number {i}. " * (3 + 7 * (i % 4))) for i in range(10)]

    def ids_by_doc() -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for r in store.scroll("c"):
            out[r.metadata["doc_id"]].add(r.id)
        return out

    ing.ingest(corpus("old"))
    old = ids_by_doc()
    seen: list[dict[str, set[str]]] = []
    ing.on_batch = lambda done: seen.append(ids_by_doc())
    report = ing.ingest(corpus("new"))
    new = ids_by_doc()
    assert report.replaced_documents == 10 and len(seen) > 5
    for d in new:
        assert new[d] and not (new[d] & old[d])
        # after every batch, a document holds all its old chunks or all its new ones
        assert all(old[d] <= ids[d] or new[d] <= ids[d] for ids in seen), d


def test_embed_text_puts_the_title_before_a_chunk_that_lacks_it() -> None:
    from vecctx.chunking import Chunk
    from vecctx.ingest import embed_text

    first = Chunk("d", 0, "Aspirin and sleep\n\nAspirin was given.", 0, 37, 8, {"title": "Aspirin and sleep"})
    later = Chunk("d", 1, "Patients slept longer.", 38, 60, 4, {"title": "Aspirin and sleep"})
    untitled = Chunk("e", 1, "Patients slept longer.", 38, 60, 4, {"title": "  "})
    assert embed_text(first) == first.text
    assert embed_text(later) == "Aspirin and sleep\n\nPatients slept longer."
    assert embed_text(untitled) == untitled.text


class _Recording(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(dimension=32)
        self.seen: list[str] = []

    def embed_documents(self, texts: Any) -> Any:
        self.seen.extend(texts)
        return super().embed_documents(texts)


def test_ingest_embeds_titled_chunks_but_stores_and_indexes_the_chunk_text() -> None:
    """The embedder reads a later chunk after its document's title; the stored text and the
    BM25 vector are the chunk's own (a query term only in the title matches no later chunk)."""
    store = MemoryStore()
    emb = _Recording()
    bm25 = BM25Encoder()
    ing = Ingestor(store, "c", embedder=emb, chunker=Chunker(emb.tokenizer, max_tokens=12), sparse=bm25)
    body = " ".join(f"Sentence {i} is about sleep." for i in range(6))
    ing.ingest([Document("d", f"Zolpidem trial\n\n{body}", {"title": "Zolpidem trial"})])
    records = sorted(store.scroll("c", with_vectors=True), key=lambda r: r.metadata["chunk"])
    assert len(records) > 2
    assert records[0].text.startswith("Zolpidem trial") and records[0].text in emb.seen
    for r in records[1:]:
        assert "Zolpidem" not in (r.text or "")
        assert f"Zolpidem trial\n\n{r.text}" in emb.seen
        want = emb.embed_documents([f"Zolpidem trial\n\n{r.text}"])[0]
        assert np.allclose(np.asarray(r.vector), want)
        assert r.sparse is not None
        assert r.sparse.dot(bm25.encode_query("zolpidem")) == 0.0
