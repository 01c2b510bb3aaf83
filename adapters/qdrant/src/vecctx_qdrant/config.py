"""URL parsing for the Qdrant adapter.

URL forms::

    qdrant:///abs/path                 embedded Qdrant Edge (the real engine, in-process), one
                                       sub-directory per collection
    qdrant://host[:6333][/prefix]      a Qdrant server or cluster over REST (``?grpc=1`` for gRPC)
    qdrant+http://host:6333            the same, explicit
    qdrant+https://host:6333           REST over TLS
    qdrant+grpc://host:6334            gRPC (``prefer_grpc``); the port given is the gRPC port
    qdrant+local:///abs/path           qdrant-client local mode on a directory
    qdrant+local://:memory:            qdrant-client local mode in memory

Options (query string); an unknown option is a :class:`~vecctx.contract.errors.ConfigError`:

* Edge: ``auto_optimize=N`` (``upsert`` builds the HNSW index, in a child process, once N
  points wait unindexed, and at least as many as were indexed at the last build; ``0``: only
  ``optimize()`` builds; default 50000), ``idf=1`` (IDF modifier on the sparse vector), ``search_threads=N``,
  ``batch=N`` (points per write).
* Server: ``api_key=...`` (or the ``QDRANT_API_KEY`` environment variable), ``grpc=1``,
  ``grpc_port=N``, ``shards=N``, ``replication=N``, ``write_consistency=N``, ``timeout=S``,
  ``idf=1``, ``batch=N``, and the retry options of :func:`vecctx.retry.parse_retry_options`
  (``retry_deadline=S``: how long a transient failure is retried, default 30, 0 = never).
* Local: ``idf=1``, ``batch=N``.

API keys never appear in ``repr`` or error messages: the store front redacts the driver's
``secrets``, and this module's messages quote a URL only through
:func:`~vecctx.contract.urls.redact_url`. An embedded store needs a directory other than the
filesystem root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote

from vecctx.contract.errors import ConfigError
from vecctx.contract.urls import flag_option, number_option, redact_url, split_url, store_path, url_options
from vecctx.retry import RETRY_OPTIONS, RetryPolicy, parse_retry_options

DEFAULT_AUTO_OPTIMIZE = 50_000
DEFAULT_EDGE_BATCH = 2048
DEFAULT_CLIENT_BATCH = 256
API_KEY_ENV = "QDRANT_API_KEY"

_EDGE_OPTS = frozenset({"auto_optimize", "idf", "search_threads", "batch"})
_SERVER_OPTS = frozenset(
    {"api_key", "grpc", "grpc_port", "shards", "replication", "write_consistency", "timeout", "idf", "batch"}
) | frozenset(RETRY_OPTIONS)
_LOCAL_OPTS = frozenset({"idf", "batch"})


@dataclass(frozen=True, slots=True)
class EdgeOptions:
    """Embedded Qdrant Edge in directory ``path``."""

    path: Path
    auto_optimize: int = DEFAULT_AUTO_OPTIMIZE
    idf: bool = False
    search_threads: int | None = None
    batch: int = DEFAULT_EDGE_BATCH

    @property
    def url(self) -> str:
        return "qdrant://" + quote(str(self.path))


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """A Qdrant server (``mode="server"``) or qdrant-client local mode (``mode="local"``).

    ``api_key`` is excluded from ``repr``."""

    mode: Literal["server", "local"]
    # server
    host: str | None = None
    port: int | None = None
    https: bool = False
    grpc: bool = False
    grpc_port: int = 6334
    prefix: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float | None = None
    shards: int | None = None
    replication: int | None = None
    write_consistency: int | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # local
    path: Path | None = None
    # both
    idf: bool = False
    batch: int = DEFAULT_CLIENT_BATCH

    @property
    def memory(self) -> bool:
        return self.mode == "local" and self.path is None

    @property
    def url(self) -> str:
        """The store's URL without secrets."""
        if self.mode == "local":
            return "qdrant+local://" + (":memory:" if self.path is None else quote(str(self.path)))
        scheme = "qdrant+https" if self.https else "qdrant+grpc" if self.grpc else "qdrant+http"
        port = self.grpc_port if self.grpc and not self.https else self.port
        return f"{scheme}://{self.host}:{port}{self.prefix or ''}"

    def __repr__(self) -> str:
        key = ", api_key='***'" if self.api_key else ""
        return f"ClientOptions(url={self.url!r}{key})"


def parse_url(url: str) -> EdgeOptions | ClientOptions:
    """Parse a ``qdrant*`` URL. Raises ``ConfigError`` naming the problem (never the API key)."""
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(f"not a qdrant URL: {redact_url(url)!r}")
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    target, _, query = rest.partition("?")
    if scheme == "qdrant+local":
        opts = url_options(query, _LOCAL_OPTS, scheme)
        path = None if target == ":memory:" else _abs_path(target, "qdrant+local:///abs/path")
        return ClientOptions(
            mode="local",
            path=path,
            idf=flag_option(opts, "idf"),
            batch=number_option(opts, "batch", int, DEFAULT_CLIENT_BATCH),
        )
    if scheme == "qdrant" and (target.startswith("/") or target == ""):
        if target == "":
            raise ConfigError(
                "qdrant:// needs a directory (qdrant:///abs/path) or a host (qdrant://host:6333)"
            )
        opts = url_options(query, _EDGE_OPTS, "qdrant:/// (embedded Edge)")
        return EdgeOptions(
            path=_abs_path(target, "qdrant:///abs/path"),
            auto_optimize=number_option(opts, "auto_optimize", int, DEFAULT_AUTO_OPTIMIZE, above=-1),
            idf=flag_option(opts, "idf"),
            search_threads=number_option(opts, "search_threads", int, None),
            batch=number_option(opts, "batch", int, DEFAULT_EDGE_BATCH),
        )
    if scheme not in ("qdrant", "qdrant+http", "qdrant+https", "qdrant+grpc"):
        raise ConfigError(f"unknown scheme {scheme}:// for the qdrant adapter")
    opts = url_options(query, _SERVER_OPTS, f"{scheme}:// (server)")
    parts = split_url(f"http://{target}", "the host and port of the qdrant URL")
    if parts.username or parts.password:
        raise ConfigError("put the API key in ?api_key=... or $QDRANT_API_KEY, not in the URL's user info")
    host = parts.hostname
    if not host:
        raise ConfigError(f"{scheme}:// needs a host, e.g. {scheme}://localhost:6333")
    port = parts.port
    grpc_port = number_option(opts, "grpc_port", int, 6334)
    if scheme == "qdrant+grpc":
        grpc_port = port or 6334
        port = 6333
    return ClientOptions(
        mode="server",
        host=host,
        port=port or 6333,
        https=scheme == "qdrant+https",
        grpc=scheme == "qdrant+grpc" or flag_option(opts, "grpc"),
        grpc_port=grpc_port,
        prefix=parts.path.rstrip("/") or None,
        api_key=opts.get("api_key") or os.environ.get(API_KEY_ENV) or None,
        timeout=number_option(opts, "timeout", float, None),
        shards=number_option(opts, "shards", int, None),
        replication=number_option(opts, "replication", int, None),
        write_consistency=number_option(opts, "write_consistency", int, None),
        retry=parse_retry_options(dict(opts)),
        idf=flag_option(opts, "idf"),
        batch=number_option(opts, "batch", int, DEFAULT_CLIENT_BATCH),
    )


def _abs_path(target: str, form: str) -> Path:
    return Path(store_path(os.path.expanduser(unquote(target)), form))


__all__ = ["API_KEY_ENV", "ClientOptions", "EdgeOptions", "parse_url"]
