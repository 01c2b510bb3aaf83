"""Wire-level tests: the exact REST and gRPC requests the adapter sends to a (fake) Weaviate,
and how it converts the answers. See ``weaviate_fake.py`` for what the fake is and is not.

Every test of a store runs twice (the ``mode`` fixture): on the synchronous store and on the
native async store (driven by ``BlockingStore``), so both generated drivers are checked."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import uuid
from typing import Any

import grpc
import numpy as np
import pytest
from conftest import AnyStore, driver_of, hybrid, opened
from vecctx_weaviate import AsyncWeaviateStore, TextFusion, WeaviateStore, object_uuid
from vecctx_weaviate.schema import class_config
from weaviate.proto.v1 import base_pb2
from weaviate_fake import FakeWeaviate

import vecctx
from vecctx.contract.errors import (
    BackendError,
    CollectionNotFoundError,
    ConfigError,
    InvalidInputError,
    StoreClosedError,
    TransientBackendError,
    UnsupportedFeatureError,
)
from vecctx.contract.filters import F
from vecctx.contract.store import Fusion, SearchParams, SearchRequest
from vecctx.contract.types import CollectionSpec, FieldType, IndexKind, IndexParams, Metric, Record, ScoreKind
from vecctx.memory import MemoryStore
from vecctx.testing import FLAT_METADATA, records_for

Op = base_pb2.Filters
DIM = 4


def _f32(data: bytes) -> list[float]:
    return np.frombuffer(data, dtype="<f4").tolist()


def _fill(store: AnyStore, name: str = "docs", metric: Metric = Metric.COSINE, **spec: Any) -> list[Record]:
    recs = records_for(FLAT_METADATA, DIM)
    store.create_collection(CollectionSpec(name=name, dimension=DIM, metric=metric, **spec))
    store.upsert(name, recs)
    return recs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- connecting ----------------------------------------------------------------------------


def test_open_checks_rest_and_grpc(fake: FakeWeaviate, mode: str) -> None:
    with opened(fake.url(), mode) as store:
        assert driver_of(store).server_version == (1, 33, 2)
        paths = [p for m, p, _ in fake.rest_log if m == "GET"]
        assert "/v1/meta" in paths and "/v1/.well-known/live" in paths
        assert fake.requests("Health"), "the gRPC endpoint was not checked"
        assert "127.0.0.1" in repr(store)
    assert "closed=True" in repr(store)


def test_async_store_connects_on_first_use(fake: FakeWeaviate) -> None:
    store = AsyncWeaviateStore.from_url(fake.url())  # reads the version (blocking) only
    assert store.driver.server_version == (1, 33, 2) and store.driver.client is None
    assert fake.requests("Health") == []

    async def run() -> None:
        assert await store.list_collections() == []
        await store.close()

    asyncio.run(run())
    assert fake.requests("Health") and store.driver.client is None


def test_api_key_is_sent_and_never_shown(fake: FakeWeaviate, mode: str) -> None:
    fake.api_key = "key-0123456789"
    with opened(fake.url(api_key="key-0123456789"), mode) as store:
        store.create_collection(CollectionSpec(name="docs", dimension=DIM))
        store.upsert("docs", records_for(FLAT_METADATA[:2], DIM))
        assert store.count("docs") == 2
        assert "key-0123456789" not in repr(store)
        assert driver_of(store).secrets == ("key-0123456789",)
        fake.fail("Search", grpc.StatusCode.INTERNAL, "no access for Bearer key-0123456789")
        with pytest.raises(BackendError) as echoed:
            store.search("docs", vector=np.ones(DIM))
        assert "no access" in str(echoed.value) and "key-0123456789" not in str(echoed.value)
    store_type = WeaviateStore if mode == "sync" else AsyncWeaviateStore
    with pytest.raises(BackendError) as err:
        store_type.from_url(fake.url(api_key="wrong-key-987"))
    assert "wrong-key-987" not in str(err.value) and "key-0123456789" not in str(err.value)


@pytest.mark.parametrize("store_type", [WeaviateStore, AsyncWeaviateStore])
def test_unreachable_server_is_transient(store_type: type[WeaviateStore | AsyncWeaviateStore]) -> None:
    url = f"weaviate://127.0.0.1:{_free_port()}?grpc_port={_free_port()}&init_timeout=1"
    with pytest.raises(TransientBackendError):
        store_type.from_url(url)


def test_wrong_grpc_port_is_reported(fake: FakeWeaviate, mode: str) -> None:
    url = f"weaviate://127.0.0.1:{fake.http_port}?grpc_port={_free_port()}&init_timeout=1"
    with pytest.raises(TransientBackendError, match="grpc_port"):
        opened(url, mode)  # the async store checks on first use: opened() connects it


def test_registry_opens_both_faces(fake: FakeWeaviate) -> None:
    store = vecctx.connect(fake.url())
    try:
        assert isinstance(store, WeaviateStore)
    finally:
        store.close()
    astore = vecctx.connect_async(fake.url())
    assert isinstance(astore, AsyncWeaviateStore)
    asyncio.run(astore.close())


# -- collections ---------------------------------------------------------------------------


def test_create_sends_the_class_and_lists_only_ours(wstore: AnyStore, fake: FakeWeaviate) -> None:
    spec = CollectionSpec(
        name="my-docs", dimension=DIM, metric=Metric.DOT, indexed_fields={"lang": FieldType.KEYWORD}
    )
    wstore.create_collection(spec)
    ((_, body),) = fake.rest("POST", "/v1/schema")
    assert body == class_config(spec)
    assert fake.classes["My_1docs"]["vectorConfig"]["default"]["vectorIndexConfig"]["distance"] == "dot"
    # a class someone else made, with and without a colliding name
    fake._create({"class": "Foreign", "properties": []})
    fake._create({"class": "Docs", "description": "not vecctx", "properties": []})
    assert wstore.list_collections() == ["my-docs"]
    assert not wstore.has_collection("docs")
    with pytest.raises(ConfigError):
        wstore.create_collection(CollectionSpec(name="docs", dimension=DIM))
    with pytest.raises(ConfigError):
        wstore.create_collection(spec)
    assert wstore.collection_spec("my-docs") == spec


def test_drop_and_missing(wstore: AnyStore, fake: FakeWeaviate) -> None:
    wstore.create_collection(CollectionSpec(name="docs", dimension=DIM))
    wstore.drop_collection("docs")
    assert fake.rest("DELETE", "/v1/schema/Docs")
    with pytest.raises(CollectionNotFoundError):
        wstore.drop_collection("docs")
    wstore.drop_collection("docs", missing_ok=True)


def test_collection_dropped_behind_our_back(wstore: AnyStore, fake: FakeWeaviate) -> None:
    _fill(wstore)
    assert wstore.count("docs") == len(FLAT_METADATA)  # state is cached now
    del fake.classes["Docs"]
    with pytest.raises(CollectionNotFoundError):
        wstore.search("docs", vector=np.ones(DIM), k=1)
    with pytest.raises(CollectionNotFoundError):
        wstore.count("docs")


def test_closed_store(wstore: AnyStore) -> None:
    _fill(wstore)
    it = wstore.scroll("docs", batch_size=2)
    next(it)
    wstore.close()
    with pytest.raises(StoreClosedError):
        list(it)  # the rest of the fetched page may come, the next page is refused
    with pytest.raises(StoreClosedError):
        wstore.search("docs", vector=np.ones(DIM))


# -- writes --------------------------------------------------------------------------------


def test_upsert_request(wstore: AnyStore, fake: FakeWeaviate) -> None:
    wstore.create_collection(CollectionSpec(name="docs", dimension=DIM))
    fake.clear_logs()
    rec = Record(
        id="doc/1 ü",
        vector=[1.0, 2.0, 3.0, 4.5],
        text="hello",
        metadata={"year": 2020, "lang": "en", "tags": ["a", "b"], "draft": True, "author": {"name": "ann"}},
    )
    wstore.upsert("docs", [rec])
    added = {body["name"]: body for _, body in fake.rest("POST", "/v1/schema/Docs/properties")}
    assert set(added) == {"mn_year", "ms_lang", "ms_tags", "mb_draft", "ms_author_2name"}
    assert added["ms_lang"]["dataType"] == ["text[]"] and added["ms_lang"]["tokenization"] == "field"
    assert added["mn_year"]["dataType"] == ["number[]"] and added["mb_draft"]["dataType"] == ["boolean[]"]
    assert all(b["indexFilterable"] and not b["indexSearchable"] for b in added.values())
    # the schema is extended before the data is sent
    kinds = [(k, m) for k, m, _ in fake.events]
    last_property = max(i for i, (k, m) in enumerate(kinds) if (k, m) == ("rest", "POST"))
    assert last_property < kinds.index(("grpc", "BatchObjects"))
    (req,) = fake.requests("BatchObjects")
    (obj,) = req.objects
    assert obj.collection == "Docs" and obj.uuid == str(object_uuid("doc/1 ü"))
    (vec,) = obj.vectors
    assert vec.name == "default" and _f32(vec.vector_bytes) == [1.0, 2.0, 3.0, 4.5]
    fields = obj.properties.non_ref_properties.fields
    assert fields["vecctx_id"].string_value == "doc/1 ü"
    assert fields["vecctx_text"].string_value == "hello"
    assert json.loads(fields["vecctx_meta"].string_value) == rec.metadata
    texts = {a.prop_name: list(a.values) for a in obj.properties.text_array_properties}
    assert texts["ms_tags"] == ["|a|", "|b|"] and texts["ms_lang"] == ["|en|"]
    assert set(texts["vecctx_keys"]) == {"year", "lang", "tags", "draft", "author", "author_2name"}
    nums = {
        a.prop_name: np.frombuffer(a.values_bytes, "<f8").tolist()
        for a in obj.properties.number_array_properties
    }
    assert nums == {"mn_year": [2020.0]}
    bools = {a.prop_name: list(a.values) for a in obj.properties.boolean_array_properties}
    assert bools == {"mb_draft": [True]}
    # the same keys again: no schema change
    fake.clear_logs()
    wstore.upsert("docs", [rec])
    assert fake.rest("POST", "/v1/schema/Docs/properties") == []


def test_upsert_in_batches(fake: FakeWeaviate, mode: str) -> None:
    with opened(fake.url(batch="5"), mode) as store:
        store.create_collection(CollectionSpec(name="docs", dimension=DIM))
        store.upsert("docs", records_for(FLAT_METADATA, DIM))
        assert [len(r.objects) for r in fake.requests("BatchObjects")] == [5, 5, 2]
        assert store.count("docs") == 12


def test_upsert_validates_before_any_request(wstore: AnyStore, fake: FakeWeaviate) -> None:
    wstore.create_collection(CollectionSpec(name="docs", dimension=DIM))
    fake.clear_logs()
    with pytest.raises(InvalidInputError):
        wstore.upsert("docs", [Record(id="a", vector=np.ones(DIM), metadata={"x": math.nan})])
    assert fake.requests("BatchObjects") == [] and fake.rest("POST") == []


def test_rejected_objects_raise_naming_them(wstore: AnyStore, fake: FakeWeaviate) -> None:
    wstore.create_collection(CollectionSpec(name="docs", dimension=DIM))
    fake.reject = {"bad one"}
    with pytest.raises(BackendError, match=r"'bad one'.*rejected by the test"):
        wstore.upsert(
            "docs", [Record(id="fine", vector=np.ones(DIM)), Record(id="bad one", vector=np.ones(DIM))]
        )


def test_property_added_meanwhile_by_another_writer(wstore: AnyStore, fake: FakeWeaviate) -> None:
    wstore.create_collection(CollectionSpec(name="docs", dimension=DIM))
    wstore.count("docs")
    other = {
        "name": "ms_lang",
        "dataType": ["text[]"],
        "tokenization": "field",
        "indexFilterable": True,
        "indexSearchable": False,
    }
    fake._schema("POST", "Docs", "properties", other)
    wstore.upsert("docs", [Record(id="a", vector=np.ones(DIM), metadata={"lang": "en"})])
    assert wstore.count("docs", filter=F("lang") == "en") == 1


def test_filters_see_properties_another_writer_added(fake: FakeWeaviate, mode: str) -> None:
    with opened(fake.url(), mode) as a, opened(fake.url(), mode) as b:
        driver_of(a).schema_refresh_s = 0.0
        a.create_collection(CollectionSpec(name="docs", dimension=DIM))
        assert a.count("docs", filter=F("lang") == "en") == 0  # no such property yet: no request
        b.upsert("docs", [Record(id="x", vector=np.ones(DIM), metadata={"lang": "en"})])
        assert a.count("docs", filter=F("lang") == "en") == 1


# -- reads ---------------------------------------------------------------------------------


def test_search_request_and_conversion(wstore: AnyStore, fake: FakeWeaviate) -> None:
    recs = _fill(wstore)
    fake.clear_logs()
    q = np.array([0.5, -1.0, 2.0, 0.25], dtype=np.float32)
    hits = wstore.search("docs", vector=q, k=3, filter=(F("year") >= 2020) & (F("lang") == "en"))
    (req,) = fake.requests("Search")
    assert req.collection == "Docs" and req.limit == 3
    assert list(req.near_vector.targets.target_vectors) == ["default"]
    assert _f32(req.near_vector.vectors[0].vector_bytes) == q.tolist()
    assert req.metadata.distance and not req.metadata.vectors
    assert set(req.properties.non_ref_properties) == {"vecctx_id", "vecctx_text", "vecctx_meta"}
    assert req.filters.operator == Op.OPERATOR_AND
    assert [(c.target.property, c.operator) for c in req.filters.filters] == [
        ("mn_year", Op.OPERATOR_GREATER_THAN_EQUAL),
        ("ms_lang", Op.OPERATOR_CONTAINS_ANY),
    ]
    ref = MemoryStore()
    ref.create_collection(CollectionSpec(name="docs", dimension=DIM))
    ref.upsert("docs", recs)
    want = ref.search("docs", vector=q, k=3, filter=(F("year") >= 2020) & (F("lang") == "en"))
    assert [h.id for h in hits] == [w.id for w in want]
    for h, w in zip(hits, want, strict=True):
        assert h.kind is ScoreKind.COSINE and h.score == pytest.approx(w.score, abs=1e-5)
        assert h.relevance == pytest.approx(w.relevance, abs=1e-5)
        assert h.text == w.text and h.metadata == w.metadata and h.vector is None


def test_search_without_payload_and_with_vectors(wstore: AnyStore, fake: FakeWeaviate) -> None:
    recs = _fill(wstore, metric=Metric.EUCLIDEAN)
    fake.clear_logs()
    hits = wstore.search("docs", vector=recs[2].vector, k=2, with_payload=False, with_vectors=True)
    (req,) = fake.requests("Search")
    assert list(req.properties.non_ref_properties) == ["vecctx_id"]
    assert list(req.metadata.vectors) == ["default"]
    assert hits[0].id == recs[2].id and hits[0].score == pytest.approx(0.0, abs=1e-6)
    assert hits[0].text is None and hits[0].metadata is None
    assert hits[0].vector is not None and np.allclose(hits[0].vector, recs[2].vector)
    # Euclidean: Weaviate's l2-squared distance becomes the distance itself
    d2 = float(np.sum((np.asarray(recs[2].vector) - np.asarray(hits[1].vector)) ** 2))
    assert hits[1].kind is ScoreKind.EUCLIDEAN and hits[1].score == pytest.approx(math.sqrt(d2), rel=1e-5)


def test_dot_scores(wstore: AnyStore) -> None:
    recs = _fill(wstore, metric=Metric.DOT)
    q = np.array([1.0, 0.0, -2.0, 0.5])
    (hit,) = wstore.search("docs", vector=q, k=1)
    best = max(recs, key=lambda r: float(np.asarray(r.vector) @ q))
    assert hit.id == best.id and hit.score == pytest.approx(float(np.asarray(best.vector) @ q), rel=1e-5)
    assert hit.kind is ScoreKind.DOT and 0.0 < hit.relevance < 1.0


def test_filter_that_matches_nothing_sends_nothing(wstore: AnyStore, fake: FakeWeaviate) -> None:
    _fill(wstore)
    fake.clear_logs()
    assert wstore.search("docs", vector=np.ones(DIM), filter=F("lang") == 42) == []
    assert wstore.count("docs", filter=F("ghost").in_(["x"])) == 0
    assert list(wstore.scroll("docs", filter=F("ghost") > 1)) == []
    wstore.delete("docs", filter=F("ghost") == "x")
    assert fake.grpc_log == []


def test_old_server_refuses_negations_before_io(fake: FakeWeaviate, mode: str) -> None:
    fake.version = "1.32.5"
    with opened(fake.url(), mode) as store:
        _fill(store)
        fake.clear_logs()
        for flt in [F("lang") != "en", F("lang").nin(["en"]), F("draft").missing()]:
            with pytest.raises(UnsupportedFeatureError):
                store.search("docs", vector=np.ones(DIM), filter=flt)
            with pytest.raises(UnsupportedFeatureError):
                store.count("docs", filter=flt)
            with pytest.raises(UnsupportedFeatureError):
                store.delete("docs", filter=flt)
        assert fake.grpc_log == []
        assert store.count("docs", filter=(F("lang") == "en") | (F("year") > 2022)) == 6


def test_ef_is_set_on_the_collection_once(wstore: AnyStore, fake: FakeWeaviate) -> None:
    _fill(wstore)
    fake.clear_logs()
    wstore.search("docs", vector=np.ones(DIM), params=SearchParams(ef=64))
    wstore.search("docs", vector=np.ones(DIM), params=SearchParams(ef=64))
    wstore.search("docs", vector=np.ones(DIM))
    puts = fake.rest("PUT", "/v1/schema/Docs")
    assert len(puts) == 1
    assert puts[0][1]["vectorConfig"]["default"]["vectorIndexConfig"]["ef"] == 64
    assert fake.classes["Docs"]["vectorConfig"]["default"]["vectorIndexConfig"]["ef"] == 64


def test_exact_search_steers_onto_the_flat_path(wstore: AnyStore, fake: FakeWeaviate) -> None:
    recs = _fill(wstore)
    fake.clear_logs()
    hits = wstore.search("docs", vector=recs[0].vector, k=2, params=SearchParams(exact=True))
    assert hits[0].id == recs[0].id
    (agg,) = fake.requests("Aggregate")
    assert agg.objects_count and not agg.HasField("filters")
    (req,) = fake.requests("Search")
    assert (req.filters.operator, req.filters.target.property, req.filters.value_text) == (
        Op.OPERATOR_LIKE,
        "vecctx_id",
        "*",
    )
    fake.clear_logs()
    wstore.search(
        "docs", vector=recs[0].vector, k=2, params=SearchParams(exact=True), filter=F("lang") == "en"
    )
    (agg,) = fake.requests("Aggregate")
    assert agg.filters.target.property == "ms_lang"
    (req,) = fake.requests("Search")
    assert req.filters.target.property == "ms_lang"
    assert fake.rest("PUT") == []


def test_exact_search_beyond_the_flat_cutoff_is_refused(fake: FakeWeaviate, mode: str) -> None:
    with opened(fake.url(), mode) as store:
        _fill(store)
    fake.classes["Docs"]["vectorConfig"]["default"]["vectorIndexConfig"]["flatSearchCutoff"] = 5
    with opened(fake.url(), mode) as store:
        fake.clear_logs()
        with pytest.raises(UnsupportedFeatureError, match="flatSearchCutoff"):
            store.search("docs", vector=np.ones(DIM), params=SearchParams(exact=True))
        assert fake.requests("Search") == []
        assert store.search(
            "docs", vector=np.ones(DIM), params=SearchParams(exact=True), filter=F("lang") == "de"
        )


def test_flat_index_needs_no_steering(wstore: AnyStore, fake: FakeWeaviate) -> None:
    _fill(wstore, index=IndexParams(kind=IndexKind.FLAT))
    assert fake.classes["Docs"]["vectorConfig"]["default"]["vectorIndexType"] == "flat"
    fake.clear_logs()
    wstore.search("docs", vector=np.ones(DIM), params=SearchParams(exact=True, ef=99))
    assert fake.requests("Aggregate") == [] and fake.rest("PUT") == []
    assert not fake.requests("Search")[0].HasField("filters")


def test_get_by_ids(wstore: AnyStore, fake: FakeWeaviate) -> None:
    recs = _fill(wstore)
    fake.clear_logs()
    got = wstore.get("docs", [recs[3].id, "absent", recs[0].id, recs[3].id], with_vectors=True)
    assert [g.id for g in got] == [recs[3].id, recs[0].id, recs[3].id]
    (req,) = fake.requests("Search")
    assert req.filters.operator == Op.OPERATOR_CONTAINS_ANY and req.filters.target.property == "_id"
    assert list(req.filters.value_text_array.values) == [
        str(object_uuid(i)) for i in (recs[3].id, "absent", recs[0].id)
    ]
    assert req.limit == 3 and list(req.metadata.vectors) == ["default"]
    assert got[0].metadata == recs[3].metadata and got[0].text == recs[3].text
    assert np.allclose(np.asarray(got[0].vector), np.asarray(recs[3].vector))
    no_vec = wstore.get("docs", [recs[1].id])
    assert np.asarray(no_vec[0].vector).shape == (0,)


def test_delete_by_ids_touches_only_those(wstore: AnyStore, fake: FakeWeaviate) -> None:
    recs = _fill(wstore)
    fake.clear_logs()
    wstore.delete("docs", ids=[recs[0].id, "absent"])
    reqs = fake.requests("BatchDelete")
    assert reqs and all(r.filters.target.property == "_id" for r in reqs)
    assert wstore.count("docs") == len(recs) - 1


def test_delete_by_ids_and_filter(wstore: AnyStore, fake: FakeWeaviate) -> None:
    recs = _fill(wstore)
    fake.clear_logs()
    wstore.delete("docs", ids=[recs[0].id], filter=F("lang") == "de")
    props = [r.filters.target.property for r in fake.requests("BatchDelete")]
    assert props[0] == "_id" and "ms_lang" in props
    assert wstore.count("docs") == len(recs) - 1 - 3


def test_delete_with_an_always_true_filter_deletes_all(wstore: AnyStore, fake: FakeWeaviate) -> None:
    _fill(wstore)
    fake.clear_logs()
    wstore.delete("docs", filter=F("ghost").nin(["x"]))  # every record lacks ghost: all match
    assert fake.requests("BatchDelete")[0].filters.operator == Op.OPERATOR_LIKE
    assert wstore.count("docs") == 0


def test_delete_loops_past_the_server_cap(fake: FakeWeaviate, mode: str) -> None:
    fake.max_results = 5
    with opened(fake.url(), mode) as store:
        _fill(store)
        fake.clear_logs()
        store.delete("docs", filter=F("title").exists() | F("lang").exists())
        assert len(fake.requests("BatchDelete")) == 4  # 5 + 5 + 1 matches, then 0
        assert store.count("docs") == 1  # the record with empty metadata


def test_count_request(wstore: AnyStore, fake: FakeWeaviate) -> None:
    _fill(wstore)
    fake.clear_logs()
    assert wstore.count("docs", filter=F("draft") == True) == 4  # noqa: E712
    (agg,) = fake.requests("Aggregate")
    assert agg.collection == "Docs" and agg.objects_count
    assert (agg.filters.target.property, list(agg.filters.value_boolean_array.values)) == ("mb_draft", [True])


def test_scroll_uses_the_cursor_or_offsets(wstore: AnyStore, fake: FakeWeaviate) -> None:
    recs = _fill(wstore)
    fake.clear_logs()
    assert sorted(r.id for r in wstore.scroll("docs", batch_size=5)) == sorted(r.id for r in recs)
    pages = fake.requests("Search")
    assert [p.limit for p in pages] == [5, 5, 5]
    assert pages[0].after == "" and pages[1].after and pages[2].after > pages[1].after
    assert all(not p.HasField("filters") for p in pages)
    fake.clear_logs()
    got = sorted(r.id for r in wstore.scroll("docs", batch_size=2, filter=F("lang") == "en"))
    assert got == sorted(r.id for r in recs if r.metadata.get("lang") == "en")
    assert [p.offset for p in fake.requests("Search")] == [0, 2, 4]
    with pytest.raises(InvalidInputError):
        wstore.scroll("docs", batch_size=0)


def test_optimize_waits_for_the_vector_queue(wstore: AnyStore, fake: FakeWeaviate) -> None:
    _fill(wstore)
    fake.shard_queue = [7, 3]
    wstore.optimize("docs")
    assert len(fake.rest("GET", "/v1/schema/Docs/shards")) == 3


def test_backend_errors_are_translated(wstore: AnyStore, fake: FakeWeaviate) -> None:
    _fill(wstore)
    fake.fail("Search", grpc.StatusCode.INTERNAL, "boom")
    with pytest.raises(BackendError, match="boom") as err:
        wstore.search("docs", vector=np.ones(DIM))
    assert not isinstance(err.value, TransientBackendError) and err.value.original is not None
    assert "search 'docs'" in str(err.value)
    fake.clear_logs()
    fake.fail("BatchDelete", grpc.StatusCode.UNAVAILABLE, "try later")
    wstore.delete("docs", ids=["r000"])  # transient: retried under the URL's retry policy
    assert len(fake.requests("BatchDelete")) == 3  # the failure, the delete, the check that none is left
    assert wstore.count("docs") == len(FLAT_METADATA) - 1


def test_retries_can_be_disabled(fake: FakeWeaviate, mode: str) -> None:
    with opened(fake.url(retry_deadline="0"), mode) as store:
        _fill(store)
        fake.fail("BatchDelete", grpc.StatusCode.UNAVAILABLE, "try later")
        with pytest.raises(TransientBackendError, match="try later"):
            store.delete("docs", ids=["r000"])


# -- hybrid --------------------------------------------------------------------------------


def test_hybrid_request_and_scores(wstore: AnyStore, fake: FakeWeaviate) -> None:
    wstore.create_collection(CollectionSpec(name="docs", dimension=3))
    wstore.upsert(
        "docs",
        [
            Record(id="a", vector=[1, 0, 0], text="red apple", metadata={"n": 1}),
            Record(id="b", vector=[0, 1, 0], text="green apple pie", metadata={"n": 2}),
            Record(id="c", vector=[0, 0, 1], text="blue sky", metadata={"n": 3}),
        ],
    )
    fake.clear_logs()
    hits = hybrid(
        wstore,
        "docs",
        query="apple pie",
        vector=[0, 1, 0],
        alpha=0.25,
        fusion=TextFusion.RANKED,
        k=2,
        filter=F("n") < 3,
    )
    (req,) = fake.requests("Search")
    h = req.hybrid_search
    assert (h.query, list(h.properties), h.fusion_type) == (
        "apple pie",
        ["vecctx_text"],
        h.FUSION_TYPE_RANKED,
    )
    assert h.alpha == pytest.approx(0.25) or h.alpha_param == pytest.approx(0.25)
    assert list(h.targets.target_vectors) == ["default"] and _f32(h.vector_bytes) == [0.0, 1.0, 0.0]
    assert req.limit == 2 and req.metadata.score and req.filters.target.property == "mn_n"
    assert [x.id for x in hits] == ["b", "a"]
    assert all(x.kind is ScoreKind.RRF and 0.0 <= x.relevance <= 1.0 for x in hits)
    assert hits[0].relevance == pytest.approx(1.0, abs=1e-5)  # first in both lists: 0.25/60 + 0.75/60
    rel = hybrid(wstore, "docs", query="apple", vector=[1, 0, 0], alpha=0.5, k=3)
    assert all(x.kind is ScoreKind.CONVEX for x in rel) and rel[0].id == "a"
    assert fake.requests("Search")[-1].hybrid_search.fusion_type == h.FUSION_TYPE_RELATIVE_SCORE
    kw = hybrid(wstore, "docs", query="sky", alpha=0.0)
    assert [x.id for x in kw] == ["c"]
    assert hybrid(wstore, "docs", query="sky", alpha=0.0, fusion=Fusion.RRF)[0].kind is ScoreKind.RRF
    with pytest.raises(UnsupportedFeatureError):
        hybrid(wstore, "docs", query="sky", alpha=0.0, fusion=Fusion.DBSF)
    with pytest.raises(InvalidInputError):
        hybrid(wstore, "docs", query="sky", alpha=0.0, fusion="borda")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        hybrid(wstore, "docs", query="sky", alpha=0.5)  # no vectorizer: the vector is needed
    with pytest.raises(InvalidInputError):
        hybrid(wstore, "docs", query="sky", vector=[1, 0, 0], alpha=1.5)


# -- async ---------------------------------------------------------------------------------


def test_async_store_matches_the_sync_one(fake: FakeWeaviate) -> None:
    recs = records_for(FLAT_METADATA, DIM)
    q = np.array([1.0, 0.5, -0.5, 0.0])

    async def run() -> tuple[list[str], int, list[str], list[list[str]], list[str]]:
        async with AsyncWeaviateStore.from_url(fake.url()) as store:
            assert store.capabilities.async_native
            await store.create_collection(CollectionSpec(name="docs", dimension=DIM))
            await store.upsert("docs", recs)
            hits = await store.search("docs", vector=q, k=4, filter=F("lang") != "de")
            n = await store.count("docs", filter=F("year") >= 2020)
            got = [r.id for r in await store.get("docs", [recs[2].id, "nope", recs[1].id])]
            batch = await store.search_batch(
                "docs",
                [SearchRequest(vector=q, k=2), SearchRequest(vector=-q, k=2, filter=F("draft") == True)],  # noqa: E712
            )
            scrolled = [r.id async for r in store.scroll("docs", batch_size=5, filter=F("title").exists())]
            await store.delete("docs", ids=[recs[0].id])
            assert await store.count("docs") == len(recs) - 1
            await store.ensure_collection(CollectionSpec(name="docs", dimension=DIM))
            with pytest.raises(ConfigError):
                await store.ensure_collection(CollectionSpec(name="docs", dimension=DIM + 1))
            assert (await store.collection_spec("docs")).dimension == DIM
            await store.optimize("docs")
            exact = await store.search("docs", vector=recs[5].vector, k=1, params=SearchParams(exact=True))
            assert exact[0].id == recs[5].id
            fused = await store.driver.hybrid("docs", query="text", vector=q, alpha=0.5, k=3)
            assert len(fused) == 3 and all(h.kind is ScoreKind.CONVEX for h in fused)
            assert await store.list_collections() == ["docs"]
            await store.drop_collection("docs")
            assert not await store.has_collection("docs")
            return [h.id for h in hits], n, got, [[h.id for h in b] for b in batch], scrolled

    hits, n, got, batch, scrolled = asyncio.run(run())
    ref = MemoryStore()
    ref.create_collection(CollectionSpec(name="docs", dimension=DIM))
    ref.upsert("docs", recs)
    assert hits == [h.id for h in ref.search("docs", vector=q, k=4, filter=F("lang") != "de")]
    assert n == ref.count("docs", filter=F("year") >= 2020)
    assert got == [recs[2].id, recs[1].id]
    assert batch[0] == [h.id for h in ref.search("docs", vector=q, k=2)]
    assert batch[1] == [h.id for h in ref.search("docs", vector=-q, k=2, filter=F("draft") == True)]  # noqa: E712
    assert sorted(scrolled) == sorted(r.id for r in ref.scroll("docs", filter=F("title").exists()))


def test_async_old_server_and_closed(fake: FakeWeaviate) -> None:
    fake.version = "1.30.0"

    async def run() -> None:
        store = AsyncWeaviateStore.from_url(fake.url())
        await store.create_collection(CollectionSpec(name="docs", dimension=DIM))
        fake.clear_logs()
        with pytest.raises(UnsupportedFeatureError):
            await store.count("docs", filter=F("a") != 1)
        assert fake.grpc_log == [] and fake.rest_log == []
        await store.close()
        with pytest.raises(StoreClosedError):
            await store.count("docs")
        with pytest.raises(StoreClosedError):
            await store.driver.hybrid("docs", query="x", alpha=0.0)

    asyncio.run(run())
    assert fake.grpc_log == []


def test_uuid_namespace_is_what_is_stored(wstore: AnyStore, fake: FakeWeaviate) -> None:
    _fill(wstore)
    stored = set(fake.objects["Docs"])
    assert stored == {str(object_uuid(f"r{i:03d}")) for i in range(len(FLAT_METADATA))}
    assert all(uuid.UUID(u).version == 5 for u in stored)
