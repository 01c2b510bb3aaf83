"""Shared fixtures: one real vecctx store per backend, each in a fresh directory under tmp_path.

LangChain's standard suite writes its async tests as bare ``async def`` (LangChain's own
repositories run pytest-asyncio in auto mode). This repository's pytest settings keep
pytest-asyncio in strict mode, so the hook below marks every coroutine test collected under
this directory with ``@pytest.mark.asyncio`` before pytest-asyncio looks at it.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from vecctx.testing import LOCAL_BACKENDS, local_store_url

#: Backends where vecctx has a natively async store over the same data.
ASYNC_NATIVE = frozenset({"memory", "milvus"})


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: object) -> Generator[None, Any, None]:
    outcome = yield
    if not inspect.iscoroutinefunction(obj):
        return
    result = outcome.get_result()
    items = result if isinstance(result, list) else [result]
    for item in items:
        if isinstance(item, pytest.Function) and item.get_closest_marker("asyncio") is None:
            item.add_marker(pytest.mark.asyncio)


@pytest.fixture(params=LOCAL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def url(backend: str, tmp_path: Path) -> str:
    return local_store_url(backend, tmp_path)


@pytest.fixture
def async_native(backend: str) -> bool:
    """Whether ``backend`` has vecctx's natively async store (the wrapper then uses it)."""
    return backend in ASYNC_NATIVE
