"""Every example runs, offline, with the real model (each in a fresh working directory)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vecctx.loaders import data_root

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXPECTED = {
    "quickstart.py": "[1] doc ",
    "bulk_load.py": "still 300 records",
    "switch_backends.py": "memory:",
    "hybrid_filter.py": "(native dbsf)",  # the default fusion
    "rerank.py": "late+mmr:",
    "custom_adapter.py": " passed",
    "async_handler.py": "'search_ms'",
    "tenant_scope.py": "globex reads acme's id: []",
    "study_own_data.py": "report: True",
}


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


def test_every_example_is_tested() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str, tmp_path: Path, cache_dir: Path) -> None:
    env = {
        **os.environ,
        "VECCTX_DATA": str(data_root().resolve()),
        "VECCTX_CACHE": str(cache_dir),
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("VECCTX_STORE", None)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert EXPECTED[name] in proc.stdout, proc.stdout[-3000:]
