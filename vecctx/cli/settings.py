"""Settings for the CLI and the demo: flags, then environment, then ``vecctx.toml``, then defaults.

``vecctx.toml`` (in the working directory, or the file named by ``VECCTX_CONFIG``)::

    store = "qdrant:///srv/vecctx"     # VECCTX_STORE
    collection = "docs"                 # VECCTX_COLLECTION
    data = "../shared/data"             # VECCTX_DATA
    cache = "~/.cache/vecctx"           # VECCTX_CACHE
    budget = 3000
    counter = "cl100k_base"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from vecctx.contract.errors import ConfigError
from vecctx.retrieval.retriever import DEFAULT_FUSION, DEFAULT_MODE

ENV = {
    "store": "VECCTX_STORE",
    "collection": "VECCTX_COLLECTION",
    "data": "VECCTX_DATA",
    "cache": "VECCTX_CACHE",
    "budget": "VECCTX_BUDGET",
    "counter": "VECCTX_COUNTER",
}


@dataclass(frozen=True)
class Settings:
    store: str | None = None
    collection: str = "scifact"
    data: str | None = None
    cache: str | None = None
    budget: int = 3000
    counter: str = "cl100k_base"

    def with_flags(self, **flags: Any) -> Settings:
        """Flags given on the command line (``None`` = not given) override everything."""
        return replace(self, **{k: v for k, v in flags.items() if v is not None})

    def bm25_path(self) -> Path:
        """Where the BM25 statistics of the collection live (next to the embedded store)."""
        from vecctx.registry import default_url

        url = self.store or default_url()
        base = Path(url[len("qdrant://") :]) if url.startswith("qdrant:///") else Path(".vecctx")
        return base / f"{self.collection}.bm25.json"


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Settings from ``path`` (else ``$VECCTX_CONFIG``, else ``./vecctx.toml`` when it exists) and
    the environment. A settings file named explicitly must exist."""
    cfg: dict[str, Any] = {}
    named = path or os.environ.get("VECCTX_CONFIG")
    file = Path(named or "vecctx.toml")
    if named and not file.is_file():
        source = "--config" if path else "VECCTX_CONFIG"
        raise ConfigError(f"settings file {str(file)!r} (from {source}) does not exist")
    if file.is_file():
        try:
            cfg = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from exc
        known = {f.name for f in fields(Settings)}
        unknown = set(cfg) - known
        if unknown:
            raise ConfigError(f"{file}: unknown setting(s) {sorted(unknown)}; known: {sorted(known)}")
    for key, var in ENV.items():
        if os.environ.get(var):
            cfg[key] = os.environ[var]
    if "budget" in cfg:
        try:
            cfg["budget"] = int(cfg["budget"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"budget must be an integer, got {cfg['budget']!r}") from exc
    return Settings(**cfg)


__all__ = ["DEFAULT_FUSION", "DEFAULT_MODE", "ENV", "Settings", "load_settings"]
