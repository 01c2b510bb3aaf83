"""Open a store from a URL. Adapters register under the entry-point group ``vecctx.adapters``.

An entry point's name is the URL scheme it serves (``qdrant``, ``qdrant+local``, ``milvus``,
``chroma+http``, ...) and its value is a factory ``(url: str) -> Driver`` (``AsyncDriver`` in
the ``vecctx.async_adapters`` group); ``connect`` puts the store front over the driver. A
factory may also return a finished store. Adapters
are imported only when their scheme is opened, so ``import vecctx`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from vecctx.contract.driver import AsyncDriver, Driver
from vecctx.contract.errors import ConfigError
from vecctx.contract.store import AsyncVectorStore, VectorStore
from vecctx.contract.urls import redact_url

GROUP = "vecctx.adapters"
ASYNC_GROUP = "vecctx.async_adapters"

#: Which distribution provides which scheme, for the "please install" message.
KNOWN_DISTRIBUTIONS = {
    "qdrant": "vecctx-qdrant",
    "qdrant+local": "vecctx-qdrant",
    "qdrant+http": "vecctx-qdrant",
    "qdrant+https": "vecctx-qdrant",
    "qdrant+grpc": "vecctx-qdrant",
    "milvus": "vecctx-milvus",
    "milvus+http": "vecctx-milvus",
    "milvus+https": "vecctx-milvus",
    "chroma": "vecctx-chroma",
    "chroma+http": "vecctx-chroma",
    "chroma+https": "vecctx-chroma",
    "weaviate": "vecctx-weaviate",
    "weaviate+http": "vecctx-weaviate",
    "weaviate+https": "vecctx-weaviate",
}

#: Default store when ``connect()`` gets no URL and ``VECCTX_STORE`` is unset.
DEFAULT_DIR = Path(".vecctx") / "qdrant"

Factory = Callable[[str], Any]
_runtime: dict[str, Factory] = {}
_runtime_async: dict[str, Factory] = {}


def register(scheme: str, factory: Factory, *, asynchronous: bool = False) -> None:
    """Register a factory for a URL scheme at run time (tests, custom adapters)."""
    (_runtime_async if asynchronous else _runtime)[scheme.lower()] = factory


def default_url() -> str:
    env = os.environ.get("VECCTX_STORE")
    if env:
        return env
    return "qdrant://" + str(DEFAULT_DIR.resolve())


def scheme_of(url: str) -> str:
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(
            f"store URL {redact_url(url)!r} has no scheme: use e.g. memory://, qdrant:///path, "
            f"qdrant://host:6333, milvus:///file.db, chroma:///path (schemes available: {_installed()})"
        )
    return url.partition("://")[0].lower()


def _installed() -> str:
    return ", ".join(f"{s}://" for s in available_schemes())


def _factory(scheme: str, asynchronous: bool, url: str) -> Factory:
    table = _runtime_async if asynchronous else _runtime
    if scheme in table:
        return table[scheme]
    for ep in entry_points(group=ASYNC_GROUP if asynchronous else GROUP):
        if ep.name.lower() == scheme:
            try:
                loaded: Factory = ep.load()
            except ImportError as exc:
                dist = KNOWN_DISTRIBUTIONS.get(scheme, "the adapter's dependencies")
                raise ConfigError(
                    f"the adapter for {scheme}:// failed to import ({exc}); reinstall {dist}"
                ) from exc
            return loaded
    kind = "async adapter" if asynchronous else "adapter"
    wanted = KNOWN_DISTRIBUTIONS.get(scheme)
    hint = f"; pip install {wanted}" if wanted else ""
    raise ConfigError(
        f"no {kind} is installed for {scheme}:// (store URL {redact_url(url)!r}); "
        f"schemes available: {_installed()}{hint}"
    )


def connect(url: str | None = None) -> VectorStore:
    """Open a store. Without a URL (``None``): ``$VECCTX_STORE``, else embedded Qdrant in
    ``./.vecctx/qdrant``. An empty URL is a ``ConfigError``, not the default."""
    store: VectorStore = _open(url, asynchronous=False)
    return store


def connect_async(url: str | None = None) -> AsyncVectorStore:
    """Open a natively async store; raises ``ConfigError`` when the backend has none."""
    store: AsyncVectorStore = _open(url, asynchronous=True)
    return store


def _open(url: str | None, *, asynchronous: bool) -> Any:
    """The store ``url`` names: the in-memory one, the front over the driver its scheme's
    factory returns, or the finished store that factory returned."""
    if url is not None and not (isinstance(url, str) and url.strip()):
        raise ConfigError(
            f"store URL {redact_url(url)!r} is empty: pass None (or nothing) for the default store, "
            f"{default_url()!r}"
        )
    target = url if url is not None else default_url()
    scheme = scheme_of(target)
    if scheme == "memory":
        from vecctx.memory import AsyncMemoryStore, MemoryStore

        return AsyncMemoryStore() if asynchronous else MemoryStore()
    opened = _factory(scheme, asynchronous, target)(target)
    from vecctx.front import AsyncStore, Store

    if asynchronous and isinstance(opened, AsyncDriver):
        return AsyncStore(opened)
    if not asynchronous and isinstance(opened, Driver):
        return Store(opened)
    return opened


def available_schemes() -> list[str]:
    names = {"memory", *_runtime}
    names.update(ep.name for ep in entry_points(group=GROUP))
    return sorted(names)


__all__ = ["available_schemes", "connect", "connect_async", "default_url", "register"]
