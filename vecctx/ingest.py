"""Ingestion: documents -> chunks -> embeddings (+ BM25 sparse vectors) -> store, idempotently.

The store itself is the record of what was ingested. Every chunk is stored under an id
derived from its document id, its index and a hash of its content (text, offsets, document
metadata, embedder name, sparse settings), with metadata ``doc_id``, ``chunk``, ``start``,
``end`` and ``content_hash`` next to the document's own metadata. A run:

1. reads the ids and ``doc_id`` of every chunk already in the collection (one scroll);
2. chunks the source documents and computes their chunk ids;
3. embeds and upserts, in batches, only the chunks whose ids are not stored yet (embedding the
   next batch while the previous one is written, on one writer thread);
4. once all new chunks of a document are written, deletes that document's stale chunks
   (ids stored for it that the new chunking does not produce);
5. with ``sync=True``, deletes the chunks of documents absent from the source.

Running twice writes nothing the second time; a changed document gets new chunk ids and its
old ones are deleted after the new ones exist. A run killed at any point (Ctrl-C, SIGKILL)
leaves a store that the next run completes to exactly the state of a clean run, because
every decision is recomputed from the source and the store, never from a side file that
could disagree with them. BM25 statistics are a pure function of the final content of the
collection, so they too come out the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
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
    payload = json.dumps(
        [salt, chunk.text, chunk.start, chunk.end, dict(chunk.metadata)],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


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
        salt = [embedder.name]
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
        clash = [k for k in RESERVED_KEYS if k in document.metadata]
        if clash:
            raise InvalidInputError(
                f"document {document.id!r}: metadata keys {clash} are reserved for chunk bookkeeping"
            )
        out = []
        for c in self.chunker.split(document):
            digest = content_hash(c, salt=self._salt)
            meta = dict(c.metadata)
            meta.update(doc_id=c.doc_id, chunk=c.index, start=c.start, end=c.end, content_hash=digest)
            out.append((chunk_id(c.doc_id, c.index, digest), c, meta))
        return out

    def ingest(self, documents: Iterable[Document], *, sync: bool = False) -> IngestReport:
        t0 = time.perf_counter()
        report = IngestReport(self.collection)
        self.store.ensure_collection(self.spec())

        # 1. what the store holds
        t = time.perf_counter()
        stored: dict[str, set[str]] = defaultdict(set)
        stored_text: dict[str, str] = {}
        for rec in self.store.scroll(self.collection, batch_size=1024):
            doc = rec.metadata.get("doc_id") if rec.metadata else None
            if isinstance(doc, str):
                stored[doc].add(rec.id)
                if self.sparse is not None and rec.text is not None:
                    stored_text[rec.id] = rec.text
        report.scan_seconds = time.perf_counter() - t

        # 2. the source, chunked
        t = time.perf_counter()
        plan: dict[str, list[tuple[str, Chunk, dict[str, Any]]]] = {}
        for doc in documents:
            if doc.id in plan:
                raise InvalidInputError(f"document id {doc.id!r} appears twice in the source")
            plan[doc.id] = self.chunks_of(doc)
        report.documents = len(plan)
        report.chunks = sum(len(v) for v in plan.values())
        report.chunk_seconds = time.perf_counter() - t

        # 3. BM25 statistics of the collection's final content
        if self.sparse is not None:
            t = time.perf_counter()
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
            if self.sparse_path is not None:
                self.sparse.save(self.sparse_path)
            report.bm25 = self.sparse
            report.sparse_seconds += time.perf_counter() - t

        # 4. what to write, and which stale ids to delete once a document's new chunks exist
        pending: list[tuple[str, Chunk, dict[str, Any]]] = []
        stale_after: dict[int, list[str]] = defaultdict(list)
        immediate: list[str] = []
        for doc_id, chunks in plan.items():
            have = stored.get(doc_id, set())
            new_ids = {cid for cid, _, _ in chunks}
            todo = [item for item in chunks if item[0] not in have]
            report.unchanged += len(chunks) - len(todo)
            stale = sorted(have - new_ids)
            if stale:
                report.replaced_documents += 1
            pending.extend(todo)
            if stale:
                if todo:
                    stale_after[(len(pending) - 1) // self.batch_size].extend(stale)
                else:
                    immediate.extend(stale)
        removed = sorted(d for d in stored if d not in plan) if sync else []

        # 5. write
        t = time.perf_counter()
        if immediate:
            self.store.delete(self.collection, ids=immediate)
            report.deleted += len(immediate)
        report.store_seconds += time.perf_counter() - t
        self._write(pending, stale_after, report)
        t = time.perf_counter()
        doomed = [i for doc_id in removed for i in sorted(stored[doc_id])]
        for i in range(0, len(doomed), 1024):
            self.store.delete(self.collection, ids=doomed[i : i + 1024])
        report.deleted += len(doomed)
        report.removed_documents = len(removed)
        report.store_seconds += time.perf_counter() - t
        report.seconds = time.perf_counter() - t0
        return report

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
        vectors = self.embedder.embed_documents(texts)
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
    ).ingest(documents, sync=sync)


__all__ = ["RESERVED_KEYS", "BatchDone", "IngestReport", "Ingestor", "chunk_id", "content_hash", "ingest"]
