"""The embedded store's directory lock: one process at a time, as for Qdrant Edge and Milvus Lite."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from vecctx_chroma import open_store

from vecctx import CollectionSpec, Record, StoreLockedError


def _holder(db: Path) -> subprocess.Popen[str]:
    """A second process that opens the store, writes a record, says "ready" and waits for a line."""
    script = textwrap.dedent(
        f"""
        import sys
        from vecctx import CollectionSpec, Record
        from vecctx_chroma import open_store
        s = open_store("chroma://{db}")
        s.create_collection(CollectionSpec(name="c", dimension=2))
        s.upsert("c", [Record(id="child", vector=[1.0, 0.0])])
        print("ready", flush=True)
        sys.stdin.readline()
        s.close()
        """
    )
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_other_process_holds_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "db"
    proc = _holder(db)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError) as info:
            open_store(f"chroma://{db}")
        assert info.value.path == str(db) and ".vecctx.lock" in str(info.value)
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()  # our own child, by its handle
            proc.wait()
    with open_store(f"chroma://{db}") as store:  # released when the other process closed
        assert [r.id for r in store.get("c", ["child"])] == ["child"]


def test_stores_in_one_process_share_the_lock_until_the_last_closes(tmp_path: Path) -> None:
    db = tmp_path / "db"
    first, second = open_store(f"chroma://{db}"), open_store(f"chroma://{db}")
    first.create_collection(CollectionSpec(name="c", dimension=2))
    first.close()
    second.upsert("c", [Record(id="a", vector=[0.0, 1.0])])  # still open, still locked
    proc = _holder(db)
    try:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0 and "StoreLockedError" in err, err[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    second.close()
    with open_store(f"chroma://{db}") as again:
        assert again.count("c") == 1
