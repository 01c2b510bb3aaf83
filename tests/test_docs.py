"""The docs: the capability matrix is current and the site builds without warnings."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from vecctx.capmatrix import declared, render

ROOT = Path(__file__).resolve().parents[1]


def test_capability_matrix_is_current() -> None:
    text = (ROOT / "docs" / "backends.md").read_text(encoding="utf-8")
    assert render(text) == text, "docs/backends.md is stale: run python -m vecctx.capmatrix"


def test_every_installed_adapter_declares_capabilities() -> None:
    labels = " ".join(declared())
    for backend in ("Qdrant Edge", "Milvus", "Chroma", "Weaviate"):
        assert backend in labels


def test_site_builds_strict(tmp_path: Path) -> None:
    mkdocs = shutil.which("mkdocs") or sys.executable
    args = [mkdocs] if mkdocs != sys.executable else [sys.executable, "-m", "mkdocs"]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [*args, "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "api" / "index.html").stat().st_size > 10_000
