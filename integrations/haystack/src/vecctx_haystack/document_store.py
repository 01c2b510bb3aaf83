"""``VecctxDocumentStore``: Haystack 2's ``DocumentStore`` protocol over any vecctx store."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from haystack import Document, default_from_dict, default_to_dict
from haystack.core.errors import SerializationError
from haystack.dataclasses import ByteStream, SparseEmbedding
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.errors import FilterError

import vecctx
from vecctx.contract.errors import InvalidFilterError, UnsupportedFeatureError
from vecctx.contract.filters import Cmp as _Cmp
from vecctx.contract.filters import Filter, Op
from vecctx.contract.store import VectorStore
from vecctx.contract.types import CollectionSpec, Hit, Metric, Record, SparseVector
from vecctx.contract.validation import check_count
from vecctx_haystack._threads import on_worker_thread
from vecctx_haystack.filters import (
    BLOB_KEY,
    DATES_KEY,
    NO_EMBEDDING_KEY,
    NORM_KEY,
    RESERVED_PREFIX,
    Translated,
    date_shadows,
    meta_key,
    translate_filters,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: How many ids one ``get`` asks for when checking duplicates.
_ID_CHUNK = 1000

#: Records stored without an embedding are excluded from vector search by this filter
#: (``!=`` matches records where the flag is missing, e.g. those written by plain vecctx).
HAS_EMBEDDING: Filter = _Cmp(NO_EMBEDDING_KEY, Op.NE, True)


class VecctxDocumentStore:
    """A Haystack ``DocumentStore`` over one collection of any vecctx store.

    Give either ``url`` (any vecctx store URL: ``memory://``, ``qdrant:///abs/dir``,
    ``chroma:///abs/dir``, ``milvus:///abs/file.db``, ``qdrant://host:6333``, ...) or an open
    vecctx ``store`` (then :meth:`to_dict` cannot serialise it). The collection is created on
    first use with ``embedding_dim`` and ``metric`` if it does not exist (an existing one must
    match them).

    Documents without an embedding are stored with a placeholder unit vector and
    ``_haystack_no_embedding: true`` in their metadata; vector search through this store (and
    :class:`~vecctx_haystack.VecctxEmbeddingRetriever`) always excludes them, so they never
    appear in, or displace anything from, search results. They come back with
    ``embedding=None``.

    Each ``<method>_async`` runs ``<method>`` on a worker thread (vecctx's embedded backends
    are synchronous); one call at a time reaches the vecctx store.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        collection: str = "haystack",
        embedding_dim: int = 768,
        metric: str | Metric = Metric.COSINE,
        use_sparse_embeddings: bool = False,
        store: VectorStore | None = None,
    ) -> None:
        if (url is None) == (store is None):
            raise ValueError("give exactly one of url= (a vecctx store URL) or store= (an open vecctx store)")
        self.url = url
        self.collection = collection
        self.embedding_dim = check_count(embedding_dim, "embedding_dim", minimum=1)
        self.metric = Metric(metric)
        self.use_sparse_embeddings = use_sparse_embeddings
        self._spec = CollectionSpec(
            name=collection, dimension=embedding_dim, metric=self.metric, sparse=use_sparse_embeddings
        )
        self._store: VectorStore | None = store
        self._owns_store = store is None
        self._ready = False
        # One call at a time into the vecctx store: the *_async methods run the synchronous
        # call on a worker thread, and not every embedded backend is safe under concurrent use.
        self._lock = threading.RLock()

    # -- the vecctx store -----------------------------------------------------------------
    @property
    def store(self) -> VectorStore:
        """The vecctx store, opened (and the collection ensured) on first use."""
        with self._lock:
            if self._store is None:
                assert self.url is not None
                self._store = vecctx.connect(self.url)
            if not self._ready:
                self._store.ensure_collection(self._spec)
                self._ready = True
            return self._store

    def close(self) -> None:
        """Close the vecctx store if this object opened it (a store passed in is the caller's)."""
        with self._lock:
            if self._store is not None and self._owns_store:
                self._store.close()
                self._store = None
            self._ready = False

    def __enter__(self) -> VecctxDocumentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, fn: Callable[[VectorStore], T]) -> T:
        with self._lock:
            return fn(self.store)

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Serialise the store's settings (the URL, not the data)."""
        if self.url is None:
            raise SerializationError(
                "this VecctxDocumentStore wraps a store object; build it with url=... to serialise it"
            )
        return default_to_dict(
            self,
            url=self.url,
            collection=self.collection,
            embedding_dim=self.embedding_dim,
            metric=self.metric.value,
            use_sparse_embeddings=self.use_sparse_embeddings,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VecctxDocumentStore:
        store: VecctxDocumentStore = default_from_dict(cls, data)
        return store

    # -- the DocumentStore protocol -------------------------------------------------------
    def count_documents(self) -> int:
        return self._call(lambda s: s.count(self.collection))

    count_documents_async = on_worker_thread(count_documents)

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Documents matching Haystack ``filters`` (evaluated by the backend), in no set order."""
        flt = self._translate(filters)
        if flt is False:
            return []
        where = None if flt is True else flt
        records = self._guard(
            lambda: self._call(lambda s: list(s.scroll(self.collection, filter=where, with_vectors=True)))
        )
        return [record_to_document(r) for r in records]

    filter_documents_async = on_worker_thread(filter_documents)

    def write_documents(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """Write documents. ``DuplicatePolicy.NONE`` means ``FAIL``, as in Haystack's in-memory store.

        ``FAIL`` checks the whole batch (against the store and within itself) before writing
        anything; ``SKIP`` keeps the first of each id and skips ids already stored;
        ``OVERWRITE`` keeps the last of each id. Returns the number of documents written
        (``OVERWRITE``: the number given).
        """
        if not isinstance(documents, list) or not all(isinstance(d, Document) for d in documents):
            raise ValueError("write_documents takes a list of haystack Document objects")
        if policy == DuplicatePolicy.NONE:
            policy = DuplicatePolicy.FAIL
        if not documents:
            return 0
        records = [document_to_record(d, self._spec) for d in documents]  # validate before any I/O
        with self._lock:
            if policy == DuplicatePolicy.OVERWRITE:
                latest = {r.id: r for r in records}
                self.store.upsert(self.collection, list(latest.values()))
                return len(documents)
            existing = self._existing_ids([r.id for r in records])
            chosen: dict[str, Record] = {}
            for r in records:
                if r.id in existing or r.id in chosen:
                    if policy == DuplicatePolicy.FAIL:
                        raise DuplicateDocumentError(f"a document with id {r.id!r} already exists")
                    continue  # SKIP
                chosen[r.id] = r
            if chosen:
                self.store.upsert(self.collection, list(chosen.values()))
            return len(chosen)

    write_documents_async = on_worker_thread(write_documents)

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete the documents with these ids; ids that are not stored are ignored."""
        ids = _ids(document_ids)
        if ids:
            self._call(lambda s: s.delete(self.collection, ids=ids))

    delete_documents_async = on_worker_thread(delete_documents)

    # -- beyond the protocol (Haystack's extended tests) -----------------------------------
    def get_documents_by_id(self, document_ids: list[str]) -> list[Document]:
        """The stored documents with these ids, in the order asked (missing ids are left out)."""
        ids = _ids(document_ids)
        if not ids:
            return []
        records = self._call(lambda s: s.get(self.collection, ids, with_vectors=True))
        return [record_to_document(r) for r in records]

    def count_documents_by_filter(self, filters: dict[str, Any]) -> int:
        flt = self._translate(filters)
        if flt is False:
            return 0
        where = None if flt is True else flt
        return self._guard(lambda: self._call(lambda s: s.count(self.collection, filter=where)))

    count_documents_by_filter_async = on_worker_thread(count_documents_by_filter)

    def delete_all_documents(self, recreate_collection: bool = False) -> None:
        """Delete every document; with ``recreate_collection`` drop and recreate the collection."""
        with self._lock:
            store = self.store
            if recreate_collection:
                store.drop_collection(self.collection, missing_ok=True)
                store.create_collection(self._spec)
                return
            ids = [r.id for r in store.scroll(self.collection)]
            for start in range(0, len(ids), _ID_CHUNK):
                store.delete(self.collection, ids=ids[start : start + _ID_CHUNK])

    delete_all_documents_async = on_worker_thread(delete_all_documents)

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """Delete the documents matching ``filters``; returns how many there were."""
        flt = self._translate(filters)
        if flt is False:
            return 0
        with self._lock:
            store = self.store
            if flt is True:
                n = store.count(self.collection)
                self.delete_all_documents()
                return n
            n = self._guard(lambda: store.count(self.collection, filter=flt))
            if n:
                store.delete(self.collection, filter=flt)
            return n

    delete_by_filter_async = on_worker_thread(delete_by_filter)

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Merge ``meta`` into the metadata of every document matching ``filters``."""
        if not isinstance(meta, dict):
            raise ValueError("meta must be a dict")
        flt = self._translate(filters)
        if flt is False:
            return 0
        where = None if flt is True else flt
        with self._lock:
            store = self.store
            records = self._guard(
                lambda: list(store.scroll(self.collection, filter=where, with_vectors=True))
            )
            if not records:
                return 0
            docs = [record_to_document(r) for r in records]
            updated = [
                document_to_record(
                    dataclasses.replace(d, meta={**d.meta, **meta}), self._spec, vector=r.vector
                )
                for d, r in zip(docs, records, strict=True)
            ]
            store.upsert(self.collection, updated)
            return len(updated)

    update_by_filter_async = on_worker_thread(update_by_filter)

    # -- metadata aggregation (the filter runs in the backend; the counting here) -----------
    def _matching_metadata(self, filters: dict[str, Any] | None) -> list[dict[str, Any]]:
        flt = self._translate(filters)
        if flt is False:
            return []
        where = None if flt is True else flt
        records = self._guard(lambda: self._call(lambda s: list(s.scroll(self.collection, filter=where))))
        return [_split_metadata(r.metadata)[0] for r in records]

    def count_unique_metadata_by_filter(
        self, filters: dict[str, Any] | None, metadata_fields: list[str]
    ) -> dict[str, int]:
        """For each field, how many distinct values the documents matching ``filters`` hold."""
        metas = self._matching_metadata(filters)
        out: dict[str, int] = {}
        for name in metadata_fields:
            key = meta_key(name)
            out[name.removeprefix("meta.")] = len({_value_key(v) for m in metas for v in _values(m, key)})
        return out

    count_unique_metadata_by_filter_async = on_worker_thread(count_unique_metadata_by_filter)

    def get_metadata_fields_info(self) -> dict[str, dict[str, str]]:
        """Every top-level meta key with the type of its values (``keyword``, ``long``,
        ``float``, ``boolean``, ``object``, ``list``; ``mixed`` when they differ)."""
        info: dict[str, str] = {}
        for meta in self._matching_metadata(None):
            for key, value in meta.items():
                if value is None:
                    continue
                kind = _type_name(value)
                info[key] = kind if info.get(key, kind) == kind else "mixed"
        return {k: {"type": t} for k, t in sorted(info.items())}

    get_metadata_fields_info_async = on_worker_thread(get_metadata_fields_info)

    def get_metadata_field_min_max(self, metadata_field: str) -> dict[str, Any]:
        """The smallest and largest number (else string) a meta field holds; ``None`` when none."""
        key = meta_key(metadata_field)
        values = [v for m in self._matching_metadata(None) for v in _values(m, key)]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        pool: list[Any] = numbers or [v for v in values if isinstance(v, str)]
        if not pool:
            return {"min": None, "max": None}
        return {"min": min(pool), "max": max(pool)}

    get_metadata_field_min_max_async = on_worker_thread(get_metadata_field_min_max)

    def get_metadata_field_unique_values(
        self,
        metadata_field: str,
        search_term: str | None = None,
        from_: int = 0,
        size: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> tuple[list[Any], int]:
        """One page of the distinct values of a meta field among the documents matching
        ``filters`` (optionally those whose text contains ``search_term``, case-insensitively),
        sorted by type then value; and how many there are in all."""
        key = meta_key(metadata_field)
        unique: dict[tuple[str, str], Any] = {}
        for meta in self._matching_metadata(filters):
            for v in _values(meta, key):
                if search_term is not None and search_term.lower() not in str(v).lower():
                    continue
                unique.setdefault(_value_key(v), v)
        ordered = [unique[k] for k in sorted(unique, key=lambda k: _sort_key(unique[k]))]
        return ordered[from_ : from_ + size], len(ordered)

    get_metadata_field_unique_values_async = on_worker_thread(get_metadata_field_unique_values)

    # -- retrieval ------------------------------------------------------------------------
    def embedding_retrieval(
        self,
        query_embedding: Sequence[float],
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = True,
        return_embedding: bool = False,
    ) -> list[Document]:
        """The ``top_k`` documents nearest ``query_embedding`` among those matching ``filters``.

        ``score`` is vecctx's ``relevance`` (in [0, 1], higher is better, the same scale on every
        backend) when ``scale_score``; else the raw score in the metric's unit (cosine
        similarity, dot product, or Euclidean distance, where lower is closer). Documents
        stored without an embedding are never returned.
        """
        if check_count(top_k, "top_k") == 0:
            return []
        flt = self._translate(filters)
        if flt is False:
            return []
        where = HAS_EMBEDDING if flt is True else HAS_EMBEDDING & flt
        vector = [float(x) for x in query_embedding]
        hits = self._guard(
            lambda: self._call(
                lambda s: s.search(
                    self.collection, vector=vector, filter=where, k=top_k, with_vectors=return_embedding
                )
            )
        )
        return [hit_to_document(h, scale_score=scale_score, return_embedding=return_embedding) for h in hits]

    embedding_retrieval_async = on_worker_thread(embedding_retrieval)

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _translate(filters: Mapping[str, Any] | None) -> Translated:
        return translate_filters(filters)

    @staticmethod
    def _guard(fn: Callable[[], T]) -> T:
        """Report a filter a backend refuses (before any I/O) as Haystack's ``FilterError``."""
        try:
            return fn()
        except (InvalidFilterError, UnsupportedFeatureError) as exc:
            raise FilterError(f"vecctx cannot run this filter: {exc}") from exc

    def _existing_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _ID_CHUNK):
            chunk = unique[start : start + _ID_CHUNK]
            found.update(r.id for r in self.store.get(self.collection, chunk))
        return found

    def __repr__(self) -> str:
        where = self.url if self.url is not None else type(self._store).__name__
        return f"VecctxDocumentStore({where!r}, collection={self.collection!r}, embedding_dim={self.embedding_dim})"


# -- conversions ------------------------------------------------------------------------------
def _ids(document_ids: Iterable[str]) -> list[str]:
    if isinstance(document_ids, str):
        raise ValueError("document_ids must be a list of ids, not one string")
    return [str(i) for i in document_ids]


def _values(meta: Mapping[str, Any], key: str) -> list[Any]:
    """The values at a dotted path (a list value gives its elements; null and absent give none)."""
    cur: Any = meta
    for part in key.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return []
        cur = cur[part]
    if cur is None:
        return []
    return [v for v in cur if v is not None] if isinstance(cur, list) else [cur]


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "keyword"
    if isinstance(value, list):
        return "list"
    return "object"


def _value_key(value: Any) -> tuple[str, str]:
    """Distinct values: ``1``, ``1.0``, ``True`` and ``"1"`` are four."""
    return type(value).__name__, json.dumps(value, sort_keys=True)


def _sort_key(value: Any) -> tuple[str, int, float, str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return type(value).__name__, 0, float(value), ""
    return (
        type(value).__name__,
        1,
        0.0,
        value if isinstance(value, str) else json.dumps(value, sort_keys=True),
    )


def _placeholder(dim: int) -> list[float]:
    v = [0.0] * dim
    v[0] = 1.0
    return v


def document_to_record(doc: Document, spec: CollectionSpec, *, vector: Any = None) -> Record:
    """The vecctx record stored for a Haystack document (see the README's mapping table)."""
    meta = doc.meta
    if not isinstance(meta, dict):
        raise ValueError(f"document {doc.id!r}: meta must be a dict")
    for key in meta:
        if isinstance(key, str) and key.startswith(RESERVED_PREFIX):
            raise ValueError(
                f"document {doc.id!r}: meta key {key!r} uses the prefix {RESERVED_PREFIX!r}, "
                "reserved for vecctx-haystack's own bookkeeping"
            )
    metadata: dict[str, Any] = dict(meta)
    dates = date_shadows(meta)
    if dates:
        metadata[DATES_KEY] = dates
    if doc.blob is not None:
        metadata[BLOB_KEY] = json.dumps(
            {
                "data": base64.b64encode(doc.blob.data).decode("ascii"),
                "mime_type": doc.blob.mime_type,
                "meta": doc.blob.meta,
            }
        )
    if vector is not None and doc.embedding is None:
        metadata[NO_EMBEDDING_KEY] = True
    elif doc.embedding is None:
        vector = _placeholder(spec.dimension)
        metadata[NO_EMBEDDING_KEY] = True
    else:
        if len(doc.embedding) != spec.dimension:
            raise ValueError(
                f"document {doc.id!r}: embedding has {len(doc.embedding)} dimensions, "
                f"the collection {spec.name!r} has {spec.dimension}"
            )
        vector = doc.embedding if vector is None else vector
        if spec.metric is Metric.COSINE:
            metadata[NORM_KEY] = float(np.linalg.norm(np.asarray(doc.embedding, dtype=np.float64)))
    sparse = None
    if doc.sparse_embedding is not None:
        if spec.sparse:
            sparse = SparseVector(
                tuple(int(i) for i in doc.sparse_embedding.indices),
                tuple(float(v) for v in doc.sparse_embedding.values),
            )
        else:
            logger.warning(
                "document %s has a sparse embedding but the store was built with "
                "use_sparse_embeddings=False: the sparse embedding is not stored",
                doc.id,
            )
    return Record(id=doc.id, vector=vector, text=doc.content, metadata=metadata, sparse=sparse)


def _split_metadata(
    metadata: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], bool, ByteStream | None, float | None]:
    meta = dict(metadata or {})
    no_embedding = meta.pop(NO_EMBEDDING_KEY, None) is True
    norm = meta.pop(NORM_KEY, None)
    meta.pop(DATES_KEY, None)
    raw_blob = meta.pop(BLOB_KEY, None)
    blob = None
    if isinstance(raw_blob, str):
        spec = json.loads(raw_blob)
        blob = ByteStream(
            data=base64.b64decode(spec["data"]), mime_type=spec.get("mime_type"), meta=spec.get("meta") or {}
        )
    return meta, no_embedding, blob, float(norm) if isinstance(norm, int | float) else None


def _vector_list(vector: Any, norm: float | None) -> list[float]:
    """The stored vector as float32 values, rescaled to the recorded norm (cosine collections)."""
    v = np.asarray(vector, dtype=np.float32).astype(np.float64)
    if norm is not None:
        have = float(np.linalg.norm(v))
        if have > 0.0:
            v = v * (norm / have)
    return [float(x) for x in v.astype(np.float32).tolist()]


def _sparse(sparse: SparseVector | None) -> SparseEmbedding | None:
    if sparse is None:
        return None
    return SparseEmbedding(indices=list(sparse.indices), values=list(sparse.values))


def record_to_document(record: Record) -> Document:
    """The Haystack document for a stored vecctx record."""
    meta, no_embedding, blob, norm = _split_metadata(record.metadata)
    embedding = None if no_embedding or record.vector is None else _vector_list(record.vector, norm)
    return Document(
        id=record.id,
        content=record.text,
        blob=blob,
        meta=meta,
        embedding=embedding,
        sparse_embedding=_sparse(record.sparse),
    )


def hit_to_document(hit: Hit, *, scale_score: bool, return_embedding: bool) -> Document:
    """A search hit as a Haystack document with ``score`` set (relevance or raw score)."""
    meta, no_embedding, blob, norm = _split_metadata(hit.metadata)
    embedding = None
    if return_embedding and not no_embedding and hit.vector is not None:
        embedding = _vector_list(hit.vector, norm)
    return Document(
        id=hit.id,
        content=hit.text,
        blob=blob,
        meta=meta,
        score=hit.relevance if scale_score else hit.score,
        embedding=embedding,
        sparse_embedding=_sparse(hit.sparse) if return_embedding else None,
    )


__all__ = [
    "HAS_EMBEDDING",
    "VecctxDocumentStore",
    "document_to_record",
    "hit_to_document",
    "record_to_document",
]
