"""The one-line install: wheels of vecctx and vecctx-qdrant, a fresh venv (no system site
packages), the README's install line, then the README's quickstart verbatim on a small folder.

Needs the package registry (the dependencies come from it) and takes a few minutes: it is
marked ``slow`` and runs in the normal suite. Nothing is written inside the repository: the
sources are copied to a temporary directory before the wheels are built.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- quickstart: tests/test_install.py"


def readme_quickstart(text: str) -> tuple[str, str]:
    """The install line (the first bash block after the marker) and the code (the first python
    block after it)."""
    assert MARKER in text, "README.md lost the quickstart marker that tests/test_install.py reads"
    tail = text[text.index(MARKER) :]
    bash = re.search(r"```bash\n(.*?)```", tail, re.S)
    code = re.search(r"```python\n(.*?)```", tail, re.S)
    assert bash is not None and code is not None
    return bash.group(1).strip(), code.group(1)


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{shlex.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _copy_sources(dest: Path) -> tuple[Path, Path]:
    """The files the two wheels are built from, outside the repository (builds write there)."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    core, adapter = dest / "vecctx", dest / "vecctx-qdrant"
    shutil.copytree(ROOT / "vecctx", core / "vecctx", ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, core / name)
    shutil.copytree(ROOT / "adapters" / "qdrant" / "src", adapter / "src", ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / "adapters" / "qdrant" / name, adapter / name)
    return core, adapter


def test_docs_quickstart_is_the_readme_quickstart() -> None:
    readme = readme_quickstart((ROOT / "README.md").read_text(encoding="utf-8"))
    docs = readme_quickstart((ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8"))
    assert docs == readme
    install, code = readme
    assert shlex.split(install.split("#")[0]) == ["pip", "install", "vecctx[qdrant]"]
    assert 'load_text_dir("my_docs/")' in code and "print(" in code


@pytest.mark.slow
def test_readme_quickstart_in_a_fresh_venv(tmp_path: Path) -> None:
    install, code = readme_quickstart((ROOT / "README.md").read_text(encoding="utf-8"))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),  # no user site packages or user caches of this machine
        "VECCTX_CACHE": str(tmp_path / "vecctx-cache"),
        # this machine's pip settings (index, certificates, timeouts), if any
        **{k: v for k, v in os.environ.items() if k.startswith("PIP_") or k in ("SSL_CERT_FILE",)},
    }
    core, adapter = _copy_sources(tmp_path / "src")
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    _run(
        [*build, "-w", str(wheels), str(core), str(adapter)],
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert sorted(p.name.split("-")[0] for p in wheels.glob("*.whl")) == ["vecctx", "vecctx_qdrant"]

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=env, timeout=300)
    python = str(venv / "bin" / "python")
    words = shlex.split(install.split("#")[0])
    assert words[:2] == ["pip", "install"]
    # The README's line as written; the two wheels are found beside the registry's packages.
    links = " ".join([str(wheels), *os.environ.get("PIP_FIND_LINKS", "").split()])
    _run([python, "-m", *words], cwd=tmp_path, env={**env, "PIP_FIND_LINKS": links}, timeout=900)
    probe = (
        "import importlib.util as u, sys; print(sys.prefix != sys.base_prefix, "
        "[m for m in ('torch', 'sentence_transformers', 'transformers', 'pytest', 'ruff', 'mypy', "
        "'vecctx_bench') if u.find_spec(m)])"
    )
    assert _run([python, "-c", probe], cwd=tmp_path, env=env, timeout=60).split() == ["True", "[]"]

    work = tmp_path / "work"
    (work / "my_docs").mkdir(parents=True)
    (work / "my_docs" / "keys.md").write_text(
        "API keys\n\nRotate the api keys every 90 days from the admin console: create a new key, "
        "deploy it everywhere, then revoke the old key.\n",
        encoding="utf-8",
    )
    (work / "my_docs" / "billing.txt").write_text(
        "Billing\n\nInvoices are sent on the first working day of each month.\n", encoding="utf-8"
    )
    (work / "quickstart.py").write_text(code, encoding="utf-8")
    out = _run([python, "quickstart.py"], cwd=work, env=env, timeout=600)
    assert "Rotate the api keys every 90 days" in out  # the passage is in the prompt
    assert "How do I rotate the api keys?" in out
    sources = [line.split() for line in out.splitlines() if re.fullmatch(r"\d+ \S+ \d+ \d+", line)]
    assert sources and sources[0][:2] == ["1", "keys.md"]  # the right document ranks first, cited [1]
    assert {s[1] for s in sources} <= {"keys.md", "billing.txt"}
    assert (work / ".vecctx").is_dir()  # the embedded store lives where the code ran
