"""The ``*_async`` twins of this package's methods: the synchronous method on a worker thread
(vecctx's embedded backends are synchronous)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def on_worker_thread(method: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``<name>_async``: awaits ``method`` run by ``asyncio.to_thread``, with the same signature
    (``inspect.signature`` follows ``__wrapped__``: Haystack finds ``run_async``'s inputs there)."""

    @functools.wraps(method)
    async def twin(*args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, *args, **kwargs)

    twin.__name__ = f"{method.__name__}_async"
    twin.__qualname__ = f"{method.__qualname__}_async"
    twin.__doc__ = f"As :meth:`{method.__name__}`, on a worker thread."
    return twin


__all__ = ["on_worker_thread"]
