"""Qdrant adapter for vecctx.

``vecctx.connect()`` opens embedded Qdrant Edge in ``./.vecctx/qdrant``; other URL forms are
documented in :mod:`vecctx_qdrant.config`::

    qdrant:///abs/path        embedded Qdrant Edge (default backend; synchronous only)
    qdrant://host:6333        a Qdrant server or cluster (qdrant+https://, qdrant+grpc://, ?api_key=)
    qdrant+local:///path      qdrant-client local mode (also qdrant+local://:memory:)

Each is a driver under vecctx's store front: :class:`QdrantEdgeDriver` (``store.py``) and the
qdrant-client driver, written once as ``AsyncQdrantClientDriver`` (``_async/client.py``) with
``QdrantClientDriver`` generated from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vecctx.contract.errors import ConfigError
from vecctx_qdrant._common import NAMESPACE, point_id, point_ids
from vecctx_qdrant.config import ClientOptions, EdgeOptions, parse_url
from vecctx_qdrant.filters import ClientFilterCompiler, EdgeFilterCompiler, QdrantFilterCompiler, payload_path
from vecctx_qdrant.store import EDGE_CAPABILITIES, QdrantEdgeDriver, QdrantEdgeStore

__version__ = "0.1.0"

if TYPE_CHECKING:
    from vecctx_qdrant._async.client import AsyncQdrantClientDriver, AsyncQdrantClientStore
    from vecctx_qdrant._sync.client import QdrantClientDriver, QdrantClientStore

_LAZY = {
    "QdrantClientDriver": "vecctx_qdrant._sync.client",
    "QdrantClientStore": "vecctx_qdrant._sync.client",
    "AsyncQdrantClientDriver": "vecctx_qdrant._async.client",
    "AsyncQdrantClientStore": "vecctx_qdrant._async.client",
}


def open_store(url: str) -> QdrantEdgeStore | QdrantClientStore:
    """Entry point for ``vecctx.adapters``: open a synchronous store from a ``qdrant*`` URL."""
    options = parse_url(url)
    if isinstance(options, EdgeOptions):
        return QdrantEdgeStore(options)
    from vecctx_qdrant._sync.client import QdrantClientStore

    return QdrantClientStore(options)


def open_async_store(url: str) -> AsyncQdrantClientStore:
    """Entry point for ``vecctx.async_adapters``: the natively async store (qdrant-client's
    ``AsyncQdrantClient``). Embedded Edge has no async API, and vecctx hides no thread pool."""
    options = parse_url(url)
    if isinstance(options, EdgeOptions):
        raise ConfigError(
            "embedded Qdrant Edge (qdrant:///path) has no native async API: use vecctx.connect() "
            "for it, or an async-capable URL (qdrant://host:6333, qdrant+local://...)"
        )
    from vecctx_qdrant._async.client import AsyncQdrantClientStore

    return AsyncQdrantClientStore(options)


def __getattr__(name: str) -> object:
    # The client classes import qdrant_client (heavy): load them only when asked for.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = [
    "EDGE_CAPABILITIES",
    "NAMESPACE",
    "AsyncQdrantClientDriver",
    "AsyncQdrantClientStore",
    "ClientFilterCompiler",
    "ClientOptions",
    "EdgeFilterCompiler",
    "EdgeOptions",
    "QdrantClientDriver",
    "QdrantClientStore",
    "QdrantEdgeDriver",
    "QdrantEdgeStore",
    "QdrantFilterCompiler",
    "__version__",
    "open_async_store",
    "open_store",
    "parse_url",
    "payload_path",
    "point_id",
    "point_ids",
]
