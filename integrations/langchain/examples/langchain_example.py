"""vecctx behind LangChain: add documents, retrieve with a metadata filter, read relevance.

Runs offline on memory:// with vecctx's HashingEmbedder; change the URL to use a database
(``qdrant:///abs/dir``, ``chroma:///abs/dir``, ``milvus:///abs/file.db``, ``qdrant://host:6333``).
"""

from __future__ import annotations

import asyncio

from langchain_core.documents import Document
from vecctx_langchain import VecctxEmbeddings, VecctxVectorStore

from vecctx import HashingEmbedder

DOCS = [
    Document(
        id="keys",
        page_content="Rotate the API keys every month.",
        metadata={"team": "security", "year": 2024},
    ),
    Document(
        id="vpn",
        page_content="The VPN keys expire after a year.",
        metadata={"team": "security", "year": 2021},
    ),
    Document(
        id="food", page_content="The cafeteria opens at 8.", metadata={"team": "facilities", "year": 2024}
    ),
]


async def main() -> None:
    async with VecctxVectorStore("memory://", "handbook", VecctxEmbeddings(HashingEmbedder())) as store:
        await store.aadd_documents(DOCS)
        retriever = store.as_retriever(
            search_kwargs={"k": 2, "filter": {"team": "security", "year": {"$gte": 2023}}}
        )
        print("filtered:", [d.id for d in await retriever.ainvoke("how often are the keys rotated?")])
        for doc, relevance in store.similarity_search_with_relevance_scores("keys", k=3):
            print(f"{doc.id}: relevance {relevance:.2f}")
        print("native async:", store.async_native)


if __name__ == "__main__":
    asyncio.run(main())
