"""Wire a store, the offline embedder, BM25 and the pipeline from :class:`Settings` (CLI, demo, eval)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from vecctx.chunking import Document
from vecctx.cli.settings import Settings
from vecctx.contract.errors import CollectionNotFoundError, ConfigError
from vecctx.contract.store import VectorStore
from vecctx.ingest import Ingestor, IngestReport
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
    raise ConfigError(f"{path}: not a BEIR directory, a folder of .txt/.md files, or a .jsonl file")


class Session:
    """One store plus the default offline embedder (cached on disk) and BM25 statistics."""

    def __init__(self, settings: Settings, *, sparse: bool = True, create: bool = True) -> None:
        from vecctx.embedders import default_embedder
        from vecctx.embedders.cache import CachedEmbedder
        from vecctx.registry import connect

        self.settings = settings
        self.store: VectorStore = connect(settings.store)
        try:
            exists = self.store.has_collection(settings.collection)
            if not create and not exists:
                raise CollectionNotFoundError(settings.collection)
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
        self, documents: Iterable[Document], *, sync: bool = False, progress: bool | None = None
    ) -> IngestReport:
        os.makedirs(self.bm25_path.parent, exist_ok=True)
        ingestor = Ingestor(
            self.store,
            self.settings.collection,
            embedder=self.embedder,
            sparse=self.bm25,
            sparse_path=self.bm25_path if self.bm25 is not None else None,
            progress=progress,
        )
        report = ingestor.ingest(documents, sync=sync)
        self.store.optimize(self.settings.collection)
        return report

    def augmenter(
        self,
        *,
        mode: str = "hybrid",
        fusion: str = "convex",
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


__all__ = ["Session", "open_session", "read_documents"]
