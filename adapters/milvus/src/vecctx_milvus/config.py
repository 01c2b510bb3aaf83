"""Parse ``milvus://`` URLs: ``milvus:///abs/path/file.db`` is Milvus Lite (served in this
process), ``milvus[+http]://host[:port]`` a server over gRPC, ``milvus+https://`` or ``?tls=true``
the same over TLS. The package README lists every option; unknown or repeated ones are errors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from vecctx.contract.errors import ConfigError
from vecctx.contract.urls import flag_option, number_option, redact_url, split_url, store_path, url_options
from vecctx.retry import RETRY_OPTIONS, RetryPolicy, parse_retry_options

SCHEMES = ("milvus", "milvus+http", "milvus+https")
DEFAULT_PORT = 19530
DEFAULT_FLUSH_THRESHOLD = 256
#: URL option -> pymilvus's name for the TLS settings.
_TLS = {
    "ca": "ca_pem_path",
    "cert": "client_pem_path",
    "key": "client_key_path",
    "server_pem": "server_pem_path",
    "server_name": "server_name",
}
_LITE_OPTIONS = {"db", "timeout", "flush_threshold", *RETRY_OPTIONS}
_SERVER_OPTIONS = {*_LITE_OPTIONS, "token", "tls", *_TLS}


@dataclass(frozen=True, slots=True)
class MilvusConfig:
    """Where and how to connect. Exactly one of ``lite_path`` and ``uri`` is set; ``token`` is
    kept out of ``repr``."""

    lite_path: str | None = None
    uri: str | None = None
    token: str = field(default="", repr=False)
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

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in an error, a repr or a log: the token, and the password of a
        ``user:password`` token on its own (a server may echo either)."""
        return tuple(dict.fromkeys(s for s in (self.token, self.token.partition(":")[2]) if s))

    def describe(self) -> str:
        """Where this points, without secrets."""
        return f"milvus lite at {self.lite_path}" if self.lite_path else f"milvus server at {self.uri}"

    def client_kwargs(self, uri: str) -> dict[str, Any]:
        """The keyword arguments of pymilvus's ``MilvusClient`` and ``AsyncMilvusClient``."""
        kwargs: dict[str, Any] = {"uri": uri, "token": self.token, "db_name": self.db_name}
        for name in ("timeout", "secure", *_TLS.values()):  # only those set, as pymilvus's defaults
            if (value := getattr(self, name)) is not None and value is not False:
                kwargs[name] = value
        return kwargs


def parse_url(url: str) -> MilvusConfig:
    """Parse a ``milvus://`` URL (see the module docstring)."""
    parts = split_url(url if isinstance(url, str) else "", "the milvus URL")
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ConfigError(f"not a milvus URL: {redact_url(url)!r} (schemes: {', '.join(SCHEMES)})")
    if parts.fragment:
        raise ConfigError("milvus URLs take no #fragment")
    lite = not parts.netloc
    if lite:
        query = url_options(parts.query, _LITE_OPTIONS, "Milvus Lite (milvus:///path)")
    else:
        query = url_options(parts.query, _SERVER_OPTIONS, "a Milvus server (milvus://host)")
    common: dict[str, Any] = {
        "db_name": query.get("db", ""),
        "timeout": number_option(query, "timeout", float, None),
        "flush_threshold": number_option(query, "flush_threshold", int, DEFAULT_FLUSH_THRESHOLD, above=-1),
        "retry": parse_retry_options(query),  # takes the retry_* options out of query
    }
    if lite:  # milvus:///abs/path
        path = unquote(parts.path)
        if scheme != "milvus":
            raise ConfigError(f"{scheme}:// needs a host; Milvus Lite files use milvus:///abs/path/file.db")
        if not path or path == "/":
            raise ConfigError(
                "milvus URL needs a host (milvus://host:19530) or a path (milvus:///abs/file.db)"
            )
        return MilvusConfig(lite_path=os.path.abspath(store_path(path, "milvus:///abs/file.db")), **common)

    if parts.path not in ("", "/"):
        raise ConfigError(
            f"milvus server URL takes no path ({parts.path!r}); use ?db=NAME for a database, "
            "or milvus:///abs/path for Milvus Lite"
        )
    host = parts.hostname
    if not host:
        raise ConfigError(f"milvus URL {redact_url(url)!r} has no host")
    port = parts.port
    if host.endswith(".db") and port is None:
        raise ConfigError(
            f"{host!r} looks like a Milvus Lite file: use an absolute path, milvus:///abs/path/{host}"
        )
    secure = scheme == "milvus+https"
    if "tls" in query:
        tls = flag_option(query, "tls")
        if secure and not tls:
            raise ConfigError("milvus+https:// with tls=false is contradictory")
        secure = tls
    token = query.get("token")
    if token is None and parts.username:
        token = unquote(parts.username) + (":" + unquote(parts.password) if parts.password else "")
    host_part = f"[{host}]" if ":" in host else host
    tls_files: dict[str, Any] = {field: query[option] for option, field in _TLS.items() if option in query}
    return MilvusConfig(
        uri=f"{'https' if secure else 'http'}://{host_part}:{port or (443 if secure else DEFAULT_PORT)}",
        token=token if token is not None else os.environ.get("MILVUS_TOKEN", ""),
        secure=secure,
        **tls_files,
        **common,
    )


__all__ = ["DEFAULT_FLUSH_THRESHOLD", "SCHEMES", "MilvusConfig", "parse_url"]
