"""``VecctxVectorStore``: a LlamaIndex vector store over any vecctx store.

One LlamaIndex node is one vecctx :class:`~vecctx.Record`:

* ``id``: the node's id (vecctx maps it to whatever the backend needs and returns it as given);
* ``vector``: the node's embedding (the collection is created on the first ``add``, with the
  dimension of its first embedding);
* ``text``: the node's content;
* ``metadata``: LlamaIndex's own layout (:func:`~llama_index.core.vector_stores.utils.node_to_metadata_dict`:
  the node's metadata at the top level, where filters read it, plus ``_node_content`` (the
  node as JSON, text removed), ``_node_type``, ``doc_id``/``ref_doc_id``/``document_id``),
  and ``_node_id``, the node's id again, so that ``node_ids`` restrictions are filters too.

Filters are translated into vecctx's filter language (:mod:`vecctx_llamaindex.filters`) and run
inside the backend. Similarities are vecctx's ``Hit.relevance``: in [0, 1], higher is better,
the same on every backend for a given metric.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode, MetadataMode, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict

import vecctx
from vecctx.contract.errors import ConfigError, UnsupportedFeatureError
from vecctx.contract.filters import Cmp, Exists, Filter, In, Not, Op, Or
from vecctx.contract.store import AsyncVectorStore, VectorStore
from vecctx.contract.types import CollectionSpec, FieldType, Hit, Metric, Record, VectorLike
from vecctx.memory import AsyncMemoryStore, MemoryStore
from vecctx_llamaindex.filters import all_of, translate_filters

#: Metadata key holding the node id (``node_ids`` restrictions and ``delete_nodes`` filter on it).
NODE_ID_KEY = "_node_id"
#: Metadata key holding the node's ``ref_doc_id`` (``"None"`` when it has none, as in LlamaIndex).
REF_DOC_ID_KEY = "ref_doc_id"


class UnsupportedQueryError(UnsupportedFeatureError, ValueError):
    """A :class:`VectorStoreQuery` option vecctx's store contract cannot serve (a query mode
    other than ``DEFAULT``)."""


_NO_ASYNC: Any = object()


class VecctxVectorStore(BasePydanticVectorStore):
    """LlamaIndex vector store over any vecctx store (``memory://``, ``qdrant:///dir``,
    ``chroma:///dir``, ``milvus:///file.db``, servers...).

    >>> store = VecctxVectorStore("memory://", collection_name="docs")

    ``store`` is a URL (the wrapper opens it and closes it in :meth:`close`) or an open vecctx
    :class:`~vecctx.VectorStore` (the caller keeps ownership). Async methods use vecctx's native
    async store where there is one: ``memory://`` (sharing the sync store's data), a URL whose
    backend has a native async client (``vecctx.connect_async``), or ``async_store`` given
    explicitly (it must see the same data as ``store``). Elsewhere (embedded Qdrant Edge,
    embedded Chroma) the async methods run the synchronous calls, as LlamaIndex's defaults do.
    """

    stores_text: bool = True
    is_embedding_query: bool = True
    flat_metadata: bool = False

    collection_name: str
    url: str | None = None
    metric: str = Metric.COSINE.value

    _store: VectorStore = PrivateAttr()
    _owns_store: bool = PrivateAttr(default=False)
    _astore: Any = PrivateAttr(default=None)
    _owns_astore: bool = PrivateAttr(default=False)
    _indexed: dict[str, FieldType] = PrivateAttr(default_factory=dict)
    _closed: bool = PrivateAttr(default=False)

    def __init__(
        self,
        store: VectorStore | str | None = None,
        *,
        collection_name: str = "llama_index",
        async_store: AsyncVectorStore | None = None,
        metric: Metric | str = Metric.COSINE,
        indexed_fields: Mapping[str, FieldType | str] | None = None,
        url: str | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(store, str):
            url = store
        elif store is not None:
            url = None
        elif url is None:  # neither: vecctx's default store ($VECCTX_STORE or embedded Qdrant)
            url = vecctx.registry.default_url()
        # Validate the name as vecctx does before anything is opened.
        CollectionSpec(name=collection_name, dimension=1)
        # Through a dict: pydantic's synthesized __init__ of the base class does not list this
        # subclass's fields for mypy.
        fields: dict[str, Any] = {
            "collection_name": collection_name,
            "url": url,
            "metric": Metric(metric).value,
        }
        super().__init__(**fields, **kwargs)
        if url is not None:
            self._store = vecctx.connect(url)
            self._owns_store = True
        else:
            assert store is not None and not isinstance(store, str)
            self._store = store
            self._owns_store = False
        if async_store is not None:
            self._astore = async_store
            self._owns_astore = False
        self._indexed = {NODE_ID_KEY: FieldType.KEYWORD, REF_DOC_ID_KEY: FieldType.KEYWORD}
        self._indexed.update({k: FieldType(v) for k, v in (indexed_fields or {}).items()})

    @classmethod
    def class_name(cls) -> str:
        return "VecctxVectorStore"

    @property
    def client(self) -> VectorStore:
        """The vecctx store."""
        return self._store

    # -- helpers -----------------------------------------------------------------------
    def _async_client(self) -> AsyncVectorStore | None:
        """vecctx's native async store for this data, opened on first use; ``None`` where
        there is none (the async methods then run the sync calls)."""
        if self._astore is _NO_ASYNC:
            return None
        if self._astore is None:
            if isinstance(self._store, MemoryStore):
                self._astore = AsyncMemoryStore(self._store)
                self._owns_astore = False  # closing it would close the sync store
            elif self._owns_store and self.url is not None:
                try:
                    self._astore = vecctx.connect_async(self.url)
                    self._owns_astore = True
                except ConfigError:
                    self._astore = _NO_ASYNC
                    return None
            else:
                self._astore = _NO_ASYNC
                return None
        astore: AsyncVectorStore = self._astore
        return astore

    def _spec(self, dimension: int) -> CollectionSpec:
        return CollectionSpec(
            name=self.collection_name,
            dimension=dimension,
            metric=Metric(self.metric),
            indexed_fields=self._indexed,
        )

    def _records(self, nodes: Sequence[BaseNode]) -> list[Record]:
        records = []
        for node in nodes:
            metadata = node_to_metadata_dict(node, remove_text=True, flat_metadata=self.flat_metadata)
            metadata[NODE_ID_KEY] = node.node_id
            records.append(
                Record(
                    id=node.node_id,
                    vector=node.get_embedding(),
                    text=node.get_content(metadata_mode=MetadataMode.NONE),
                    metadata=metadata,
                )
            )
        return records

    @staticmethod
    def _node(
        rid: str, text: str | None, metadata: Mapping[str, Any] | None, vector: VectorLike | None
    ) -> BaseNode:
        meta = dict(metadata or {})
        node: BaseNode
        if "_node_content" in meta:
            node = metadata_dict_to_node(meta, text=text)
        else:  # a record written without LlamaIndex (e.g. by vecctx's Ingestor)
            node = TextNode(id_=rid, text=text or "", metadata=meta)
        if vector is not None:
            node.embedding = [float(x) for x in vector]
        return node

    def _result(self, hits: Sequence[Hit]) -> VectorStoreQueryResult:
        return VectorStoreQueryResult(
            nodes=[self._node(h.id, h.text, h.metadata, None) for h in hits],
            similarities=[float(h.relevance) for h in hits],
            ids=[h.id for h in hits],
        )

    def _records_result(self, records: Sequence[Record]) -> VectorStoreQueryResult:
        return VectorStoreQueryResult(
            nodes=[self._node(r.id, r.text, r.metadata, None) for r in records],
            similarities=None,
            ids=[r.id for r in records],
        )

    @staticmethod
    def _ids_filter(key: str, ids: Sequence[str] | None) -> Filter | None:
        return In(key, tuple(ids)) if ids else None

    def _query_plan(self, query: VectorStoreQuery) -> Filter | bool | None:
        """The vecctx filter of a query; ``False`` when it can match nothing."""
        if query.mode is not VectorStoreQueryMode.DEFAULT:
            raise UnsupportedQueryError(
                f"query mode {query.mode.value!r} is not supported by VecctxVectorStore: use the "
                "default (dense) mode; vecctx's hybrid/sparse retrieval is vecctx.Retriever's"
            )
        # Empty node_ids/doc_ids restrict nothing, as in LlamaIndex's text-storing stores:
        # VectorStoreIndex.as_retriever passes node_ids=[] when the index keeps no node list.
        if query.similarity_top_k < 1:
            return False
        return all_of(
            translate_filters(query.filters),
            self._ids_filter(NODE_ID_KEY, query.node_ids),
            self._ids_filter(REF_DOC_ID_KEY, query.doc_ids),
        )

    def _nodes_plan(
        self, node_ids: Sequence[str] | None, filters: MetadataFilters | None
    ) -> tuple[str, Filter | None]:
        """How to read or delete the nodes selected by ``node_ids`` and ``filters`` (both:
        the intersection, as in LlamaIndex): ``("none", None)``, ``("ids", None)`` (by id
        alone) or ``("filter", f)`` (``f`` ``None``: every node)."""
        flt = translate_filters(filters)
        if node_ids is not None and not node_ids:
            return "none", None
        if node_ids is not None and flt is None:
            return "ids", None
        return "filter", all_of(flt, self._ids_filter(NODE_ID_KEY, node_ids))

    @staticmethod
    def _every(key: str) -> Filter:
        """A filter every record matches (vecctx's ``delete`` needs ids or a filter)."""
        return Or((Exists(key), Not(Exists(key))))

    # -- writes ------------------------------------------------------------------------
    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Upsert the nodes (each needs an embedding); returns their ids."""
        if not nodes:
            return []
        records = self._records(nodes)
        self._store.ensure_collection(self._spec(len(records[0].vector)))
        self._store.upsert(self.collection_name, records)
        return [r.id for r in records]

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        astore = self._async_client()
        if astore is None:
            return self.add(nodes, **kwargs)
        if not nodes:
            return []
        records = self._records(nodes)
        await astore.ensure_collection(self._spec(len(records[0].vector)))
        await astore.upsert(self.collection_name, records)
        return [r.id for r in records]

    #: The name used in vecctx's own docs and in other LlamaIndex stores.
    aadd = async_add

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node whose ``ref_doc_id`` is ``ref_doc_id``."""
        if self._store.has_collection(self.collection_name):
            self._store.delete(self.collection_name, filter=Cmp(REF_DOC_ID_KEY, Op.EQ, ref_doc_id))

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        astore = self._async_client()
        if astore is None:
            return self.delete(ref_doc_id, **delete_kwargs)
        if await astore.has_collection(self.collection_name):
            await astore.delete(self.collection_name, filter=Cmp(REF_DOC_ID_KEY, Op.EQ, ref_doc_id))
        return None

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete the nodes with these ids that match ``filters`` (either alone selects by
        itself; neither: every node, as in LlamaIndex's SimpleVectorStore)."""
        how, flt = self._nodes_plan(node_ids, filters)
        if how == "none" or not self._store.has_collection(self.collection_name):
            return
        if how == "ids":
            self._store.delete(self.collection_name, ids=list(node_ids or ()))
        else:
            self._store.delete(
                self.collection_name, filter=flt if flt is not None else self._every(NODE_ID_KEY)
            )

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        astore = self._async_client()
        if astore is None:
            return self.delete_nodes(node_ids, filters, **delete_kwargs)
        how, flt = self._nodes_plan(node_ids, filters)
        if how == "none" or not await astore.has_collection(self.collection_name):
            return None
        if how == "ids":
            await astore.delete(self.collection_name, ids=list(node_ids or ()))
        else:
            await astore.delete(
                self.collection_name, filter=flt if flt is not None else self._every(NODE_ID_KEY)
            )
        return None

    def clear(self) -> None:
        """Drop the collection (it is created again by the next ``add``)."""
        self._store.drop_collection(self.collection_name, missing_ok=True)

    async def aclear(self) -> None:
        astore = self._async_client()
        if astore is None:
            return self.clear()
        await astore.drop_collection(self.collection_name, missing_ok=True)
        return None

    # -- reads -------------------------------------------------------------------------
    def get_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        """The nodes with these ids that match ``filters``, with their embeddings (either
        alone selects by itself; neither: every node). Order: as asked for ids alone,
        unspecified otherwise."""
        how, flt = self._nodes_plan(node_ids, filters)
        if how == "none" or not self._store.has_collection(self.collection_name):
            return []
        if how == "ids":
            records = self._store.get(self.collection_name, list(node_ids or ()), with_vectors=True)
        else:
            records = list(self._store.scroll(self.collection_name, filter=flt, with_vectors=True))
        return [self._node(r.id, r.text, r.metadata, r.vector) for r in records]

    async def aget_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        astore = self._async_client()
        if astore is None:
            return self.get_nodes(node_ids, filters)
        how, flt = self._nodes_plan(node_ids, filters)
        if how == "none" or not await astore.has_collection(self.collection_name):
            return []
        if how == "ids":
            records = await astore.get(self.collection_name, list(node_ids or ()), with_vectors=True)
        else:
            records = [r async for r in astore.scroll(self.collection_name, filter=flt, with_vectors=True)]
        return [self._node(r.id, r.text, r.metadata, r.vector) for r in records]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Dense top-k search with the query's filters, ``node_ids`` and ``doc_ids`` run
        by the backend. Without ``query_embedding``: up to ``similarity_top_k`` nodes matching
        the filters, in no particular order, with ``similarities=None``."""
        plan = self._query_plan(query)
        if plan is False or not self._store.has_collection(self.collection_name):
            return VectorStoreQueryResult(nodes=[], similarities=[], ids=[])
        flt = plan if isinstance(plan, Filter) else None
        if query.query_embedding is None:
            records = []
            for r in self._store.scroll(self.collection_name, filter=flt):
                records.append(r)
                if len(records) >= query.similarity_top_k:
                    break
            return self._records_result(records)
        hits = self._store.search(
            self.collection_name, vector=query.query_embedding, filter=flt, k=query.similarity_top_k
        )
        return self._result(hits)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        astore = self._async_client()
        if astore is None:
            return self.query(query, **kwargs)
        plan = self._query_plan(query)
        if plan is False or not await astore.has_collection(self.collection_name):
            return VectorStoreQueryResult(nodes=[], similarities=[], ids=[])
        flt = plan if isinstance(plan, Filter) else None
        if query.query_embedding is None:
            records = []
            async for r in astore.scroll(self.collection_name, filter=flt):
                records.append(r)
                if len(records) >= query.similarity_top_k:
                    break
            return self._records_result(records)
        hits = await astore.search(
            self.collection_name, vector=query.query_embedding, filter=flt, k=query.similarity_top_k
        )
        return self._result(hits)

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        """Close what this wrapper opened (a store passed in stays open). An async store the
        wrapper opened is best closed with :meth:`aclose` inside its event loop."""
        astore, self._astore = self._astore, None
        if self._owns_astore and astore not in (None, _NO_ASYNC):
            self._owns_astore = False
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                # Suppressed: its client may belong to an event loop that has ended.
                with contextlib.suppress(Exception):
                    asyncio.run(astore.close())
        if self._owns_store and not self._closed:
            self._store.close()
        self._closed = True

    async def aclose(self) -> None:
        """Close the async store the wrapper opened (inside the loop it was used in), then
        what :meth:`close` closes."""
        astore = self._astore
        if self._owns_astore and astore not in (None, _NO_ASYNC):
            self._astore = None
            self._owns_astore = False
            await astore.close()
        self.close()


__all__ = ["NODE_ID_KEY", "REF_DOC_ID_KEY", "UnsupportedQueryError", "VecctxVectorStore"]
