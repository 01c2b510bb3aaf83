"""The stores users hold: vecctx's store front over the Milvus driver (``milvus:///file.db``
for Milvus Lite, ``milvus://host:port`` for a server)."""

from __future__ import annotations

from typing import Self

from vecctx.front import AsyncStore, Store
from vecctx_milvus._async.driver import AsyncMilvusDriver
from vecctx_milvus._sync.driver import MilvusDriver
from vecctx_milvus.config import MilvusConfig, parse_url


class MilvusStore(Store):
    """vecctx store over Milvus Lite or a Milvus server (see the package README); it connects when
    made (after ``config.retry``'s retries). ``server_version`` and ``reconnects`` are on :attr:`driver`."""

    def __init__(self, config: MilvusConfig) -> None:
        driver = MilvusDriver(config)
        super().__init__(driver)
        self.config = config
        try:
            self._call("connect", None, driver.connect)
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_url(cls, url: str) -> Self:
        return cls(parse_url(url))


class AsyncMilvusStore(AsyncStore):
    """The native-async store, on pymilvus's ``AsyncMilvusClient``; it connects on first use
    (a client binds to the event loop it first runs on)."""

    def __init__(self, config: MilvusConfig) -> None:
        super().__init__(AsyncMilvusDriver(config))
        self.config = config

    @classmethod
    def from_url(cls, url: str) -> Self:
        return cls(parse_url(url))


#: The entry points for ``milvus://``, ``milvus+http://`` and ``milvus+https://`` URLs.
open_store = MilvusStore.from_url
open_async_store = AsyncMilvusStore.from_url


__all__ = ["AsyncMilvusStore", "MilvusStore", "open_async_store", "open_store"]
