"""The filter translation itself: LangChain/Mongo spellings and LangChain's structured query
language into vecctx filter trees (checked against trees built with ``vecctx.F`` and against
the reference evaluator). That the translated filters run in each database is shown by
``test_vectorstore.py::test_retriever_filters`` and ``test_structured_query_filters``."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.structured_query import Comparator, Comparison, Operation, Operator, StructuredQuery
from vecctx_langchain import VecctxTranslator, to_vecctx_filter

from vecctx import F, InvalidFilterError

CASES: list[tuple[dict[str, Any], Any]] = [
    ({"a": 1}, F("a") == 1),
    ({"$nor": [{"a": 1}, {"b": 2}]}, ~((F("a") == 1) | (F("b") == 2))),
    ({"a": {"$not": {"$gt": 3}}}, ~(F("a") > 3)),
    ({"a": {"$gte": 1, "$not": {"$eq": 3}}}, (F("a") >= 1) & ~(F("a") == 3)),
    ({"a": {"$between": [1, 5]}}, (F("a") >= 1) & (F("a") <= 5)),
    ({"a": {"$in": ("x", "y")}}, F("a").in_(["x", "y"])),
    ({"$and": ({"a": 1}, {"b": {"$exists": False}})}, (F("a") == 1) & F("b").missing()),
    ({"$or": [{"a": {"$not": {"$in": [1, 2]}}}, {"c": "z"}]}, (~F("a").in_([1, 2])) | (F("c") == "z")),
]

METADATA: list[dict[str, Any]] = [
    {},
    {"a": 1},
    {"a": 3},
    {"a": 5, "b": 2},
    {"a": "x"},
    {"a": [1, 7]},
    {"c": "z", "a": None},
    {"b": None},
]


@pytest.mark.parametrize(("spec", "expected"), CASES)
def test_rewrites_match_the_builder(spec: dict[str, Any], expected: Any) -> None:
    got = to_vecctx_filter(spec)
    assert got is not None
    assert [got.matches(m) for m in METADATA] == [expected.matches(m) for m in METADATA]


def test_passes_filters_and_none_through() -> None:
    flt = F("a") == 1
    assert to_vecctx_filter(flt) is flt
    assert to_vecctx_filter(None) is None
    assert to_vecctx_filter({}) is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"a": {"$between": [1]}}, r"\[low, high\]"),
        ({"a": {"$like": "x%"}}, "unknown operator"),
        ({"$nor": {"a": 1}}, "expected a list"),
        ({"a": [1, 2]}, r"\$in"),
        ({"a": {"$gt": "2024-01-01"}}, "needs a number"),
        ({"a": {"$gt": None}}, "needs a number"),
        ({"a": {"$eq": {"x": 1}}}, "not a string, number, bool or timezone-aware datetime"),
    ],
)
def test_malformed_filters_raise(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        to_vecctx_filter(spec)


def test_callables_and_strangers_are_refused() -> None:
    with pytest.raises(TypeError, match="callable"):
        to_vecctx_filter(lambda doc: True)  # type: ignore[arg-type]
    with pytest.raises(InvalidFilterError, match="must be a dict"):
        to_vecctx_filter("a == 1")  # type: ignore[arg-type]


def test_structured_query_translation() -> None:
    sq = StructuredQuery(
        query="keys",
        filter=Operation(
            operator=Operator.AND,
            arguments=[
                Comparison(comparator=Comparator.GTE, attribute="year", value=2023),
                Operation(
                    operator=Operator.NOT,
                    arguments=[Comparison(comparator=Comparator.IN, attribute="lang", value=["fr"])],
                ),
            ],
        ),
    )
    query, kwargs = VecctxTranslator().visit_structured_query(sq)
    assert query == "keys"
    expected = (F("year") >= 2023) & ~F("lang").in_(["fr"])
    rows: list[dict[str, Any]] = [
        {"year": 2024, "lang": "en"},
        {"year": 2024, "lang": "fr"},
        {"year": 2020},
        {"year": 2024},
    ]
    assert (
        [kwargs["filter"].matches(m) for m in rows]
        == [expected.matches(m) for m in rows]
        == [
            True,
            False,
            False,
            True,
        ]
    )
    assert VecctxTranslator().visit_structured_query(StructuredQuery(query="q", filter=None)) == ("q", {})


@pytest.mark.parametrize("comparator", [Comparator.CONTAIN, Comparator.LIKE])
def test_structured_query_refuses_what_vecctx_cannot_mean(comparator: Comparator) -> None:
    with pytest.raises(ValueError, match="disallowed comparator"):
        VecctxTranslator().visit_comparison(Comparison(comparator=comparator, attribute="a", value="x"))


def test_structured_query_refuses_dates() -> None:
    date = {"type": "date", "date": "2024-01-01"}
    with pytest.raises(InvalidFilterError, match="no date type"):
        VecctxTranslator().visit_comparison(
            Comparison(comparator=Comparator.GT, attribute="when", value=date)
        )
