"""Opening and closing chromadb's clients: the only places where its synchronous and async
clients differ, so the driver itself is written once (:mod:`vecctx_chroma._async.driver`).
An embedded store's directory is locked while a client has it open, as Qdrant Edge and
Milvus Lite lock theirs: chromadb takes no lock, and a second process would write into it."""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from typing import TYPE_CHECKING, Any

from vecctx.contract.errors import ConfigError, StoreLockedError
from vecctx_chroma.config import ChromaConfig

if TYPE_CHECKING:
    from chromadb.api import AsyncClientAPI, ClientAPI


def open_client(config: ChromaConfig) -> ClientAPI:
    """An embedded ``PersistentClient`` or an ``HttpClient`` (which talks to the server at once)."""
    import chromadb

    if config.mode == "http":
        return chromadb.HttpClient(**_args(config))
    assert config.path is not None
    lock_directory(config.path)
    try:
        return chromadb.PersistentClient(**_args(config))
    except BaseException:
        unlock_directory(config.path)
        raise


async def aopen_client(config: ChromaConfig) -> AsyncClientAPI:
    """An ``AsyncHttpClient``, bound to the running event loop."""
    import chromadb

    return await chromadb.AsyncHttpClient(**_args(require_http(config)))


def require_http(config: ChromaConfig) -> ChromaConfig:
    """``config`` if it names a server: Chroma's embedded client has no async API, and vecctx
    never hides a thread pool behind an async one."""
    if config.mode != "http":
        raise ConfigError(
            "Chroma's embedded client has no async API: use chroma+http:// for the async store, "
            "or the sync store for chroma:///path"
        )
    return config


def _args(config: ChromaConfig) -> dict[str, Any]:
    """The arguments of a chromadb client (telemetry off) for ``config``."""
    from chromadb.config import Settings

    args = {
        "settings": Settings(anonymized_telemetry=False),
        "tenant": config.tenant,
        "database": config.database,
    }
    if config.mode == "http":
        args.update(host=config.host, port=config.port, ssl=config.ssl, headers=config.headers())
    else:
        args["path"] = config.path
    return args


def close_client(client: ClientAPI) -> None:
    """Close the client; an embedded one also drops its hold on the directory's lock."""
    close = getattr(client, "close", None)  # chromadb's Client has it, ClientAPI does not
    try:
        if callable(close):
            close()
    finally:
        settings = client.get_settings()
        if settings.is_persistent:  # embedded, not over HTTP
            unlock_directory(str(settings.persist_directory))


#: Directory -> (the descriptor holding its lock, how many clients in this process hold it).
_held: dict[str, tuple[int, int]] = {}
_held_guard = threading.Lock()
LOCK_FILE = ".vecctx.lock"


def lock_directory(path: str) -> None:
    """Hold ``<path>/.vecctx.lock`` (an exclusive, non-blocking ``flock``) for this process:
    another process opening the store gets :class:`StoreLockedError`; clients in this process
    share it (chromadb shares one system per directory), and the last one to close drops it."""
    with _held_guard:
        fd, holders = _held.get(path, (-1, 0))
        if not holders:
            try:
                os.makedirs(path, exist_ok=True)
                fd = os.open(os.path.join(path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ConfigError(f"cannot open the Chroma store directory {path!r}: {exc.strerror}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                raise StoreLockedError(path, f"{LOCK_FILE} is held: {exc.strerror}") from exc
        _held[path] = (fd, holders + 1)


def unlock_directory(path: str) -> None:
    """Drop one hold on ``path``'s lock (the last one releases it)."""
    with _held_guard:
        fd, holders = _held.pop(path, (-1, 0))
        if holders > 1:
            _held[path] = (fd, holders - 1)
        elif holders == 1:
            os.close(fd)  # closing the descriptor drops the flock


async def aclose_client(client: AsyncClientAPI) -> None:
    """Close the httpx client chromadb opened for the running event loop (it keeps one per loop
    in a class-level table, opens a new one when needed, and has no close on its async client)."""
    table = getattr(type(getattr(client, "_server", None)), "_clients", None)
    if isinstance(table, dict):
        http = table.pop(hash(asyncio.get_running_loop()), None)
        if http is not None:
            await http.aclose()


__all__ = ["aclose_client", "aopen_client", "close_client", "open_client", "require_http"]
