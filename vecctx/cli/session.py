"""Wire a store, the offline embedder, BM25 and the pipeline from :class:`Settings` (CLI, demo, eval)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import unquote, urlsplit

from vecctx.chunking import Document
from vecctx.cli.settings import DEFAULT_FUSION, DEFAULT_MODE, Settings
from vecctx.contract.errors import CollectionNotFoundError, ConfigError
from vecctx.contract.store import VectorStore
from vecctx.ingest import BatchDone, Ingestor, IngestReport
from vecctx.pipeline import Augmenter
from vecctx.retrieval.rerank import Reranker
from vecctx.retrieval.sparse import BM25Encoder


def read_documents(
    path: Path, *, limit: int | None = None, text_field: str = "text", id_field: str = "id"
) -> Iterator[Document]:
    """Documents from a BEIR directory, a folder of .txt/.md files, or a JSONL file."""
    from vecctx.loaders import load_beir, load_jsonl, load_text_dir

    if path.is_dir() and (path / "corpus.jsonl").is_file():
        return load_beir(path, limit=limit)
    if path.is_dir():
        docs = load_text_dir(path)
        return (d for i, d in enumerate(docs) if limit is None or i < limit)
    if path.is_file() and path.suffix == ".jsonl":
        return load_jsonl(path, id_field=id_field, text_field=text_field, limit=limit)
    if not path.exists():
        raise ConfigError(f"{path} does not exist (looked up from {Path.cwd()})")
    raise ConfigError(f"{path}: not a BEIR directory, a folder of .txt/.md files, or a .jsonl file")


def connect_existing(url: str | None) -> VectorStore:
    """The store at ``url`` (``None``: the default store), for a command that only looks things
    up: an embedded store (a URL with no host, ``qdrant:///path``, ``milvus:///file.db``,
    ``chroma:///dir``) whose path does not exist is a :class:`ConfigError` naming the path, and
    nothing is created there (opening an embedded store creates its directory)."""
    from vecctx.contract.urls import redact_url
    from vecctx.registry import available_schemes, connect, default_url, scheme_of

    target = default_url() if url is None else url
    if isinstance(target, str) and target.strip() and scheme_of(target) in available_schemes():
        try:
            parts = urlsplit(target)
        except ValueError:  # a malformed URL: the adapter's own message says what is wrong
            parts = None
        if parts is not None and parts.scheme != "memory" and not parts.netloc and parts.path:
            path = Path(unquote(parts.path)).expanduser()
            if not path.exists():
                source = "the default store" if url is None else "store URL"
                raise ConfigError(
                    f"no store at {path} ({source} {redact_url(target)!r}, looked up from {Path.cwd()}): "
                    "ingest into it first, or name another with --store or VECCTX_STORE"
                )
    return connect(url)


def missing_collection(
    store: VectorStore,
    name: str,
    url: str | None,
    hint: str = "name one with --collection or VECCTX_COLLECTION",
) -> CollectionNotFoundError:
    """A :class:`CollectionNotFoundError` that names the store looked in and what it holds."""
    from vecctx.contract.urls import redact_url
    from vecctx.registry import default_url

    held = store.list_collections()
    where = redact_url(default_url() if url is None else url)
    have = f"collections there: {', '.join(sorted(held))}" if held else "the store holds no collections"
    exc = CollectionNotFoundError(name)
    exc.args = (f"{exc} in {where} ({have}){'; ' + hint if hint else ''}",)
    return exc


class Session:
    """One store plus the default offline embedder (cached on disk) and BM25 statistics.
    ``create=False`` (a lookup): the store and the collection must exist; nothing is created."""

    def __init__(self, settings: Settings, *, sparse: bool = True, create: bool = True) -> None:
        from vecctx.embedders import default_embedder
        from vecctx.embedders.cache import CachedEmbedder
        from vecctx.registry import connect

        self.settings = settings
        self.store: VectorStore = connect(settings.store) if create else connect_existing(settings.store)
        try:
            exists = self.store.has_collection(settings.collection)
            if not create and not exists:
                raise missing_collection(self.store, settings.collection, settings.store)
            if exists:  # an existing collection decides: BM25 vectors go with its spec
                sparse = self.store.collection_spec(settings.collection).sparse
            self.embedder = CachedEmbedder(default_embedder(), directory=settings.cache)
            self.sparse = sparse and self.store.capabilities.sparse
            self.bm25_path = settings.bm25_path()
            self.bm25: BM25Encoder | None = None
            if self.sparse:
                self.bm25 = BM25Encoder.load(self.bm25_path) if self.bm25_path.is_file() else BM25Encoder()
        except BaseException:
            self.store.close()
            raise

    def ingest(
        self,
        documents: Iterable[Document],
        *,
        sync: bool = False,
        progress: bool | None = None,
        verify: bool = False,
        on_batch: Callable[[BatchDone], None] | None = None,
    ) -> IngestReport:
        """Ingest with a manifest beside the BM25 statistics, so that a rerun checks only what
        changed (see :mod:`vecctx.ingest`); ``verify`` scrolls the store regardless."""
        os.makedirs(self.bm25_path.parent, exist_ok=True)
        ingestor = Ingestor(
            self.store,
            self.settings.collection,
            embedder=self.embedder,
            sparse=self.bm25,
            sparse_path=self.bm25_path if self.bm25 is not None else None,
            progress=progress,
            on_batch=on_batch,
            manifest_path=self.bm25_path.with_name(f"{self.settings.collection}.manifest.json"),
        )
        report = ingestor.ingest(documents, sync=sync, verify=verify)
        if report.written or report.deleted:
            self.store.optimize(self.settings.collection)
        return report

    def load_model(self) -> float:
        """Load the embedding model now (one embedding of one word, never cached), so that a
        query's timings leave the loading out; the seconds it took."""
        t0 = time.perf_counter()
        self.embedder.inner.embed_documents(["vecctx"])
        return time.perf_counter() - t0

    def augmenter(
        self,
        *,
        mode: str = DEFAULT_MODE,
        fusion: str = DEFAULT_FUSION,
        k: int = 5,
        candidates: int = 50,
        rerankers: Sequence[Reranker] = (),
    ) -> Augmenter:
        if mode != "dense" and self.bm25 is None:
            raise ConfigError(
                f"{self.store.capabilities.name} holds no BM25 vectors for {self.settings.collection!r}: "
                "use --mode dense, or ingest into a store with sparse vectors"
            )
        return Augmenter(
            store=self.store,
            collection=self.settings.collection,
            embedder=self.embedder,
            sparse_encoder=self.bm25,
            mode=mode,
            fusion=fusion,
            k=k,
            candidates=candidates,
            rerankers=rerankers,
            budget=self.settings.budget,
            counter=self.settings.counter,
        )

    def close(self) -> None:
        self.store.close()
        close = getattr(self.embedder, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_session(settings: Settings, *, sparse: bool = True, create: bool = True) -> Session:
    return Session(settings, sparse=sparse, create=create)


__all__ = ["Session", "connect_existing", "missing_collection", "open_session", "read_documents"]
