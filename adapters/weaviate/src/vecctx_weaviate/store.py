"""The synchronous Weaviate store (weaviate-client v4: REST for the schema, gRPC for data)."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import weaviate
from weaviate.classes.config import Reconfigure
from weaviate.classes.init import AdditionalConfig, Auth, Timeout
from weaviate.classes.query import FilterReturn, MetadataQuery
from weaviate.collections import Collection
from weaviate.connect import ConnectionParams

from vecctx.base import StoreBase, check_compatible
from vecctx.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    InvalidInputError,
    TransientBackendError,
    VecctxError,
)
from vecctx.filters import Filter, as_filter
from vecctx.store import Capabilities, FilterArg, Fusion, SearchParams, SearchRequest
from vecctx.types import CollectionSpec, Hit, Record, SparseVector, VectorLike
from vecctx.validation import validate_ids, validate_k, validate_records, validate_search, validate_vector
from vecctx_weaviate._core import (
    ID_CHUNK,
    NOT_VERSION,
    SCHEMA_REFRESH_SECONDS,
    CollState,
    TextFusion,
    batch_errors,
    capabilities,
    check_alpha,
    check_flat_cutoff,
    check_query_text,
    chunks,
    fused_hit_from,
    hits_from,
    ids_filter,
    match_all,
    needs_flat_search,
    new_property,
    parse_version,
    prepare_objects,
    record_from,
    state_from_config,
    text_fusion,
    wanted_ef,
)
from vecctx_weaviate.config import WeaviateConfig, parse_url
from vecctx_weaviate.errors import BACKEND_EXCEPTIONS, status_of, translate
from vecctx_weaviate.filters import FilterCompiler
from vecctx_weaviate.schema import (
    ID_ONLY_PROPS,
    PAYLOAD_PROPS,
    PROP_TEXT,
    VECTOR_NAME,
    class_config,
    class_name,
)

T = TypeVar("T")


def additional_config(config: WeaviateConfig) -> AdditionalConfig:
    if config.timeout is not None:
        timeout = Timeout(init=config.init_timeout, query=config.timeout, insert=config.timeout)
    else:
        timeout = Timeout(init=config.init_timeout)
    return AdditionalConfig(timeout=timeout)


def connection_params(config: WeaviateConfig) -> ConnectionParams:
    return ConnectionParams.from_params(
        http_host=config.http_host,
        http_port=config.http_port,
        http_secure=config.http_secure,
        grpc_host=config.grpc_host,
        grpc_port=config.grpc_port,
        grpc_secure=config.grpc_secure,
    )


class WeaviateStore(StoreBase):
    """A :class:`~vecctx.store.VectorStore` on a Weaviate server.

    Open it with ``vecctx.connect("weaviate://host:8080")`` or :meth:`from_url`. The client is
    created with weaviate-client's start-up checks skipped (they include a request to PyPI);
    instead the store checks that both the REST and the gRPC endpoints answer.
    """

    def __init__(self, config: WeaviateConfig) -> None:
        self._config = config
        self._lock = threading.RLock()
        self._states: dict[str, CollState] = {}
        self._handles: dict[str, Collection[Any, Any]] = {}
        client = weaviate.WeaviateClient(
            connection_params=connection_params(config),
            auth_client_secret=Auth.api_key(config.api_key) if config.api_key else None,
            additional_config=additional_config(config),
            skip_init_checks=True,
        )
        try:
            client.connect()
            version = str(client.get_meta().get("version", "0"))
            with contextlib.redirect_stdout(io.StringIO()):  # is_live() prints its failures
                live = client.is_live()
        except BACKEND_EXCEPTIONS as exc:
            with contextlib.suppress(*BACKEND_EXCEPTIONS):
                client.close()
            raise self._error(exc, f"connect to {config.url}") from exc
        if not live:
            with contextlib.suppress(*BACKEND_EXCEPTIONS):
                client.close()
            raise TransientBackendError(
                f"Weaviate at {config.url} answered over REST but its gRPC endpoint "
                f"({config.grpc_host}:{config.grpc_port}) did not: check ?grpc_port="
            )
        self._client = client
        self._version = parse_version(version)
        self._native_not = self._version >= NOT_VERSION
        self._caps = capabilities(self._version, async_native=True)

    @classmethod
    def from_url(cls, url: str) -> WeaviateStore:
        return cls(parse_url(url))

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"WeaviateStore({self._config.url!r}, {state})"

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def server_version(self) -> tuple[int, int, int]:
        return self._version

    @property
    def client(self) -> weaviate.WeaviateClient:
        """The underlying weaviate-client (for what vecctx does not cover)."""
        self._check_open()
        return self._client

    # -- plumbing ----------------------------------------------------------------------
    def _error(self, exc: BaseException, doing: str) -> VecctxError:
        return translate(exc, doing, self._config.api_key)

    def _call(self, doing: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BACKEND_EXCEPTIONS as exc:
            raise self._error(exc, doing) from exc

    def _collection(self, state: CollState) -> Collection[Any, Any]:
        # weaviate-client builds a thread pool per Collection object: keep one per class
        handle = self._handles.get(state.cls)
        if handle is None:
            handle = self._handles[state.cls] = self._client.collections.use(state.cls)
        return handle

    def _load(self, name: str) -> CollState | None:
        """Read the class for ``name`` from the server (``None`` when absent or not ours)."""
        cls = class_name(name)
        try:
            config = self._client.collections.use(cls).config.get()
        except BACKEND_EXCEPTIONS as exc:
            if status_of(exc) == 404:
                return None
            raise self._error(exc, f"read the schema of {name!r}") from exc
        state = state_from_config(config)
        if state is None or state.spec.name != name:
            return None
        return state

    def _state(self, name: str) -> CollState:
        self._check_open()
        if not isinstance(name, str):
            raise InvalidInputError(f"collection name must be a string, got {type(name).__name__}")
        with self._lock:
            state = self._states.get(name)
        if state is not None:
            return state
        state = self._load(name)
        if state is None:
            raise CollectionNotFoundError(name)
        with self._lock:
            self._states[name] = state
        return state

    def _refresh(self, state: CollState) -> CollState:
        fresh = self._load(state.spec.name)
        if fresh is None:
            with self._lock:
                self._states.pop(state.spec.name, None)
            raise CollectionNotFoundError(state.spec.name)
        with self._lock:
            self._states[state.spec.name] = fresh
        return fresh

    def _on_failure(self, state: CollState, exc: BaseException, doing: str) -> VecctxError:
        """Translate ``exc``; a collection dropped behind our back becomes CollectionNotFoundError."""
        with self._lock:
            self._states.pop(state.spec.name, None)
        try:
            gone = self._load(state.spec.name) is None
        except VecctxError:
            gone = False
        if gone:
            return CollectionNotFoundError(state.spec.name)
        return self._error(exc, doing)

    def _run(self, state: CollState, doing: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BACKEND_EXCEPTIONS as exc:
            raise self._on_failure(state, exc, doing) from exc

    def _compile(self, state: CollState, flt: Filter | None) -> tuple[CollState, FilterReturn | bool]:
        """Compile against the cached schema (memoised per collection). When the filter names
        typed properties the cache lacks, re-read the schema (at most once a second) in case
        another writer added them; such results are not memoised."""
        if flt is None:
            return state, True
        key = repr(flt)
        cached = state.compiled.get(key)
        if cached is not None:
            return state, cached
        compiler = FilterCompiler(state.properties, native_not=self._native_not)
        compiled = compiler.compile(flt)
        if compiler.missing(flt):
            if time.monotonic() - state.refreshed > SCHEMA_REFRESH_SECONDS:
                state = self._refresh(state)
                compiled = FilterCompiler(state.properties, native_not=self._native_not).compile(flt)
            return state, compiled
        if len(state.compiled) >= 512:
            state.compiled.clear()
        state.compiled[key] = compiled
        return state, compiled

    def _set_ef(self, state: CollState, ef: int | None) -> None:
        target = wanted_ef(state, ef)
        if target is None:
            return
        config = Reconfigure.Vectors.update(
            name=VECTOR_NAME, vector_index_config=Reconfigure.VectorIndex.hnsw(ef=target)
        )
        self._run(
            state,
            f"set ef={target} on {state.spec.name!r}",
            self._collection(state).config.update,
            vector_config=config,
        )
        state.ef = target

    # -- collections -------------------------------------------------------------------
    def create_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        body = class_config(spec)
        if self._load(spec.name) is not None or self._call(
            f"check for {spec.name!r}", self._client.collections.exists, body["class"]
        ):
            raise ConfigError(f"collection {spec.name!r} already exists (Weaviate class {body['class']})")
        self._call(f"create collection {spec.name!r}", self._client.collections.create_from_dict, body)
        state = self._load(spec.name)  # with the defaults the server filled in
        if state is None:
            raise BackendError(f"Weaviate did not keep the class {body['class']} it was asked to create")
        with self._lock:
            self._states[spec.name] = state

    def ensure_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        existing = self._load(spec.name)
        if existing is None:
            self.create_collection(spec)
            return
        check_compatible(existing.spec, spec)
        with self._lock:
            self._states[spec.name] = existing

    def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self._check_open()
        with self._lock:
            self._states.pop(name, None)
        if self._load(name) is None:
            if missing_ok:
                return
            raise CollectionNotFoundError(name)
        self._call(f"drop collection {name!r}", self._client.collections.delete, class_name(name))

    def has_collection(self, name: str) -> bool:
        self._check_open()
        return self._load(name) is not None

    def list_collections(self) -> list[str]:
        self._check_open()
        configs = self._call("list collections", self._client.collections.list_all, simple=True)
        names: list[str] = []
        for config in configs.values():
            try:
                state = state_from_config(config)
            except BackendError:
                continue
            if state is not None:
                names.append(state.spec.name)
        return sorted(names)

    def collection_spec(self, name: str) -> CollectionSpec:
        return self._state(name).spec

    # -- writes ------------------------------------------------------------------------
    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        state = self._state(collection)
        matrix = validate_records(records, state.spec)
        if not len(records):
            return
        objects, kinds = prepare_objects(records, matrix)
        state = self._ensure_properties(state, kinds)
        handle = self._collection(state)
        for chunk in chunks(objects, self._config.batch):
            result = self._run(state, f"upsert into {collection!r}", handle.data.insert_many, list(chunk))
            if result.has_errors:
                raise BackendError(
                    f"Weaviate rejected {len(result.errors)} of {len(chunk)} objects in "
                    f"{collection!r}: {self._config.scrub(batch_errors(result.errors, chunk))}"
                )

    def _ensure_properties(self, state: CollState, kinds: dict[str, Any]) -> CollState:
        missing = sorted(name for name in kinds if name not in state.properties)
        if not missing:
            return state
        handle = self._collection(state)
        for name in missing:
            if name in state.properties:
                continue
            try:
                handle.config.add_property(new_property(name, kinds[name]))
            except BACKEND_EXCEPTIONS as exc:
                # another writer may have added it meanwhile
                state = self._refresh(state)
                if name not in state.properties:
                    raise self._error(exc, f"add property {name!r} to {state.spec.name!r}") from exc
                handle = self._collection(state)
                continue
            with self._lock:
                state.properties.add(name)
            state.compiled.clear()
        return state

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None) -> None:
        flt = as_filter(filter)
        self._caps.require_ops(flt)  # before any I/O
        id_list = validate_ids(ids) if ids is not None else []
        state = self._state(collection)
        state, compiled = self._compile(state, flt)
        handle = self._collection(state)
        targets: list[FilterReturn | bool] = [ids_filter(c) for c in chunks(id_list, ID_CHUNK)]
        if flt is not None and compiled is not False:
            targets.append(compiled)  # True (matches everything) only from a real filter
        for target in targets:
            self._delete_matching(state, handle, target)

    def _delete_matching(
        self, state: CollState, handle: Collection[Any, Any], target: FilterReturn | bool
    ) -> None:
        where = match_all() if target is True else target
        assert not isinstance(where, bool)
        for _ in range(100_000):
            result = self._run(
                state, f"delete from {state.spec.name!r}", handle.data.delete_many, where=where, verbose=False
            )
            if result.failed:
                raise BackendError(
                    f"Weaviate failed to delete {result.failed} objects from {state.spec.name!r}"
                )
            if result.matches == 0 or result.successful == 0:
                return

    # -- reads -------------------------------------------------------------------------
    def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        state = self._state(collection)
        wanted = validate_ids(ids)
        handle = self._collection(state)
        found: dict[str, Record] = {}
        unique = list(dict.fromkeys(wanted))
        for chunk in chunks(unique, ID_CHUNK):
            res = self._run(
                state,
                f"get from {collection!r}",
                handle.query.fetch_objects,
                filters=ids_filter(chunk),
                limit=len(chunk),
                include_vector=[VECTOR_NAME] if with_vectors else False,
                return_properties=PAYLOAD_PROPS,
            )
            for obj in res.objects:
                rec = record_from(obj, with_vectors=with_vectors)
                found[rec.id] = rec
        return [_copy(found[i]) for i in wanted if i in found]

    def count(self, collection: str, *, filter: FilterArg = None) -> int:
        flt = as_filter(filter)
        self._caps.require_ops(flt)  # before any I/O
        state = self._state(collection)
        state, compiled = self._compile(state, flt)
        if compiled is False:
            return 0
        return self._count_compiled(state, compiled)

    def _count_compiled(self, state: CollState, compiled: FilterReturn | bool) -> int:
        res = self._run(
            state,
            f"count {state.spec.name!r}",
            self._collection(state).aggregate.over_all,
            filters=None if compiled is True else compiled,
            total_count=True,
        )
        return int(res.total_count or 0)

    def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> Iterator[Record]:
        flt = as_filter(filter)
        self._caps.require_ops(flt)  # before any I/O
        state = self._state(collection)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")
        state, compiled = self._compile(state, flt)
        return self._scroll(state, compiled, batch_size, with_vectors)

    def _scroll(
        self, state: CollState, compiled: FilterReturn | bool, batch_size: int, with_vectors: bool
    ) -> Iterator[Record]:
        if compiled is False:
            return
        handle = self._collection(state)
        include: list[str] | bool = [VECTOR_NAME] if with_vectors else False
        if compiled is True:
            # the cursor API: stable over any number of objects, but it takes no filter
            after: Any = None
            while True:
                self._check_open()
                res = self._run(
                    state,
                    f"scroll {state.spec.name!r}",
                    handle.query.fetch_objects,
                    limit=batch_size,
                    after=after,
                    include_vector=include,
                    return_properties=PAYLOAD_PROPS,
                )
                for obj in res.objects:
                    self._check_open()
                    yield record_from(obj, with_vectors=with_vectors)
                if len(res.objects) < batch_size:
                    return
                after = res.objects[-1].uuid
        # filtered: offset pages (Weaviate caps offset + limit at QUERY_MAXIMUM_RESULTS, 10,000 by default)
        offset = 0
        while True:
            self._check_open()
            res = self._run(
                state,
                f"scroll {state.spec.name!r} with a filter",
                handle.query.fetch_objects,
                limit=batch_size,
                offset=offset,
                filters=compiled,
                include_vector=include,
                return_properties=PAYLOAD_PROPS,
            )
            for obj in res.objects:
                self._check_open()
                yield record_from(obj, with_vectors=with_vectors)
            if len(res.objects) < batch_size:
                return
            offset += batch_size

    def optimize(self, collection: str) -> None:
        """Wait until Weaviate's (possibly asynchronous) vector indexing has caught up."""
        state = self._state(collection)
        handle = self._collection(state)
        deadline = time.monotonic() + self._config.index_timeout
        delay = 0.05
        while True:
            shards = self._run(state, f"read the shards of {collection!r}", handle.config.get_shards)
            if all(s.vector_queue_size == 0 and s.status in ("READY", "READONLY") for s in shards):
                return
            if time.monotonic() > deadline:
                raise TransientBackendError(
                    f"Weaviate was still indexing {collection!r} after {self._config.index_timeout} s"
                )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

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
        self._caps.require_ops(as_filter(filter))  # before any I/O
        state = self._state(collection)
        q, flt, p = validate_search(
            state.spec, vector=vector, sparse=sparse, filter=filter, k=k, params=params
        )
        assert q is not None  # sparse-only search was rejected: the collections have no sparse vectors
        state, compiled = self._compile(state, flt)
        if compiled is False:
            return []
        if needs_flat_search(state, p.exact):
            check_flat_cutoff(state, self._count_compiled(state, compiled))
            if compiled is True:
                compiled = match_all()
        else:
            self._set_ef(state, p.ef)
        res = self._run(
            state,
            f"search {collection!r}",
            self._collection(state).query.near_vector,
            near_vector=q.tolist(),
            target_vector=VECTOR_NAME,
            limit=k,
            filters=None if compiled is True else compiled,
            include_vector=[VECTOR_NAME] if with_vectors else False,
            return_metadata=MetadataQuery(distance=True),
            return_properties=PAYLOAD_PROPS if with_payload else ID_ONLY_PROPS,
        )
        metric = state.spec.metric
        return hits_from(res.objects, metric, with_payload=with_payload, with_vectors=with_vectors)

    def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        return super().search_batch(collection, requests)

    def hybrid(
        self,
        collection: str,
        *,
        query: str,
        vector: VectorLike | None = None,
        alpha: float = 0.5,
        fusion: TextFusion | Fusion = TextFusion.RELATIVE_SCORE,
        filter: FilterArg = None,
        k: int = 10,
        with_payload: bool = True,
        with_vectors: bool = False,
    ) -> list[Hit]:
        """Weaviate's native hybrid search: BM25 over the record texts fused with vector search.

        ``alpha`` weighs the vector side (1 = vector only, 0 = BM25 only). Without ``vector``
        Weaviate would need a vectorizer: vecctx collections have none, so give the query's
        embedding. ``fusion`` is Weaviate's ``ranked`` (RRF-like) or ``relative_score``
        (min-max normalised, convex); hits carry ``ScoreKind.RRF`` or ``ScoreKind.CONVEX``.
        """
        flt = as_filter(filter)
        self._caps.require_ops(flt)  # before any I/O
        state = self._state(collection)
        text = check_query_text(query)
        weight = check_alpha(alpha)
        validate_k(k)
        mode = text_fusion(fusion)
        if vector is None and weight > 0.0:
            raise InvalidInputError("hybrid search with alpha > 0 needs the query vector (no vectorizer)")
        q = validate_vector(vector, state.spec.dimension) if vector is not None else None
        state, compiled = self._compile(state, flt)
        if compiled is False:
            return []
        res = self._run(
            state,
            f"hybrid search {collection!r}",
            self._collection(state).query.hybrid,
            query=text,
            alpha=weight,
            vector=q.tolist() if q is not None else None,
            query_properties=[PROP_TEXT],
            fusion_type=mode.native,
            target_vector=VECTOR_NAME if q is not None else None,
            limit=k,
            filters=None if compiled is True else compiled,
            include_vector=[VECTOR_NAME] if with_vectors else False,
            return_metadata=MetadataQuery(score=True),
            return_properties=PAYLOAD_PROPS if with_payload else ID_ONLY_PROPS,
        )
        return [
            fused_hit_from(o, mode, with_payload=with_payload, with_vectors=with_vectors) for o in res.objects
        ]

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(*BACKEND_EXCEPTIONS):
            self._client.close()


def _copy(record: Record) -> Record:
    return Record(
        id=record.id,
        vector=record.vector,
        text=record.text,
        metadata=dict(record.metadata),
        sparse=record.sparse,
    )


def open_store(url: str) -> WeaviateStore:
    """Entry point for ``vecctx.adapters``: ``weaviate://``, ``weaviate+http://``, ``weaviate+https://``."""
    return WeaviateStore.from_url(url)


__all__ = ["WeaviateStore", "open_store"]
