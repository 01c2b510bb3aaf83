"""What LangChain's standard suite does not check, on the same four real stores: relevance
scores and score direction, MMR, filters through ``as_retriever`` (translated into vecctx's
filter language, run by the database), ``from_texts``, native async without a thread pool, and
each row of the README's table of differences between LangChain's habits and vecctx's semantics.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import pytest_asyncio
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.structured_query import Comparator, Comparison, Operation, Operator, StructuredQuery
from vecctx_langchain import VecctxTranslator, VecctxVectorStore

import vecctx
from vecctx import F, InvalidFilterError, InvalidInputError
from vecctx.contract.store import AsyncVectorStore, VectorStore

# Unit vectors at known angles to the query [1, 0, 0].
TABLE: dict[str, list[float]] = {
    "query": [1.0, 0.0, 0.0],
    "same": [1.0, 0.0, 0.0],  # cosine 1, distance 0
    "near": [0.6, 0.8, 0.0],  # cosine 0.6, distance 0.894
    "opposite": [-1.0, 0.0, 0.0],  # cosine -1, distance 2
    # MMR: "a" and "a2" are near-duplicates; "b" is less similar to the query but different.
    "a": [0.9, math.sqrt(1 - 0.81), 0.0],
    "a2": [0.89, math.sqrt(1 - 0.89**2), 0.0],
    "b": [0.8, -0.6, 0.0],
}
OTHER = [0.0, 0.0, 1.0]


class TableEmbeddings(Embeddings):
    """Vectors from :data:`TABLE` (any other text: [0, 0, 1]). Its async methods are native, so
    an async search that reaches the loop's executor can only be the vector store's doing."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(TABLE.get(t, OTHER)) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return list(TABLE.get(text, OTHER))

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


Maker = Callable[..., VecctxVectorStore]


@pytest_asyncio.fixture(loop_scope="function")
async def make(url: str, async_native: bool) -> AsyncGenerator[Maker, None]:
    """Wrappers over one vecctx store object (the caller's: the wrapper does not close it),
    with vecctx's async store for the same data where the backend has one."""
    store: VectorStore = vecctx.connect(url)
    astore: AsyncVectorStore | None = None
    if async_native and not url.startswith("memory"):
        astore = vecctx.connect_async(url)  # memory:// is paired by the wrapper itself

    def _make(collection: str = "docs", **kwargs: Any) -> VecctxVectorStore:
        return VecctxVectorStore(store, collection, TableEmbeddings(), async_store=astore, **kwargs)

    try:
        yield _make
    finally:
        if astore is not None:
            await astore.close()
        store.close()


def ids_of(docs: list[Document]) -> list[str | None]:
    return [d.id for d in docs]


# -- scores -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("metric", "scores", "relevances"),
    [
        ("cosine", [1.0, 0.6, -1.0], [1.0, 0.8, 0.0]),  # similarity: higher is closer
        ("euclidean", [0.0, 0.894, 2.0], [1.0, 0.528, 0.333]),  # distance: lower is closer
    ],
)
async def test_score_direction_and_relevance(
    make: Maker, metric: str, scores: list[float], relevances: list[float]
) -> None:
    vs = make(f"scores_{metric}", metric=metric)
    texts = ["same", "near", "opposite"]
    await vs.aadd_texts(texts, ids=texts)
    for with_score in (
        vs.similarity_search_with_score("query", k=3),
        await vs.asimilarity_search_with_score("query", k=3),
    ):
        assert [d.id for d, _ in with_score] == texts
        assert [s for _, s in with_score] == pytest.approx(scores, abs=2e-3)
    for rel in (
        vs.similarity_search_with_relevance_scores("query", k=3),
        await vs.asimilarity_search_with_relevance_scores("query", k=3),
    ):
        assert [d.id for d, _ in rel] == texts
        assert [r for _, r in rel] == pytest.approx(relevances, abs=2e-3)
    kept = vs.similarity_search_with_relevance_scores("query", k=3, score_threshold=0.7)
    assert [d.id for d, _ in kept] == (["same", "near"] if metric == "cosine" else ["same"])
    retriever = vs.as_retriever(
        search_type="similarity_score_threshold", search_kwargs={"k": 3, "score_threshold": 0.5}
    )
    assert ids_of(await retriever.ainvoke("query")) == ["same", "near"]


# -- MMR --------------------------------------------------------------------------------------
async def test_max_marginal_relevance(make: Maker) -> None:
    vs = make()
    vs.add_texts(["a", "a2", "b", "opposite"], ids=["a", "a2", "b", "opposite"])
    assert ids_of(vs.similarity_search("query", k=2)) == ["a", "a2"]
    assert ids_of(vs.max_marginal_relevance_search("query", k=2, fetch_k=4, lambda_mult=0.5)) == ["a", "b"]
    assert ids_of(await vs.amax_marginal_relevance_search("query", k=2, fetch_k=4, lambda_mult=0.5)) == [
        "a",
        "b",
    ]
    assert ids_of(vs.max_marginal_relevance_search("query", k=2, fetch_k=4, lambda_mult=1.0)) == ["a", "a2"]
    # with a filter, through the retriever: "a" is left out, so "a2" comes first
    vs.add_texts(["a"], metadatas=[{"skip": True}], ids=["a"])
    retriever = vs.as_retriever(
        search_type="mmr",
        search_kwargs={"k": 2, "fetch_k": 4, "lambda_mult": 0.5, "filter": {"skip": {"$ne": True}}},
    )
    assert ids_of(retriever.invoke("query")) == ["a2", "b"]
    assert ids_of(await retriever.ainvoke("query")) == ["a2", "b"]
    assert vs.max_marginal_relevance_search_by_vector(TABLE["query"], k=1) == vs.get_by_ids(["a"])


# -- filters through the retriever -------------------------------------------------------------
CORPUS = [
    ("d1", {"year": 2021, "lang": "en", "tags": ["ml", "db"], "author": {"name": "ann"}}),
    ("d2", {"year": 2023, "lang": "de", "tags": ["db"], "author": {"name": "bob"}}),
    ("d3", {"year": 2024, "lang": "en", "tags": [], "draft": True}),
    ("d4", {"year": 2024.5, "lang": "fr"}),
]

FILTERS: list[tuple[Any, set[str]]] = [
    ({"lang": "en"}, {"d1", "d3"}),
    ({"year": {"$gte": 2023}, "lang": {"$in": ["en", "de"]}}, {"d2", "d3"}),
    ((F("year") >= 2022) & (F("year") <= 2024), {"d2", "d3"}),  # a vecctx filter, passed through
    ({"year": {"$between": [2022, 2024]}}, {"d2", "d3"}),
    ({"year": {"$between": (2022, 2024)}}, {"d2", "d3"}),
    ({"$nor": [{"lang": "en"}, {"lang": "fr"}]}, {"d2"}),
    ({"year": {"$not": {"$lt": 2024}}}, {"d3", "d4"}),
    ({"$or": [{"author.name": "ann"}, {"draft": True}]}, {"d1", "d3"}),
    ({"$and": [{"tags": "db"}, {"$not": {"lang": "de"}}]}, {"d1"}),
    ({"tags": {"$exists": False}}, {"d3", "d4"}),  # an empty list is not "existing"
    ({"lang": {"$in": ("de", "fr")}}, {"d2", "d4"}),
    ({}, {"d1", "d2", "d3", "d4"}),
]


async def test_retriever_filters(make: Maker) -> None:
    vs = make()
    ids = [i for i, _ in CORPUS]
    await vs.aadd_texts(ids, metadatas=[m for _, m in CORPUS], ids=ids)
    for flt, expected in FILTERS:
        retriever = vs.as_retriever(search_kwargs={"k": 10, "filter": flt})
        assert set(ids_of(retriever.invoke("query"))) == expected, flt
        assert set(ids_of(await retriever.ainvoke("query"))) == expected, flt
        assert {d.id for d in vs.similarity_search_by_vector(TABLE["query"], k=10, filter=flt)} == expected


async def test_structured_query_filters(make: Maker) -> None:
    """A self-querying retriever's structured query, translated by VecctxTranslator."""
    vs = make()
    ids = [i for i, _ in CORPUS]
    await vs.aadd_texts(ids, metadatas=[m for _, m in CORPUS], ids=ids)
    sq = StructuredQuery(
        query="query",
        filter=Operation(
            operator=Operator.OR,
            arguments=[
                Comparison(comparator=Comparator.EQ, attribute="author.name", value="bob"),
                Comparison(comparator=Comparator.GT, attribute="year", value=2024),
            ],
        ),
    )
    query, kwargs = VecctxTranslator().visit_structured_query(sq)
    assert {d.id for d in vs.similarity_search(query, k=10, **kwargs)} == {"d2", "d4"}
    assert {d.id for d in await vs.asimilarity_search(query, k=10, **kwargs)} == {"d2", "d4"}


# -- from_texts ---------------------------------------------------------------------------------
async def test_from_texts(url: str, async_native: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    vs = VecctxVectorStore.from_texts(
        ["same", "near"], TableEmbeddings(), [{"n": 1}, {"n": 2}], ids=["s", "n"], store=url, collection="ft"
    )
    try:
        assert vs.async_native is async_native
        assert vs.similarity_search("query", k=1) == [
            Document(id="s", page_content="same", metadata={"n": 1})
        ]
        docs = [Document(page_content="opposite", metadata={"n": 3}, id="o")]
        assert await vs.aadd_documents(docs) == ["o"]
        assert ids_of(await vs.asimilarity_search("query", k=3)) == ["s", "n", "o"]
    finally:
        await vs.aclose()
    monkeypatch.setenv("VECCTX_STORE", "memory://")
    default = await VecctxVectorStore.afrom_texts(["same"], TableEmbeddings(), ids=["x"], collection="aft")
    assert isinstance(default.store, vecctx.MemoryStore) and default.async_native
    assert default.collection == "aft" and default.get_by_ids(["x"])[0].page_content == "same"
    assert not default.closed
    await default.aclose()
    assert default.closed


# -- native async: no thread pool ------------------------------------------------------------------
class CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


async def test_async_uses_native_store_and_no_thread_pool(make: Maker, async_native: bool) -> None:
    """Where vecctx has a natively async store, no async method touches the loop's executor;
    where it has none, they are LangChain's defaults (the sync method in the executor)."""
    vs = make()
    assert vs.async_native is async_native
    executor = CountingExecutor()
    asyncio.get_running_loop().set_default_executor(executor)
    await vs.aadd_texts(["same", "near"], metadatas=[{"k": 1}, {"k": 2}], ids=["s", "n"])
    await vs.aadd_documents([Document(page_content="opposite", id="o")])
    assert ids_of(await vs.asimilarity_search("query", k=1, filter={"k": 2})) == ["n"]
    assert len(await vs.asimilarity_search_with_score("query", k=2)) == 2
    assert len(await vs.asimilarity_search_with_relevance_scores("query", k=2)) == 2
    assert len(await vs.asimilarity_search_by_vector(TABLE["query"], k=2)) == 2
    assert len(await vs.amax_marginal_relevance_search("query", k=2, fetch_k=3)) == 2
    assert ids_of(await vs.aget_by_ids(["o", "s"])) == ["o", "s"]
    assert await vs.adelete(["o"]) is True
    assert ids_of(await vs.as_retriever(search_kwargs={"k": 5}).ainvoke("query")) == ["s", "n"]
    if async_native:
        assert executor.submitted == 0
    else:
        assert executor.submitted >= 9
    executor.shutdown()


# -- the README's table of differences -------------------------------------------------------------
def _load(vs: VecctxVectorStore, rows: list[tuple[str, dict[str, Any]]]) -> None:
    vs.add_texts([i for i, _ in rows], metadatas=[m for _, m in rows], ids=[i for i, _ in rows])


def _ids(vs: VecctxVectorStore, flt: Any) -> set[str | None]:
    return {d.id for d in vs.similarity_search("query", k=10, filter=flt)}


def test_list_field_matches_any_element(make: Maker) -> None:
    vs = make()
    _load(vs, [("ab", {"tags": ["a", "b"]}), ("c", {"tags": ["c"]}), ("none", {})])
    assert _ids(vs, {"tags": "a"}) == {"ab"}
    assert _ids(vs, {"tags": {"$in": ["c", "z"]}}) == {"c"}
    assert _ids(vs, {"tags": {"$nin": ["a"]}}) == {"c", "none"}
    assert vs.get_by_ids(["ab"])[0].metadata == {"tags": ["a", "b"]}
    with pytest.raises(InvalidFilterError, match=r"\$in"):
        vs.similarity_search("query", filter={"tags": ["a", "b"]})


def test_booleans_are_not_numbers(make: Maker) -> None:
    vs = make()
    _load(
        vs,
        [
            ("true", {"v": True}),
            ("one", {"v": 1}),
            ("zero", {"v": 0}),
            ("false", {"v": False}),
            ("onef", {"v": 1.0}),
        ],
    )
    assert _ids(vs, {"v": True}) == {"true"}
    assert _ids(vs, {"v": 1}) == {"one", "onef"}  # 1 == 1.0, never True
    assert _ids(vs, {"v": {"$gte": 0}}) == {"one", "zero", "onef"}  # ranges skip booleans
    assert _ids(vs, {"v": {"$ne": False}}) == {"true", "one", "zero", "onef"}
    got = {d.id: d.metadata["v"] for d in vs.get_by_ids(["true", "one", "onef"])}
    assert got == {"true": True, "one": 1, "onef": 1.0}
    assert type(got["true"]) is bool and type(got["one"]) is int


def test_null_and_missing(make: Maker) -> None:
    vs = make()
    _load(vs, [("one", {"x": 1}), ("null", {"x": None}), ("missing", {})])
    assert _ids(vs, {"x": {"$ne": 1}}) == {"null", "missing"}  # ne is "not eq": matches missing
    assert _ids(vs, {"x": {"$exists": False}}) == {"null", "missing"}  # null counts as missing
    assert _ids(vs, {"x": {"$exists": True}}) == {"one"}
    assert _ids(vs, {"$and": [{"x": {"$exists": True}}, {"x": {"$ne": 2}}]}) == {"one"}
    assert _ids(vs, {"x": None}) == {"null", "missing"}  # null means missing, as $exists: false
    assert _ids(vs, {"x": {"$in": [1, None]}}) == {"one", "null", "missing"}


def test_dates_need_a_declared_date_field(make: Maker) -> None:
    """Without a field declared ``FieldType.DATETIME`` (the LangChain store declares none),
    a date object is refused and ISO strings are strings; epoch numbers take ranges."""
    vs = make()
    with pytest.raises(InvalidInputError, match=r"FieldType\.DATETIME"):
        vs.add_texts(["same"], metadatas=[{"when": dt.date(2024, 1, 1)}], ids=["d"])
    assert vs.get_by_ids(["d"]) == []  # nothing written
    day = dt.date(2024, 1, 1)
    _load(vs, [("jan", {"when": day.isoformat(), "ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()})])
    _load(vs, [("feb", {"when": "2024-02-01", "ts": dt.datetime(2024, 2, 1, tzinfo=dt.UTC).timestamp()})])
    assert _ids(vs, {"when": "2024-01-01"}) == {"jan"}  # ISO strings: equality only
    with pytest.raises(InvalidFilterError, match="needs a number"):
        vs.similarity_search("query", filter={"when": {"$gte": "2024-01-15"}})
    cutoff = dt.datetime(2024, 1, 15, tzinfo=dt.UTC).timestamp()
    assert _ids(vs, {"ts": {"$gte": cutoff}}) == {"feb"}  # epoch numbers: ranges


def test_ids(make: Maker) -> None:
    vs = make()
    ids = vs.add_texts(["same", "near", "same"], metadatas=[{"id": 7}, {}, {"id": 8}], ids=["x", None, "x"])  # type: ignore[list-item]
    assert ids[0] == ids[2] == "x" and len(ids[1] or "") == 36  # generated: a UUID4 string
    got = vs.get_by_ids(["x", ids[1], "x", "nope"])
    assert got == [
        Document(id="x", page_content="same", metadata={"id": 8}),  # the last "x" won; metadata "id" is data
        Document(id=ids[1], page_content="near", metadata={}),
    ]
    with pytest.raises(InvalidInputError, match="id must be a non-empty string"):
        vs.add_texts(["same"], ids=[7])  # type: ignore[list-item]
    unicode_id = "ü/ id:with spaces#1"
    vs.add_documents([Document(id=unicode_id, page_content="opposite")])
    assert ids_of(vs.similarity_search("opposite", k=1)) == [unicode_id]


def test_metadata_keys_and_nesting(make: Maker) -> None:
    vs = make()
    with pytest.raises(InvalidInputError, match="may not contain"):
        vs.add_texts(["same"], metadatas=[{"a.b": 1}])
    _load(vs, [("ann", {"author": {"name": "ann", "age": 40}}), ("bob", {"author": {"name": "bob"}})])
    assert _ids(vs, {"author.name": "ann"}) == {"ann"}
    assert _ids(vs, {"author.age": {"$gt": 30}}) == {"ann"}
    assert vs.get_by_ids(["ann"])[0].metadata == {"author": {"name": "ann", "age": 40}}


def test_callable_filters_and_unknown_arguments_are_refused(make: Maker) -> None:
    vs = make()
    _load(vs, [("one", {"x": 1})])
    with pytest.raises(TypeError, match="callable"):
        vs.similarity_search("query", filter=lambda doc: True)
    with pytest.raises(TypeError, match="filters"):
        vs.similarity_search("query", filters={"x": 1})
    with pytest.raises(InvalidFilterError, match="unknown operator"):
        vs.similarity_search("query", filter={"x": {"$like": "1%"}})


def test_delete_by_filter_and_never_everything(make: Maker) -> None:
    vs = make()
    _load(vs, [("a", {"year": 2020}), ("b", {"year": 2024}), ("c", {})])
    with pytest.raises(ValueError, match="needs ids or a filter"):
        vs.delete()
    assert vs.delete(filter={"year": {"$lt": 2022}}) is True
    assert sorted(d.id or "" for d in vs.get_by_ids(["a", "b", "c"])) == ["b", "c"]
    vs.delete_collection()
    assert vs.similarity_search("query") == []
    vs.add_texts(["same"], ids=["again"])  # the next write creates the collection again
    assert ids_of(vs.similarity_search("query")) == ["again"]
