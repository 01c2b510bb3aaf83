"""Parse ``milvus://`` URLs.

``milvus:///abs/path/file.db``
    Milvus Lite: a local data directory (created when missing), served in-process.
``milvus://host[:port]`` or ``milvus+http://host[:port]``
    A Milvus server or cluster over plain gRPC (default port 19530).
``milvus+https://host[:port]`` (or ``?tls=true``)
    The same over TLS (default port 443).

Query options (each at most once; unknown options are an error, never ignored):

``token``           API key or ``user:password`` (else the URL's user info, else ``$MILVUS_TOKEN``)
``db``              database name (default: the server's default database)
``timeout``         seconds per call (default: pymilvus's)
``flush_threshold`` rows written by this handle after which the next read flushes first
                    (default 256; 0 flushes before every read that follows a write)
``tls``             ``true``/``false``
``ca``, ``cert``, ``key``, ``server_pem``, ``server_name``
                    TLS files and the name to verify (pymilvus's ``ca_pem_path``,
                    ``client_pem_path``, ``client_key_path``, ``server_pem_path``, ``server_name``)
``retry_deadline``  seconds an idempotent call keeps retrying a transient failure (default 30;
                    0 disables retries); also ``retry_initial_backoff`` (0.1),
                    ``retry_max_backoff`` (2), ``retry_multiplier`` (2), ``retry_jitter`` (0.5),
                    ``retry_max_attempts`` (unlimited): see :mod:`vecctx.retry`
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from vecctx.errors import ConfigError
from vecctx.retry import RETRY_OPTIONS, RetryPolicy, parse_retry_options

SCHEMES = ("milvus", "milvus+http", "milvus+https")
DEFAULT_PORT = 19530
DEFAULT_FLUSH_THRESHOLD = 256

_SERVER_OPTIONS = {
    "token",
    "db",
    "timeout",
    "flush_threshold",
    "tls",
    "ca",
    "cert",
    "key",
    "server_pem",
    "server_name",
    *RETRY_OPTIONS,
}
_LITE_OPTIONS = {"db", "timeout", "flush_threshold", *RETRY_OPTIONS}


@dataclass(frozen=True, slots=True)
class MilvusConfig:
    """Where and how to connect. Exactly one of ``lite_path`` and ``uri`` is set."""

    lite_path: str | None = None
    uri: str | None = None
    token: str = ""
    db_name: str = ""
    timeout: float | None = None
    flush_threshold: int = DEFAULT_FLUSH_THRESHOLD
    secure: bool = False
    ca_pem_path: str | None = None
    client_pem_path: str | None = None
    client_key_path: str | None = None
    server_pem_path: str | None = None
    server_name: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def is_lite(self) -> bool:
        return self.lite_path is not None

    def describe(self) -> str:
        """Where this points, without secrets."""
        return f"milvus lite at {self.lite_path}" if self.lite_path else f"milvus server at {self.uri}"


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise ConfigError(f"milvus URL option {name!r} is given {len(values)} times")
    return values[0]


def _flag(value: str, name: str) -> bool:
    low = value.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"milvus URL option {name}={value!r} must be true or false")


def parse_url(url: str) -> MilvusConfig:
    """Parse a ``milvus://`` URL (see the module docstring)."""
    if not isinstance(url, str):
        raise ConfigError(f"milvus URL must be a string, got {type(url).__name__}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ConfigError(f"not a milvus URL: {url!r} (schemes: {', '.join(SCHEMES)})")
    if parts.fragment:
        raise ConfigError("milvus URLs take no #fragment")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    db = _single(query, "db") or ""
    timeout_s = _single(query, "timeout")
    timeout: float | None = None
    if timeout_s is not None:
        try:
            timeout = float(timeout_s)
        except ValueError:
            raise ConfigError(f"milvus URL option timeout={timeout_s!r} is not a number") from None
        if not timeout > 0:
            raise ConfigError("milvus URL option timeout must be positive")
    flush_s = _single(query, "flush_threshold")
    flush_threshold = DEFAULT_FLUSH_THRESHOLD
    if flush_s is not None:
        try:
            flush_threshold = int(flush_s)
        except ValueError:
            raise ConfigError(f"milvus URL option flush_threshold={flush_s!r} is not an int") from None
        if flush_threshold < 0:
            raise ConfigError("milvus URL option flush_threshold must be >= 0")
    retry_options = {k: v for k in RETRY_OPTIONS if (v := _single(query, k)) is not None}
    retry = parse_retry_options(retry_options)

    if not parts.netloc:
        # Milvus Lite: milvus:///abs/path
        if scheme != "milvus":
            raise ConfigError(f"{scheme}:// needs a host; Milvus Lite files use milvus:///abs/path/file.db")
        path = unquote(parts.path)
        if not path or path == "/":
            raise ConfigError(
                "milvus URL needs a host (milvus://host:19530) or a path (milvus:///abs/file.db)"
            )
        unknown = set(query) - _LITE_OPTIONS
        if unknown:
            raise ConfigError(
                f"milvus URL options {sorted(unknown)} do not apply to Milvus Lite (allowed: {sorted(_LITE_OPTIONS)})"
            )
        return MilvusConfig(
            lite_path=os.path.abspath(path),
            db_name=db,
            timeout=timeout,
            flush_threshold=flush_threshold,
            retry=retry,
        )

    unknown = set(query) - _SERVER_OPTIONS
    if unknown:
        raise ConfigError(
            f"unknown milvus URL options {sorted(unknown)} (allowed: {sorted(_SERVER_OPTIONS)})"
        )
    if parts.path not in ("", "/"):
        raise ConfigError(
            f"milvus server URL takes no path ({parts.path!r}); use ?db=NAME for a database, "
            "or milvus:///abs/path for Milvus Lite"
        )
    host = parts.hostname
    if not host:
        raise ConfigError(f"milvus URL {url!r} has no host")
    if host.endswith(".db") and parts.port is None:
        raise ConfigError(
            f"{host!r} looks like a Milvus Lite file: use an absolute path, milvus:///abs/path/{host}"
        )
    tls_s = _single(query, "tls")
    secure = scheme == "milvus+https"
    if tls_s is not None:
        tls = _flag(tls_s, "tls")
        if scheme == "milvus+https" and not tls:
            raise ConfigError("milvus+https:// with tls=false is contradictory")
        secure = secure or tls
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"milvus URL {url!r} has an invalid port") from None
    if port is None:
        port = 443 if secure else DEFAULT_PORT
    token = _single(query, "token")
    if token is None and parts.username:
        token = unquote(parts.username)
        if parts.password:
            token += ":" + unquote(parts.password)
    if token is None:
        token = os.environ.get("MILVUS_TOKEN", "")
    host_part = f"[{host}]" if ":" in host else host
    return MilvusConfig(
        uri=f"{'https' if secure else 'http'}://{host_part}:{port}",
        token=token,
        db_name=db,
        timeout=timeout,
        flush_threshold=flush_threshold,
        secure=secure,
        ca_pem_path=_single(query, "ca"),
        client_pem_path=_single(query, "cert"),
        client_key_path=_single(query, "key"),
        server_pem_path=_single(query, "server_pem"),
        server_name=_single(query, "server_name"),
        retry=retry,
    )


__all__ = ["DEFAULT_FLUSH_THRESHOLD", "SCHEMES", "MilvusConfig", "parse_url"]
