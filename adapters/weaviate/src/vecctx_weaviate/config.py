"""Parse ``weaviate://``, ``weaviate+http://`` and ``weaviate+https://`` URLs into connection
settings (the forms and the options: the README, "URLs")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from weaviate.classes.init import AdditionalConfig, Auth, Timeout
from weaviate.connect import ConnectionParams, ProtocolParams

from vecctx.contract.checks import redacted
from vecctx.contract.errors import ConfigError
from vecctx.contract.urls import flag_option, number_option, split_url, url_options
from vecctx.registry import scheme_of
from vecctx.retry import RETRY_OPTIONS, RetryPolicy, parse_retry_options
from vecctx_weaviate.errors import translate

SCHEMES = frozenset({"weaviate", "weaviate+http", "weaviate+https"})
_OPTIONS = frozenset(
    {"grpc_port", "grpc_host", "grpc_secure", "api_key", "timeout", "init_timeout", "index_timeout", "batch"}
    | set(RETRY_OPTIONS)
)


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
        """The arguments of ``weaviate.WeaviateClient`` and ``WeaviateAsyncClient``, without their
        start-up checks (which include a request to PyPI): the driver checks REST and gRPC."""
        timeout = Timeout(init=self.init_timeout)
        if self.timeout is not None:
            timeout = Timeout(init=self.init_timeout, query=self.timeout, insert=self.timeout)
        return {
            "connection_params": ConnectionParams(
                http=ProtocolParams(host=self.http_host, port=self.http_port, secure=self.http_secure),
                grpc=ProtocolParams(host=self.grpc_host, port=self.grpc_port, secure=self.grpc_secure),
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


def parse_url(url: str, *, environ: Mapping[str, str] | None = None) -> WeaviateConfig:
    """Parse a Weaviate URL; a :class:`ConfigError` names what is wrong (never the API key)."""
    env = os.environ if environ is None else environ
    if not isinstance(url, str):
        raise ConfigError(f"a Weaviate URL must be a string, got {type(url).__name__}")
    scheme = scheme_of(url)
    if scheme not in SCHEMES:
        raise ConfigError(f"not a Weaviate URL scheme: {scheme!r} (use weaviate:// or weaviate+https://)")
    parts = split_url(url, "the Weaviate URL")
    if parts.username is not None or parts.password is not None:
        raise ConfigError("put the API key in ?api_key= or $WEAVIATE_API_KEY, not in the URL's user part")
    host = parts.hostname
    if not host:
        raise ConfigError("the Weaviate URL needs a host, e.g. weaviate://localhost:8080")
    if parts.path not in ("", "/"):
        raise ConfigError(f"the Weaviate URL takes no path (got {parts.path!r})")
    if parts.fragment:
        raise ConfigError("the Weaviate URL takes no #fragment")
    port = parts.port
    opts = url_options(parts.query, _OPTIONS, "Weaviate")
    secure = scheme == "weaviate+https"
    grpc_secure = flag_option(opts, "grpc_secure", secure)
    return WeaviateConfig(
        http_host=host,
        http_port=port if port is not None else (443 if secure else 8080),
        http_secure=secure,
        grpc_host=opts.get("grpc_host") or host,
        grpc_port=number_option(opts, "grpc_port", int, 443 if grpc_secure else 50051, at_most=65535),
        grpc_secure=grpc_secure,
        api_key=opts.get("api_key") or env.get("WEAVIATE_API_KEY") or None,
        timeout=number_option(opts, "timeout", float, None),
        init_timeout=number_option(opts, "init_timeout", float, 5.0),
        index_timeout=number_option(opts, "index_timeout", float, 120.0),
        batch=number_option(opts, "batch", int, 500, at_most=100_000),
        retry=parse_retry_options(opts),
    )


__all__ = ["SCHEMES", "WeaviateConfig", "parse_url"]
