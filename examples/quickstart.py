"""Quickstart: ingest 200 SciFact abstracts into embedded Qdrant and build a cited prompt.

Run: python examples/quickstart.py   (reads ../shared/data/scifact or $VECCTX_DATA/scifact)
"""

import vecctx
from vecctx import Augmenter, Ingestor, default_embedder
from vecctx.loaders import data_root, load_beir

store = vecctx.connect()  # $VECCTX_STORE, else embedded Qdrant in ./.vecctx/qdrant
embedder = default_embedder()  # all-MiniLM-L6-v2, offline

docs = load_beir(data_root() / "scifact", limit=200)
report = Ingestor(store, "quickstart", embedder=embedder, cache=True).ingest(docs)
print(report.summary())

aug = Augmenter(store=store, collection="quickstart", embedder=embedder, k=3, budget=800)
prompt = aug.augment("Which cells respond to interleukin signalling?")
print(prompt.prompt)
for source in prompt.sources:
    print(f"[{source.number}] doc {source.doc_id} chars {source.start}-{source.end}: {source.title}")
store.close()
