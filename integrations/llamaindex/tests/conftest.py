"""Fixtures: one fresh vecctx store per test on each backend that runs here, in its own
directory under pytest's tmp_path, closed after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from vecctx_llamaindex import VecctxVectorStore

from vecctx.testing import LOCAL_BACKENDS, closing_all, local_store_url


@pytest.fixture(params=LOCAL_BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on a fresh directory, for each backend."""
    return local_store_url(request.param, tmp_path)


@pytest.fixture
def make_store(url: str) -> Iterator[Callable[..., VecctxVectorStore]]:
    """Opens ``VecctxVectorStore`` objects on ``url``; every one is closed after the test."""

    def open_store(**kwargs: Any) -> VecctxVectorStore:
        kwargs.setdefault("collection_name", "llama_test")
        return VecctxVectorStore(url, **kwargs)

    with closing_all(open_store) as make:
        yield make
