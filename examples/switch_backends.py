"""Same code, several databases: only the URL changes. Scores mean the same on each.

Run: python examples/switch_backends.py
"""

import tempfile
from importlib.util import find_spec

import vecctx
from vecctx import Augmenter, F, Ingestor, default_embedder
from vecctx.loaders import data_root, load_beir

tmp = tempfile.mkdtemp(prefix="vecctx-switch-")
urls = ["memory://", f"qdrant:///{tmp}/qdrant"]
if find_spec("vecctx_chroma"):
    urls.append(f"chroma:///{tmp}/chroma")
if find_spec("vecctx_milvus"):
    urls.append(f"milvus:///{tmp}/milvus.db")

embedder = default_embedder()
docs = list(load_beir(data_root() / "scifact", limit=100))
question = "Genetic variants and the risk of type 2 diabetes"
for url in urls:
    with vecctx.connect(url) as store:
        Ingestor(store, "switch", embedder=embedder, cache=True).ingest(docs)
        aug = Augmenter(store=store, collection="switch", embedder=embedder, k=3)
        hits = aug.retrieve(question, filter=F("title").exists()).hits
        top = ", ".join(f"{h.metadata['doc_id'] if h.metadata else h.id} ({h.relevance:.3f})" for h in hits)
        print(f"{store.capabilities.name:>14}: {top}")
