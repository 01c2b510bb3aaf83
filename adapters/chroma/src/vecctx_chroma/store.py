"""The stores users hold: the vecctx store front over the Chroma driver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vecctx.front import AsyncStore, Store
from vecctx_chroma._async.driver import AsyncChromaDriver
from vecctx_chroma._sync.driver import ChromaDriver
from vecctx_chroma.clients import require_http
from vecctx_chroma.config import ChromaConfig, parse_url

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


class ChromaStore(Store):
    """vecctx's store on Chroma: embedded (``chroma:///abs/path``) or over HTTP
    (``chroma+http://host:port``). It connects at once, retrying a server that is not up yet."""

    def __init__(self, config: ChromaConfig) -> None:
        self._chroma = ChromaDriver(config)
        super().__init__(self._chroma)
        self._call("connect", None, self._chroma.connect)

    @classmethod
    def from_url(cls, url: str) -> ChromaStore:
        return cls(parse_url(url))

    @property
    def client(self) -> ClientAPI:
        """The underlying chromadb client (for what vecctx does not cover)."""
        self._check_open()
        assert self._chroma.client is not None
        return self._chroma.client


class AsyncChromaStore(AsyncStore):
    """vecctx's natively async store on a Chroma server (``chroma+http://host:port``); the
    client connects on first use, inside the caller's event loop."""

    def __init__(self, config: ChromaConfig) -> None:
        super().__init__(AsyncChromaDriver(require_http(config)))

    @classmethod
    def from_url(cls, url: str) -> AsyncChromaStore:
        return cls(parse_url(url))


#: Entry points: ``vecctx.adapters`` for ``chroma://`` and ``chroma+http(s)://``,
#: ``vecctx.async_adapters`` for ``chroma+http(s)://``.
open_store = ChromaStore.from_url
open_async_store = AsyncChromaStore.from_url


__all__ = ["AsyncChromaStore", "ChromaStore", "open_async_store", "open_store"]
