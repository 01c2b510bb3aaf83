"""The synchronous Milvus store (``milvus:///file.db`` for Milvus Lite, ``milvus://host:port``
for a server)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

from vecctx.base import StoreBase
from vecctx.errors import CollectionNotFoundError, ConfigError, InvalidInputError, TransientBackendError
from vecctx.filters import Filter, as_filter
from vecctx.retry import RetryPolicy
from vecctx.store import Capabilities, FilterArg, Fusion, SearchParams, SearchRequest
from vecctx.types import CollectionSpec, Hit, Record, SparseVector, VectorLike
from vecctx.validation import validate_ids, validate_records, validate_search
from vecctx_milvus import common as c
from vecctx_milvus import lite
from vecctx_milvus.config import MilvusConfig, parse_url
from vecctx_milvus.filters import quote

T = TypeVar("T")


class MilvusStore(StoreBase):
    """vecctx store over Milvus Lite or a Milvus server (see the package README)."""

    def __init__(self, config: MilvusConfig) -> None:
        from pymilvus import MilvusClient  # type: ignore[import-untyped]

        self.config = config
        self._specs: dict[str, CollectionSpec] = {}
        self._unflushed: dict[str, int] = {}
        self._lite_path: str | None = None
        if config.lite_path is not None:
            uri = lite.acquire(config.lite_path)
            self._lite_path = config.lite_path
        else:
            assert config.uri is not None
            uri = config.uri
        kwargs: dict[str, Any] = {"uri": uri, "token": config.token, "db_name": config.db_name}
        if config.timeout is not None:
            kwargs["timeout"] = config.timeout
        for key in ("ca_pem_path", "client_pem_path", "client_key_path", "server_pem_path", "server_name"):
            value = getattr(config, key)
            if value is not None:
                kwargs[key] = value
        if config.secure:
            kwargs["secure"] = True
        self._client_kwargs = kwargs
        self._reconnect_lock = threading.Lock()
        self._last_reconnect = 0.0
        #: How many times a new client replaced one whose calls kept failing transiently.
        self.reconnects = 0
        try:
            self._client = self._call("connect", None, lambda: MilvusClient(**kwargs))
            version = str(self._call("connect", None, lambda: self._client.get_server_version()))
        except BaseException:
            if self._lite_path is not None:
                lite.release(self._lite_path)
            raise
        #: Milvus Lite's ``upsert`` merges fields into the old row, which would keep stale
        #: filter fields; its ``insert`` of an existing id replaces the row (newest version
        #: wins). A Milvus server's ``upsert`` replaces the whole row.
        self._replace_by_insert = version.startswith("milvus_lite")
        self.server_version = version

    @classmethod
    def from_url(cls, url: str) -> MilvusStore:
        return cls(parse_url(url))

    @property
    def capabilities(self) -> Capabilities:
        return c.CAPABILITIES

    def __repr__(self) -> str:
        return f"MilvusStore({self.config.describe()}, closed={self._closed})"

    # -- plumbing -----------------------------------------------------------------------
    def _call(
        self, action: str, collection: str | None, fn: Callable[[], T], *, idempotent: bool = True
    ) -> T:
        """Run one client call, translating errors.

        A transient failure (connection refused or reset, UNAVAILABLE, a server restarting, the
        server's GOAWAY "Too many pings" against pymilvus's 10 s keepalive) is retried per the
        store's :class:`~vecctx.retry.RetryPolicy` (``config.retry``) when the call is
        idempotent (reads; writes replace by id), at most ``len(RETRY_DELAYS) + 1`` times
        otherwise (create/drop). A collection found released (after a server restart, or by
        another client's optimize) is loaded and the call run again. ``fn`` must look up
        ``self._client`` when it runs: a retry may follow a reconnect."""
        reloads = 0

        def attempt() -> T:
            nonlocal reloads
            while True:
                try:
                    return fn()
                except Exception as exc:
                    if collection is not None and reloads < 3 and c.not_loaded(exc):
                        reloads += 1
                        self._load(collection)
                        continue
                    err = c.translate(exc, action, collection)
                    if isinstance(err, CollectionNotFoundError) and collection is not None:
                        self._forget(collection)
                    if err is exc:
                        raise
                    raise err from exc

        policy: RetryPolicy = self.config.retry
        if not idempotent:
            policy = policy.with_max_attempts(len(c.RETRY_DELAYS) + 1)
        what = f"milvus {action}" + (f" on collection {collection!r}" if collection is not None else "")
        return policy.call(
            attempt,
            operation=what,
            target=self.config.describe(),
            on_retry=self._on_retry,
            redact=(self.config.token,) if self.config.token else (),
        )

    def _invoke(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``self._client.<method>(...)``, the client looked up at call time."""
        return getattr(self._client, method)(*args, **kwargs)

    def _on_retry(self, err: TransientBackendError, failures: int) -> None:
        """Before the third and later retries of a call, replace the client (pymilvus
        re-dials its channel on UNAVAILABLE by itself; this covers a channel it gave up on)."""
        if failures >= 3 and self._lite_path is None and not self._closed:
            self._reconnect()

    def _reconnect(self) -> None:
        from pymilvus import MilvusClient

        with self._reconnect_lock:
            now = time.monotonic()
            if now - self._last_reconnect < 2.0 or not hasattr(self, "_client"):
                return  # another thread just did it
            self._last_reconnect = now
            try:
                new = MilvusClient(**self._client_kwargs)
            except Exception:
                return  # still down: the next retry tries again
            old, self._client = self._client, new
            self.reconnects += 1
        with contextlib.suppress(Exception):  # closing a dead client may fail
            old.close()

    def _forget(self, name: str) -> None:
        self._specs.pop(name, None)
        self._unflushed.pop(name, None)

    def _spec(self, name: str) -> CollectionSpec:
        self._check_open()
        spec = self._specs.get(name)
        if spec is not None:
            return spec
        mname = c.milvus_name(name)
        desc = self._call("describe_collection", name, lambda: self._client.describe_collection(mname))
        spec = c.spec_from_description(desc, name)
        # A reopened Milvus Lite (or a restarted server) holds collections released; load is
        # a no-op when already loaded.
        self._call("load_collection", name, lambda: self._load(name))
        self._specs[name] = spec
        return spec

    def _before_read(self, name: str) -> None:
        pending = self._unflushed.get(name, 0)
        if pending and pending >= self.config.flush_threshold:
            mname = c.milvus_name(name)
            self._call("flush", name, lambda: self._client.flush(mname))
            self._unflushed[name] = 0

    def _wrote(self, name: str, n: int) -> None:
        self._unflushed[name] = self._unflushed.get(name, 0) + n

    # -- collections --------------------------------------------------------------------
    def create_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        c.check_index_params(spec)
        mname = c.milvus_name(spec.name)
        if self._call("has_collection", spec.name, lambda: self._client.has_collection(mname)):
            raise ConfigError(f"collection {spec.name!r} already exists")
        schema, index = c.build_schema(spec)
        self._call(
            "create_collection",
            spec.name,
            lambda: self._client.create_collection(
                mname,
                schema=schema,
                consistency_level="Strong",
                properties={c.SPEC_PROPERTY: c.spec_to_property(spec)},
            ),
            idempotent=False,
        )
        # sync=False: do not poll for the build (an empty collection has nothing to build,
        # and pymilvus's poll sleeps 0.5 s per index); load right away.
        self._call("create_index", spec.name, lambda: self._client.create_index(mname, index, sync=False))
        self._call("load_collection", spec.name, lambda: self._client.load_collection(mname))
        self._specs[spec.name] = spec
        self._unflushed[spec.name] = 0

    def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        self._check_open()
        mname = c.milvus_name(name)
        self._forget(name)
        if not self._call("has_collection", name, lambda: self._client.has_collection(mname)):
            if missing_ok:
                return
            raise CollectionNotFoundError(name)
        self._call("drop_collection", name, lambda: self._client.drop_collection(mname), idempotent=False)

    def has_collection(self, name: str) -> bool:
        self._check_open()
        mname = c.milvus_name(name)
        return bool(self._call("has_collection", name, lambda: self._client.has_collection(mname)))

    def list_collections(self) -> list[str]:
        self._check_open()
        names = self._call("list_collections", None, lambda: self._client.list_collections())
        return sorted(c.vecctx_name(n) for n in names)

    def collection_spec(self, name: str) -> CollectionSpec:
        return self._spec(name)

    # -- writes -------------------------------------------------------------------------
    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        spec = self._spec(collection)
        matrix = validate_records(records, spec)
        if not len(records):
            return
        rows = c.build_rows(records, matrix, spec)
        mname = c.milvus_name(collection)
        write = "insert" if self._replace_by_insert else "upsert"
        for batch in c.batches(rows, spec.dimension):
            self._call("upsert", collection, partial(self._invoke, write, mname, batch))
            self._wrote(collection, len(batch))

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, filter: FilterArg = None) -> None:
        flt = as_filter(filter)
        expr = c.filter_expr(flt)
        id_list = validate_ids(ids) if ids is not None else []
        self._spec(collection)
        mname = c.milvus_name(collection)
        for start in range(0, len(id_list), c.IDS_PER_EXPR):
            chunk = id_list[start : start + c.IDS_PER_EXPR]
            self._call("delete", collection, partial(self._invoke, "delete", mname, filter=c.ids_expr(chunk)))
            self._wrote(collection, len(chunk))
        if flt is not None:
            self._call("delete", collection, lambda: self._client.delete(mname, filter=expr))
            self._wrote(collection, 1)

    # -- reads --------------------------------------------------------------------------
    def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        wanted = validate_ids(ids)
        spec = self._spec(collection)
        if not wanted:
            return []
        mname = c.milvus_name(collection)
        fields = c.record_fields(spec, with_vectors=with_vectors)
        found: dict[str, Record] = {}
        unique = list(dict.fromkeys(wanted))
        for start in range(0, len(unique), c.IDS_PER_EXPR):
            chunk = unique[start : start + c.IDS_PER_EXPR]
            rows = self._call(
                "get",
                collection,
                partial(self._invoke, "query", mname, filter=c.ids_expr(chunk), output_fields=fields),
            )
            for row in rows:
                found[row[c.ID]] = c.record_of(row, with_vectors=with_vectors)
        return [found[i] for i in wanted if i in found]

    def count(self, collection: str, *, filter: FilterArg = None) -> int:
        flt = as_filter(filter)
        expr = c.filter_expr(flt)
        self._spec(collection)
        self._before_read(collection)
        mname = c.milvus_name(collection)
        rows = self._call(
            "count",
            collection,
            lambda: self._client.query(mname, filter=expr, output_fields=["count(*)"]),
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def scroll(
        self,
        collection: str,
        *,
        filter: FilterArg = None,
        batch_size: int = 256,
        with_vectors: bool = False,
    ) -> Iterator[Record]:
        flt = as_filter(filter)
        expr = c.filter_expr(flt)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")
        spec = self._spec(collection)
        return self._scroll(collection, spec, expr, max(batch_size, c.MIN_SCROLL_PAGE), with_vectors)

    def _scroll(
        self, collection: str, spec: CollectionSpec, expr: str, page: int, with_vectors: bool
    ) -> Iterator[Record]:
        self._before_read(collection)
        mname = c.milvus_name(collection)
        fields = c.record_fields(spec, with_vectors=with_vectors)
        last: str | None = None
        page = min(page, c.MAX_LIMIT)
        while True:
            self._check_open()
            parts = [] if last is None else [f"{c.ID} > {quote(last)}"]
            if expr:
                parts.append(f"({expr})")
            where = " and ".join(parts)
            rows = self._call(
                "scroll",
                collection,
                partial(
                    self._invoke,
                    "query",
                    mname,
                    filter=where,
                    output_fields=fields,
                    limit=page,
                    iterator="True",
                ),
            )
            for row in rows:
                yield c.record_of(row, with_vectors=with_vectors)
            if len(rows) < page:
                return
            last = max(str(r[c.ID]) for r in rows)

    def optimize(self, collection: str) -> None:
        """Flush and build the indexes now.

        Milvus builds a segment's index in the background after a flush and searches it by
        brute force until then. This releases the collection, flushes, waits for Milvus
        Lite's background work when Lite runs in this process, and loads the collection,
        which builds every missing index before it returns. Other clients' searches on this
        collection fail while it is released.
        """
        self._spec(collection)
        mname = c.milvus_name(collection)
        self._call("release_collection", collection, lambda: self._client.release_collection(mname))
        try:
            self._call("flush", collection, lambda: self._client.flush(mname))
            self._unflushed[collection] = 0
            if self._lite_path is not None:
                lite.wait_for_background(self._lite_path, self.config.db_name, mname)
        finally:
            self._load(collection)

    def _load(self, collection: str) -> None:
        """Load, retrying while a Milvus Lite background index build is still writing the
        index file that load reads (a race inside Milvus Lite 3.2 when Lite runs in another
        process; in this process :meth:`optimize` waits for that build instead)."""
        mname = c.milvus_name(collection)
        delay, waited = 0.2, 0.0
        while True:
            try:
                self._client.load_collection(mname)
                return
            except Exception as exc:
                text = str(exc)
                if waited >= c.LOAD_RETRY_SECONDS or "not fully written" not in text:
                    err = c.translate(exc, "load_collection", collection)
                    raise err from exc
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 2.0)

    # -- search -------------------------------------------------------------------------
    def _row_count(self, collection: str) -> int:
        mname = c.milvus_name(collection)
        stats = self._call(
            "get_collection_stats", collection, lambda: self._client.get_collection_stats(mname)
        )
        return int(stats.get("row_count", 0))

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
        flt: Filter | None = as_filter(filter)
        expr = c.filter_expr(flt)
        c.check_fusion(vector, sparse, fusion)
        spec = self._spec(collection)
        q, _, p = validate_search(spec, vector=vector, sparse=sparse, filter=flt, k=k, params=params)
        if sparse is not None:
            c.query_sparse(sparse)  # Milvus's sparse rules, before any I/O
        self._before_read(collection)
        row_count = self._row_count(collection) if q is not None and c.needs_row_count(spec, p) else None
        plan = c.plan_search(
            spec,
            q,
            sparse,
            expr,
            k,
            p,
            with_payload=with_payload,
            with_vectors=with_vectors,
            row_count=row_count,
        )
        if plan.empty:
            return []
        mname = c.milvus_name(collection)
        if plan.reqs is not None:
            res = self._call(
                "hybrid_search",
                collection,
                lambda: self._client.hybrid_search(
                    mname, reqs=plan.reqs, ranker=plan.ranker, limit=plan.limit, output_fields=plan.fields
                ),
            )
        else:
            res = self._call(
                "search",
                collection,
                lambda: self._client.search(
                    mname,
                    data=plan.data,
                    anns_field=plan.anns_field,
                    filter=plan.expr,
                    limit=plan.limit,
                    output_fields=plan.fields,
                    search_params=plan.search_params,
                ),
            )
        return plan.hits(res[0])

    def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        """Dense-only requests sharing filter, k and settings go to Milvus as one multi-query
        search (Milvus Lite's per-call cost is mostly per call, not per query); the rest run
        one by one."""
        groups, singles = c.group_requests(requests)
        out: list[list[Hit]] = [[] for _ in requests]
        for i in singles:
            r = requests[i]
            out[i] = self.search(
                collection,
                vector=r.vector,
                sparse=r.sparse,
                filter=r.filter,
                k=r.k,
                params=r.params,
                fusion=r.fusion,
                with_payload=r.with_payload,
                with_vectors=r.with_vectors,
            )
        if not groups:
            return out
        spec = self._spec(collection)
        mname = c.milvus_name(collection)
        for expr, members in groups:
            first = requests[members[0]]
            qs = [
                validate_search(
                    spec, vector=requests[i].vector, sparse=None, filter=None, k=first.k, params=first.params
                )
                for i in members
            ]
            p = qs[0][2]
            self._before_read(collection)
            row_count = self._row_count(collection) if c.needs_row_count(spec, p) else None
            plan = c.plan_search(
                spec,
                qs[0][0],
                None,
                expr,
                first.k,
                p,
                with_payload=first.with_payload,
                with_vectors=first.with_vectors,
                row_count=row_count,
            )
            for start in range(0, len(members), c.NQ_PER_CALL):
                chunk = members[start : start + c.NQ_PER_CALL]
                data = [qs[start + j][0] for j in range(len(chunk))]
                res = self._call(
                    "search",
                    collection,
                    partial(
                        self._invoke,
                        "search",
                        mname,
                        data=data,
                        anns_field=plan.anns_field,
                        filter=plan.expr,
                        limit=plan.limit,
                        output_fields=plan.fields,
                        search_params=plan.search_params,
                    ),
                )
                for j, i in enumerate(chunk):
                    out[i] = plan.hits(res[j])
        return out

    # -- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._client.close()
        finally:
            if self._lite_path is not None:
                lite.release(self._lite_path)


def open_store(url: str) -> MilvusStore:
    """Entry point for ``milvus://``, ``milvus+http://`` and ``milvus+https://`` URLs."""
    return MilvusStore.from_url(url)


__all__ = ["MilvusStore", "open_store"]
