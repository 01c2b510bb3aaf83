"""The stores users hold: vecctx's store front over the Weaviate driver."""

from __future__ import annotations

from vecctx.front import AsyncStore, Store
from vecctx_weaviate._async.driver import AsyncWeaviateDriver
from vecctx_weaviate._sync.driver import WeaviateDriver
from vecctx_weaviate.config import WeaviateConfig, parse_url


class WeaviateStore(Store):
    """A Weaviate store (``vecctx.connect("weaviate://host:8080")``). Opening it reads the server
    version and checks the REST and the gRPC endpoint. Weaviate's extras are on :attr:`driver`
    (``hybrid``, ``server_version``, ``client``)."""

    def __init__(self, config: WeaviateConfig) -> None:
        driver = WeaviateDriver(config)
        driver.connect()
        super().__init__(driver)
        self._weaviate = driver

    @classmethod
    def from_url(cls, url: str) -> WeaviateStore:
        return cls(parse_url(url))

    @property
    def driver(self) -> WeaviateDriver:
        return self._weaviate


class AsyncWeaviateStore(AsyncStore):
    """The native async Weaviate store. Creating it reads the server version (blocking, once);
    the client connects on first use, inside the caller's event loop."""

    def __init__(self, config: WeaviateConfig) -> None:
        self._weaviate = AsyncWeaviateDriver(config)
        super().__init__(self._weaviate)

    @classmethod
    def from_url(cls, url: str) -> AsyncWeaviateStore:
        return cls(parse_url(url))

    @property
    def driver(self) -> AsyncWeaviateDriver:
        return self._weaviate


def open_store(url: str) -> WeaviateStore:
    """Entry point for ``vecctx.adapters``: ``weaviate://``, ``weaviate+http://``, ``weaviate+https://``."""
    return WeaviateStore.from_url(url)


def open_async_store(url: str) -> AsyncWeaviateStore:
    """Entry point for ``vecctx.async_adapters``."""
    return AsyncWeaviateStore.from_url(url)


__all__ = ["AsyncWeaviateStore", "WeaviateStore", "open_async_store", "open_store"]
