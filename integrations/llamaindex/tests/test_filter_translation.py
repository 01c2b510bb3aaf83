"""The translation of LlamaIndex filters into vecctx's filter tree, and the refusals."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from vecctx_llamaindex import (
    UnsupportedFilterError,
    UnsupportedQueryError,
    VecctxVectorStore,
    translate_filter,
    translate_filters,
)

import vecctx


def mf(key: str, op: FilterOperator, value: Any) -> MetadataFilter:
    return MetadataFilter(key=key, operator=op, value=value)


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (mf("a", FilterOperator.EQ, "x"), {"a": {"$eq": "x"}}),
        (mf("a", FilterOperator.NE, 1), {"a": {"$ne": 1}}),
        (mf("a", FilterOperator.GT, 1.5), {"a": {"$gt": 1.5}}),
        (mf("a", FilterOperator.GTE, 1), {"a": {"$gte": 1}}),
        (mf("a", FilterOperator.LT, 2), {"a": {"$lt": 2}}),
        (mf("a", FilterOperator.LTE, 2), {"a": {"$lte": 2}}),
        (mf("a", FilterOperator.IN, ["x", "y"]), {"a": {"$in": ["x", "y"]}}),
        (mf("a", FilterOperator.NIN, [1, 2]), {"a": {"$nin": [1, 2]}}),
        (mf("a", FilterOperator.CONTAINS, "x"), {"a": {"$eq": "x"}}),
        (mf("a", FilterOperator.ANY, ["x", "y"]), {"a": {"$in": ["x", "y"]}}),
        (mf("a", FilterOperator.ALL, ["x", "y"]), {"$and": [{"a": {"$eq": "x"}}, {"a": {"$eq": "y"}}]}),
        (
            mf("a", FilterOperator.IS_EMPTY, None),
            {"$or": [{"$not": {"a": {"$exists": True}}}, {"a": {"$eq": ""}}]},
        ),
    ],
    ids=lambda v: v.operator.name if isinstance(v, MetadataFilter) else "",
)
def test_operator_translation(flt: MetadataFilter, expected: dict[str, Any]) -> None:
    assert translate_filter(flt).to_dict() == expected


def tree(filters: MetadataFilters) -> dict[str, Any]:
    translated = translate_filters(filters)
    assert translated is not None
    return translated.to_dict()


def test_conditions_and_nesting() -> None:
    a = mf("a", FilterOperator.EQ, 1)
    b = mf("b", FilterOperator.EQ, 2)
    c = mf("c", FilterOperator.EQ, 3)
    assert tree(MetadataFilters(filters=[a, b])) == {"$and": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]}
    assert tree(MetadataFilters(filters=[a, b], condition=FilterCondition.OR)) == {
        "$or": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]
    }
    # NOT: none of the filters match.
    assert tree(MetadataFilters(filters=[a, b], condition=FilterCondition.NOT)) == {
        "$not": {"$or": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]}
    }
    nested = MetadataFilters(
        filters=[a, MetadataFilters(filters=[b, c], condition=FilterCondition.OR)],
        condition=FilterCondition.AND,
    )
    assert tree(nested) == {"$and": [{"a": {"$eq": 1}}, {"$or": [{"b": {"$eq": 2}}, {"c": {"$eq": 3}}]}]}
    assert translate_filters(None) is None
    assert translate_filters(MetadataFilters(filters=[])) is None
    # An empty group is true: it drops out of AND and makes OR true.
    empty = MetadataFilters(filters=[])
    assert tree(MetadataFilters(filters=[a, empty])) == {"a": {"$eq": 1}}
    assert translate_filters(MetadataFilters(filters=[a, empty], condition=FilterCondition.OR)) is None


def test_empty_in_and_nin() -> None:
    nothing = translate_filter(mf("a", FilterOperator.IN, []))
    everything = translate_filter(mf("a", FilterOperator.NIN, []))
    for meta in ({}, {"a": 1}, {"a": None}, {"a": [1, 2]}):
        assert not nothing.matches(meta)
        assert everything.matches(meta)


@pytest.mark.parametrize("op", [FilterOperator.TEXT_MATCH, FilterOperator.TEXT_MATCH_INSENSITIVE])
def test_text_match_is_refused_clearly(op: FilterOperator) -> None:
    with pytest.raises(UnsupportedFilterError, match="substring") as info:
        translate_filter(mf("identifier", op, "6FTR"))
    # Both vecctx's error and the ValueError LlamaIndex's own stores raise.
    assert isinstance(info.value, vecctx.UnsupportedFeatureError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("flt", "match"),
    [
        (mf("date", FilterOperator.GT, "2024-01-01"), "needs a number"),
        (mf("a", FilterOperator.EQ, ["x", "y"]), "IN/ANY/ALL"),
        (mf("a", FilterOperator.EQ, None), "IS_EMPTY"),
        (mf("a", FilterOperator.IN, "x"), "list of values"),
        (mf("$a", FilterOperator.EQ, "x"), "dotted path"),
    ],
)
def test_inexpressible_filters_are_refused(flt: MetadataFilter, match: str) -> None:
    with pytest.raises(UnsupportedFilterError, match=match):
        translate_filter(flt)


def test_refusals_happen_before_any_io() -> None:
    vs = VecctxVectorStore("memory://", collection_name="t")
    bad = MetadataFilters(filters=[mf("x", FilterOperator.TEXT_MATCH, "y")])
    with pytest.raises(UnsupportedFilterError):
        vs.query(VectorStoreQuery(query_embedding=[1.0], filters=bad))
    with pytest.raises(UnsupportedFilterError):
        vs.get_nodes(filters=bad)
    with pytest.raises(UnsupportedFilterError):
        vs.delete_nodes(filters=bad)
    assert not vs.client.has_collection("t")
    vs.close()


@pytest.mark.parametrize("mode", [m for m in VectorStoreQueryMode if m is not VectorStoreQueryMode.DEFAULT])
def test_other_query_modes_are_refused(mode: VectorStoreQueryMode) -> None:
    vs = VecctxVectorStore("memory://", collection_name="t")
    with pytest.raises(UnsupportedQueryError, match="query mode"):
        vs.query(VectorStoreQuery(query_embedding=[1.0], mode=mode))
    vs.close()
