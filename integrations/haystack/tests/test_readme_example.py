"""The README's code block and the example script run as written."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent.parent


def test_readme_block_runs() -> None:
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README has no python block"
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    retriever = namespace["retriever"]
    store = namespace["document_store"]
    from haystack import Document

    store.write_documents([Document(id="a", content="a", embedding=[1.0] + [0.0] * 383)])  # type: ignore[attr-defined]
    got = retriever.run(query_embedding=[1.0] + [0.0] * 383)["documents"]  # type: ignore[attr-defined]
    assert [d.id for d in got] == ["a"]
    assert got[0].score == pytest.approx(1.0)


def test_example_script(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(HERE / "examples" / "haystack_example.py"), run_name="__main__")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "written: 5"
    ids = [line.split("\t")[0] for line in lines[1:]]
    assert ids == ["keys", "billing"]  # best first; the unembedded draft and the 2019 document are left out
    scores = [float(line.split("\t")[1]) for line in lines[1:]]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
