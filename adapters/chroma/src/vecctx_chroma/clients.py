"""Opening and closing chromadb's clients: the only places where its synchronous and async
clients differ, so the driver itself is written once (:mod:`vecctx_chroma._async.driver`)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from vecctx.contract.errors import ConfigError
from vecctx_chroma.config import ChromaConfig

if TYPE_CHECKING:
    from chromadb.api import AsyncClientAPI, ClientAPI


def open_client(config: ChromaConfig) -> ClientAPI:
    """An embedded ``PersistentClient`` or an ``HttpClient`` (which talks to the server at once)."""
    import chromadb

    if config.mode == "persistent":
        return chromadb.PersistentClient(**_args(config))
    return chromadb.HttpClient(**_args(config))


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
    close = getattr(client, "close", None)  # chromadb's Client has it, ClientAPI does not
    if callable(close):
        close()


async def aclose_client(client: AsyncClientAPI) -> None:
    """Close the httpx client chromadb opened for the running event loop (it keeps one per loop
    in a class-level table, opens a new one when needed, and has no close on its async client)."""
    table = getattr(type(getattr(client, "_server", None)), "_clients", None)
    if isinstance(table, dict):
        http = table.pop(hash(asyncio.get_running_loop()), None)
        if http is not None:
            await http.aclose()


__all__ = ["aclose_client", "aopen_client", "close_client", "open_client", "require_http"]
