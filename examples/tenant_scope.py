"""Two tenants share one collection; each one's retrieval sees only its own documents.

Run: python examples/tenant_scope.py
"""

import tempfile

import vecctx
from vecctx import Augmenter, Ingestor, default_embedder
from vecctx.loaders import data_root, load_beir

store = vecctx.connect(f"qdrant:///{tempfile.mkdtemp()}")
embedder = default_embedder()
docs = list(load_beir(data_root() / "scifact", limit=120))
halves = {"acme": docs[:60], "globex": docs[60:]}

for tenant, own in halves.items():
    view = vecctx.scoped(store, tenant=tenant)  # every read, write, count and delete is confined
    Ingestor(view, "shared", embedder=embedder, cache=True).ingest(own)

question = "How does the immune system respond to infection?"
for tenant, own in halves.items():
    view = vecctx.scoped(store, tenant=tenant)
    own_ids = {d.id for d in own}
    hits = Augmenter(store=view, collection="shared", embedder=embedder, k=3).retrieve(question).hits
    assert all(h.metadata["doc_id"] in own_ids for h in hits)
    print(f"{tenant}: {view.count('shared')} chunks of its own; top hits:")
    for h in hits:
        print(f"   {h.relevance:.3f} doc {h.metadata['doc_id']} {h.metadata.get('title', '')[:60]}")

# another tenant's record cannot be read, overwritten or deleted by id, nor reached by a filter
acme, globex = vecctx.scoped(store, tenant="acme"), vecctx.scoped(store, tenant="globex")
some_acme_id = next(iter(acme.scroll("shared"))).id
print("globex reads acme's id:", globex.get("shared", [some_acme_id]))
print("total in the shared collection:", store.count("shared"))
store.close()
