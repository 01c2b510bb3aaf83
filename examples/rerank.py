"""Rerank: late interaction (MaxSim over token embeddings), then MMR for diversity.

Run: python examples/rerank.py
"""

import vecctx
from vecctx import Augmenter, Ingestor, LateInteractionReranker, MMRReranker, default_embedder
from vecctx.loaders import data_root, load_beir

store = vecctx.connect("memory://")
embedder = default_embedder()
Ingestor(store, "rr", embedder=embedder, cache=True).ingest(load_beir(data_root() / "scifact", limit=200))

question = "Antibiotic resistance spreads through horizontal gene transfer."
plain = Augmenter(store=store, collection="rr", embedder=embedder, k=4)
reranked = Augmenter(
    store=store,
    collection="rr",
    embedder=embedder,
    k=4,
    candidates=20,
    rerankers=[LateInteractionReranker(), MMRReranker(lambda_=0.7)],
)
for name, aug in [("dense", plain), ("late+mmr", reranked)]:
    p = aug.augment(question, budget=600)
    print(f"{name:>9}: " + ", ".join(f"{s.doc_id}" for s in p.sources), f"({p.timings['total_ms']:.0f} ms)")
