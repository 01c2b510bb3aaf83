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

* Edge: ``auto_optimize=N`` (build the HNSW index inside ``upsert`` once N points wait
  unindexed, and at least as many as were indexed at the last build; ``0`` disables; default
  50000), ``idf=1`` (IDF modifier on the sparse vector), ``search_threads=N``,
  ``batch=N`` (points per write).
* Server: ``api_key=...`` (or the ``QDRANT_API_KEY`` environment variable), ``grpc=1``,
  ``grpc_port=N``, ``shards=N``, ``replication=N``, ``write_consistency=N``, ``timeout=S``,
  ``idf=1``, ``batch=N``, and the retry options of :func:`vecctx.retry.parse_retry_options`
  (``retry_deadline=S``: how long a transient failure is retried, default 30, 0 = never).
* Local: ``idf=1``, ``batch=N``.

API keys never appear in ``repr`` or error messages: the store front redacts the driver's
``secrets``, and this module's messages never quote a URL's query string.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from vecctx.contract.errors import ConfigError
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
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


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
        raise ConfigError(f"not a qdrant URL: {_bare(str(url))!r}")
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    target, _, query = rest.partition("?")
    opts = _query(query, url)
    if scheme == "qdrant+local":
        _only(opts, _LOCAL_OPTS, scheme)
        idf = _bool(opts, "idf", False)
        batch = _int(opts, "batch", DEFAULT_CLIENT_BATCH, minimum=1)
        if target == ":memory:":
            return ClientOptions(mode="local", idf=idf, batch=batch)
        return ClientOptions(mode="local", path=_abs_path(target, url), idf=idf, batch=batch)
    if scheme == "qdrant" and (target.startswith("/") or target == ""):
        if target == "":
            raise ConfigError(
                "qdrant:// needs a directory (qdrant:///abs/path) or a host (qdrant://host:6333)"
            )
        _only(opts, _EDGE_OPTS, "qdrant:/// (embedded Edge)")
        return EdgeOptions(
            path=_abs_path(target, url),
            auto_optimize=_int(opts, "auto_optimize", DEFAULT_AUTO_OPTIMIZE, minimum=0),
            idf=_bool(opts, "idf", False),
            search_threads=_opt_int(opts, "search_threads"),
            batch=_int(opts, "batch", DEFAULT_EDGE_BATCH, minimum=1),
        )
    if scheme not in ("qdrant", "qdrant+http", "qdrant+https", "qdrant+grpc"):
        raise ConfigError(f"unknown scheme {scheme}:// for the qdrant adapter")
    _only(opts, _SERVER_OPTS, f"{scheme}:// (server)")
    parts = urlsplit(f"http://{target}")
    if parts.username or parts.password:
        raise ConfigError("put the API key in ?api_key=... or $QDRANT_API_KEY, not in the URL's user info")
    host = parts.hostname
    if not host:
        raise ConfigError(f"{scheme}:// needs a host, e.g. {scheme}://localhost:6333")
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"bad port in qdrant URL: {exc}") from None
    https = scheme == "qdrant+https"
    grpc = scheme == "qdrant+grpc" or _bool(opts, "grpc", False)
    grpc_port = _int(opts, "grpc_port", 6334, minimum=1)
    if scheme == "qdrant+grpc":
        grpc_port = port or 6334
        port = 6333
    api_key = opts.get("api_key") or os.environ.get(API_KEY_ENV) or None
    prefix = parts.path.rstrip("/") or None
    return ClientOptions(
        mode="server",
        host=host,
        port=port or 6333,
        https=https,
        grpc=grpc,
        grpc_port=grpc_port,
        prefix=prefix,
        api_key=api_key,
        timeout=_opt_float(opts, "timeout"),
        shards=_opt_int(opts, "shards"),
        replication=_opt_int(opts, "replication"),
        write_consistency=_opt_int(opts, "write_consistency"),
        retry=parse_retry_options(dict(opts)),
        idf=_bool(opts, "idf", False),
        batch=_int(opts, "batch", DEFAULT_CLIENT_BATCH, minimum=1),
    )


def _bare(url: str) -> str:
    """``url`` without its query string (where an API key may be)."""
    return url.partition("?")[0]


def _query(query: str, url: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"bad query string in qdrant URL {_bare(url)!r}") from None
    out: dict[str, str] = {}
    for k, v in pairs:
        if k in out:
            raise ConfigError(f"option {k!r} is given twice in the qdrant URL")
        out[k] = v
    return out


def _only(opts: dict[str, str], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for {what}; known: {', '.join(sorted(allowed))}"
        )


def _abs_path(target: str, url: str) -> Path:
    path = Path(unquote(target)).expanduser()
    if not path.is_absolute():
        raise ConfigError(f"the path in {_bare(url)!r} must be absolute (qdrant:///abs/path)")
    return path


def _bool(opts: dict[str, str], key: str, default: bool) -> bool:
    raw = opts.get(key)
    if raw is None:
        return default
    low = raw.lower()
    if low in _TRUE or low == "":
        return True
    if low in _FALSE:
        return False
    raise ConfigError(f"option {key}={raw!r} must be 1/0, true/false, yes/no or on/off")


def _int(opts: dict[str, str], key: str, default: int, *, minimum: int) -> int:
    raw = opts.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"option {key}={raw!r} must be an integer") from None
    if value < minimum:
        raise ConfigError(f"option {key}={value} must be >= {minimum}")
    return value


def _opt_int(opts: dict[str, str], key: str) -> int | None:
    return _int(opts, key, 0, minimum=1) if key in opts else None


def _opt_float(opts: dict[str, str], key: str) -> float | None:
    raw = opts.get(key)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"option {key}={raw!r} must be a number") from None
    if not value > 0:
        raise ConfigError(f"option {key}={raw!r} must be positive")
    return value


__all__ = ["API_KEY_ENV", "ClientOptions", "EdgeOptions", "parse_url"]
