"""Fixtures: a ``VecctxDocumentStore`` on each backend that runs here, each in a fresh directory
under ``tmp_path`` and closed after the test."""

from __future__ import annotations

import os

# Haystack sends usage telemetry from Pipeline.run unless this is off when haystack is imported.
os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from vecctx_haystack import VecctxDocumentStore

from vecctx.testing import LOCAL_BACKENDS, closing_all, local_store_url


@pytest.fixture(params=LOCAL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(backend: str, tmp_path: Path) -> str:
    return local_store_url(backend, tmp_path)


@pytest.fixture
def make_store(url: str) -> Iterator[Callable[..., VecctxDocumentStore]]:
    """Build ``VecctxDocumentStore(url, **kwargs)`` on this test's backend; all closed at the end."""
    with closing_all(lambda **kwargs: VecctxDocumentStore(url, **kwargs)) as make:
        yield make
