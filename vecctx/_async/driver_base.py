"""Defaults for a driver, written once: ``scripts/unasync.py`` generates the synchronous
``DriverBase`` in ``vecctx/_sync/driver_base.py`` from ``AsyncDriverBase`` here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from vecctx.contract.errors import BackendError, TransientBackendError, VecctxError
from vecctx.retry import RetryPolicy

if TYPE_CHECKING:
    from vecctx.contract.driver import CheckedSearch
    from vecctx.contract.types import CollectionSpec, Hit


class AsyncDriverBase:
    """Defaults: no secrets, the default retry policy, an unknown client error becomes a
    ``BackendError``, no native batch search, nothing to optimise, no reconnect, nothing to
    close."""

    secrets: Sequence[str] = ()
    retry: RetryPolicy = RetryPolicy()

    def translate(self, exc: Exception, action: str, collection: str | None) -> VecctxError:
        return BackendError(f"{action} failed: {type(exc).__name__}: {exc}", exc)

    async def search_batch(
        self, spec: CollectionSpec, queries: Sequence[CheckedSearch]
    ) -> list[list[Hit]] | None:
        return None

    async def optimize(self, spec: CollectionSpec) -> None:
        return None

    async def on_retry(self, err: TransientBackendError, failures: int) -> None:
        return None

    async def close(self) -> None:
        return None


__all__ = ["AsyncDriverBase"]
