"""A reusable behaviour suite for LlamaIndex vector stores, run here on ``VecctxVectorStore``.

LlamaIndex ships no shared vector-store conformance suite as a package: ``llama-index-core``'s
wheel holds no tests or test helpers (checked for 0.14.25: no ``tests`` package, no
``conformance`` module, nothing under ``llama_index/core`` that defines a test). Each
LlamaIndex vector-store integration carries its own tests instead. This module ports the
behaviour checks those tests make into one mixin:

* ``llama-index-core/tests/vector_stores/test_simple.py`` (SimpleVectorStore, the reference):
  ranking, top-k, ``node_ids``, every filter operator and condition, ``delete(ref_doc_id)``;
* the Chroma integration's tests: add + query sync and async, query by metadata filters only,
  ``get_nodes``, ``delete_nodes``, ``clear``;
* the Qdrant integration's tests: ``delete_nodes`` + ``get_nodes`` (sync and async),
  ``aclear``, embeddings returned by ``aget_nodes``, ``IN``/``NIN`` over mixed value types,
  ``AND``/``OR``/``NOT`` and nested filters;
* plus what every integration relies on: metadata, text, relationships and node type round
  trips, upsert by id, similarity direction.

Use it by subclassing :class:`VectorStoreConformance` and defining a ``vector_store`` fixture
that yields an empty store (3-dimensional embeddings are used) and closes it afterwards.
Importing this module needs pytest.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import pytest
from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryResult,
)

P = ParamSpec("P")
T = TypeVar("T")
Suite = TypeVar("Suite", bound="VectorStoreConformance")

A = "AF3BE6C4-5F43-4D74-B075-6B0E07900DE8"  # weight 1, rank a
B = "7D9CD555-846C-445C-A9DD-F8924A01411D"  # weight 2, rank c
C = "452D24AB-F185-414C-A352-590B4B9EE51B"  # weight 3, rank c
D = "0b31ae71-b797-4e88-8495-031371a7752e"  # no weight, rank, quality
ALL_IDS = {A, B, C, D}


def _ranked(
    weight: float, rank: str, quality: list[str], identifier: str, some_key: int | str, **person: str
) -> dict[str, Any]:
    return {
        "weight": weight,
        "rank": rank,
        "quality": quality,
        "identifier": identifier,
        "some_key": some_key,
        **person,
    }


def conformance_nodes() -> list[TextNode]:
    """The data set: LlamaIndex core's SimpleVectorStore test nodes (A, B, C, with the Qdrant
    tests' ``some_key`` of mixed types) and a node without those keys, from Chroma's tests (D).
    The ``n``-th node comes from the document ``test-<n>``."""
    texts = [
        "lorem ipsum",
        "dolor sit amet",
        "consectetur adipiscing",
        "I was taught that the way of progress was neither swift nor easy.",
    ]
    vectors = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    metadata = [
        _ranked(1.0, "a", ["medium", "high"], "6FTR78Yun", 1, author="Stephen King"),
        _ranked(2.0, "c", ["medium"], "6FTR78Ygl", 2, director="Francis Ford Coppola"),
        _ranked(3.0, "c", ["low", "medium", "high"], "6FTR78Ztl", "3", director="Christopher Nolan"),
        {"author": "Marie Curie", "empty": ""},
    ]
    rows = zip([A, B, C, D], texts, vectors, metadata, strict=True)
    return [
        TextNode(
            text=text,
            id_=id_,
            embedding=vector,
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=f"test-{n}")},
            metadata=meta,
        )
        for n, (id_, text, vector, meta) in enumerate(rows)
    ]


def _m(key: str, value: Any, op: FilterOperator = FilterOperator.EQ) -> MetadataFilter:
    return MetadataFilter(key=key, operator=op, value=value)


def _join(condition: FilterCondition, *filters: MetadataFilter | MetadataFilters) -> MetadataFilters:
    return MetadataFilters(filters=list(filters), condition=condition)


def _f(key: str, op: FilterOperator, value: Any) -> MetadataFilters:
    return MetadataFilters(filters=[_m(key, value, op)])


AND, OR, NOT = FilterCondition.AND, FilterCondition.OR, FilterCondition.NOT
RANK_C = _f("rank", FilterOperator.EQ, "c")  # B and C

#: (case id, filters, the ids LlamaIndex's semantics select among A, B, C, D).
FILTER_CASES: list[tuple[str, MetadataFilters, set[str]]] = [
    ("eq_str", RANK_C, {B, C}),
    ("eq_float", _f("weight", FilterOperator.EQ, 1.0), {A}),
    ("eq_int_matches_float", _f("weight", FilterOperator.EQ, 2), {B}),
    ("ne", _f("weight", FilterOperator.NE, 1.0), {B, C, D}),
    ("gt", _f("weight", FilterOperator.GT, 1.5), {B, C}),
    ("gte", _f("weight", FilterOperator.GTE, 1.0), {A, B, C}),
    ("lt", _f("weight", FilterOperator.LT, 1.1), {A}),
    ("lte", _f("weight", FilterOperator.LTE, 1.0), {A}),
    ("in", _f("rank", FilterOperator.IN, ["a", "c"]), {A, B, C}),
    ("nin", _f("rank", FilterOperator.NIN, ["c"]), {A, D}),
    ("in_mixed_types_ints", _f("some_key", FilterOperator.IN, [1, 2]), {A, B}),
    ("nin_mixed_types_ints", _f("some_key", FilterOperator.NIN, [1, 2]), {C, D}),
    ("in_mixed_types_str", _f("some_key", FilterOperator.IN, ["3"]), {C}),
    ("contains", _f("quality", FilterOperator.CONTAINS, "high"), {A, C}),
    ("any", _f("quality", FilterOperator.ANY, ["high", "low"]), {A, C}),
    ("all", _f("quality", FilterOperator.ALL, ["medium", "high"]), {A, C}),
    ("is_empty", _f("quality", FilterOperator.IS_EMPTY, None), {D}),
    ("is_empty_string", _f("empty", FilterOperator.IS_EMPTY, None), {A, B, C, D}),
    ("unknown_field", _f("unknown_field", FilterOperator.EQ, "c"), set()),
    ("and_contradiction", _join(AND, _m("weight", 2), _m("weight", 3)), set()),
    ("and_exact", MetadataFilters(filters=[_m("rank", "c"), _m("weight", 2.0)]), {B}),  # AND by default
    ("or", _join(OR, _m("rank", "c"), _m("weight", 1.0)), {A, B, C}),
    ("and_empty", _join(AND, _m("rank", "c"), _m("weight", 1.0)), set()),
    ("not", _join(NOT, _m("rank", "a")), {B, C, D}),
    ("not_is_none_of", _join(NOT, _m("rank", "a"), _m("weight", 3.0)), {B, D}),
    (
        "nested_and_or",
        _join(
            AND,
            _m("rank", "c"),
            _join(OR, _m("weight", 2.5, FilterOperator.LT), _m("identifier", "6FTR78Ztl")),
        ),
        {B, C},
    ),
    (
        "nested_or_of_ands",
        _join(
            OR, _join(AND, _m("rank", "a"), _m("weight", 1, FilterOperator.GTE)), _m("author", "Marie Curie")
        ),
        {A, D},
    ),
    ("and_not_nested", _join(AND, _m("rank", "c"), _join(NOT, _m("weight", 3.0))), {B}),
    ("empty_filters", MetadataFilters(filters=[]), {A, B, C, D}),
]


def _ids(result: VectorStoreQueryResult) -> list[str]:
    assert result.ids is not None
    return list(result.ids)


def _unit(v: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


def _by_id(nodes: list[BaseNode]) -> dict[str, BaseNode]:
    return {n.node_id: n for n in nodes}


class Api:
    """One test body for both faces of a store: ``await api.add(...)`` calls ``async_add``
    when ``use_async`` and ``add`` otherwise."""

    def __init__(self, store: BasePydanticVectorStore, use_async: bool) -> None:
        self.store = store
        self.use_async = use_async

    async def _call(
        self, sync: Callable[P, T], asynchronous: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if self.use_async:
            return await asynchronous(*args, **kwargs)
        return sync(*args, **kwargs)

    async def add(self, nodes: list[TextNode]) -> list[str]:
        return await self._call(self.store.add, self.store.async_add, nodes)

    async def query(self, query: VectorStoreQuery) -> VectorStoreQueryResult:
        return await self._call(self.store.query, self.store.aquery, query)

    async def delete(self, ref_doc_id: str) -> None:
        await self._call(self.store.delete, self.store.adelete, ref_doc_id)

    async def delete_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> None:
        await self._call(
            self.store.delete_nodes, self.store.adelete_nodes, node_ids=node_ids, filters=filters
        )

    async def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        return await self._call(
            self.store.get_nodes, self.store.aget_nodes, node_ids=node_ids, filters=filters
        )

    async def clear(self) -> None:
        await self._call(self.store.clear, self.store.aclear)


Body = Callable[[Api], Awaitable[None]]


def _both_faces(
    body: Callable[[Suite, Api], Awaitable[None]],
) -> Callable[[Suite, BasePydanticVectorStore, bool], None]:
    """A test that runs ``body`` on the sync and on the async face of the store (see ``use_async``)."""

    def test(self: Suite, vector_store: BasePydanticVectorStore, use_async: bool) -> None:
        self.run(vector_store, use_async, lambda api: body(self, api))

    # Not functools.wraps: pytest would read the fixtures from the wrapped signature.
    test.__name__, test.__qualname__, test.__doc__ = body.__name__, body.__qualname__, body.__doc__
    return test


class VectorStoreConformance:
    """The ported behaviour checks. A subclass provides ``vector_store`` (an empty store for
    3-dimensional embeddings, closed after the test) and may override :meth:`run` (how one
    test body is run in one event loop; the default also awaits the store's ``aclose`` there
    when it has one, so that natively async clients are closed in their own loop)."""

    @pytest.fixture
    def vector_store(self) -> Iterator[BasePydanticVectorStore]:
        raise NotImplementedError("define a vector_store fixture yielding an empty store")

    @pytest.fixture(params=[False, True], ids=["sync", "async"])
    def use_async(self, request: pytest.FixtureRequest) -> bool:
        flag: bool = request.param
        return flag

    def run(self, store: BasePydanticVectorStore, use_async: bool, body: Body) -> None:
        async def main() -> None:
            try:
                await body(Api(store, use_async))
            finally:
                aclose = getattr(store, "aclose", None)
                if use_async and aclose is not None:
                    await aclose()

        asyncio.run(main())

    # -- construction ------------------------------------------------------------------
    def test_class(self, vector_store: BasePydanticVectorStore) -> None:
        names = [b.__name__ for b in type(vector_store).__mro__]
        assert BasePydanticVectorStore.__name__ in names
        assert vector_store.stores_text is True
        assert vector_store.is_embedding_query is True

    # -- add and query -----------------------------------------------------------------
    @_both_faces
    async def test_add_and_query(self, api: Api) -> None:
        ids = await api.add(conformance_nodes())
        assert ids == [A, B, C, D]
        res = await api.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=1))
        assert res.nodes is not None and len(res.nodes) == 1
        assert res.nodes[0].get_content() == "lorem ipsum"
        assert _ids(res) == [A]

    @_both_faces
    async def test_query_without_filters_returns_all_rows_sorted_by_similarity(self, api: Api) -> None:
        await api.add(conformance_nodes())
        res = await api.query(VectorStoreQuery(query_embedding=[1.0, 1.0, 0.0], similarity_top_k=4))
        ids = _ids(res)
        assert set(ids) == ALL_IDS
        assert ids[0] == C
        assert ids[-1] == D
        assert res.similarities is not None and len(res.similarities) == 4
        assert list(res.similarities) == sorted(res.similarities, reverse=True)

    def test_similarity_is_higher_for_closer_and_bounded(self, vector_store: BasePydanticVectorStore) -> None:
        vector_store.add(conformance_nodes())
        res = vector_store.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=4))
        sims = res.similarities
        assert sims is not None
        assert _ids(res)[0] == A
        assert sims[0] == pytest.approx(1.0, abs=1e-4)  # identical direction
        assert all(0.0 <= s <= 1.0 + 1e-6 for s in sims)
        assert sims[0] > sims[1] > sims[-1]

    @pytest.mark.parametrize(("top_k", "expected"), [(3, [C, B]), (1, [C])], ids=["all_matches", "top_k"])
    def test_query_with_filter_ranks_matches_and_applies_top_k(
        self, vector_store: BasePydanticVectorStore, top_k: int, expected: list[str]
    ) -> None:
        vector_store.add(conformance_nodes())
        res = vector_store.query(
            VectorStoreQuery(query_embedding=[1.0, 1.0, 0.0], filters=RANK_C, similarity_top_k=top_k)
        )
        assert _ids(res) == expected

    def test_query_with_filter_applies_node_id_filter(self, vector_store: BasePydanticVectorStore) -> None:
        vector_store.add(conformance_nodes())
        res = vector_store.query(
            VectorStoreQuery(
                query_embedding=[1.0, 1.0, 0.0], filters=RANK_C, similarity_top_k=3, node_ids=[C]
            )
        )
        assert _ids(res) == [C]
        res = vector_store.query(
            VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=4, node_ids=[B, D])
        )
        assert set(_ids(res)) == {B, D}
        res = vector_store.query(
            VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=4, node_ids=[])
        )
        # Empty restricts nothing (VectorStoreIndex.as_retriever passes node_ids=[] to a store
        # that keeps the text, and LlamaIndex's text-storing integrations ignore it).
        assert set(_ids(res)) == ALL_IDS

    def test_query_with_doc_ids(self, vector_store: BasePydanticVectorStore) -> None:
        vector_store.add(conformance_nodes())
        res = vector_store.query(
            VectorStoreQuery(
                query_embedding=[1.0, 0.0, 0.0], similarity_top_k=4, doc_ids=["test-1", "test-3"]
            )
        )
        assert set(_ids(res)) == {B, D}

    @pytest.mark.parametrize(
        ("filters", "expected"), [c[1:] for c in FILTER_CASES], ids=[c[0] for c in FILTER_CASES]
    )
    def test_filter_operators(
        self, vector_store: BasePydanticVectorStore, filters: MetadataFilters, expected: set[str]
    ) -> None:
        vector_store.add(conformance_nodes())
        res = vector_store.query(
            VectorStoreQuery(query_embedding=[1.0, 1.0, 1.0], filters=filters, similarity_top_k=4)
        )
        assert set(_ids(res)) == expected
        got = vector_store.get_nodes(filters=filters)
        assert {n.node_id for n in got} == expected

    def test_filters_async(self, vector_store: BasePydanticVectorStore) -> None:
        async def body(api: Api) -> None:
            await api.add(conformance_nodes())
            for _, filters, expected in FILTER_CASES:
                res = await api.query(
                    VectorStoreQuery(query_embedding=[1.0, 1.0, 1.0], filters=filters, similarity_top_k=4)
                )
                assert set(_ids(res)) == expected
                got = await api.get_nodes(filters=filters)
                assert {n.node_id for n in got} == expected

        self.run(vector_store, True, body)

    @_both_faces
    async def test_query_by_metadata_filters_only(self, api: Api) -> None:
        await api.add(conformance_nodes())
        filters = MetadataFilters(
            filters=[MetadataFilter(key="author", value="Marie Curie", operator=FilterOperator.EQ)],
            condition=FilterCondition.AND,
        )
        res = await api.query(VectorStoreQuery(filters=filters, similarity_top_k=1))
        assert res.nodes is not None and len(res.nodes) == 1
        assert res.nodes[0].get_content() == (
            "I was taught that the way of progress was neither swift nor easy."
        )

    # -- round trip --------------------------------------------------------------------
    @_both_faces
    async def test_metadata_round_trip(self, api: Api) -> None:
        originals = _by_id(list(conformance_nodes()))
        await api.add(conformance_nodes())
        res = await api.query(VectorStoreQuery(query_embedding=[1.0, 1.0, 1.0], similarity_top_k=4))
        assert res.nodes is not None
        fetched = await api.get_nodes(node_ids=[A, B, C, D])
        for got in [*res.nodes, *fetched]:
            want = originals[got.node_id]
            assert type(got) is type(want)
            assert got.get_content() == want.get_content()
            assert got.metadata == want.metadata
            assert got.ref_doc_id == want.ref_doc_id
            assert got.relationships == want.relationships
        for got in fetched:
            # Same direction: under the cosine metric a backend may return it unit-normalised.
            assert got.embedding is not None
            assert _unit(got.embedding) == pytest.approx(
                _unit(originals[got.node_id].get_embedding()), abs=1e-5
            )

    def test_add_same_id_replaces(self, vector_store: BasePydanticVectorStore) -> None:
        vector_store.add(conformance_nodes())
        changed = TextNode(text="replaced", id_=A, embedding=[0.0, 0.0, 1.0], metadata={"rank": "z"})
        vector_store.add([changed])
        nodes = vector_store.get_nodes(node_ids=[A])
        assert len(nodes) == 1
        assert nodes[0].get_content() == "replaced"
        assert nodes[0].metadata == {"rank": "z"}
        assert len(vector_store.get_nodes()) == 4
        res = vector_store.query(VectorStoreQuery(query_embedding=[0.0, 0.0, 1.0], similarity_top_k=2))
        assert set(_ids(res)) == {A, D}

    # -- delete --------------------------------------------------------------------------
    @_both_faces
    async def test_delete_removes_document_from_query_results(self, api: Api) -> None:
        await api.add(conformance_nodes())
        await api.delete("test-1")
        res = await api.query(VectorStoreQuery(query_embedding=[1.0, 1.0, 0.0], similarity_top_k=2))
        assert _ids(res) == [C, A]
        await api.delete("no-such-doc")
        assert len(await api.get_nodes()) == 3

    @_both_faces
    async def test_delete_nodes_and_get_nodes(self, api: Api) -> None:
        await api.add(conformance_nodes())
        await api.delete_nodes(node_ids=[A, B])
        got = await api.get_nodes(node_ids=[A, B, C])
        assert [n.node_id for n in got] == [C]
        assert got[0].get_content() == "consectetur adipiscing"
        assert got[0].embedding is not None

    @_both_faces
    async def test_delete_nodes_by_filters_and_intersection(self, api: Api) -> None:
        await api.add(conformance_nodes())
        # ids and filters together: the nodes in the list that match (A does not).
        await api.delete_nodes(node_ids=[A, B], filters=RANK_C)
        assert {n.node_id for n in await api.get_nodes()} == {A, C, D}
        await api.delete_nodes(filters=RANK_C)
        assert {n.node_id for n in await api.get_nodes()} == {A, D}
        await api.delete_nodes(node_ids=[])
        assert {n.node_id for n in await api.get_nodes()} == {A, D}
        await api.delete_nodes()  # neither: every node, as SimpleVectorStore does
        assert await api.get_nodes() == []

    # -- get_nodes -----------------------------------------------------------------------
    @_both_faces
    async def test_get_nodes(self, api: Api) -> None:
        await api.add(conformance_nodes())
        got = await api.get_nodes(node_ids=[C, "missing", A])
        assert [n.node_id for n in got] == [C, A]
        assert all(n.embedding is not None for n in got)
        assert {n.node_id for n in await api.get_nodes()} == ALL_IDS
        assert {n.node_id for n in await api.get_nodes(filters=RANK_C)} == {B, C}
        both = await api.get_nodes(node_ids=[A, B], filters=RANK_C)
        assert [n.node_id for n in both] == [B]
        assert await api.get_nodes(node_ids=[]) == []

    # -- clear ---------------------------------------------------------------------------
    @_both_faces
    async def test_clear(self, api: Api) -> None:
        await api.add(conformance_nodes())
        await api.clear()
        assert await api.get_nodes(node_ids=[A, B, C]) == []
        assert await api.get_nodes() == []
        res = await api.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=2))
        assert _ids(res) == []
        await api.clear()  # idempotent
        await api.add(conformance_nodes()[:1])  # usable again
        assert [n.node_id for n in await api.get_nodes()] == [A]

    def test_empty_store(self, vector_store: BasePydanticVectorStore) -> None:
        res = vector_store.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=2))
        assert _ids(res) == []
        assert vector_store.get_nodes() == []
        vector_store.delete("test-0")
        vector_store.delete_nodes(node_ids=[A])
        assert vector_store.add([]) == []


__all__ = [
    "A",
    "ALL_IDS",
    "B",
    "C",
    "D",
    "FILTER_CASES",
    "Api",
    "VectorStoreConformance",
    "conformance_nodes",
]
