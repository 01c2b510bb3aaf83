"""Optional runtimes, written once: :func:`require` imports one or says what to install, and
:func:`lazy_exports` loads the names a package exports from modules that import one on first
use, so importing the package stays light (PEP 562 module ``__getattr__``)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from vecctx.contract.errors import ConfigError


def require(module: str, pip_name: str) -> ModuleType:
    """Import ``module`` or raise :class:`ConfigError` naming the package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"{module} is not installed: pip install {pip_name} ({exc})") from exc


def lazy_exports(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: ``modules`` maps each lazy name to the module that
    defines it; a name is imported on first use and then kept in the package."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__


__all__ = ["lazy_exports", "require"]
