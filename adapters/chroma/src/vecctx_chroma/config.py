"""Parse ``chroma:///abs/path``, ``chroma+http://host[:port]`` and ``chroma+https://host[:port]``
URLs (the forms and the options: the README, "URLs and options")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import unquote

from vecctx.contract.errors import ConfigError
from vecctx.contract.urls import number_option, split_url, store_path, url_options
from vecctx.registry import scheme_of
from vecctx.retry import RETRY_OPTIONS, RetryPolicy, parse_retry_options

DEFAULT_TENANT = "default_tenant"
DEFAULT_DATABASE = "default_database"
TOKEN_ENV = "CHROMA_TOKEN"
TOKEN_HEADERS = ("authorization", "x-chroma-token")

_OPTIONS = {"ef_search", "tenant", "database", "token", "token_header", *RETRY_OPTIONS}


@dataclass(frozen=True, slots=True)
class ChromaConfig:
    """Where and how to reach Chroma. ``token`` is kept out of ``repr``."""

    mode: Literal["persistent", "http"]
    path: str | None = None
    host: str | None = None
    port: int | None = None
    ssl: bool = False
    tenant: str = DEFAULT_TENANT
    database: str = DEFAULT_DATABASE
    ef_search: int | None = None
    token_header: str = "authorization"
    token: str | None = field(default=None, repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def headers(self) -> dict[str, str]:
        """HTTP headers carrying the token (empty without one)."""
        if not self.token:
            return {}
        if self.token_header == "authorization":
            return {"Authorization": f"Bearer {self.token}"}
        return {"X-Chroma-Token": self.token}

    def display_url(self) -> str:
        """The URL without secrets, for messages."""
        if self.mode == "persistent":
            return f"chroma://{self.path}"
        scheme = "chroma+https" if self.ssl else "chroma+http"
        return f"{scheme}://{self.host}:{self.port}"


def parse_url(url: str, *, environ: Mapping[str, str] | None = None) -> ChromaConfig:
    """Parse a ``chroma://``, ``chroma+http://`` or ``chroma+https://`` URL."""
    env = os.environ if environ is None else environ
    if not isinstance(url, str):
        raise ConfigError("a Chroma URL looks like chroma:///abs/path or chroma+http://host:port")
    scheme = scheme_of(url)
    if scheme not in ("chroma", "chroma+http", "chroma+https"):
        raise ConfigError(f"unsupported scheme {scheme!r} for the Chroma adapter")
    parts = split_url(url, "the Chroma URL")
    if parts.fragment:
        raise ConfigError("a Chroma URL takes no #fragment")
    options = url_options(parts.query, _OPTIONS, "Chroma")
    base = ChromaConfig(
        mode="persistent",
        ef_search=number_option(options, "ef_search", int, None),
        retry=parse_retry_options(options),
        tenant=options.pop("tenant", DEFAULT_TENANT),
        database=options.pop("database", DEFAULT_DATABASE),
    )
    token_header = options.pop("token_header", "authorization").lower()
    if token_header not in TOKEN_HEADERS:
        raise ConfigError(f"token_header must be one of {', '.join(TOKEN_HEADERS)}")
    token = options.pop("token", None)

    if scheme == "chroma":
        if token is not None:
            raise ConfigError("token is an HTTP option; chroma:/// opens a local directory")
        if parts.netloc:
            raise ConfigError(
                "chroma:// takes an absolute directory with an empty host, e.g. chroma:///data/chroma; "
                "use chroma+http://host:port for a server"
            )
        path = store_path(unquote(parts.path), "chroma:///data/chroma")
        return replace(base, path=os.path.abspath(path))

    ssl = scheme == "chroma+https"
    if parts.username or parts.password:
        raise ConfigError("put credentials in ?token= or $CHROMA_TOKEN, not in the URL's user part")
    if not parts.hostname:
        raise ConfigError(f"{scheme}:// needs a host, e.g. {scheme}://127.0.0.1:8000")
    port = parts.port
    if parts.path not in ("", "/"):
        raise ConfigError(f"{scheme}:// takes no path; use ?tenant= and ?database= options")
    return replace(
        base,
        mode="http",
        host=parts.hostname,
        port=port if port is not None else 443 if ssl else 8000,
        ssl=ssl,
        token_header=token_header,
        token=token if token is not None else env.get(TOKEN_ENV) or None,
    )


__all__ = ["DEFAULT_DATABASE", "DEFAULT_TENANT", "ChromaConfig", "parse_url"]
