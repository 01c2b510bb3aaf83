"""End to end through LlamaIndex: ``VectorStoreIndex`` + ``StorageContext`` over
``VecctxVectorStore``, embedded by LlamaIndex's own deterministic ``MockEmbedding``, retrieving
with a metadata filter; then ``VectorStoreIndex.from_vector_store`` on the stored data."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters
from vecctx_llamaindex import VecctxVectorStore

DOCS = [
    Document(
        id_="guide", text="Rotate the API keys every ninety days.", metadata={"kind": "guide", "year": 2024}
    ),
    Document(id_="faq", text="Keys can be revoked from the console.", metadata={"kind": "faq", "year": 2023}),
    Document(id_="notes", text="Release notes for version two.", metadata={"kind": "notes", "year": 2024}),
]


def test_index_round_trip_with_filters(make_store: Callable[..., VecctxVectorStore]) -> None:
    embed = MockEmbedding(embed_dim=8)
    vs = make_store()
    storage = StorageContext.from_defaults(vector_store=vs)
    VectorStoreIndex.from_documents(DOCS, storage_context=storage, embed_model=embed)
    assert len(vs.get_nodes()) == 3

    index = VectorStoreIndex.from_vector_store(vs, embed_model=embed)
    only_2024 = MetadataFilters(filters=[MetadataFilter(key="year", operator=FilterOperator.EQ, value=2024)])
    got = index.as_retriever(similarity_top_k=5, filters=only_2024).retrieve("how do I rotate keys?")
    assert sorted(n.node.ref_doc_id or "" for n in got) == ["guide", "notes"]
    assert all(n.node.metadata["year"] == 2024 for n in got)
    assert all(n.score is not None and abs(n.score - 1.0) < 1e-4 for n in got)  # identical mock vectors
    texts = {n.node.get_content() for n in got}
    assert "Rotate the API keys every ninety days." in texts

    faq_or_guide = MetadataFilters(
        filters=[MetadataFilter(key="kind", operator=FilterOperator.IN, value=["faq", "guide"])]
    )
    got = index.as_retriever(similarity_top_k=5, filters=faq_or_guide).retrieve("keys")
    assert sorted(n.node.ref_doc_id or "" for n in got) == ["faq", "guide"]

    index.delete_ref_doc("guide")  # VecctxVectorStore.delete(ref_doc_id)
    got = index.as_retriever(similarity_top_k=5, filters=only_2024).retrieve("keys")
    assert [n.node.ref_doc_id for n in got] == ["notes"]

    async def aretrieve() -> list[str]:
        try:
            nodes = await index.as_retriever(similarity_top_k=5).aretrieve("keys")
            return sorted(n.node.ref_doc_id or "" for n in nodes)
        finally:
            await vs.aclose()

    assert asyncio.run(aretrieve()) == ["faq", "notes"]
