"""The docs: the capability matrix is current and the site builds without warnings."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from vecctx.capmatrix import declared, render, render_limits

ROOT = Path(__file__).resolve().parents[1]


def test_capability_matrix_is_current() -> None:
    text = (ROOT / "docs" / "backends.md").read_text(encoding="utf-8")
    assert render(text) == text, "docs/backends.md is stale: run python -m vecctx.capmatrix"


def test_limits_table_is_current() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert render_limits(text) == text, "docs/reliability.md is stale: run python -m vecctx.capmatrix"
    for row in ("filter depth", "filter values", "text bytes", "metadata bytes"):
        assert f"| {row} |" in text


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


def test_make_docs_runs_the_strict_build() -> None:
    proc = subprocess.run(
        ["make", "-n", "docs", f"PYTHON={sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{sys.executable} -m mkdocs build --strict" in proc.stdout
