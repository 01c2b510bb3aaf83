"""The stores users hold: vecctx's store front over the Weaviate driver, whose extras
(``hybrid``, ``server_version``, ``client``) are on :attr:`driver`."""

from __future__ import annotations

from vecctx.front import AsyncStore, Store
from vecctx_weaviate._async.driver import AsyncWeaviateDriver
from vecctx_weaviate._sync.driver import WeaviateDriver
from vecctx_weaviate.config import WeaviateConfig, parse_url


class WeaviateStore(Store):
    """A Weaviate store (``vecctx.connect("weaviate://host:8080")``). Opening it reads the server
    version and checks the REST and the gRPC endpoint."""

    def __init__(self, config: WeaviateConfig) -> None:
        self._weaviate = WeaviateDriver(config)
        self._weaviate.connect()
        super().__init__(self._weaviate)

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


#: Entry points (``vecctx.adapters`` and ``vecctx.async_adapters``) for ``weaviate://``,
#: ``weaviate+http://`` and ``weaviate+https://``.
open_store = WeaviateStore.from_url
open_async_store = AsyncWeaviateStore.from_url

__all__ = ["AsyncWeaviateStore", "WeaviateStore", "open_async_store", "open_store"]
