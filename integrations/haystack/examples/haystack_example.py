"""A Haystack pipeline retrieving from a vecctx store (memory:// here; any vecctx URL works).

Run: python integrations/haystack/examples/haystack_example.py
Prints the documents retrieved for a question, best first, with their relevance scores.
"""

from __future__ import annotations

import os

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")  # no usage telemetry from this example

from haystack import Document, Pipeline
from vecctx_haystack import VecctxDocumentStore, VecctxEmbeddingRetriever

from vecctx import HashingEmbedder

embedder = HashingEmbedder(dimension=256)  # a deterministic toy embedder: no model download
texts = {
    "keys": "Rotate the API keys every 90 days from the admin console.",
    "billing": "Invoices are emailed on the first day of each month.",
    "keys-old": "Before 2023 API keys were rotated by a support ticket.",
    "sso": "Single sign-on uses SAML and is configured by an admin.",
}
years = {"keys": 2024, "billing": 2024, "keys-old": 2019, "sso": 2024}
vectors = embedder.embed_documents(list(texts.values()))
docs = [
    Document(id=i, content=t, meta={"year": years[i]}, embedding=v.tolist())
    for (i, t), v in zip(texts.items(), vectors, strict=True)
]
docs.append(Document(id="draft", content="Rotate keys (draft, not embedded yet)", meta={"year": 2024}))

store = VecctxDocumentStore("memory://", collection="docs", embedding_dim=256)
print("written:", store.write_documents(docs))

pipeline = Pipeline()
pipeline.add_component("retriever", VecctxEmbeddingRetriever(store, top_k=2))
question = "how do I rotate the api keys?"
result = pipeline.run(
    {
        "retriever": {
            "query_embedding": embedder.embed_query(question).tolist(),
            "filters": {"field": "meta.year", "operator": ">=", "value": 2020},
        }
    }
)
for doc in result["retriever"]["documents"]:
    print(f"{doc.id}\t{doc.score:.3f}\t{doc.content}")
store.close()
