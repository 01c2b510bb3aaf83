"""Run the ``vecctx`` command in a child process, as a user would, for the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import vecctx

#: The checkout holding this ``vecctx``: put first on the child's path, so the child runs the
#: code under test whatever the editable install points at.
SOURCE_ROOT = str(Path(vecctx.__file__).resolve().parents[1])


def run_vecctx(
    args: list[str], cwd: Path, *, timeout: float = 600, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m vecctx ARGS`` in ``cwd``, offline, without the caller's ``VECCTX_STORE``
    (``env`` adds or overrides variables); its exit code and output are returned, not checked."""
    full = {**os.environ, "HF_HUB_OFFLINE": "1"}
    full.pop("VECCTX_STORE", None)
    full.update(env)
    full["PYTHONPATH"] = os.pathsep.join(p for p in (SOURCE_ROOT, full.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "vecctx", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
