"""Where vecctx-haystack agrees with Haystack's reference filter semantics (a differential test
against ``haystack.utils.filters.document_matches_filter``, the in-memory store's evaluator), and
where it differs on purpose (one test per row of the README's differences table)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from haystack import Document
from haystack.core.errors import SerializationError
from haystack.dataclasses import ByteStream, SparseEmbedding
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy, FilterPolicy
from haystack.errors import FilterError
from haystack.utils.filters import document_matches_filter
from vecctx_haystack import NO_EMBEDDING_KEY, VecctxDocumentStore, VecctxEmbeddingRetriever, translate_filters

import vecctx

Make = Callable[..., VecctxDocumentStore]


def _corpus() -> list[Document]:
    metas: list[dict[str, Any]] = [
        {"number": 2, "name": "a", "flag": True, "date": "1969-07-21T20:17:40", "author": {"name": "ann"}},
        {"number": -2, "name": "b", "flag": False, "date": "1972-12-11T19:54:58", "author": {"name": "bob"}},
        {"number": 2.5, "name": "c", "date": "1989-11-09T17:53:00", "day": "2024-02-29"},
        {"number": 0, "name": "a", "date": "1969-07-21T20:17:40.000000", "zone": "2020-01-01T12:00:00+02:00"},
        {"number": 100, "flag": True, "zone": "2020-01-01T09:00:00+00:00", "day": "2024-03-01"},
        {"name": "d", "number": None, "author": {"name": "ann", "age": 40}},
        {},
        {"number": -10, "name": "é", "date": "2001-01-01", "zone": "2020-01-01T11:30:00+01:00"},
    ]
    docs = []
    for i, meta in enumerate(metas):
        emb = [math.cos(i + j) for j in range(4)]
        docs.append(Document(id=f"doc-{i}", content=f"document {i}", meta=meta, embedding=emb))
    return docs


def _cmp(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "operator": op, "value": value}


DIFFERENTIAL_FILTERS: list[dict[str, Any]] = [
    *(_cmp("meta.number", op, v) for op in ("==", "!=") for v in (2, 2.0, 0, -10, None, 7)),
    *(_cmp("meta.number", op, v) for op in (">", ">=", "<", "<=") for v in (0, 2, -2.5, None)),
    _cmp("meta.number", "in", [2, -10, 55]),
    _cmp("meta.number", "in", [None, 100]),
    _cmp("meta.number", "in", []),
    _cmp("meta.number", "not in", [2, -10]),
    _cmp("meta.number", "not in", []),
    _cmp("meta.number", "not in", [None]),
    _cmp("meta.name", "==", "a"),
    _cmp("meta.name", "!=", "a"),
    _cmp("meta.name", "in", ["a", "é"]),
    _cmp("meta.name", "not in", ["a", "b"]),
    _cmp("meta.flag", "==", True),
    _cmp("meta.flag", "!=", True),
    _cmp("meta.flag", "==", False),
    _cmp("meta.author.name", "==", "ann"),
    _cmp("meta.author.age", ">", 30),
    _cmp("meta.author", "==", None),
    _cmp("number", ">", 1),  # a bare field is a meta key (Haystack's converted legacy filters)
    # ISO dates: ranges, equality across spellings, date-only values, offsets on both sides.
    _cmp("meta.date", ">", "1972-12-11T19:54:58"),
    _cmp("meta.date", ">=", "1969-07-21T20:17:40"),
    _cmp("meta.date", "<", "1980-01-01"),
    _cmp("meta.date", "<=", "1969-07-21T20:17:40"),
    _cmp("meta.date", "==", "1969-07-21T20:17:40"),
    _cmp("meta.date", "!=", "1969-07-21T20:17:40"),
    _cmp("meta.date", "in", ["1969-07-21T20:17:40", "2001-01-01T00:00:00"]),
    _cmp("meta.date", "not in", ["1969-07-21T20:17:40"]),
    _cmp("meta.day", ">", "2024-02-29"),
    _cmp("meta.zone", "==", "2020-01-01T10:00:00Z"),
    _cmp("meta.zone", "<", "2020-01-01T10:00:00+00:00"),
    _cmp("meta.zone", ">=", "2020-01-01T11:00:00+01:00"),
    # Logic, nested, and empty conditions (AND [] is true, OR [] and NOT [] are false).
    {"operator": "AND", "conditions": [_cmp("meta.number", ">", 0), _cmp("meta.name", "==", "a")]},
    {"operator": "OR", "conditions": [_cmp("meta.number", "<", 0), _cmp("meta.flag", "==", True)]},
    {"operator": "NOT", "conditions": [_cmp("meta.number", ">", 0), _cmp("meta.name", "==", "a")]},
    {
        "operator": "OR",
        "conditions": [
            {"operator": "NOT", "conditions": [_cmp("meta.number", "==", None)]},
            {
                "operator": "AND",
                "conditions": [_cmp("meta.author.name", "==", "ann"), _cmp("meta.name", "==", "d")],
            },
        ],
    },
    {"operator": "NOT", "conditions": [_cmp("meta.number", ">", None)]},
    {"operator": "AND", "conditions": []},
    {"operator": "OR", "conditions": []},
    {"operator": "NOT", "conditions": []},
    {"operator": "OR", "conditions": [_cmp("meta.number", ">", None), _cmp("meta.name", "==", "c")]},
]


def test_differential_against_haystack_reference(make_store: Make) -> None:
    """Every filter above selects, on the backend, exactly the documents Haystack's own evaluator
    selects; and the retriever's filtered search agrees too."""
    docs = _corpus()
    ds = make_store(embedding_dim=4)
    ds.write_documents(docs)
    failures = []
    for flt in DIFFERENTIAL_FILTERS:
        expected = sorted(d.id for d in docs if document_matches_filter(flt, d))
        got = sorted(d.id for d in ds.filter_documents(flt))
        if got != expected:
            failures.append((flt, expected, got))
        assert ds.count_documents_by_filter(flt) == len(expected)
        hits = ds.embedding_retrieval([1.0, 0.0, 0.0, 0.0], filters=flt, top_k=20)
        assert sorted(d.id for d in hits) == expected
    assert not failures, failures


def test_errors_are_filter_errors_before_io() -> None:
    """What vecctx cannot express, or Haystack calls malformed, raises FilterError."""
    bad = [
        _cmp("meta.number", ">", "1"),  # a string that is not an ISO date
        _cmp("meta.date", ">", "July 21 1969"),  # Haystack's in-memory store would parse this with dateutil
        _cmp("meta.number", ">", [1]),
        _cmp("meta.number", ">", True),
        _cmp("meta.number", "in", 9),
        _cmp("meta.number", "in", (10, 11)),
        _cmp("meta.number", "not in", "abc"),
        _cmp("meta.tags", "==", ["a", "b"]),
        _cmp("meta.tags", "in", [["a"]]),
        _cmp("meta.number", "==", float("nan")),
        _cmp("meta.number", "~", 1),
        _cmp("meta.number", ["=="], 1),  # an operator that is not even hashable
        _cmp("content", "==", "x"),
        _cmp("id", "in", ["a"]),
        _cmp("embedding", "==", None),
        _cmp("meta._haystack_no_embedding", "==", True),
        _cmp("meta.", "==", 1),
        {"operator": "XOR", "conditions": []},
        {"operator": {"AND": 1}, "conditions": []},
        {"conditions": []},
        {"operator": "AND"},
        {"operator": "AND", "conditions": {"field": "meta.a"}},
        {"field": "meta.a", "value": 1},
        {"field": "meta.a", "operator": "=="},
    ]
    for flt in bad:
        with pytest.raises(FilterError):
            translate_filters(flt)


# -- the differences table ----------------------------------------------------------------------
def test_list_meta_matches_any_element(make_store: Make) -> None:
    """vecctx: ``==``/``in`` on a list value match when any element does; ranges too. Haystack's
    in-memory store compares the whole list (``["a", "b"] == "a"`` is false)."""
    ds = make_store(embedding_dim=2)
    doc = Document(
        id="l", content="x", meta={"tags": ["a", "b"], "years": [1999, 2021]}, embedding=[1.0, 0.0]
    )
    ds.write_documents([doc])
    for flt in (
        _cmp("meta.tags", "==", "a"),
        _cmp("meta.tags", "in", ["b", "z"]),
        _cmp("meta.years", ">", 2020),
    ):
        assert [d.id for d in ds.filter_documents(flt)] == ["l"]
    assert [d.id for d in ds.filter_documents(_cmp("meta.tags", "!=", "a"))] == []
    assert not document_matches_filter(_cmp("meta.tags", "==", "a"), doc)  # Haystack's reference
    assert ds.filter_documents()[0].meta == doc.meta  # lists round-trip


def test_booleans_are_not_numbers(make_store: Make) -> None:
    """vecctx never equates ``True`` with ``1`` (Python, hence Haystack's in-memory store, does)."""
    ds = make_store(embedding_dim=2)
    doc = Document(id="b", content="x", meta={"flag": True, "n": 1}, embedding=[1.0, 0.0])
    ds.write_documents([doc])
    assert ds.filter_documents(_cmp("meta.flag", "==", 1)) == []
    assert [d.id for d in ds.filter_documents(_cmp("meta.n", "==", 1.0))] == ["b"]
    assert document_matches_filter(_cmp("meta.flag", "==", 1), doc)  # Haystack's reference
    assert ds.filter_documents()[0].meta == {"flag": True, "n": 1}  # and the types round-trip


def test_null_and_missing(make_store: Make) -> None:
    """``== None`` matches an absent key or a null value, as in Haystack; vecctx also counts an
    empty list as missing (Haystack does not). A null value is written as given."""
    ds = make_store(embedding_dim=2)
    docs = [
        Document(id="null", content="x", meta={"x": None}, embedding=[1.0, 0.0]),
        Document(id="absent", content="x", meta={}, embedding=[1.0, 0.0]),
        Document(id="empty", content="x", meta={"x": []}, embedding=[1.0, 0.0]),
        Document(id="zero", content="x", meta={"x": 0}, embedding=[1.0, 0.0]),
    ]
    ds.write_documents(docs)
    got = sorted(d.id for d in ds.filter_documents(_cmp("meta.x", "==", None)))
    assert got == ["absent", "empty", "null"]
    assert [d.id for d in docs if document_matches_filter(_cmp("meta.x", "==", None), d)] == [
        "null",
        "absent",
    ]
    assert sorted(d.id for d in ds.filter_documents(_cmp("meta.x", "!=", None))) == ["zero"]
    assert [d.id for d in docs if document_matches_filter(_cmp("meta.x", "!=", None), d)] == ["empty", "zero"]
    back = {d.id: d.meta for d in ds.filter_documents()}
    assert back["zero"] == {"x": 0}
    assert back["empty"] == {"x": []}
    assert back["null"] in (
        {"x": None},
        {},
    )  # a backend may drop a null value: it reads as missing either way


def test_dates_naive_read_as_utc(make_store: Make) -> None:
    """ISO date strings are compared as instants; a naive one is read as UTC. Haystack's in-memory
    store instead gives a naive value the offset of the aware one it is compared with."""
    ds = make_store(embedding_dim=2)
    doc = Document(id="d", content="x", meta={"when": "2020-01-01T00:00:00+02:00"}, embedding=[1.0, 0.0])
    ds.write_documents([doc])
    flt = _cmp("meta.when", ">", "2019-12-31T23:00:00")  # 22:00Z stored vs 23:00Z asked
    assert ds.filter_documents(flt) == []
    assert document_matches_filter(flt, doc)  # Haystack: 00:00+02 > 23:00+02 the day before
    assert [d.id for d in ds.filter_documents(_cmp("meta.when", ">", "2019-12-31T21:00:00"))] == ["d"]
    assert ds.filter_documents()[0].meta == doc.meta  # the string is stored as written


def test_number_range_skips_strings(make_store: Make) -> None:
    """A numeric range never matches a string value (no error); Haystack's in-memory store
    raises FilterError when it meets a value it cannot order."""
    ds = make_store(embedding_dim=2)
    doc = Document(id="p", content="x", meta={"page": "100"}, embedding=[1.0, 0.0])
    ds.write_documents([doc])
    assert ds.filter_documents(_cmp("meta.page", ">", 5)) == []
    assert [d.id for d in ds.filter_documents(_cmp("meta.page", "==", "100"))] == ["p"]
    with pytest.raises(FilterError):
        document_matches_filter(_cmp("meta.page", ">", 5), doc)


def test_meta_key_rules(make_store: Make) -> None:
    """Meta keys may not contain '.', start with '$' or use the reserved '_haystack' prefix."""
    ds = make_store(embedding_dim=2)
    for meta in ({"a.b": 1}, {"$a": 1}, {"_haystack_x": 1}):
        with pytest.raises(ValueError):
            ds.write_documents([Document(content="x", meta=meta, embedding=[1.0, 0.0])])
    assert ds.count_documents() == 0


def test_embeddings_round_trip_as_float32(make_store: Make) -> None:
    ds = make_store(embedding_dim=3)
    emb = [0.1, 1 / 3, -2.5]
    ds.write_documents([Document(id="e", content="x", embedding=emb)])
    (back,) = ds.filter_documents()
    # float64 in, float32 stored (some backends store cosine vectors normalised: the recorded
    # norm restores the length), so equal within float32 rounding, not bit for bit.
    assert back.embedding is not None
    np.testing.assert_allclose(back.embedding, emb, rtol=1e-6)
    assert back.embedding != emb


def test_documents_without_embedding(make_store: Make) -> None:
    """Stored with a placeholder vector and a flag; returned with ``embedding=None``; never
    returned by vector search, so they cannot displace a real match."""
    ds = make_store(embedding_dim=2)
    with_emb = [Document(id=f"e{i}", content=f"e{i}", embedding=[1.0, float(i)]) for i in range(3)]
    without = [Document(id=f"n{i}", content=f"n{i}", meta={"k": i}) for i in range(3)]
    ds.write_documents(with_emb + without)
    assert ds.count_documents() == 6
    back = {d.id: d for d in ds.filter_documents()}
    assert all(back[d.id].embedding is None and back[d.id].meta == d.meta for d in without)
    # The placeholder is the unit vector e1, the nearest possible vector to this query: still excluded.
    hits = VecctxEmbeddingRetriever(ds, top_k=10).run(query_embedding=[1.0, 0.0])["documents"]
    assert sorted(d.id for d in hits) == ["e0", "e1", "e2"]
    assert hits[0].id == "e0"
    raw = ds.store.scroll(ds.collection, filter=vecctx.F(NO_EMBEDDING_KEY) == True)  # noqa: E712
    assert sorted(r.id for r in raw) == ["n0", "n1", "n2"]
    # Updating their meta keeps them unembedded.
    assert ds.update_by_filter(_cmp("meta.k", ">=", 0), {"seen": True}) == 3
    assert [d.embedding for d in ds.filter_documents(_cmp("meta.seen", "==", True))] == [None] * 3


def test_duplicate_policies(make_store: Make) -> None:
    ds = make_store(embedding_dim=2)
    a1 = Document(id="a", content="first", embedding=[1.0, 0.0])
    a2 = Document(id="a", content="second", embedding=[0.0, 1.0])
    b = Document(id="b", content="b", embedding=[1.0, 1.0])
    with pytest.raises(DuplicateDocumentError):
        ds.write_documents([a1, b, a2], policy=DuplicatePolicy.FAIL)  # duplicate inside the batch
    assert ds.count_documents() == 0  # nothing written
    assert ds.write_documents([a1, a2], policy=DuplicatePolicy.SKIP) == 1
    assert ds.filter_documents()[0].content == "first"
    assert ds.write_documents([a2, b], policy=DuplicatePolicy.SKIP) == 1
    with pytest.raises(DuplicateDocumentError):
        ds.write_documents([b], policy=DuplicatePolicy.NONE)
    assert ds.write_documents([a2, a1], policy=DuplicatePolicy.OVERWRITE) == 2
    assert {d.id: d.content for d in ds.filter_documents()} == {"a": "first", "b": "b"}
    ds.delete_documents(["a", "missing"])
    ds.delete_documents([])
    assert [d.id for d in ds.filter_documents()] == ["b"]
    with pytest.raises(ValueError):
        ds.write_documents([Document(content="x", embedding=[1.0, 2.0, 3.0])])  # wrong dimension


def test_blob_and_fields_round_trip(make_store: Make) -> None:
    ds = make_store(embedding_dim=2)
    doc = Document(
        id="blob",
        content=None,
        blob=ByteStream(data=b"\x00\x01binary", mime_type="application/octet-stream", meta={"src": "f"}),
        meta={"nested": {"a": 1, "b": [1, 2]}, "f": 1.5, "s": "x"},
        embedding=[0.5, 0.25],
    )
    ds.write_documents([doc])
    (back,) = ds.filter_documents()
    (by_id,) = ds.get_documents_by_id(["blob", "nope"])
    for got in (back, by_id):
        assert got.embedding is not None
        np.testing.assert_allclose(got.embedding, doc.embedding, rtol=1e-6)
        assert Document(**{**got.__dict__, "embedding": doc.embedding}) == doc


def test_sparse_embeddings(make_store: Make, backend: str) -> None:
    """With ``use_sparse_embeddings=True`` sparse embeddings are stored and come back, where the
    backend has sparse vectors; Chroma has none and says so on first use."""
    ds = make_store(embedding_dim=2, use_sparse_embeddings=True, collection="sparse")
    doc = Document(
        id="s",
        content="x",
        embedding=[1.0, 0.0],
        sparse_embedding=SparseEmbedding(indices=[3, 7], values=[0.5, 2.0]),
    )
    if backend == "chroma":
        with pytest.raises(vecctx.VecctxError):
            ds.write_documents([doc])
        return
    ds.write_documents([doc])
    (back,) = ds.filter_documents()
    assert back.sparse_embedding == doc.sparse_embedding


def test_retriever_scores(make_store: Make) -> None:
    """``score`` is vecctx's relevance in [0, 1] (higher is better) by default, or the raw score
    with ``scale_score=False``: cosine similarity, or Euclidean distance (lower is closer)."""
    docs = [Document(id=f"d{i}", content=f"d{i}", meta={"i": i}, embedding=[1.0, i / 2]) for i in range(4)]
    cos = make_store(embedding_dim=2)
    cos.write_documents(docs)
    query = [1.0, 0.0]
    rel = VecctxEmbeddingRetriever(cos, top_k=3).run(query_embedding=query)["documents"]
    assert [d.id for d in rel] == ["d0", "d1", "d2"]
    raw = VecctxEmbeddingRetriever(cos, top_k=3, scale_score=False).run(query_embedding=query)["documents"]
    for r, s in zip(rel, raw, strict=True):
        cosine = 1.0 / math.sqrt(1.0 + (int(r.id[1]) / 2) ** 2)
        assert s.score == pytest.approx(cosine, abs=1e-5)
        assert r.score == pytest.approx((1.0 + cosine) / 2.0, abs=1e-5)
    assert rel[0].score >= rel[1].score >= rel[2].score
    assert rel[0].embedding is None
    assert (
        VecctxEmbeddingRetriever(cos, return_embedding=True)
        .run(query_embedding=query)["documents"][0]
        .embedding
    )

    # A second collection, Euclidean, in the same vecctx store (passed as an object).
    l2 = VecctxDocumentStore(store=cos.store, collection="l2", embedding_dim=2, metric="euclidean")
    l2.write_documents(docs)
    raw = VecctxEmbeddingRetriever(l2, top_k=4, scale_score=False).run(query_embedding=[1.0, 0.0])[
        "documents"
    ]
    assert [d.id for d in raw] == ["d0", "d1", "d2", "d3"]
    assert [d.score for d in raw] == pytest.approx([0.0, 0.5, 1.0, 1.5], abs=1e-5)  # distances, ascending
    rel = VecctxEmbeddingRetriever(l2, top_k=4).run(query_embedding=[1.0, 0.0])["documents"]
    assert [d.score for d in rel] == pytest.approx([1.0, 1 / 1.5, 0.5, 0.4], abs=1e-5)  # 1 / (1 + d)


def test_retriever_filters_and_policy(make_store: Make) -> None:
    docs = [
        Document(id=f"d{i}", content=f"d{i}", meta={"i": i, "even": i % 2 == 0}, embedding=[1.0, i])
        for i in range(6)
    ]
    ds = make_store(embedding_dim=2)
    ds.write_documents(docs)
    init = _cmp("meta.even", "==", True)
    runtime = _cmp("meta.i", ">", 1)
    replace = VecctxEmbeddingRetriever(ds, filters=init)
    assert sorted(d.id for d in replace.run(query_embedding=[1.0, 0.0])["documents"]) == ["d0", "d2", "d4"]
    assert sorted(d.id for d in replace.run(query_embedding=[1.0, 0.0], filters=runtime)["documents"]) == [
        "d2",
        "d3",
        "d4",
        "d5",
    ]
    merge = VecctxEmbeddingRetriever(ds, filters=init, filter_policy=FilterPolicy.MERGE)
    assert sorted(d.id for d in merge.run(query_embedding=[1.0, 0.0], filters=runtime)["documents"]) == [
        "d2",
        "d4",
    ]
    assert merge.run(query_embedding=[1.0, 0.0], top_k=0)["documents"] == []
    assert merge.run(query_embedding=[1.0, 0.0], filters=_cmp("meta.i", ">", None))["documents"] == []
    got = asyncio.run(merge.run_async(query_embedding=[1.0, 0.0], filters=runtime, top_k=1))["documents"]
    assert [d.id for d in got] == ["d2"]
    with pytest.raises(ValueError):
        VecctxEmbeddingRetriever(ds, top_k=0)
    with pytest.raises(FilterError):
        merge.run(query_embedding=[1.0, 0.0], filters=_cmp("meta.i", ">", "x"))


def test_serialisation(url: str) -> None:
    ds = VecctxDocumentStore(url, collection="ser", embedding_dim=5, metric="dot")
    retriever = VecctxEmbeddingRetriever(ds, filters=_cmp("meta.a", "==", 1), top_k=3, filter_policy="merge")
    data = retriever.to_dict()
    assert data["init_parameters"]["document_store"]["init_parameters"] == {
        "url": url,
        "collection": "ser",
        "embedding_dim": 5,
        "metric": "dot",
        "use_sparse_embeddings": False,
    }
    again = VecctxEmbeddingRetriever.from_dict(data)
    assert again.to_dict() == data
    assert VecctxDocumentStore.from_dict(ds.to_dict()).to_dict() == ds.to_dict()
    ds.close()
    with vecctx.connect("memory://") as raw, pytest.raises(SerializationError):
        VecctxDocumentStore(store=raw, embedding_dim=2).to_dict()
    with pytest.raises(ValueError):
        VecctxDocumentStore()
