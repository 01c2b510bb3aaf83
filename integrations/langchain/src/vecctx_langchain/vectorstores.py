"""``VecctxVectorStore``: a LangChain ``VectorStore`` over any vecctx store.

One collection of a vecctx store holds the documents: ``Document.page_content`` is the record's
text, ``Document.metadata`` its metadata and ``Document.id`` its id. The collection is created
on the first write, with the dimension of the first embedding (or at construction when
``dimension`` is given); reading a collection that does not exist yet finds nothing.

Async methods use vecctx's natively async store when there is one for the data the sync store
holds: ``memory://`` (the same in-memory store), Milvus (Lite included), Chroma over HTTP, a
Qdrant server and Weaviate. Where vecctx has none (embedded Qdrant Edge, embedded Chroma,
qdrant-client local mode), the async methods are LangChain's defaults, which run the sync
method in the event loop's executor; vecctx itself never hides a thread pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
import warnings
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, Self, TypeVar, cast

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore as LangChainVectorStore

from vecctx.contract.errors import CollectionNotFoundError, ConfigError
from vecctx.contract.filters import Filter
from vecctx.contract.lifetime import ClosingContext
from vecctx.contract.store import AsyncVectorStore, SearchOptions, SearchParams, VectorStore
from vecctx.contract.types import CollectionSpec, FieldType, Hit, Metric, Record, relevance_of, score_kind
from vecctx.memory import AsyncMemoryStore, MemoryStore
from vecctx.registry import connect, connect_async, default_url, scheme_of
from vecctx.retrieval.rerank import mmr_order
from vecctx_langchain.filters import to_vecctx_filter

AsyncMethod = TypeVar("AsyncMethod", bound=Callable[..., Coroutine[Any, Any, Any]])
FilterLike = Filter | Mapping[str, Any] | None
Metadatas = list[dict[str, Any]] | None  # LangChain's: one metadata dict per text
Ids = list[str] | None

#: URL schemes whose async store would not see the sync store's data: qdrant-client's local
#: mode keeps one client per directory (a second one fails on the lock) and ``:memory:``
#: gives each client its own store.
_UNPAIRED_SCHEMES = frozenset({"qdrant+local"})

DEFAULT_COLLECTION = "langchain"
DEFAULT_BATCH_SIZE = 256


def _native_async(method: AsyncMethod) -> AsyncMethod:
    """An async method that uses vecctx's natively async store, or LangChain's default for the
    method (the sync one in the event loop's executor) when there is none."""

    @functools.wraps(method)
    async def dispatch(self: VecctxVectorStore, *args: Any, **kwargs: Any) -> Any:
        if self.async_store is None:
            return await getattr(super(VecctxVectorStore, self), method.__name__)(*args, **kwargs)
        return await method(self, *args, **kwargs)

    return cast(AsyncMethod, dispatch)


class VecctxVectorStore(ClosingContext, LangChainVectorStore):
    """A LangChain vector store backed by one collection of any vecctx store.

    Args:
        store: a vecctx ``VectorStore``, or a store URL (``memory://``, ``qdrant:///abs/dir``,
            ``chroma:///abs/dir``, ``milvus:///abs/file.db``, ``qdrant://host:6333``, ...).
            A store opened here from a URL is closed by :meth:`close` / :meth:`aclose`; a store
            object passed in belongs to the caller.
        collection: the collection's name.
        embedding: the LangChain embedding model.
        async_store: vecctx's natively async store over the same data. Found by itself for a
            URL that has one and for a ``MemoryStore``; ``None`` leaves the async methods to
            LangChain's defaults.
        metric: the collection's metric when this store creates it (``cosine``, ``dot``,
            ``euclidean``).
        dimension: create the collection now with this dimension (else on the first write).
        indexed_fields: metadata keys that filters use often (payload indexes where the
            backend has them), when this store creates the collection.
        search_params: vecctx ``SearchParams`` for every search (``exact=True`` for brute force).
        batch_size: records per upsert call (lowered to the backend's limit).
    """

    def __init__(
        self,
        store: VectorStore | str,
        collection: str = DEFAULT_COLLECTION,
        embedding: Embeddings | None = None,
        *,
        async_store: AsyncVectorStore | None = None,
        metric: Metric | str = Metric.COSINE,
        dimension: int | None = None,
        indexed_fields: Mapping[str, FieldType | str] | None = None,
        search_params: SearchParams | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if embedding is None:
            raise TypeError("VecctxVectorStore needs an `embedding` (a LangChain Embeddings object)")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._owned: list[VectorStore] = []
        self._owned_async: list[AsyncVectorStore] = []
        if isinstance(store, str):
            url = store
            store = connect(url)
            self._owned.append(store)
            if async_store is None:
                try:
                    async_store = _open_async(url, store)
                except BaseException:
                    store.close()
                    raise
                if async_store is not None and not isinstance(async_store, AsyncMemoryStore):
                    self._owned_async.append(async_store)
        elif async_store is None and isinstance(store, MemoryStore):
            async_store = AsyncMemoryStore(store)
        self.store: VectorStore = store
        self.async_store: AsyncVectorStore | None = async_store
        self.collection = collection
        self.embedding = embedding
        self.metric = Metric(metric)
        self.indexed_fields = {str(k): FieldType(v) for k, v in dict(indexed_fields or {}).items()}
        self.search_params = search_params
        max_batch = store.capabilities.max_batch
        self.batch_size = min(batch_size, max_batch) if max_batch else batch_size
        self._ready = False
        if dimension is not None:
            try:
                self._ensure(dimension)
            except BaseException:
                self.close()
                raise

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def embeddings(self) -> Embeddings:
        return self.embedding

    @property
    def async_native(self) -> bool:
        """Whether the async methods use vecctx's natively async store."""
        return self.async_store is not None

    @property
    def _native(self) -> AsyncVectorStore:
        assert self.async_store is not None  # only methods that need it call this (see _native_async)
        return self.async_store

    def __repr__(self) -> str:
        return f"VecctxVectorStore({self.store!r}, collection={self.collection!r}, async_native={self.async_native})"

    def _spec(self, dimension: int) -> CollectionSpec:
        return CollectionSpec(
            name=self.collection, dimension=dimension, metric=self.metric, indexed_fields=self.indexed_fields
        )

    def _ensure(self, dimension: int) -> None:
        if not self._ready:
            self.store.ensure_collection(self._spec(dimension))
            self._ready = True

    async def _aensure(self, dimension: int) -> None:
        if not self._ready:
            await self._native.ensure_collection(self._spec(dimension))
            self._ready = True

    @staticmethod
    def _text_list(texts: Iterable[str], kwargs: dict[str, Any]) -> list[str]:
        if kwargs:
            raise TypeError(f"unexpected argument(s): {', '.join(sorted(kwargs))}")
        return list(texts)

    @staticmethod
    def _records(
        text_list: list[str],
        metadatas: Sequence[Mapping[str, Any] | None] | None,
        ids: Sequence[str | None] | None,
        vectors: Sequence[Sequence[float]],
    ) -> tuple[list[Record], list[str]]:
        n = len(text_list)
        if metadatas is not None and len(metadatas) != n:
            raise ValueError(f"got {len(metadatas)} metadatas for {n} texts")
        if ids is not None and len(ids) != n:
            raise ValueError(f"got {len(ids)} ids for {n} texts")
        out_ids = [i if i is not None else str(uuid.uuid4()) for i in (ids or [None] * n)]
        by_id: dict[str, Record] = {}  # one call naming an id twice: the last one wins
        for i, (rid, text, vector) in enumerate(zip(out_ids, text_list, vectors, strict=True)):
            meta = dict(metadatas[i] or {}) if metadatas is not None else {}
            by_id.pop(rid, None)
            by_id[rid] = Record(id=rid, vector=vector, text=text, metadata=meta)
        return list(by_id.values()), out_ids

    def _batches(self, records: list[Record]) -> Iterable[list[Record]]:
        for start in range(0, len(records), self.batch_size):
            yield records[start : start + self.batch_size]

    @staticmethod
    def _document(hit: Hit | Record) -> Document:
        return Document(id=hit.id, page_content=hit.text or "", metadata=dict(hit.metadata or {}))

    @staticmethod
    def _search_kwargs(kwargs: dict[str, Any]) -> FilterLike:
        flt: FilterLike = kwargs.pop("filter", None)
        if kwargs:
            raise TypeError(
                f"unexpected search argument(s): {', '.join(sorted(kwargs))} (vecctx takes `filter`)"
            )
        return flt

    def _search_args(
        self, vector: Sequence[float], k: int, flt: FilterLike, with_vectors: bool
    ) -> SearchOptions:
        return SearchOptions(
            vector=vector,
            k=k,
            filter=to_vecctx_filter(flt),
            params=self.search_params,
            with_vectors=with_vectors,
        )

    def _search(
        self, vector: Sequence[float], k: int, flt: FilterLike, *, with_vectors: bool = False
    ) -> list[Hit]:
        args = self._search_args(vector, k, flt, with_vectors)
        try:
            return self.store.search(self.collection, **args)
        except CollectionNotFoundError:  # not created yet: nothing to find
            return []

    async def _asearch(
        self, vector: Sequence[float], k: int, flt: FilterLike, *, with_vectors: bool = False
    ) -> list[Hit]:
        args = self._search_args(vector, k, flt, with_vectors)
        try:
            return await self._native.search(self.collection, **args)
        except CollectionNotFoundError:
            return []

    def _search_text(self, query: str, k: int, kwargs: dict[str, Any]) -> list[Hit]:
        flt = self._search_kwargs(kwargs)  # checked before the embedding call
        return self._search(self.embedding.embed_query(query), k, flt)

    async def _asearch_text(self, query: str, k: int, kwargs: dict[str, Any]) -> list[Hit]:
        flt = self._search_kwargs(kwargs)
        return await self._asearch(await self.embedding.aembed_query(query), k, flt)

    # -- writes -----------------------------------------------------------------------------
    def add_texts(
        self, texts: Iterable[str], metadatas: Metadatas = None, *, ids: Ids = None, **kwargs: Any
    ) -> list[str]:
        """Embed and upsert; returns the ids (generated as UUID4 strings where not given)."""
        text_list = self._text_list(texts, kwargs)
        if not text_list:
            return []
        vectors = self.embedding.embed_documents(text_list)
        records, out_ids = self._records(text_list, metadatas, ids, vectors)
        self._ensure(len(vectors[0]))
        for batch in self._batches(records):
            try:
                self.store.upsert(self.collection, batch)
            except CollectionNotFoundError:  # dropped since we created it: create it again
                self._ready = False
                self._ensure(len(vectors[0]))
                self.store.upsert(self.collection, batch)
        return out_ids

    @_native_async
    async def aadd_texts(
        self, texts: Iterable[str], metadatas: Metadatas = None, *, ids: Ids = None, **kwargs: Any
    ) -> list[str]:
        text_list = self._text_list(texts, kwargs)
        if not text_list:
            return []
        vectors = await self.embedding.aembed_documents(text_list)
        records, out_ids = self._records(text_list, metadatas, ids, vectors)
        await self._aensure(len(vectors[0]))
        for batch in self._batches(records):
            try:
                await self._native.upsert(self.collection, batch)
            except CollectionNotFoundError:  # dropped since we created it: create it again
                self._ready = False
                await self._aensure(len(vectors[0]))
                await self._native.upsert(self.collection, batch)
        return out_ids

    def delete(self, ids: Ids = None, **kwargs: Any) -> bool | None:
        """Delete by ids, by ``filter=`` (a dict or vecctx filter), or both (either matches).

        Unlike some LangChain stores, no ids and no filter deletes nothing and raises
        ``ValueError``: drop everything with :meth:`delete_collection`.
        """
        flt = to_vecctx_filter(self._search_kwargs(kwargs))
        if ids is None and flt is None:
            raise ValueError("delete needs ids or a filter; delete_collection() drops everything")
        with contextlib.suppress(CollectionNotFoundError):  # no collection yet: nothing to delete
            self.store.delete(self.collection, ids=list(ids) if ids is not None else None, filter=flt)
        return True

    @_native_async
    async def adelete(self, ids: Ids = None, **kwargs: Any) -> bool | None:
        flt = to_vecctx_filter(self._search_kwargs(kwargs))
        if ids is None and flt is None:
            raise ValueError("delete needs ids or a filter; delete_collection() drops everything")
        with contextlib.suppress(CollectionNotFoundError):
            await self._native.delete(self.collection, ids=list(ids) if ids is not None else None, filter=flt)
        return True

    def delete_collection(self) -> None:
        """Drop the whole collection (it is created again by the next write)."""
        self.store.drop_collection(self.collection, missing_ok=True)
        self._ready = False

    async def adelete_collection(self) -> None:
        if self.async_store is None:
            self.delete_collection()
            return
        await self._native.drop_collection(self.collection, missing_ok=True)
        self._ready = False

    # -- reads ------------------------------------------------------------------------------
    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The documents for the ids that exist, in the order asked (each id once)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        try:
            records = self.store.get(self.collection, wanted)
        except CollectionNotFoundError:
            return []
        return [self._document(r) for r in records]

    @_native_async
    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        try:
            records = await self._native.get(self.collection, wanted)
        except CollectionNotFoundError:
            return []
        return [self._document(r) for r in records]

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, **kwargs)]

    @_native_async
    async def asimilarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        return [doc for doc, _ in await self.asimilarity_search_with_score(query, k, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Documents with vecctx's raw score in the metric's unit: cosine similarity or dot
        product (higher is closer), or Euclidean distance (lower is closer). For a score in
        [0, 1] whatever the metric, use :meth:`similarity_search_with_relevance_scores`."""
        return [(self._document(h), h.score) for h in self._search_text(query, k, kwargs)]

    @_native_async
    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        return [(self._document(h), h.score) for h in await self._asearch_text(query, k, kwargs)]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        return [self._document(h) for h in self._search(embedding, k, self._search_kwargs(kwargs))]

    @_native_async
    async def asimilarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        return [self._document(h) for h in await self._asearch(embedding, k, self._search_kwargs(kwargs))]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        kind = score_kind(self.metric)
        return lambda score: relevance_of(kind, score)

    def _similarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """vecctx's ``Hit.relevance``: in [0, 1], higher is better, the same scale on every backend."""
        return [(self._document(h), h.relevance) for h in self._search_text(query, k, kwargs)]

    @_native_async
    async def _asimilarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        return [(self._document(h), h.relevance) for h in await self._asearch_text(query, k, kwargs)]

    @staticmethod
    def _mmr(query: Sequence[float], hits: list[Hit], k: int, lambda_mult: float) -> list[Document]:
        if not hits:
            return []
        if not 0.0 <= lambda_mult <= 1.0:
            raise ValueError("lambda_mult must be in [0, 1]")
        vectors = np.stack([np.asarray(h.vector, dtype=np.float32) for h in hits])
        order = mmr_order(np.asarray(query, dtype=np.float32), vectors, k, lambda_mult)
        return [VecctxVectorStore._document(hits[i]) for i in order]

    def max_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any
    ) -> list[Document]:
        """``fetch_k`` nearest documents (with their vectors), then ``k`` of them chosen by
        maximal marginal relevance (cosine similarities, as LangChain's MMR)."""
        return self.max_marginal_relevance_search_by_vector(
            self.embedding.embed_query(query), k, fetch_k, lambda_mult, **kwargs
        )

    @_native_async
    async def amax_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any
    ) -> list[Document]:
        vector = await self.embedding.aembed_query(query)
        return await self.amax_marginal_relevance_search_by_vector(vector, k, fetch_k, lambda_mult, **kwargs)

    def max_marginal_relevance_search_by_vector(
        self, embedding: list[float], k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any
    ) -> list[Document]:
        hits = self._search(embedding, max(k, fetch_k), self._search_kwargs(kwargs), with_vectors=True)
        return self._mmr(embedding, hits, k, lambda_mult)

    @_native_async
    async def amax_marginal_relevance_search_by_vector(
        self, embedding: list[float], k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any
    ) -> list[Document]:
        hits = await self._asearch(embedding, max(k, fetch_k), self._search_kwargs(kwargs), with_vectors=True)
        return self._mmr(embedding, hits, k, lambda_mult)

    # -- construction and lifetime ----------------------------------------------------------
    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: Metadatas = None,
        *,
        ids: Ids = None,
        store: VectorStore | str | None = None,
        collection: str = DEFAULT_COLLECTION,
        **kwargs: Any,
    ) -> Self:
        """A store holding ``texts``. ``store`` is a vecctx store or URL; without one, vecctx's
        default (``$VECCTX_STORE``, else embedded Qdrant in ``./.vecctx/qdrant``). Other
        keyword arguments go to the constructor."""
        vs = cls(store if store is not None else default_url(), collection, embedding, **kwargs)
        vs.add_texts(texts, metadatas, ids=ids)
        return vs

    @classmethod
    async def afrom_texts(
        cls, texts: list[str], embedding: Embeddings, metadatas: Metadatas = None, **kwargs: Any
    ) -> Self:
        """As :meth:`from_texts` (the same arguments); the writes go through the native async store
        where there is one (opening a store from a URL is synchronous)."""
        ids = kwargs.pop("ids", None)
        vs = cls.from_texts([], embedding, **kwargs)  # opens the store, writes nothing
        await vs.aadd_texts(texts, metadatas, ids=ids)
        return vs

    def close(self) -> None:
        """Close the stores this object opened from a URL (never a store passed in). In async
        code use :meth:`aclose`: an async store is closed inside its own event loop. Outside
        any event loop, this closes an async store it opened too (in a new loop)."""
        owned_async, self._owned_async = self._owned_async, []
        try:
            if owned_async:
                try:
                    asyncio.get_running_loop()
                except RuntimeError:
                    asyncio.run(_close_all(owned_async))
                else:
                    self._owned_async = owned_async
                    warnings.warn(
                        "VecctxVectorStore.close() inside an event loop leaves its async store open: "
                        "await aclose() instead",
                        ResourceWarning,
                        stacklevel=2,
                    )
        finally:
            owned, self._owned = self._owned, []
            for store in owned:
                store.close()
            super().close()

    async def aclose(self) -> None:
        """Close every store this object opened from a URL, async and sync."""
        owned_async, self._owned_async = self._owned_async, []
        try:
            await _close_all(owned_async)
        finally:
            self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def _close_all(stores: list[AsyncVectorStore]) -> None:
    errors: list[BaseException] = []
    for astore in stores:
        try:
            await astore.close()
        except Exception as exc:  # close the others all the same, then raise the first failure
            errors.append(exc)
    if errors:
        raise errors[0]


def _open_async(url: str, store: VectorStore) -> AsyncVectorStore | None:
    """vecctx's natively async store over the data ``store`` (opened from ``url``) holds, if any."""
    scheme = scheme_of(url)
    if scheme == "memory":
        return AsyncMemoryStore(store) if isinstance(store, MemoryStore) else None
    if scheme in _UNPAIRED_SCHEMES:
        return None
    try:
        return connect_async(url)
    except ConfigError:  # the backend has no native async client (Qdrant Edge, embedded Chroma)
        return None


__all__ = ["DEFAULT_COLLECTION", "VecctxVectorStore"]
