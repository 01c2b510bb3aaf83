"""The retry loop, written once: ``scripts/unasync.py`` generates :func:`~vecctx.retry.call_with_retry`
(``vecctx/_sync/retry.py``) from :func:`acall_with_retry` here. The policy, the bookkeeping and
the error are in :mod:`vecctx.retry`, which exports both functions.
"""

# unasync: asyncio -> time

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from time import monotonic
from typing import TypeVar

from vecctx.contract.errors import TransientBackendError
from vecctx.retry import RetryPolicy, _Attempts

T = TypeVar("T")


async def acall_with_retry(
    fn: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    operation: str,
    target: str = "",
    on_retry: Callable[[TransientBackendError, int], Awaitable[None]] | None = None,
    redact: Sequence[str] = (),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = monotonic,
) -> T:
    """Call ``fn()``; on :class:`~vecctx.contract.errors.TransientBackendError` retry it per ``policy``.

    ``operation`` (e.g. ``"upsert into 'docs'"``) and ``target`` (the backend's URL without
    credentials) name the call in the error raised after the deadline; any string in
    ``redact`` (a token) is masked in that message and in the retry log. ``on_retry(error,
    failures)`` runs before each pause (a driver reconnects there); an error it raises is not
    retried. ``sleep`` and ``clock`` wait and tell the time (tests pass fakes). ``fn`` must be
    idempotent: it may have taken effect before its failure was seen.
    """
    start = clock()
    attempts: _Attempts | None = None  # made at the first failure: a call that succeeds needs none
    while True:
        try:
            return await fn()
        except TransientBackendError as exc:
            if attempts is None:
                attempts = _Attempts(
                    policy, operation=operation, target=target, redact=redact, clock=clock, start=start
                )
            if not attempts.retry(exc):
                raise
            if on_retry is not None:
                await on_retry(exc, attempts.failures)
            pause = attempts.pause()
            if pause > 0:
                await sleep(pause)


__all__ = ["acall_with_retry"]
