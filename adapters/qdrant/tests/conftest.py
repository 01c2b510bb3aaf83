"""Fixtures for the Qdrant adapter's tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def ram_path(tmp_path: Path) -> Iterator[Path]:
    """A directory on a RAM-backed filesystem when there is one (``/dev/shm``), else ``tmp_path``.

    qdrant-client's local mode commits (and fsyncs) its SQLite file once per point: on a disk
    the 4,113-point conformance batch takes minutes, on tmpfs seconds. The code path is the same.
    """
    shm = Path("/dev/shm")
    if shm.is_dir():
        try:
            d = Path(tempfile.mkdtemp(prefix="vecctx-qdrant-", dir=shm))
        except OSError:
            yield tmp_path
            return
        try:
            yield d
        finally:
            shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path
