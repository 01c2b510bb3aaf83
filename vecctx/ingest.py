"""Ingestion: documents -> chunks -> embeddings (+ BM25 sparse vectors) -> store, idempotently.

The store itself is the record of what was ingested. Every chunk is stored under an id
derived from its document id, its index and a hash of its content (text, offsets, document
metadata, embedder name, sparse settings), with metadata ``doc_id``, ``chunk``, ``start``,
``end`` and ``content_hash`` next to the document's own metadata. A run:

1. hashes each source document (id, text, metadata);
2. learns what the store holds: from a trusted manifest (below), reading back from the store
   only the chunks of documents whose hash differs from the manifest's, or that are new or
   (with ``sync=True``) gone; otherwise by one scroll of the whole collection;
3. chunks those documents (only) and computes their chunk ids;
4. embeds (:func:`embed_text`: a chunk after its document's title) and upserts, in batches,
   only the chunks whose ids are not stored yet, longest
   first within windows of :data:`LENGTH_WINDOW` chunks so each embedding batch pads little
   (embedding the next batch while the previous one is written, on one writer thread);
5. once all new chunks of a document are written, deletes that document's stale chunks
   (ids stored for it that the new chunking does not produce);
6. with ``sync=True``, deletes the chunks of documents absent from the source;
7. writes the manifest of the completed run.

Running twice writes nothing the second time; a changed document gets new chunk ids and its
old ones are deleted after the new ones exist. BM25 statistics are a pure function of the
final content of the collection: a scrolling run fits them on it; a run with a trusted
manifest takes the trusted statistics, removes the texts of the chunks it deletes and adds
those of the chunks it writes (exact integer counts, so the same numbers).

The manifest (``manifest_path``, JSON, written atomically) is an index, never the record:
per document its source hash and chunk count, plus the store's record count, a digest of the
BM25 statistics file, a key of everything chunk ids depend on besides the document (vecctx
version, embedder, chunker and BM25 settings) and the id of the run that wrote it. A run
trusts it only when all of these hold: it parses; it was written by a *completed* run (a run
that changes anything first rewrites it as "under way", so a crash at any later point leaves
it untrusted); its key matches; the BM25 statistics file has the digest it names; and the
store's count (one call) equals the count it names. Otherwise the run scrolls, exactly as
without a manifest, and writes a fresh one. A completed run marks its manifest complete only
if the file is as the run last read or wrote it (another run that started meanwhile leaves it
untrusted). Hence a run killed at any point (Ctrl-C, SIGKILL) leaves a store that the next run
completes to exactly the state of a clean run, and a manifest that disagrees with the store
in its count, or is stale, corrupt or from other settings, costs one scroll, never data.
What the count cannot see is a write that bypasses the ingestor and keeps the count (an id
overwritten, or one deleted and one added): ``ingest(..., verify=True)`` scrolls regardless
and repairs it. Documents whose hash matches are neither
chunked nor read back, so a rerun costs one count and a hash per document.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vecctx.chunking import Chunk, Chunker, Document
from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.contract.store import VectorStore
from vecctx.contract.types import CollectionSpec, FieldType, Metric, Record, SparseVector
from vecctx.embedders.base import Embedder
from vecctx.embedders.cache import CachedEmbedder
from vecctx.retrieval.sparse import BM25Encoder

#: Metadata keys the ingestor writes on every chunk (a document may not use them).
RESERVED_KEYS = ("doc_id", "chunk", "start", "end", "content_hash")
MANIFEST_FORMAT = "vecctx-ingest-manifest/1"


@dataclass
class IngestReport:
    """What one run did, and where its time went."""

    collection: str
    documents: int = 0
    chunks: int = 0
    written: int = 0
    unchanged: int = 0
    replaced_documents: int = 0
    removed_documents: int = 0
    deleted: int = 0
    seconds: float = 0.0
    scan_seconds: float = 0.0
    chunk_seconds: float = 0.0
    embed_seconds: float = 0.0
    sparse_seconds: float = 0.0
    store_seconds: float = 0.0
    #: whether a trusted manifest stood in for the scroll of the store
    manifest: bool = False
    #: what the collection holds after the run (documents with chunk bookkeeping; records)
    collection_documents: int = 0
    collection_chunks: int = 0
    bm25: BM25Encoder | None = field(default=None, repr=False)

    @property
    def chunks_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"{self.documents} documents, {self.chunks} chunks: {self.written} written, "
            f"{self.unchanged} unchanged, {self.deleted} deleted "
            f"({self.replaced_documents} documents replaced, {self.removed_documents} removed) in "
            f"{self.seconds:.1f} s (embed {self.embed_seconds:.1f} s, store {self.store_seconds:.1f} s)"
        )


@dataclass(frozen=True)
class BatchDone:
    """Passed to ``on_batch`` after each batch is written (from the writer thread)."""

    batch: int
    batches: int
    written: int
    to_write: int


def content_hash(chunk: Chunk, *, salt: str) -> str:
    return _digest([salt, chunk.text, chunk.start, chunk.end, dict(chunk.metadata)], 16)


def source_hash(document: Document) -> str:
    """A digest of a source document (id, text, metadata): equal digests, equal chunks."""
    return _digest([document.id, document.text, dict(document.metadata)], 32)


def _digest(parts: list[Any], length: int) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``parts`` as canonical JSON."""
    payload = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:length]


def _check_reserved(document: Document) -> None:
    clash = [k for k in RESERVED_KEYS if k in document.metadata]
    if clash:
        raise InvalidInputError(
            f"document {document.id!r}: metadata keys {clash} are reserved for chunk bookkeeping"
        )


@dataclass(frozen=True)
class _Manifest:
    """A trusted manifest: per document, its source digest (``None``: stored by a run that did
    not see its source) and chunk count; the store's record count; the BM25 statistics."""

    documents: Mapping[str, tuple[str | None, int]]
    count: int
    bm25: BM25Encoder | None


#: The document metadata key :func:`embed_text` reads a title from (the loaders set it).
TITLE_KEY = "title"


def embed_text(chunk: Chunk) -> str:
    """What the embedder reads for ``chunk``: its text, after its document's title (metadata
    :data:`TITLE_KEY`, a blank line between) unless the text already begins with the title,
    as the first chunk of a loaded document does. The stored text, BM25 and citations keep
    the chunk's own text.

    A chunk from the middle of a document otherwise says nothing of what the document is
    about. Chosen on SciFact's 373 training claims (default embedder, 4,442 of 9,625 chunks
    given a title): dense nDCG@10 0.683 -> 0.696, hybrid 0.755 -> 0.754; titles in the BM25
    text too scored lower (hybrid 0.753), so only the embedder reads them. The title counts
    against the model's window: a chunk that nearly fills it loses its last tokens from the
    embedding, not from the stored text or BM25 (on SciFact 630 of the 4,442 titled chunks,
    16 tokens on average)."""
    title = chunk.metadata.get(TITLE_KEY)
    if isinstance(title, str) and title.strip() and not chunk.text.startswith(title):
        return f"{title}\n\n{chunk.text}"
    return chunk.text


def chunk_id(doc_id: str, index: int, digest: str) -> str:
    """The record id of a chunk: readable, unique per (document, position, content)."""
    return f"{doc_id}#{index}#{digest}"


class Ingestor:
    """Embed and upsert documents into ``collection`` of ``store`` (see the module docstring).

    ``chunker`` defaults to :meth:`Chunker.for_embedder` with no overlap. ``sparse``, a
    :class:`BM25Encoder`, adds BM25 vectors (the collection is created with ``sparse=True``);
    its statistics are refitted on the collection's final content each run and saved as JSON
    to ``sparse_path`` when given. ``cache`` wraps the embedder in an on-disk
    :class:`~vecctx.embedders.cache.CachedEmbedder` (``True``: ``$VECCTX_CACHE`` or
    ``~/.cache/vecctx``; a path: that directory). ``progress`` shows a bar on a terminal
    (``None``: when stderr is a tty). ``pipeline`` overlaps embedding with writing.
    ``manifest_path`` keeps a manifest of the collection there (a JSON file; with ``sparse``,
    only together with ``sparse_path``), so that a rerun checks only what changed.
    """

    def __init__(
        self,
        store: VectorStore,
        collection: str,
        *,
        embedder: Embedder,
        chunker: Chunker | None = None,
        sparse: BM25Encoder | None = None,
        sparse_path: str | os.PathLike[str] | None = None,
        batch_size: int = 64,
        cache: bool | str | os.PathLike[str] = False,
        metric: Metric = Metric.COSINE,
        indexed_fields: Mapping[str, FieldType] | None = None,
        progress: bool | None = None,
        pipeline: bool = True,
        on_batch: Callable[[BatchDone], None] | None = None,
        manifest_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be positive, got {batch_size}")
        self.store = store
        self.collection = collection
        if cache is not False and not isinstance(embedder, CachedEmbedder):
            directory = None if cache is True else cache
            embedder = CachedEmbedder(embedder, directory=directory)
        self.embedder = embedder
        self.chunker = chunker if chunker is not None else Chunker.for_embedder(embedder)
        self.sparse = sparse
        self.sparse_path = Path(sparse_path) if sparse_path is not None else None
        self.batch_size = batch_size
        self.metric = Metric(metric)
        fields = {"doc_id": FieldType.KEYWORD}
        fields.update(indexed_fields or {})
        self.indexed_fields = fields
        self.progress = progress
        self.pipeline = pipeline
        self.on_batch = on_batch
        self.manifest_path = Path(manifest_path) if manifest_path is not None else None
        salt = [embedder.name, "title-embedded"]  # embed_text: the same chunk, another vector
        if sparse is not None:
            s = sparse.to_dict()
            salt.append(json.dumps([s["k1"], s["b"], s["stemmer"], s["stopwords"], s["token_pattern"]]))
        self._salt = "|".join(salt)

    # -- public ---------------------------------------------------------------------------
    def spec(self) -> CollectionSpec:
        return CollectionSpec(
            name=self.collection,
            dimension=self.embedder.dimension,
            metric=self.metric,
            sparse=self.sparse is not None,
            indexed_fields=self.indexed_fields,
        )

    def chunks_of(self, document: Document) -> list[tuple[str, Chunk, dict[str, Any]]]:
        """The (id, chunk, metadata) triples a document is stored as."""
        _check_reserved(document)
        out = []
        for c in self.chunker.split(document):
            digest = content_hash(c, salt=self._salt)
            meta = dict(c.metadata)
            meta.update(doc_id=c.doc_id, chunk=c.index, start=c.start, end=c.end, content_hash=digest)
            out.append((chunk_id(c.doc_id, c.index, digest), c, meta))
        return out

    def ingest(
        self, documents: Iterable[Document], *, sync: bool = False, verify: bool = False
    ) -> IngestReport:
        """Bring the collection to the source (see the module docstring). ``verify``: scroll
        the store even when the manifest could be trusted."""
        t0 = time.perf_counter()
        report = IngestReport(self.collection)
        self.store.ensure_collection(self.spec())

        # 1. the source, each document hashed (cheap: nothing is chunked yet)
        t = time.perf_counter()
        source: dict[str, Document] = {}
        for doc in documents:
            if doc.id in source:
                raise InvalidInputError(f"document id {doc.id!r} appears twice in the source")
            _check_reserved(doc)
            source[doc.id] = doc
        hashes = {d: source_hash(doc) for d, doc in source.items()}
        report.documents = len(source)
        report.chunk_seconds = time.perf_counter() - t

        # 2. what the store holds: from the manifest (only the documents that changed are read
        #    back from the store) or, when it cannot be trusted, one scroll of everything
        t = time.perf_counter()
        seen = self._read_manifest()
        manifest = None if verify else self._trusted_manifest(seen)
        report.manifest = manifest is not None
        unchanged: dict[str, int] = {}
        if manifest is None:
            known: dict[str, tuple[str | None, int]] = {}
            stored, stored_text = self._stored(None)
        else:
            known = dict(manifest.documents)
            for d, h in hashes.items():
                entry = known.get(d)
                if entry is not None and entry[0] == h:
                    unchanged[d] = entry[1]
            touched = [d for d in source if d not in unchanged]
            if sync:
                touched.extend(d for d in known if d not in source)
            stored, stored_text = self._stored(touched)
        report.scan_seconds = time.perf_counter() - t

        # 3. the changed and new documents, chunked
        t = time.perf_counter()
        plan = {d: self.chunks_of(doc) for d, doc in source.items() if d not in unchanged}
        report.chunks = sum(len(v) for v in plan.values()) + sum(unchanged.values())
        report.unchanged = sum(unchanged.values())
        report.chunk_seconds += time.perf_counter() - t
        present = set(stored) if manifest is None else set(known) | set(stored)
        removed = sorted(d for d in present if d not in source) if sync else []

        # 4. what to write, and which stale ids to delete once a document's new chunks exist
        pending: list[tuple[str, Chunk, dict[str, Any]]] = []
        stale_of: dict[str, list[str]] = {}  # per document whose new chunks come first
        immediate: list[str] = []
        gone: list[str] = []  # ids this run deletes (for the BM25 statistics)
        for doc_id, chunks in plan.items():
            have = stored.get(doc_id, set())
            new_ids = {cid for cid, _, _ in chunks}
            todo = [item for item in chunks if item[0] not in have]
            report.unchanged += len(chunks) - len(todo)
            stale = sorted(have - new_ids)
            gone.extend(stale)
            if stale:
                report.replaced_documents += 1
            pending.extend(todo)
            if stale:
                if todo:
                    stale_of[doc_id] = stale
                else:
                    immediate.extend(stale)
        pending = by_length(pending, LENGTH_WINDOW)
        last_batch = {c.doc_id: i // self.batch_size for i, (_, c, _) in enumerate(pending)}
        stale_after: dict[int, list[str]] = defaultdict(list)
        for doc_id, stale in stale_of.items():
            stale_after[last_batch[doc_id]].extend(stale)
        doomed = [i for doc_id in removed for i in sorted(stored.get(doc_id, ()))]
        gone.extend(doomed)
        changes = bool(pending or immediate or doomed or removed)

        # 5. BM25 statistics of the collection's final content
        stats_changed = False
        if self.sparse is not None:
            t = time.perf_counter()
            if manifest is None:
                final_texts = [c.text for chunks in plan.values() for _, c, _ in chunks]
                if not sync:
                    final_texts.extend(
                        stored_text[i]
                        for d, ids in stored.items()
                        if d not in plan
                        for i in ids
                        if i in stored_text
                    )
                self.sparse.fit(final_texts)
                stats_changed = True
            else:  # exact: the trusted statistics, less what goes, plus what comes
                assert manifest.bm25 is not None
                self.sparse.stats = manifest.bm25.stats
                self.sparse.remove(stored_text[i] for i in gone if i in stored_text)
                self.sparse.add(c.text for _, c, _ in pending)
                stats_changed = changes
            report.bm25 = self.sparse
            report.sparse_seconds += time.perf_counter() - t

        # 6. write: the manifest first says that a run is under way, so a crash from here on
        #    leaves a manifest that the next run does not trust
        run = uuid.uuid4().hex
        if changes or stats_changed:
            seen = self._save_manifest(run, seen, complete=False)
        if stats_changed and self.sparse is not None and self.sparse_path is not None:
            self.sparse.save(self.sparse_path)
        t = time.perf_counter()
        if immediate:
            self.store.delete(self.collection, ids=immediate)
            report.deleted += len(immediate)
        report.store_seconds += time.perf_counter() - t
        self._write(pending, stale_after, report)
        t = time.perf_counter()
        for i in range(0, len(doomed), 1024):
            self.store.delete(self.collection, ids=doomed[i : i + 1024])
        report.deleted += len(doomed)
        report.removed_documents = len(removed)
        report.store_seconds += time.perf_counter() - t

        # 7. the manifest of the completed run (none to write when a trusted one said it all)
        if manifest is None:
            known = {d: (None, len(ids)) for d, ids in stored.items()}
        known.update((d, (hashes[d], len(chunks))) for d, chunks in plan.items())
        for d in removed:
            known.pop(d, None)
        report.collection_documents = len(known)
        if manifest is not None and not (changes or stats_changed):
            report.collection_chunks = manifest.count
        else:
            report.collection_chunks = self.store.count(self.collection)
            self._save_manifest(run, seen, complete=True, count=report.collection_chunks, documents=known)
        report.seconds = time.perf_counter() - t0
        return report

    # -- the manifest ---------------------------------------------------------------------
    def _key(self) -> str:
        """What the chunk ids of a document depend on besides the document itself, and which
        store the manifest describes (its URL without credentials: another server's collection
        of the same name and size is never taken for this one)."""
        from vecctx import __version__

        tok = self.chunker.tokenizer
        driver = getattr(self.store, "driver", None)
        parts = [
            str(getattr(driver, "target", type(self.store).__qualname__)),
            __version__,
            self._salt,
            repr(self.chunker),
            f"{type(tok).__module__}.{type(tok).__qualname__}",
        ]
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()[:32]

    def _manifest_usable(self) -> bool:
        return self.manifest_path is not None and (self.sparse is None or self.sparse_path is not None)

    def _read_manifest(self) -> str | None:
        """The manifest's text as it is now (``None``: none, or none to keep)."""
        if not self._manifest_usable():
            return None
        assert self.manifest_path is not None
        try:
            return self.manifest_path.read_text(encoding="utf-8")
        except (OSError, ValueError):
            return None

    def _trusted_manifest(self, text: str | None) -> _Manifest | None:
        """The manifest, when it can stand in for a scroll of the store: written by a completed
        run of the same settings, the BM25 statistics file it names unchanged, and the store
        holding as many records as it says (one count)."""
        if text is None:
            return None
        try:
            data = json.loads(text)
            if not (
                isinstance(data, dict)
                and data.get("format") == MANIFEST_FORMAT
                and data.get("collection") == self.collection
                and data.get("key") == self._key()
                and data.get("complete") is True
            ):
                return None
            count = data["count"]
            docs = data["documents"]
            if not isinstance(count, int) or not isinstance(docs, dict):
                return None
            documents: dict[str, tuple[str | None, int]] = {}
            for d, entry in docs.items():
                h, n = entry
                if not (h is None or isinstance(h, str)) or not isinstance(n, int) or n < 0:
                    return None
                documents[d] = (h, n)
            bm25 = None
            if self.sparse is not None:
                assert self.sparse_path is not None
                raw = self.sparse_path.read_bytes()
                if hashlib.sha256(raw).hexdigest() != data["bm25"]:
                    return None
                bm25 = BM25Encoder.from_dict(json.loads(raw))
        except (OSError, ValueError, KeyError, TypeError, ConfigError):
            return None  # absent, unreadable or malformed: the scroll decides
        if self.store.count(self.collection) != count:
            return None
        return _Manifest(documents, count, bm25)

    def _save_manifest(
        self,
        run: str,
        seen: str | None,
        *,
        complete: bool,
        count: int = 0,
        documents: Mapping[str, tuple[str | None, int]] | None = None,
    ) -> str | None:
        """Write the manifest atomically and return its text. ``seen``: its text as this run
        last read or wrote it; if it changed since (another run started meanwhile), the
        manifest written is not ``complete``, so the next run scrolls."""
        if not self._manifest_usable():
            return None
        assert self.manifest_path is not None
        if complete and self._read_manifest() != seen:
            complete = False
        body: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "collection": self.collection,
            "key": self._key(),
            "run": run,
            "complete": complete,
        }
        if complete:
            bm25 = None
            if self.sparse is not None and self.sparse_path is not None:
                bm25 = hashlib.sha256(self.sparse_path.read_bytes()).hexdigest()
            body.update(count=count, bm25=bm25, documents={d: list(e) for d, e in (documents or {}).items()})
        path = self.manifest_path
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(body, separators=(",", ":"))
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        return text

    def _stored(self, doc_ids: Sequence[str] | None) -> tuple[dict[str, set[str]], dict[str, str]]:
        """The ids stored per document, and their texts when BM25 needs them: of every
        document (``None``: one scroll of the collection) or of ``doc_ids`` only."""
        stored: dict[str, set[str]] = defaultdict(set)
        stored_text: dict[str, str] = {}
        if doc_ids is None:
            filters: list[Any] = [None]
        else:
            step = min(256, self.store.capabilities.max_filter_values or 256)
            filters = [{"doc_id": {"$in": list(doc_ids[i : i + step])}} for i in range(0, len(doc_ids), step)]
        for flt in filters:
            for rec in self.store.scroll(self.collection, filter=flt, batch_size=1024):
                doc = rec.metadata.get("doc_id") if rec.metadata else None
                if isinstance(doc, str):
                    stored[doc].add(rec.id)
                    if self.sparse is not None and rec.text is not None:
                        stored_text[rec.id] = rec.text
        return stored, stored_text

    # -- internals ------------------------------------------------------------------------
    def _write(
        self,
        pending: Sequence[tuple[str, Chunk, dict[str, Any]]],
        stale_after: Mapping[int, list[str]],
        report: IngestReport,
    ) -> None:
        size = self.batch_size
        batches = [pending[i : i + size] for i in range(0, len(pending), size)]
        bar = self._bar(len(pending), report.documents)
        done_docs: set[str] = set()
        written = 0

        def write(b: int, records: list[Record]) -> None:
            nonlocal written
            t = time.perf_counter()
            self.store.upsert(self.collection, records)
            doomed = stale_after.get(b)
            if doomed:
                self.store.delete(self.collection, ids=doomed)
                report.deleted += len(doomed)
            report.store_seconds += time.perf_counter() - t
            written += len(records)
            report.written = written
            if bar is not None:
                bar.update(len(records))
                done_docs.update(str(r.metadata["doc_id"]) for r in records)
                bar.set_postfix(docs=len(done_docs), refresh=False)
            if self.on_batch is not None:
                self.on_batch(BatchDone(b + 1, len(batches), written, len(pending)))

        executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="vecctx-ingest") if self.pipeline else None
        )
        inflight: Future[None] | None = None
        try:
            for b, batch in enumerate(batches):
                records = self._records(batch, report)
                if executor is None:
                    write(b, records)
                    continue
                if inflight is not None:
                    inflight.result()
                inflight = executor.submit(write, b, records)
            if inflight is not None:
                inflight.result()
        finally:
            if executor is not None:
                executor.shutdown(wait=True)
            if bar is not None:
                bar.close()

    def _records(
        self, batch: Sequence[tuple[str, Chunk, dict[str, Any]]], report: IngestReport
    ) -> list[Record]:
        texts = [c.text for _, c, _ in batch]
        t = time.perf_counter()
        vectors = self.embedder.embed_documents([embed_text(c) for _, c, _ in batch])
        report.embed_seconds += time.perf_counter() - t
        sparse: list[SparseVector | None] = [None] * len(batch)
        if self.sparse is not None:
            t = time.perf_counter()
            sparse = list(self.sparse.encode_documents(texts))
            report.sparse_seconds += time.perf_counter() - t
        return [
            Record(id=cid, vector=vectors[i], text=c.text, metadata=meta, sparse=sparse[i])
            for i, (cid, c, meta) in enumerate(batch)
        ]

    def _bar(self, total: int, documents: int) -> Any:
        show = self.progress if self.progress is not None else sys.stderr.isatty()
        if not show or total == 0:
            return None
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        return tqdm(
            total=total,
            unit="chunk",
            desc=f"ingest {self.collection} ({documents} docs)",
            dynamic_ncols=True,
            smoothing=0.1,
        )


#: Chunks ordered by length together (:func:`by_length`): 16 batches of 32 texts.
LENGTH_WINDOW = 512


def by_length(
    pending: Sequence[tuple[str, Chunk, dict[str, Any]]], window: int
) -> list[tuple[str, Chunk, dict[str, Any]]]:
    """``pending`` longest first (by model tokens) within each run of ``window`` chunks, so
    that each embedding batch holds texts of about one length and pads little: on SciFact
    abstracts, batches of 32 in document order pad to 1.31x the tokens, within a window of 512
    to 1.02x. Windows keep the order coarse: the first documents are written first, and a
    document's chunks stay within one or two windows."""
    out: list[tuple[str, Chunk, dict[str, Any]]] = []
    for start in range(0, len(pending), window):
        out.extend(sorted(pending[start : start + window], key=lambda item: -item[1].n_tokens))
    return out


def ingest(
    store: VectorStore,
    collection: str,
    documents: Iterable[Document],
    *,
    embedder: Embedder,
    chunker: Chunker | None = None,
    sparse: BM25Encoder | None = None,
    sparse_path: str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    cache: bool | str | os.PathLike[str] = False,
    sync: bool = False,
    progress: bool | None = None,
    manifest_path: str | os.PathLike[str] | None = None,
) -> IngestReport:
    """One-call ingestion; see :class:`Ingestor`."""
    return Ingestor(
        store,
        collection,
        embedder=embedder,
        chunker=chunker,
        sparse=sparse,
        sparse_path=sparse_path,
        batch_size=batch_size,
        cache=cache,
        progress=progress,
        manifest_path=manifest_path,
    ).ingest(documents, sync=sync)


__all__ = [
    "MANIFEST_FORMAT",
    "RESERVED_KEYS",
    "BatchDone",
    "IngestReport",
    "Ingestor",
    "TITLE_KEY",
    "chunk_id",
    "content_hash",
    "embed_text",
    "ingest",
    "source_hash",
]
