"""The README's example and examples/langchain_example.py run as a user would run them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _run(args: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=HERE, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_readme_example() -> None:
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README has no python example"
    assert _run(["-c", blocks[0]]).strip() == "['keys']"


def test_example_script() -> None:
    out = _run([str(HERE / "examples" / "langchain_example.py")])
    lines = out.splitlines()
    assert lines[0] == "filtered: ['keys']"
    assert [line.split(":")[0] for line in lines[1:4]] == ["keys", "vpn", "food"]
    assert lines[-1] == "native async: True"
