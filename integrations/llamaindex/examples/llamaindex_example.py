"""LlamaIndex over vecctx: index three documents, retrieve with a metadata filter.

Runs offline on memory:// with LlamaIndex's deterministic MockEmbedding; change the URL to
"qdrant:///tmp/li", "chroma:///tmp/li" or "milvus:///tmp/li.db" to switch the database.
"""

from __future__ import annotations

import sys

from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters
from vecctx_llamaindex import VecctxVectorStore


def main(url: str = "memory://") -> list[str]:
    vector_store = VecctxVectorStore(url, collection_name="docs")
    storage = StorageContext.from_defaults(vector_store=vector_store)
    docs = [
        Document(id_="keys", text="Rotate the API keys every ninety days.", metadata={"year": 2024}),
        Document(id_="faq", text="Keys can be revoked from the console.", metadata={"year": 2023}),
        Document(id_="notes", text="Release notes for version two.", metadata={"year": 2024}),
    ]
    index = VectorStoreIndex.from_documents(
        docs, storage_context=storage, embed_model=MockEmbedding(embed_dim=8)
    )
    recent = MetadataFilters(filters=[MetadataFilter(key="year", operator=FilterOperator.GTE, value=2024)])
    hits = index.as_retriever(similarity_top_k=3, filters=recent).retrieve("How do I rotate keys?")
    found = sorted(h.node.ref_doc_id or "" for h in hits)
    for h in sorted(hits, key=lambda h: h.node.ref_doc_id or ""):
        print(f"{h.node.ref_doc_id}\t{h.score:.3f}\t{h.node.get_content()}")
    vector_store.close()
    return found


if __name__ == "__main__":
    main(*sys.argv[1:2])
