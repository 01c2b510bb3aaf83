"""Milvus Lite in this process: one gRPC server per data directory, shared by every store
that opens it, released when the last one closes (which flushes and frees the LOCK)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import Future
from typing import Any

from vecctx.contract.errors import ConfigError, StoreLockedError

_lock = threading.Lock()
_refs: dict[str, int] = {}


def _manager() -> Any:
    try:
        from milvus_lite.server_manager import server_manager_instance  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "milvus:///path needs Milvus Lite: pip install 'vecctx-milvus[lite]' (milvus-lite)"
        ) from exc
    return server_manager_instance


def _locked_elsewhere(path: str) -> bool:
    import fcntl

    try:
        fd = os.open(os.path.join(path, "LOCK"), os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # closing the descriptor unlocks
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def acquire(path: str) -> str:
    """Start (or reuse) the Milvus Lite server for ``path``; return its ``http://`` URI."""
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise ConfigError(f"cannot open Milvus Lite at {path!r}: directory {parent!r} does not exist")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(f"cannot open Milvus Lite at {path!r}: it is a file, not a data directory")
    manager = _manager()
    with _lock:
        uri: str | None = manager.start_and_get_uri(path)
        if uri is None:
            if _locked_elsewhere(path):
                raise StoreLockedError(path, "Milvus Lite holds one data directory per process")
            raise ConfigError(f"Milvus Lite failed to open {path!r} (see the milvus_lite log)")
        _refs[path] = _refs.get(path, 0) + 1
        return uri


def release(path: str) -> None:
    """Drop one reference; the last one stops the server (flushing data to disk)."""
    path = os.path.abspath(path)
    with _lock:
        n = _refs.get(path, 0) - 1
        if n > 0:
            _refs[path] = n
            return
        _refs.pop(path, None)
    _manager().release_server(path)


def background_done(path: str, database: str, collection: str) -> Future[None] | None:
    """A future done when Milvus Lite's background work (compaction, index builds) queued so far
    for ``collection`` is; ``None`` when Lite runs elsewhere or its internals are not 3.2's."""
    try:
        entry = _manager()._servers.get(os.path.abspath(path))
        if entry is None:
            return None
        col = entry[1].get_collection(collection, database_name=database or "default")
        if col._bg_closed:
            return None
        fut: Future[None] = col._bg_executor.submit(lambda: None)
    except Exception:
        return None
    return fut


def wait_for_background(path: str, database: str, collection: str) -> None:
    """Block until :func:`background_done` completes (at most 10 minutes)."""
    fut = background_done(path, database, collection)
    if fut is not None:
        with contextlib.suppress(Exception):
            fut.result(timeout=600)


async def await_background(path: str, database: str, collection: str) -> None:
    """:func:`wait_for_background` without blocking the event loop."""
    fut = background_done(path, database, collection)
    if fut is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.wrap_future(fut), 600)


__all__ = ["acquire", "await_background", "background_done", "release", "wait_for_background"]
