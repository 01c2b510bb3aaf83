"""Plumbing shared by adapters: context management, closed checks, ``ensure_collection``.

Adapters may subclass :class:`StoreBase`; it is part of the public API so third-party
adapters get the same behaviour. It holds no backend logic.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self, cast

from vecctx.errors import ConfigError, StoreClosedError
from vecctx.store import SearchRequest
from vecctx.types import CollectionSpec, Hit

if TYPE_CHECKING:
    from vecctx.store import VectorStore


class StoreBase:
    """Mixin for synchronous stores. Subclasses implement the :class:`VectorStore` methods."""

    _closed: bool = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"{type(self).__name__} is closed")

    # The concrete adapter provides these; declared here for typing only.
    def has_collection(self, name: str) -> bool:
        raise NotImplementedError

    def collection_spec(self, name: str) -> CollectionSpec:
        raise NotImplementedError

    def create_collection(self, spec: CollectionSpec) -> None:
        raise NotImplementedError

    def ensure_collection(self, spec: CollectionSpec) -> None:
        self._check_open()
        if self.has_collection(spec.name):
            check_compatible(self.collection_spec(spec.name), spec)
        else:
            self.create_collection(spec)

    def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        store = cast("VectorStore", self)
        return [
            store.search(
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
            for r in requests
        ]

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def check_compatible(existing: CollectionSpec, wanted: CollectionSpec) -> None:
    """Raise ``ConfigError`` when an existing collection cannot serve ``wanted``."""
    if not existing.compatible_with(wanted):
        raise ConfigError(
            f"collection {wanted.name!r} exists with dimension={existing.dimension}, "
            f"metric={existing.metric.value}, sparse={existing.sparse}; asked for "
            f"dimension={wanted.dimension}, metric={wanted.metric.value}, sparse={wanted.sparse}"
        )


__all__ = ["StoreBase", "check_compatible"]
