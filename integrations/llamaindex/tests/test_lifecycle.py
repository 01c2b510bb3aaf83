"""Construction, ownership and serialisation of ``VecctxVectorStore``."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.schema import TextNode
from vecctx_llamaindex import VecctxVectorStore

import vecctx


def test_store_object_is_left_open() -> None:
    base = vecctx.connect("memory://")
    vs = VecctxVectorStore(base, collection_name="c")
    assert vs.client is base
    vs.add([TextNode(id_="x", text="x", embedding=[1.0])])
    vs.close()
    assert base.count("c") == 1  # still open: the caller owns it
    base.close()


def test_url_store_is_closed_and_close_is_idempotent(tmp_path: Path) -> None:
    vs = VecctxVectorStore(f"qdrant://{tmp_path / 'q'}", collection_name="c")
    vs.add([TextNode(id_="x", text="x", embedding=[1.0, 0.0])])
    vs.close()
    vs.close()
    with pytest.raises(vecctx.StoreClosedError):
        vs.client.count("c")
    # Reopened, the data is there (Qdrant Edge is persistent).
    again = VecctxVectorStore(f"qdrant://{tmp_path / 'q'}", collection_name="c")
    assert [n.node_id for n in again.get_nodes()] == ["x"]
    again.close()


def test_to_dict_round_trip() -> None:
    vs = VecctxVectorStore("memory://", collection_name="abc", metric="dot")
    data = vs.to_dict()
    assert data["class_name"] == "VecctxVectorStore"
    assert data["url"] == "memory://" and data["collection_name"] == "abc" and data["metric"] == "dot"
    again = VecctxVectorStore.from_dict(data)
    assert (again.url, again.collection_name, again.metric) == ("memory://", "abc", "dot")
    vs.close()
    again.close()


def test_bad_collection_name_is_refused_before_opening() -> None:
    with pytest.raises(vecctx.ConfigError, match="must start with a letter"):
        VecctxVectorStore("memory://", collection_name="1bad")


def test_dimension_mismatch_is_an_error() -> None:
    vs = VecctxVectorStore("memory://", collection_name="c")
    vs.add([TextNode(id_="x", text="x", embedding=[1.0, 0.0])])
    with pytest.raises(vecctx.VecctxError):
        vs.add([TextNode(id_="y", text="y", embedding=[1.0, 0.0, 0.0])])
    vs.close()
