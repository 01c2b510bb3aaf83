"""Hybrid search (dense + BM25, fused natively by Qdrant) with a metadata filter.

Run: python examples/hybrid_filter.py
"""

import tempfile

import vecctx
from vecctx import Augmenter, BM25Encoder, Document, F, Ingestor, default_embedder
from vecctx.loaders import data_root, load_beir

store = vecctx.connect(f"qdrant:///{tempfile.mkdtemp()}")
embedder, bm25 = default_embedder(), BM25Encoder()
# Give each abstract a metadata field to filter on: its position in the corpus, as a "batch".
docs = [
    Document(d.id, d.text, {**d.metadata, "batch": i // 50})
    for i, d in enumerate(load_beir(data_root() / "scifact", limit=150))
]
Ingestor(store, "hybrid", embedder=embedder, sparse=bm25, cache=True).ingest(docs)

aug = Augmenter(store=store, collection="hybrid", embedder=embedder, sparse_encoder=bm25, mode="hybrid", k=4)
question = "bone mineral density in elderly women"
for flt in [None, F("batch") >= 1, {"batch": {"$in": [0, 2]}}]:
    result = aug.retrieve(question, filter=flt)
    native = "native" if result.native_fusion else "client-side"
    shown = flt.to_dict() if isinstance(flt, vecctx.Filter) else flt
    print(f"filter={shown} ({native} {result.fusion}):")
    for h in result.hits:
        meta = h.metadata or {}
        print(f"   {h.score:.4f} {h.kind.value} batch={meta['batch']} {meta.get('title', '')[:70]}")
store.close()
