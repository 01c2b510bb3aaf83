"""``VecctxEmbeddings``: any vecctx embedder as a LangChain ``Embeddings``.

vecctx's embedders run offline (``vecctx.default_embedder()`` is all-MiniLM-L6-v2 shipped in a
package; ``vecctx.HashingEmbedder`` is a deterministic toy), so this lets a LangChain pipeline
embed without a model download. The async methods are LangChain's defaults.
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from vecctx.embedders import Embedder


class VecctxEmbeddings(Embeddings):
    """A LangChain ``Embeddings`` over a vecctx ``Embedder`` (its query/passage prefixes apply)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __repr__(self) -> str:
        return f"VecctxEmbeddings({self.embedder.name!r})"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        rows: list[list[float]] = self.embedder.embed_documents(texts).tolist()
        return rows

    def embed_query(self, text: str) -> list[float]:
        row: list[float] = self.embedder.embed_query(text).tolist()
        return row


__all__ = ["VecctxEmbeddings"]
