"""Closed state and the ``with`` / ``async with`` protocol, written once for every front, view
and wrapper that can be closed."""

from __future__ import annotations

from typing import Self

from vecctx.contract.errors import StoreClosedError


class Closable:
    """``closed``, and ``_check_open`` raising :class:`StoreClosedError` once closed."""

    _closed: bool = False

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"{self!r} is closed")


class ClosesOnExit:
    """``with obj:`` calls ``obj.close()`` on the way out (a model client, a stream)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClosesOnExit:
    """``async with obj:`` awaits ``obj.close()`` on the way out."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class ClosingContext(Closable, ClosesOnExit):
    """``with obj:`` closes ``obj`` on the way out, and ``closed`` tells it has been."""

    def close(self) -> None:
        self._closed = True


class AsyncClosingContext(Closable, AsyncClosesOnExit):
    """``async with obj:`` closes ``obj`` on the way out, and ``closed`` tells it has been."""

    async def close(self) -> None:
        self._closed = True


__all__ = ["AsyncClosesOnExit", "AsyncClosingContext", "Closable", "ClosesOnExit", "ClosingContext"]
