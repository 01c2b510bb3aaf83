"""Parse ``weaviate://`` URLs into connection settings.

Forms::

    weaviate://host[:port][?options]          REST over http (default port 8080), gRPC plaintext
    weaviate+http://host[:port][?options]     the same
    weaviate+https://host[:port][?options]    REST over https (default port 443), gRPC over TLS

Options (query string):

``grpc_port``     gRPC port (default 50051 for http, 443 for https)
``grpc_host``     gRPC host (default: the URL's host)
``grpc_secure``   ``true``/``false``: TLS for gRPC (default: as the REST scheme)
``api_key``       API key (default: ``$WEAVIATE_API_KEY``); never shown in repr, errors or logs
``timeout``       seconds for queries and inserts (default 30 / 90 as in weaviate-client)
``init_timeout``  seconds for the connection checks (default 5)
``index_timeout`` seconds ``optimize()`` waits for asynchronous indexing (default 120)
``batch``         objects per gRPC batch request (default 500)
``retry_*``       the retry policy of :mod:`vecctx.retry` (``retry_deadline=0`` disables retries)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from weaviate.classes.init import AdditionalConfig, Auth, Timeout
from weaviate.connect import ConnectionParams

from vecctx.contract.checks import redacted
from vecctx.contract.errors import ConfigError
from vecctx.retry import RETRY_OPTIONS, RetryPolicy, parse_retry_options
from vecctx_weaviate.errors import translate

SCHEMES = frozenset({"weaviate", "weaviate+http", "weaviate+https"})
_OPTIONS = frozenset(
    {"grpc_port", "grpc_host", "grpc_secure", "api_key", "timeout", "init_timeout", "index_timeout", "batch"}
    | set(RETRY_OPTIONS)
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class WeaviateConfig:
    """Connection settings. ``api_key`` is kept out of ``repr``."""

    http_host: str
    http_port: int
    http_secure: bool
    grpc_host: str
    grpc_port: int
    grpc_secure: bool
    api_key: str | None = field(default=None, repr=False)
    timeout: float | None = None
    init_timeout: float = 5.0
    index_timeout: float = 120.0
    batch: int = 500
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def url(self) -> str:
        """The URL without secrets (for repr and error messages)."""
        scheme = "weaviate+https" if self.http_secure else "weaviate"
        return f"{scheme}://{_host_for_url(self.http_host)}:{self.http_port}?grpc_port={self.grpc_port}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in an error, a repr or a log (the API key)."""
        return (self.api_key,) if self.api_key else ()

    def client_args(self) -> dict[str, Any]:
        """The arguments of ``weaviate.WeaviateClient`` and ``WeaviateAsyncClient``. Their
        start-up checks are skipped (they include a request to PyPI): the driver checks REST
        and gRPC itself."""
        timeout = Timeout(init=self.init_timeout)
        if self.timeout is not None:
            timeout = Timeout(init=self.init_timeout, query=self.timeout, insert=self.timeout)
        return {
            "connection_params": ConnectionParams.from_params(
                http_host=self.http_host,
                http_port=self.http_port,
                http_secure=self.http_secure,
                grpc_host=self.grpc_host,
                grpc_port=self.grpc_port,
                grpc_secure=self.grpc_secure,
            ),
            "auth_client_secret": Auth.api_key(self.api_key) if self.api_key else None,
            "additional_config": AdditionalConfig(timeout=timeout),
            "skip_init_checks": True,
        }

    def read_version(self) -> str:
        """``GET /v1/meta``: the server version, read once (blocking) when a driver is made,
        so that its capabilities are known before any coroutine runs."""
        scheme = "https" if self.http_secure else "http"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = f"{scheme}://{_host_for_url(self.http_host)}:{self.http_port}/v1/meta"
        try:
            res = httpx.get(url, headers=headers, timeout=self.init_timeout)
            res.raise_for_status()
            return str(res.json().get("version", "0"))
        except (httpx.HTTPError, ValueError) as exc:
            raise redacted(translate(exc, f"read the version of {self.url}"), self.secrets) from exc


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def parse_url(url: str, *, environ: dict[str, str] | None = None) -> WeaviateConfig:
    """Parse a ``weaviate://`` URL. Raises :class:`ConfigError` naming what is wrong
    (never echoing the API key)."""
    env = os.environ if environ is None else environ
    if not isinstance(url, str):
        raise ConfigError(f"a Weaviate URL must be a string, got {type(url).__name__}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ConfigError(f"not a Weaviate URL scheme: {scheme!r} (use weaviate:// or weaviate+https://)")
    if parts.username is not None or parts.password is not None:
        raise ConfigError("put the API key in ?api_key= or $WEAVIATE_API_KEY, not in the URL's user part")
    host = parts.hostname
    if not host:
        raise ConfigError("the Weaviate URL needs a host, e.g. weaviate://localhost:8080")
    if parts.path not in ("", "/"):
        raise ConfigError(f"the Weaviate URL takes no path (got {parts.path!r})")
    if parts.fragment:
        raise ConfigError("the Weaviate URL takes no #fragment")
    secure = scheme == "weaviate+https"
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"invalid port in the Weaviate URL: {exc}") from None
    http_port = port if port is not None else (443 if secure else 8080)

    opts: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if key not in _OPTIONS:
            known = ", ".join(sorted(_OPTIONS))
            raise ConfigError(f"unknown Weaviate URL option {key!r} (known: {known})")
        if key in opts:
            raise ConfigError(f"Weaviate URL option {key!r} is given twice")
        opts[key] = value

    retry = parse_retry_options(opts)
    grpc_secure = _bool(opts["grpc_secure"], "grpc_secure") if "grpc_secure" in opts else secure
    grpc_port = _int(opts["grpc_port"], "grpc_port", 1, 65535) if "grpc_port" in opts else None
    api_key = opts.get("api_key") or env.get("WEAVIATE_API_KEY") or None
    return WeaviateConfig(
        http_host=host,
        http_port=http_port,
        http_secure=secure,
        grpc_host=opts.get("grpc_host") or host,
        grpc_port=grpc_port if grpc_port is not None else (443 if grpc_secure else 50051),
        grpc_secure=grpc_secure,
        api_key=api_key,
        timeout=_float(opts["timeout"], "timeout") if "timeout" in opts else None,
        init_timeout=_float(opts["init_timeout"], "init_timeout") if "init_timeout" in opts else 5.0,
        index_timeout=_float(opts["index_timeout"], "index_timeout") if "index_timeout" in opts else 120.0,
        batch=_int(opts["batch"], "batch", 1, 100_000) if "batch" in opts else 500,
        retry=retry,
    )


def _bool(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ConfigError(f"option {name} must be true or false, got {value!r}")


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise ConfigError(f"option {name} must be an integer, got {value!r}") from None
    if not low <= n <= high:
        raise ConfigError(f"option {name} must be in [{low}, {high}], got {n}")
    return n


def _float(value: str, name: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise ConfigError(f"option {name} must be a number of seconds, got {value!r}") from None
    if not x > 0 or x != x or x == float("inf"):
        raise ConfigError(f"option {name} must be a positive number of seconds, got {value!r}")
    return x


__all__ = ["SCHEMES", "WeaviateConfig", "parse_url"]
