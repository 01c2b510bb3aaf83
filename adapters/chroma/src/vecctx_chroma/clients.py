"""Opening and closing chromadb's clients: the only places where its synchronous and async
clients differ, so the driver itself is written once (:mod:`vecctx_chroma._async.driver`)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from vecctx.contract.errors import ConfigError
from vecctx_chroma.config import ChromaConfig

if TYPE_CHECKING:
    from chromadb.api import AsyncClientAPI, ClientAPI
    from chromadb.config import Settings


def open_client(config: ChromaConfig) -> ClientAPI:
    """An embedded ``PersistentClient`` or an ``HttpClient`` (which talks to the server at once)."""
    import chromadb

    if config.mode == "persistent":
        assert config.path is not None
        return chromadb.PersistentClient(
            path=config.path, settings=_settings(), tenant=config.tenant, database=config.database
        )
    return chromadb.HttpClient(**_http_args(config))


async def aopen_client(config: ChromaConfig) -> AsyncClientAPI:
    """An ``AsyncHttpClient``, bound to the running event loop."""
    import chromadb

    return await chromadb.AsyncHttpClient(**_http_args(require_http(config)))


def require_http(config: ChromaConfig) -> ChromaConfig:
    """``config`` if it names a server: Chroma's embedded client has no async API, and vecctx
    never hides a thread pool behind an async one."""
    if config.mode != "http":
        raise ConfigError(
            "Chroma's embedded client has no async API: use chroma+http:// for the async store, "
            "or the sync store for chroma:///path"
        )
    return config


def _http_args(config: ChromaConfig) -> dict[str, Any]:
    assert config.host is not None and config.port is not None
    return {
        "host": config.host,
        "port": config.port,
        "ssl": config.ssl,
        "headers": config.headers(),
        "settings": _settings(),
        "tenant": config.tenant,
        "database": config.database,
    }


def _settings() -> Settings:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def close_client(client: ClientAPI) -> None:
    close = getattr(client, "close", None)  # chromadb's Client has it, ClientAPI does not
    if callable(close):
        close()


async def aclose_client(client: AsyncClientAPI) -> None:
    """Close the httpx client chromadb opened for the running event loop.

    chromadb keeps one httpx client per event loop in a class-level table and offers no
    close on its async client; closing only the current loop's entry leaves other loops'
    clients alone, and chromadb opens a fresh one when it is next needed.
    """
    table = getattr(type(getattr(client, "_server", None)), "_clients", None)
    if isinstance(table, dict):
        http = table.pop(hash(asyncio.get_running_loop()), None)
        if http is not None:
            await http.aclose()


__all__ = ["aclose_client", "aopen_client", "close_client", "open_client", "require_http"]
