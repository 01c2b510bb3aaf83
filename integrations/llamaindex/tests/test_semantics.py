"""Where vecctx's semantics differ from LlamaIndex's reference (``SimpleVectorStore``), on
every backend. Each test here is one row of the README's differences table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from vecctx_llamaindex import UnsupportedFilterError, VecctxVectorStore

import vecctx

Make = Callable[..., VecctxVectorStore]


def node(nid: str, metadata: dict[str, Any], embedding: list[float] | None = None) -> TextNode:
    return TextNode(id_=nid, text=f"text of {nid}", metadata=metadata, embedding=embedding or [1.0, 0.0])


def one(key: str, op: FilterOperator, value: Any) -> MetadataFilters:
    return MetadataFilters(filters=[MetadataFilter(key=key, operator=op, value=value)])


def ids(store: Any, filters: MetadataFilters) -> set[str]:
    res = store.query(VectorStoreQuery(query_embedding=[1.0, 0.0], similarity_top_k=10, filters=filters))
    return set(res.ids or [])


def reference(nodes: list[TextNode]) -> SimpleVectorStore:
    simple = SimpleVectorStore()
    simple.add(nodes)
    return simple


def test_list_values_eq_matches_any_element(make_store: Make) -> None:
    nodes = [node("n1", {"tags": ["a", "b"]}), node("n2", {"tags": "a"}), node("n3", {"tags": ["c"]})]
    vs = make_store()
    vs.add(nodes)
    eq_a = one("tags", FilterOperator.EQ, "a")
    # vecctx: a list matches when any element does (so EQ works like CONTAINS on lists) ...
    assert ids(vs, eq_a) == {"n1", "n2"}
    # ... LlamaIndex's reference compares the whole value.
    assert ids(reference(nodes), eq_a) == {"n2"}
    # CONTAINS and IN agree with the reference.
    contains = one("tags", FilterOperator.CONTAINS, "a")
    assert ids(vs, contains) == ids(reference(nodes), contains) == {"n1", "n2"}


def test_booleans_are_not_numbers(make_store: Make) -> None:
    nodes = [node("t", {"flag": True}), node("f", {"flag": False}), node("one", {"flag": 1})]
    vs = make_store()
    vs.add(nodes)
    eq_1 = one("flag", FilterOperator.EQ, 1)
    assert ids(vs, eq_1) == {"one"}  # vecctx: True is not 1
    assert ids(reference(nodes), eq_1) == {"t", "one"}  # Python: True == 1
    assert ids(vs, one("flag", FilterOperator.GT, 0)) == {"one"}
    # MetadataFilter's strict types refuse a bool value; built without validation, vecctx
    # matches booleans exactly.
    eq_true = MetadataFilters(
        filters=[MetadataFilter.model_construct(key="flag", operator=FilterOperator.EQ, value=True)]
    )
    assert ids(vs, eq_true) == {"t"}


def test_null_and_missing_are_the_same(make_store: Make) -> None:
    nodes = [node("null", {"x": None}), node("absent", {}), node("set", {"x": "v"})]
    vs = make_store()
    vs.add(nodes)
    simple = reference(nodes)
    for flt, expected in [
        (one("x", FilterOperator.EQ, "v"), {"set"}),
        (one("x", FilterOperator.NE, "v"), {"null", "absent"}),
        (one("x", FilterOperator.NIN, ["v"]), {"null", "absent"}),
        (one("x", FilterOperator.IN, ["v"]), {"set"}),
        (one("x", FilterOperator.IS_EMPTY, None), {"null", "absent"}),
    ]:
        assert ids(vs, flt) == expected
        assert ids(simple, flt) == expected  # same as LlamaIndex's reference
    # The node's own metadata keeps the explicit null.
    assert vs.get_nodes(node_ids=["null"])[0].metadata == {"x": None}


def test_dates_as_strings_need_numbers(make_store: Make) -> None:
    nodes = [
        node("old", {"date": "2023-05-01", "ts": 20230501}),
        node("new", {"date": "2024-02-01", "ts": 20240201}),
    ]
    vs = make_store()
    vs.add(nodes)
    by_string = one("date", FilterOperator.GT, "2024-01-01")
    assert ids(reference(nodes), by_string) == {"new"}  # Python compares the strings
    with pytest.raises(UnsupportedFilterError, match="needs a number"):
        ids(vs, by_string)
    assert ids(vs, one("ts", FilterOperator.GT, 20240101)) == {"new"}
    assert ids(vs, one("date", FilterOperator.EQ, "2024-02-01")) == {"new"}  # equality works


def test_similarity_is_relevance(make_store: Make) -> None:
    nodes = [node("same", {}, [1.0, 0.0]), node("orth", {}, [0.0, 1.0]), node("opp", {}, [-1.0, 0.0])]
    vs = make_store()
    vs.add(nodes)
    q = VectorStoreQuery(query_embedding=[1.0, 0.0], similarity_top_k=3)
    ours = vs.query(q)
    raw = reference(nodes).query(q)
    assert ours.ids == raw.ids == ["same", "orth", "opp"]
    # vecctx: relevance in [0, 1], (1 + cos) / 2 for cosine; LlamaIndex's reference: raw cosine.
    assert ours.similarities == pytest.approx([1.0, 0.5, 0.0], abs=1e-5)
    assert raw.similarities == pytest.approx([1.0, 0.0, -1.0], abs=1e-5)


def test_ids_are_any_string_returned_unchanged(make_store: Make) -> None:
    odd = ["doc-1#chunk/2", "ünïcode ✓", "42", "c330d77f-90bd-4c51-9ed2-57d8d693b3b0"]
    vs = make_store()
    assert vs.add([node(i, {"i": n}) for n, i in enumerate(odd)]) == odd
    assert [n.node_id for n in vs.get_nodes(node_ids=odd)] == odd
    res = vs.query(VectorStoreQuery(query_embedding=[1.0, 0.0], similarity_top_k=10, node_ids=odd[:2]))
    assert set(res.ids or []) == set(odd[:2])


def test_metadata_keys_with_dots_are_refused_and_nested_paths_work(make_store: Make) -> None:
    vs = make_store()
    with pytest.raises(vecctx.InvalidInputError, match="may not contain"):
        vs.add([node("dotted", {"file.name": "a.txt"})])
    assert vs.get_nodes() == []  # nothing written
    vs.add([node("nested", {"author": {"name": "ann"}}), node("other", {"author": {"name": "bob"}})])
    assert ids(vs, one("author.name", FilterOperator.EQ, "ann")) == {"nested"}
