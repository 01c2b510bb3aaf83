"""The embedded store's directory lock: one process at a time, as for Qdrant Edge and Milvus Lite."""

from __future__ import annotations

from pathlib import Path

import pytest
from vecctx_chroma import open_store

from vecctx import CollectionSpec, Record, StoreLockedError
from vecctx.testing import ServerError, held_in_another_process

SETUP = 's.create_collection(CollectionSpec(name="c", dimension=2)); s.upsert("c", [Record(id="child", vector=[1.0, 0.0])])'


def test_other_process_holds_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "db"
    with held_in_another_process(f"chroma://{db}", SETUP):
        with pytest.raises(StoreLockedError) as info:
            open_store(f"chroma://{db}")
        assert info.value.path == str(db) and ".vecctx.lock" in str(info.value)
    with open_store(f"chroma://{db}") as store:  # released when the other process closed
        assert [r.id for r in store.get("c", ["child"])] == ["child"]


def test_stores_in_one_process_share_the_lock_until_the_last_closes(tmp_path: Path) -> None:
    db = tmp_path / "db"
    first, second = open_store(f"chroma://{db}"), open_store(f"chroma://{db}")
    first.create_collection(CollectionSpec(name="c", dimension=2))
    first.close()
    second.upsert("c", [Record(id="a", vector=[0.0, 1.0])])  # still open, still locked
    child = held_in_another_process(f"chroma://{db}", SETUP)
    with pytest.raises(ServerError, match="StoreLockedError"), child:  # the child cannot open it
        pass
    second.close()
    with open_store(f"chroma://{db}") as again:
        assert again.count("c") == 1
