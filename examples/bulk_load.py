"""Bulk load: store precomputed embeddings column by column with a RecordBatch.

When the vectors already sit in one matrix (an embedder's output, an export from another
database), hand the columns to ``upsert`` as they are: no ``Record`` per row, the matrix
validated in one pass, and the same checks and errors as for a list of records.

Run: python examples/bulk_load.py   (reads ../shared/data/scifact or $VECCTX_DATA/scifact)
"""

import vecctx
from vecctx import CollectionSpec, F, FieldType, InvalidInputError, RecordBatch, default_embedder
from vecctx.loaders import data_root, load_beir

store = vecctx.connect()  # $VECCTX_STORE, else embedded Qdrant in ./.vecctx/qdrant
embedder = default_embedder()  # all-MiniLM-L6-v2, offline

docs = list(load_beir(data_root() / "scifact", limit=300))
texts = [d.text for d in docs]
matrix = embedder.embed_documents(texts)  # (300, 384) float32
spec = CollectionSpec("bulk", embedder.dimension, indexed_fields={"title_words": FieldType.INTEGER})
store.ensure_collection(spec)

batch = RecordBatch(
    ids=[d.id for d in docs],
    vectors=matrix,
    texts=texts,
    metadata=[
        {
            "title": str(d.metadata.get("title", "")),
            "title_words": len(str(d.metadata.get("title", "")).split()),
        }
        for d in docs
    ],
)
store.upsert("bulk", batch)
store.upsert("bulk", batch)  # idempotent: the same ids are replaced, not added
print(f"stored {store.count('bulk')} records from {batch!r}")

# A bad row refuses the whole batch and writes nothing.
bad = matrix.copy()
bad[7, 0] = float("nan")
try:
    store.upsert("bulk", RecordBatch([f"new-{i}" for i in range(len(docs))], bad))
except InvalidInputError as exc:
    print(f"refused: {exc}; still {store.count('bulk')} records")

hits = store.search(
    "bulk", vector=embedder.embed_query("vitamin D and bone density"), k=3, filter=F("title_words") >= 5
)
for h in hits:
    print(f"{h.relevance:.3f} {h.id}: {h.metadata['title'][:70] if h.metadata else ''}")
store.close()
