"""Tenant scoping: many tenants share one collection, each sees and changes only its own records.

``vecctx.scoped(store, tenant="acme")`` wraps any :class:`~vecctx.contract.store.VectorStore` (or, for a
natively async store, any :class:`~vecctx.contract.store.AsyncVectorStore`) in a view that implements
the same protocol and confines every call to one tenant:

* **Tag.** ``upsert`` writes ``metadata[field] = tenant`` (``field`` is ``"_tenant"`` unless
  configured). A record that already carries that key with any other value (another tenant's
  name, a list, a number...) fails the whole batch with :class:`~vecctx.contract.errors.InvalidInputError`
  before anything is written.
* **Guard.** ``F(field) == tenant`` is AND-ed into the filter of every ``count``, ``scroll``,
  ``search``, ``search_batch`` and filter ``delete``. A user filter that reads the tenant field
  raises :class:`~vecctx.contract.errors.InvalidFilterError` before any I/O: the field is reserved.
  Because the guard is the outer AND, no ``|``, ``~``, ``$or``, ``nin``, ``ne`` or ``exists``
  inside the user's filter can widen the result beyond the tenant.
* **Id namespace.** A user id ``x`` is stored as ``tenant_prefix(tenant) + x`` where the prefix
  is ``"t" + hex(utf8(tenant)) + ":"``. Hex digits never hold ``:``, so no tenant's prefix is a
  prefix of another's: whatever characters a user id holds, two tenants' stored ids never
  collide, and one tenant cannot address (get, overwrite, delete) another's record by id.
  Returned records and hits carry the user's id again.
* **Ownership on the way out.** ``get`` returns only records whose stored id has the tenant's
  prefix *and* whose tag equals the tenant; ``delete(ids=...)`` deletes only such records (it
  reads them first). Records, hits and scrolls that fail the check are dropped, never returned
  (a hit searched with ``with_payload=False`` has no tag, so only its id prefix is checked;
  ``count`` sees no ids and counts by the tag alone). The check matters only for records an
  unscoped writer put in the collection, or should a backend mis-apply a filter.
* **Hidden tag.** Returned metadata never holds the tenant field.

Collections are shared by every tenant. ``create_collection``/``ensure_collection`` through a
scope add the tenant field to ``indexed_fields`` as a keyword (a payload index where the backend
builds one, e.g. Qdrant); a collection created elsewhere keeps the indexes it was created with.
``has_collection``, ``list_collections``, ``collection_spec`` and ``optimize`` pass through.
A scope cannot drop a collection (that would delete every tenant's data):
``drop_collection`` raises :class:`~vecctx.contract.errors.UnsupportedFeatureError`.
Closing a scope closes the view only; the wrapped store belongs to the caller.

Not hidden by a scope: collection names and specs, and statistics a backend computes over the
whole collection (e.g. the IDF of Qdrant's sparse vectors, which weights a tenant's sparse
scores by term frequencies across every tenant).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, overload

from vecctx.contract.errors import ConfigError, InvalidFilterError, InvalidInputError, UnsupportedFeatureError
from vecctx.contract.filters import MAX_FILTER_DEPTH, Cmp, Filter, Op, as_filter
from vecctx.contract.store import AsyncVectorStore, FilterArg, SearchRequest, VectorStore
from vecctx.contract.types import CollectionSpec, FieldType, Hit, Record
from vecctx.contract.validation import validate_ids

#: The metadata key holding the tenant, unless a scope is given another.
DEFAULT_TENANT_FIELD = "_tenant"
#: Longest tenant accepted, in UTF-8 bytes (the id prefix is twice as long).
MAX_TENANT_BYTES = 256

_CACHE_SIZE = 256
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tenant_prefix(tenant: str) -> str:
    """The prefix of every id stored for ``tenant``: ``"t" + hex(utf8(tenant)) + ":"``.

    Useful to administer a shared collection without a scope; ``prefix + user_id`` is the
    stored id.
    """
    return "t" + _check_tenant(tenant).encode("utf-8").hex() + ":"


def _check_tenant(tenant: object) -> str:
    if not isinstance(tenant, str) or not tenant:
        raise InvalidInputError(f"tenant must be a non-empty string, got {tenant!r}")
    value = str.__str__(tenant)  # an exact str, whatever subclass was given
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInputError("tenant must be valid Unicode (it holds a lone surrogate)") from None
    if size > MAX_TENANT_BYTES:
        raise InvalidInputError(f"tenant is {size} bytes in UTF-8, over the {MAX_TENANT_BYTES}-byte limit")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidInputError(f"tenant {value!r} holds a control character")
    return value


def _check_field(field: object) -> str:
    if not isinstance(field, str) or not _FIELD.fullmatch(field):
        raise ConfigError(
            f"tenant field must be a top-level metadata key of letters, digits and '_' "
            f"(not starting with a digit), got {field!r}"
        )
    return field


class _Scope:
    """The translation between a tenant's view and the shared store, for both wrappers."""

    __slots__ = ("_combined", "field", "guard", "plen", "prefix", "tenant")

    def __init__(self, tenant: object, field: object) -> None:
        self.tenant = _check_tenant(tenant)
        self.field = _check_field(field)
        self.prefix = tenant_prefix(self.tenant)
        self.plen = len(self.prefix)
        self.guard: Filter = Cmp(self.field, Op.EQ, self.tenant)
        #: id(user filter) -> (user filter, guarded filter), for filter objects a service
        #: sends again and again. Keyed by identity, not equality: dataclass equality holds
        #: ``F(k) == 1`` equal to ``F(k) == True``, which the filter semantics tell apart.
        self._combined: dict[int, tuple[Filter, Filter]] = {}

    # -- into the store --------------------------------------------------------------------
    def filter(self, user: FilterArg) -> Filter:
        """The user's filter AND the tenant guard; rejects filters that read the tenant field."""
        flt = as_filter(user)
        if flt is None:
            return self.guard
        hit = self._combined.get(id(flt))
        if hit is not None and hit[0] is flt:
            return hit[1]
        if flt.depth >= MAX_FILTER_DEPTH:  # the guard takes the outermost level
            raise InvalidFilterError(
                f"a tenant view takes filters nested at most {MAX_FILTER_DEPTH - 1} levels of "
                f"$and/$or/$not deep (the tenant guard is one more), this one is {flt.depth}",
                "$",
            )
        field = self.field
        read = flt.keys()
        for key in read:
            if key == field or key.startswith(field + "."):
                raise InvalidFilterError(
                    f"the key {key!r} is reserved for tenant scoping and cannot be filtered on in a scope",
                    f"$.{key}",
                )
        done = self.guard & flt
        if len(self._combined) >= _CACHE_SIZE:
            self._combined.clear()
        self._combined[id(flt)] = (flt, done)  # holding flt keeps its id from being reused
        return done

    def optional_filter(self, user: FilterArg) -> Filter | None:
        """As :meth:`filter`, but ``None`` (no filter at all) stays ``None``."""
        flt = as_filter(user)
        return None if flt is None else self.filter(flt)

    def ids(self, ids: Sequence[str]) -> list[str]:
        prefix = self.prefix
        return [prefix + i for i in validate_ids(ids)]

    def records(self, records: Sequence[Record]) -> list[Record]:
        """Tag and namespace a batch; raise before anything is written when one is invalid."""
        if isinstance(records, Record) or not isinstance(records, Sequence):
            raise InvalidInputError("upsert takes a sequence of records")
        field, tenant, prefix = self.field, self.tenant, self.prefix
        out: list[Record] = []
        for n, r in enumerate(records):
            if not isinstance(r, Record):
                raise InvalidInputError(f"item {n} is a {type(r).__name__}, not a Record")
            if not isinstance(r.id, str) or not r.id:
                raise InvalidInputError(f"record {n}: id must be a non-empty string, got {r.id!r}")
            meta = r.metadata
            if not isinstance(meta, Mapping):
                raise InvalidInputError(f"record {r.id!r}: metadata must be a mapping")
            if field in meta:
                tag = meta[field]
                if type(tag) is not str or tag != tenant:
                    raise InvalidInputError(
                        f"record {r.id!r}: metadata key {field!r} is reserved for the tenant and "
                        f"holds {tag!r}, not this scope's tenant; nothing was written"
                    )
            tagged = dict(meta)
            tagged[field] = tenant
            out.append(
                Record(id=prefix + r.id, vector=r.vector, text=r.text, metadata=tagged, sparse=r.sparse)
            )
        return out

    def spec(self, spec: CollectionSpec) -> CollectionSpec:
        """``spec`` with the tenant field declared as an indexed keyword."""
        if not isinstance(spec, CollectionSpec):
            raise InvalidInputError("a collection spec must be a CollectionSpec")
        declared = spec.indexed_fields.get(self.field)
        if declared is FieldType.KEYWORD:
            return spec
        if declared is not None:
            raise ConfigError(
                f"indexed field {self.field!r} is the tenant field and must be a keyword, "
                f"not {declared.value}"
            )
        return dataclasses.replace(
            spec, indexed_fields={**spec.indexed_fields, self.field: FieldType.KEYWORD}
        )

    def requests(self, requests: Sequence[SearchRequest]) -> list[SearchRequest]:
        if not isinstance(requests, Sequence):
            raise InvalidInputError("search_batch takes a sequence of SearchRequest")
        out = []
        for n, r in enumerate(requests):
            if not isinstance(r, SearchRequest):
                raise InvalidInputError(f"request {n} is a {type(r).__name__}, not a SearchRequest")
            out.append(dataclasses.replace(r, filter=self.filter(r.filter)))
        return out

    # -- out of the store ------------------------------------------------------------------
    def owns(self, record: Record) -> bool:
        tag = record.metadata.get(self.field) if isinstance(record.metadata, Mapping) else None
        return record.id.startswith(self.prefix) and type(tag) is str and tag == self.tenant

    def _strip(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        stripped = dict(meta)
        stripped.pop(self.field, None)
        return stripped

    def record(self, record: Record) -> Record | None:
        if not self.owns(record):
            return None
        return Record(
            id=record.id[self.plen :],
            vector=record.vector,
            text=record.text,
            metadata=self._strip(record.metadata),
            sparse=record.sparse,
        )

    def hits(self, hits: list[Hit]) -> list[Hit]:
        """Keep the tenant's hits, with user ids and without the tag. The backend built these
        hits for this call, so they are updated in place (no copy on the hot path); were a
        hit ever handed out twice, its stripped id would fail the prefix check: it would be
        dropped, never leaked."""
        out: list[Hit] = []
        prefix, plen, field, tenant = self.prefix, self.plen, self.field, self.tenant
        for h in hits:
            if not h.id.startswith(prefix):
                continue
            meta = h.metadata
            if meta is not None:
                tag = meta.get(field)
                if type(tag) is not str or tag != tenant:
                    continue
                stripped = dict(meta)
                del stripped[field]
                h.metadata = stripped
            h.id = h.id[plen:]
            out.append(h)
        return out

    def __repr__(self) -> str:
        return f"tenant={self.tenant!r}, field={self.field!r}"


def _drop_refused(name: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"a tenant scope cannot drop collection {name!r}: collections are shared by every tenant; "
        "drop it on the unscoped store"
    )


# The store wrappers are written once (vecctx/_async/scoped.py, with its generated synchronous
# twin); both use _Scope above, so they are imported after it.
from vecctx._async.scoped import AsyncTenantScopedStore  # noqa: E402
from vecctx._sync.scoped import TenantScopedStore  # noqa: E402


@overload
def scoped(store: VectorStore, *, tenant: str, field: str = DEFAULT_TENANT_FIELD) -> TenantScopedStore: ...


@overload
def scoped(
    store: AsyncVectorStore, *, tenant: str, field: str = DEFAULT_TENANT_FIELD
) -> AsyncTenantScopedStore: ...


def scoped(
    store: VectorStore | AsyncVectorStore, *, tenant: str, field: str = DEFAULT_TENANT_FIELD
) -> TenantScopedStore | AsyncTenantScopedStore:
    """A view of ``store`` confined to ``tenant``: see :mod:`vecctx.scoped`.

    Returns an :class:`AsyncTenantScopedStore` when ``store`` is natively async (its ``search``
    is a coroutine function), else a :class:`TenantScopedStore`.
    """
    if inspect.iscoroutinefunction(getattr(store, "search", None)):
        return AsyncTenantScopedStore(store, tenant=tenant, field=field)  # type: ignore[arg-type]
    return TenantScopedStore(store, tenant=tenant, field=field)  # type: ignore[arg-type]


__all__ = [
    "DEFAULT_TENANT_FIELD",
    "MAX_TENANT_BYTES",
    "AsyncTenantScopedStore",
    "TenantScopedStore",
    "scoped",
    "tenant_prefix",
]
