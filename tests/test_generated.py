"""Generated synchronous twins are current (each sync/async pair is written once)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_sync_twins_are_current() -> None:
    run = subprocess.run(
        [sys.executable, "scripts/unasync.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_generator_strips_async_and_renames() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from unasync import unasync_source
    finally:
        sys.path.pop(0)
    src = (
        "from collections.abc import AsyncIterator\n"
        "class AsyncThing:\n"
        "    async def go(self, x: AsyncIterator[int]) -> int:\n"
        "        async with self.lock:\n"
        "            return await self.call('AsyncThing', x)\n"
        "__all__ = ['AsyncThing']\n"
    )
    out = unasync_source(src)
    assert "async" not in out.replace("'AsyncThing'", "")
    assert "await" not in out
    assert "class Thing:" in out and "def go(self, x: Iterator[int])" in out
    assert "with self.lock:" in out
    assert "self.call('AsyncThing', x)" in out  # a string argument is text, not a name...
    assert "__all__ = ['Thing']" in out  # ...but a quoted name alone is renamed
