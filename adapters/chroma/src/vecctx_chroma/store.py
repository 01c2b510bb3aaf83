"""The synchronous Chroma store: embedded ``PersistentClient`` or ``HttpClient``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from vecctx.base import StoreBase
from vecctx.errors import CollectionNotFoundError, ConfigError
from vecctx.filters import as_filter
from vecctx.store import Capabilities, FilterArg, Fusion, SearchParams, SearchRequest
from vecctx.types import CollectionSpec, Hit, Record, SparseVector, VectorLike
from vecctx.validation import validate_ids, validate_records
from vecctx_chroma.common import (
    PAGE,
    ErrorTranslator,
    PreparedSearch,
    capabilities,
    check_batch_size,
    check_creatable,
    chroma_name,
    copy_record,
    creation_args,
    dimension_of,
    ef_search_of,
    exact_hits,
    exact_top_k,
    hits_from_query,
    is_already_exists,
    list_name,
    prepare_batch,
    prepare_search,
    prepare_upsert,
    records_from_get,
    spec_from_collection,
)
from vecctx_chroma.config import ChromaConfig, parse_url
from vecctx_chroma.filters import Where, compile_filter

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

T = TypeVar("T")


class _Handle:
    """A cached Chroma collection with its vecctx spec."""

    __slots__ = ("collection", "ef_search", "spec")

    def __init__(self, collection: Collection, spec: CollectionSpec, ef_search: int) -> None:
        self.collection = collection
        self.spec = spec
        self.ef_search = ef_search


class ChromaStore(StoreBase):
    """vecctx's :class:`~vecctx.store.VectorStore` on Chroma.

    Open it with :func:`vecctx.connect` (``chroma:///abs/path``, ``chroma+http://host:port``)
    or directly from a :class:`ChromaConfig`.
    """

    def __init__(self, config: ChromaConfig) -> None:
        self._config = config
        self._errors = ErrorTranslator(config.token, on_missing=self._forget)
        self._handles: dict[str, _Handle] = {}
        self._client: ClientAPI
        self._client, self._max_batch = self._retry("connect", None, self._open_client)
        self._caps = capabilities(max_batch=self._max_batch, async_native=config.mode == "http")

    @classmethod
    def from_url(cls, url: str) -> ChromaStore:
        return cls(parse_url(url))

    def _retry(self, action: str, collection: str | None, fn: Callable[[], T]) -> T:
        """Run an idempotent call, translating errors, and retry it on a transient failure
        (connection refused or reset, timeout) per the store's :class:`~vecctx.retry.RetryPolicy`.

        No reconnect is needed after a server restart: the HTTP client dials a new connection
        for each request that finds its pooled one dead (the failure is retried), and the
        collection's id survives a restart on the same data directory."""

        def attempt() -> T:
            with self._errors(action, collection):
                return fn()
            raise AssertionError("unreachable")  # pragma: no cover - _errors re-raises

        what = f"chroma {action}" + (f" on collection {collection!r}" if collection is not None else "")
        return self._config.retry.call(
            attempt,
            operation=what,
            target=self._config.display_url(),
            redact=(self._config.token,) if self._config.token else (),
        )

    def _open_client(self) -> tuple[ClientAPI, int]:
        client = self._connect()
        return client, int(client.get_max_batch_size())

    def _connect(self) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings

        cfg = self._config
        settings = Settings(anonymized_telemetry=False)
        with self._errors("connect"):
            if cfg.mode == "persistent":
                assert cfg.path is not None
                return chromadb.PersistentClient(
                    path=cfg.path, settings=settings, tenant=cfg.tenant, database=cfg.database
                )
            assert cfg.host is not None and cfg.port is not None
            return chromadb.HttpClient(
                host=cfg.host,
                port=cfg.port,
                ssl=cfg.ssl,
                headers=cfg.headers(),
                settings=settings,
                tenant=cfg.tenant,
                database=cfg.database,
            )

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def config(self) -> ChromaConfig:
        return self._config

    @property
    def client(self) -> ClientAPI:
        """The underlying chromadb client (for what vecctx does not cover)."""
        self._check_open()
        return self._client

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"ChromaStore({self._config.display_url()!r}, {state})"

    # -- collections -------------------------------------------------------------------
    def _handle(self, name: str) -> _Handle:
        self._check_open()
        handle = self._handles.get(name)
        if handle is not None:
            return handle
        if not isinstance(name, str) or not name:
            raise ConfigError(f"collection name must be a non-empty string, got {name!r}")

        def lookup() -> _Handle:
            col = self._client.get_collection(chroma_name(name), embedding_function=None)
            configuration = dict(col.configuration_json or {})
            spec = spec_from_collection(name, col.metadata, configuration, dimension_of(col))
            return _Handle(col, spec, ef_search_of(configuration))

        handle = self._retry("get_collection", name, lookup)
        self._handles[name] = handle
        return handle

    def _forget(self, name: str) -> None:
        self._handles.pop(name, None)

    def create_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        check_creatable(spec)
        configuration, metadata = creation_args(spec, self._config.ef_search)
        try:
            with self._errors("create_collection", spec.name):
                col = self._client.create_collection(
                    chroma_name(spec.name),
                    configuration=configuration,  # type: ignore[arg-type]
                    metadata=metadata,
                    embedding_function=None,
                )
        except Exception as exc:
            if is_already_exists(exc):
                raise ConfigError(f"collection {spec.name!r} already exists") from exc
            raise
        self._handles[spec.name] = _Handle(col, spec, ef_search_of(dict(col.configuration_json or {})))

    def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self._check_open()
        with contextlib.suppress(CollectionNotFoundError):
            self._purge(name)
        self._forget(name)
        try:
            with self._errors("delete_collection", name):
                self._client.delete_collection(chroma_name(name))
        except CollectionNotFoundError:
            if not missing_ok:
                raise

    def _purge(self, name: str) -> None:
        """Delete every record before the collection itself: chromadb 1.5 leaves list-valued
        metadata behind on ``delete_collection``, and a record of a later collection that gets
        the same internal row id inherits it (found by the differential fuzzer)."""
        col = self._handle(name).collection
        while True:
            ids = self._retry("get", name, partial(col.get, limit=self._max_batch, include=[]))["ids"]
            if not ids:
                return
            self._retry("delete", name, partial(col.delete, ids=list(ids)))

    def has_collection(self, name: str) -> bool:
        try:
            self._handle(name)
        except CollectionNotFoundError:
            return False
        return True

    def list_collections(self) -> list[str]:
        self._check_open()

        def listing() -> list[str]:
            return sorted(list_name(col.name, col.metadata) for col in self._client.list_collections())

        return self._retry("list_collections", None, listing)

    def collection_spec(self, name: str) -> CollectionSpec:
        return self._handle(name).spec

    # -- writes ------------------------------------------------------------------------
    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        h = self._handle(collection)
        matrix = validate_records(records, h.spec)
        if not len(records):
            return
        prepared = prepare_upsert(records, h.spec, matrix)
        col = h.collection

        def write(sl: slice, ids: list[str]) -> None:
            # idempotent as a whole: re-reading the old keys and upserting by id again
            old = col.get(ids=ids, include=["metadatas"])
            existing = dict(zip(old["ids"], old["metadatas"] or [], strict=False))
            col.upsert(
                ids=ids,
                embeddings=prepared.vectors[sl],
                metadatas=prepared.clear_stale_keys(sl, existing),  # type: ignore[arg-type]
                documents=prepared.documents[sl],
            )

        for sl, ids in prepared.batches(self._max_batch):
            self._retry("upsert", collection, partial(write, sl, ids))

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None) -> None:
        h = self._handle(collection)
        flt = as_filter(filter)
        self._caps.require_ops(flt)
        where = compile_filter(flt)
        id_list = validate_ids(ids) if ids is not None else []
        col = h.collection
        for start in range(0, len(id_list), self._max_batch):
            self._retry(
                "delete", collection, partial(col.delete, ids=id_list[start : start + self._max_batch])
            )
        if where is not None:
            self._retry("delete", collection, partial(col.delete, where=where))

    # -- reads -------------------------------------------------------------------------
    def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        h = self._handle(collection)
        wanted = validate_ids(ids)
        unique = list(dict.fromkeys(wanted))
        found: dict[str, Record] = {}
        include: list[Any] = ["metadatas", "documents"] + (["embeddings"] if with_vectors else [])
        for start in range(0, len(unique), self._max_batch):
            res = self._retry(
                "get",
                collection,
                partial(h.collection.get, ids=unique[start : start + self._max_batch], include=include),
            )
            found.update(records_from_get(res, with_vectors=with_vectors))
        return [copy_record(found[i]) for i in wanted if i in found]

    def count(self, collection: str, *, filter: FilterArg = None) -> int:
        h = self._handle(collection)
        flt = as_filter(filter)
        self._caps.require_ops(flt)
        where = compile_filter(flt)
        if where is None:
            return int(self._retry("count", collection, h.collection.count))
        total = 0
        for page in self._pages(h, collection, where, [], PAGE):
            total += len(page["ids"])
        return total

    def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> Iterator[Record]:
        h = self._handle(collection)
        check_batch_size(batch_size)
        flt = as_filter(filter)
        self._caps.require_ops(flt)
        where = compile_filter(flt)
        include: list[Any] = ["metadatas", "documents"] + (["embeddings"] if with_vectors else [])
        return self._scroll(h, collection, where, include, batch_size, with_vectors)

    def _scroll(
        self, h: _Handle, name: str, where: Where | None, include: list[Any], size: int, vectors: bool
    ) -> Iterator[Record]:
        for page in self._pages(h, name, where, include, size):
            yield from records_from_get(page, with_vectors=vectors).values()

    def _pages(
        self, h: _Handle, name: str, where: Where | None, include: list[Any], size: int
    ) -> Iterator[Any]:
        offset = 0
        while True:
            self._check_open()
            page = self._retry(
                "get",
                name,
                partial(h.collection.get, where=where, limit=size, offset=offset, include=include),
            )
            yield page
            n = len(page["ids"])
            if n < size:
                return
            offset += n

    def optimize(self, collection: str) -> None:
        """Nothing to do: Chroma indexes as it ingests."""
        self._handle(collection)

    def search(
        self,
        collection: str,
        *,
        vector: VectorLike | None = None,
        sparse: SparseVector | None = None,
        filter: FilterArg = None,
        k: int = 10,
        params: SearchParams | None = None,
        fusion: Fusion = Fusion.RRF,
        with_payload: bool = True,
        with_vectors: bool = False,
    ) -> list[Hit]:
        h = self._handle(collection)
        req = prepare_search(
            h.spec,
            h.ef_search,
            vector=vector,
            sparse=sparse,
            filter=filter,
            k=k,
            params=params,
            with_payload=with_payload,
            with_vectors=with_vectors,
        )
        if req.exact:
            return self._exact(h, collection, req)
        return self._query(h, collection, [req])[0]

    def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        h = self._handle(collection)
        prepared = prepare_batch(h.spec, h.ef_search, requests)
        out: list[list[Hit]] = [[] for _ in prepared]
        groups: dict[str, list[int]] = {}
        for i, req in enumerate(prepared):
            if req.exact:
                out[i] = self._exact(h, collection, req)
            else:
                groups.setdefault(req.group_key(), []).append(i)
        for members in groups.values():
            results = self._query(h, collection, [prepared[i] for i in members])
            for i, hits in zip(members, results, strict=True):
                out[i] = hits
        return out

    def _query(self, h: _Handle, name: str, reqs: list[PreparedSearch]) -> list[list[Hit]]:
        first = reqs[0]
        res = self._retry(
            "query",
            name,
            partial(
                h.collection.query,
                query_embeddings=np.stack([r.query for r in reqs]),
                n_results=first.k,
                where=first.where,
                include=first.include(distances=True),
            ),
        )
        return [
            hits_from_query(
                res,
                row,
                h.spec.metric,
                with_payload=first.with_payload,
                with_vectors=first.with_vectors,
            )
            for row in range(len(reqs))
        ]

    def _exact(self, h: _Handle, name: str, req: PreparedSearch) -> list[Hit]:
        """Brute force over every (natively filtered) record's vector, fetched page by page."""
        ids: list[str] = []
        chunks = []
        for page in self._pages(h, name, req.where, ["embeddings"], PAGE):
            if page["ids"]:
                ids.extend(page["ids"])
                chunks.append(np.asarray(page["embeddings"], dtype=np.float32))
        if not ids:
            return []
        ranked = exact_top_k(h.spec.metric, req.query, ids, np.concatenate(chunks), req.k)
        records: dict[str, Record] = {}
        if req.with_payload or req.with_vectors:
            top = [rid for rid, _ in ranked]
            include: list[Any] = ["metadatas", "documents"] + (["embeddings"] if req.with_vectors else [])
            res = self._retry("get", name, partial(h.collection.get, ids=top, include=include))
            records = records_from_get(res, with_vectors=req.with_vectors)
        return exact_hits(
            ranked, records, h.spec.metric, with_payload=req.with_payload, with_vectors=req.with_vectors
        )

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._handles.clear()
        close = getattr(self._client, "close", None)  # chromadb's Client has it, ClientAPI does not
        if callable(close):
            with self._errors("close"):
                close()


def open_store(url: str) -> ChromaStore:
    """Entry point for ``chroma://``, ``chroma+http://`` and ``chroma+https://``."""
    return ChromaStore(parse_url(url))


__all__ = ["ChromaStore", "open_store"]
