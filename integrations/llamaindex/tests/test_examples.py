"""The README's snippet and examples/llamaindex_example.py run, and print what they say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent.parent


def test_example_script() -> None:
    out = subprocess.run(
        [sys.executable, str(HERE / "examples" / "llamaindex_example.py")],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    lines = out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["keys", "notes"]
    assert lines[0].endswith("Rotate the API keys every ninety days.")


def test_readme_snippet(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (HERE / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks, "the README has a python block"
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert out.split() == ["keys", "notes"]
