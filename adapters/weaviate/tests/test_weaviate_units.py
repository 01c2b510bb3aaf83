"""Pure unit tests: URL parsing, naming, the stored layout, scores, capabilities, errors."""

from __future__ import annotations

import json
import math
import re
import uuid
from types import SimpleNamespace
from typing import Any

import grpc
import httpx
import pytest
from vecctx_weaviate import NAMESPACE, object_uuid, parse_url
from vecctx_weaviate._core import capabilities, hits_from, parse_version, score_of
from vecctx_weaviate.errors import translate
from vecctx_weaviate.schema import (
    class_config,
    class_name,
    encode,
    flatten,
    prop_name,
    properties_for,
    spec_from_description,
    spec_to_description,
)
from weaviate.exceptions import UnexpectedStatusCodeError, WeaviateConnectionError, WeaviateQueryError

from vecctx.contract.errors import BackendError, ConfigError, TransientBackendError, UnsupportedFeatureError
from vecctx.contract.filters import ALL_OPS, Op
from vecctx.contract.store import HybridSupport
from vecctx.contract.types import CollectionSpec, FieldType, IndexKind, IndexParams, Metric, ScoreKind
from vecctx.registry import available_schemes

# -- URLs ----------------------------------------------------------------------------------


def test_url_defaults() -> None:
    c = parse_url("weaviate://localhost", environ={})
    assert (c.http_host, c.http_port, c.http_secure) == ("localhost", 8080, False)
    assert (c.grpc_host, c.grpc_port, c.grpc_secure) == ("localhost", 50051, False)
    assert c.api_key is None and c.timeout is None and c.batch == 500


def test_url_https_and_options() -> None:
    c = parse_url(
        "weaviate+https://db.example.com?grpc_host=grpc.example.com&grpc_port=50052&timeout=7.5&batch=64",
        environ={},
    )
    assert (c.http_port, c.http_secure, c.grpc_secure) == (443, True, True)
    assert (c.grpc_host, c.grpc_port, c.timeout, c.batch) == ("grpc.example.com", 50052, 7.5, 64)
    assert parse_url("weaviate+https://h?grpc_secure=false", environ={}).grpc_port == 50051
    assert parse_url("weaviate+http://h:9000", environ={}).http_port == 9000
    assert parse_url("weaviate://[::1]:8080", environ={}).http_host == "::1"


def test_api_key_from_url_or_env_never_in_repr() -> None:
    c = parse_url("weaviate://h:8080?api_key=s3cr3t-key", environ={"WEAVIATE_API_KEY": "other"})
    assert c.api_key == "s3cr3t-key"
    assert "s3cr3t" not in repr(c) and "s3cr3t" not in c.url
    assert c.secrets == ("s3cr3t-key",)  # what the store front masks in every error
    assert parse_url("weaviate://h:8080", environ={}).secrets == ()
    env = parse_url("weaviate://h:8080", environ={"WEAVIATE_API_KEY": "from-env"})
    assert env.api_key == "from-env" and "from-env" not in repr(env)


def test_url_retry_options() -> None:
    assert parse_url("weaviate://h", environ={}).retry.deadline_s == 30.0
    c = parse_url("weaviate://h?retry_deadline=0&retry_max_attempts=3&batch=7", environ={})
    assert (c.retry.deadline_s, c.retry.max_attempts, c.retry.enabled, c.batch) == (0.0, 3, False, 7)


@pytest.mark.parametrize(
    "url",
    [
        "qdrant://h:6333",
        "weaviate://h:8080?retry_deadline=soon",
        "weaviate://",
        "weaviate://h:8080/some/path",
        "weaviate://key@h:8080",
        "weaviate://h:8080?bogus=1",
        "weaviate://h:8080?grpc_port=0",
        "weaviate://h:8080?grpc_port=abc",
        "weaviate://h:8080?grpc_secure=maybe",
        "weaviate://h:8080?timeout=-1",
        "weaviate://h:8080?timeout=nan",
        "weaviate://h:8080?batch=0",
        "weaviate://h:99999",
        "weaviate://h:8080?grpc_port=1&grpc_port=2",
        "weaviate://h:8080?api_key=topsecret&nope=1",
    ],
)
def test_bad_urls_never_echo_the_key(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_url(url, environ={"WEAVIATE_API_KEY": "topsecret"})
    assert "topsecret" not in str(err.value)


def test_entry_points_registered() -> None:
    schemes = available_schemes()
    assert {"weaviate", "weaviate+http", "weaviate+https"} <= set(schemes)


# -- names ---------------------------------------------------------------------------------


def decode(text: str) -> str:
    """Inverse of ``encode`` (which makes it injective); ``ValueError`` on what it cannot produce."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch, nxt = text[i], text[i + 1 : i + 2]
        if ch != "_":
            if not (("a" <= ch <= "z") or ("0" <= ch <= "9")):
                raise ValueError(f"unexpected {ch!r}")
            out.append(ch)
            i += 1
        elif nxt and "a" <= nxt <= "z":
            out.append(nxt.upper())
            i += 2
        elif nxt and nxt in "_12":
            out.append({"_": "_", "1": "-", "2": "."}[nxt])
            i += 2
        elif nxt == "3" and len(text[i + 2 : i + 8]) == 6:
            out.append(chr(int(text[i + 2 : i + 8], 16)))
            i += 8
        else:
            raise ValueError(f"bad escape at {i}")
    return "".join(out)


def collection_name(cls: str) -> str | None:
    """Inverse of ``class_name``; ``None`` for classes vecctx did not name."""
    if not cls or not ("A" <= cls[0] <= "Z"):
        return None
    first, rest = (cls[0], cls[3:]) if cls[1:3] == "_0" else (cls[0].lower(), cls[1:])
    try:
        name = first + decode(rest)
    except ValueError:
        return None
    return name if class_name(name) == cls else None


@pytest.mark.parametrize(
    "text",
    ["docs", "My_Docs-2", "a.b.c", "ünïcødé ✓", "x__y", "_", "-", ".", "A", "Zz", " sp ace ", "日本", "😀"],
)
def test_encoding_roundtrip_and_alphabet(text: str) -> None:
    enc = encode(text)
    assert decode(enc) == text
    assert all(ch.islower() or ch.isdigit() or ch == "_" for ch in enc)


@pytest.mark.parametrize("name", ["a", "Z", "a" + "-" * 99, "Q" + "W" * 99, "x_" * 50, "a-_-B"])
def test_every_valid_collection_name_is_a_weaviate_class(name: str) -> None:
    """The longest and most escaped names the core's rule accepts still make a class Weaviate takes."""
    assert CollectionSpec(name=name, dimension=1).name == name  # the rule accepts it
    assert re.fullmatch(r"[A-Z][_0-9A-Za-z]{0,254}", class_name(name))
    assert collection_name(class_name(name)) == name


def test_encoding_is_injective_on_tricky_pairs() -> None:
    pairs = [("a_b", "a.b"), ("a-b", "a_b"), ("A", "_a"), ("a__b", "a_b"), ("Ab", "ab"), ("a.b", "a_2b")]
    for x, y in pairs:
        assert encode(x) != encode(y)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("docs", "Docs"),
        ("my-docs", "My_1docs"),
        ("my_docs", "My__docs"),
        ("Docs", "D_0ocs"),
        ("dOCS", "D_o_c_s"),
    ],
)
def test_class_names(name: str, cls: str) -> None:
    assert class_name(name) == cls
    assert collection_name(cls) == name


def test_class_names_never_collide_case_insensitively() -> None:
    names = ["docs", "Docs", "DOCS", "dOcs", "d-ocs", "d_ocs", "do-cs"]
    classes = [class_name(n).lower() for n in names]
    assert len(set(classes)) == len(names)
    assert (
        collection_name("Foo_") is None and collection_name("lower") is None and collection_name("") is None
    )


def test_property_names() -> None:
    assert prop_name("year", "n") == "mn_year"
    assert prop_name("author.name", "s") == "ms_author_2name"
    assert prop_name("Year", "b") == "mb__year"
    long = prop_name("k" * 500, "s")
    assert long.startswith("hs_") and len(long) < 64
    assert prop_name("k" * 500, "s") != prop_name("k" * 499 + "j", "s")
    assert all(prop_name(k, "s") != prop_name(k, "n") for k in ["a", "b.c"])


# -- stored layout -------------------------------------------------------------------------


def test_flatten_types_lists_nested() -> None:
    meta: dict[str, Any] = {
        "year": 2020,
        "score": 1.5,
        "draft": False,
        "lang": "en",
        "tags": ["a", 1, True, None, [2], {"x": 1}],
        "empty": [],
        "nulls": [None],
        "none": None,
        "author": {"name": " ann ", "org": {}},
    }
    flat = flatten(meta)
    assert flat.values["mn_year"] == [2020.0] and isinstance(flat.values["mn_year"][0], float)
    assert flat.values["mn_score"] == [1.5]
    assert flat.values["mb_draft"] == [False]
    assert flat.values["ms_lang"] == ["|en|"]
    assert (
        flat.values["ms_tags"] == ["|a|"]
        and flat.values["mn_tags"] == [1.0]
        and flat.values["mb_tags"] == [True]
    )
    assert flat.values["ms_author_2name"] == ["| ann |"]
    assert "mn_empty" not in flat.values and "ms_nulls" not in flat.values
    keys = {decode(k) for k in flat.keys}
    assert keys == {"year", "score", "draft", "lang", "tags", "author", "author.name", "author.org"}


def test_properties_for_keeps_exact_json_and_user_id() -> None:
    meta = {"i": 7, "whole": 3.0, "big": 2**53 + 1, "s": "ünï \"'\\", "obj": {"a": {"b": 1}}, "l": ["x"]}
    props = properties_for("ü/id with spaces", "some text", meta, flatten(meta))
    assert props["vecctx_id"] == "ü/id with spaces"
    assert props["vecctx_text"] == "some text"
    back = json.loads(props["vecctx_meta"])
    assert back == meta and type(back["i"]) is int and type(back["whole"]) is float
    assert "vecctx_text" not in properties_for("x", None, {}, flatten({}))


def test_spec_roundtrip_in_description() -> None:
    spec = CollectionSpec(
        name="my-docs",
        dimension=384,
        metric=Metric.DOT,
        indexed_fields={"year": FieldType.INTEGER, "lang": FieldType.KEYWORD},
        index=IndexParams(kind=IndexKind.FLAT, m=8, ef_construct=64),
    )
    desc = spec_to_description(spec)
    assert desc.startswith("vecctx:")
    assert spec_from_description(desc, class_name("my-docs")) == spec
    assert spec_from_description("a user's own class", "MyDocs") is None
    assert spec_from_description(desc, "Other") is None
    with pytest.raises(BackendError):
        spec_from_description("vecctx:{not json", "X")


def test_class_config() -> None:
    spec = CollectionSpec(
        name="docs", dimension=4, metric=Metric.EUCLIDEAN, indexed_fields={"year": FieldType.FLOAT}
    )
    body = class_config(spec)
    assert body["class"] == "Docs"
    vc = body["vectorConfig"]["default"]
    assert vc["vectorizer"] == {"none": {}} and vc["vectorIndexType"] == "hnsw"
    assert vc["vectorIndexConfig"]["distance"] == "l2-squared"
    assert (
        vc["vectorIndexConfig"]["maxConnections"] == 16 and vc["vectorIndexConfig"]["efConstruction"] == 128
    )
    props = {p["name"]: p for p in body["properties"]}
    assert props["vecctx_id"]["tokenization"] == "field" and props["vecctx_id"]["indexFilterable"]
    assert props["vecctx_text"]["tokenization"] == "word" and props["vecctx_text"]["indexSearchable"]
    assert not props["vecctx_meta"]["indexFilterable"] and not props["vecctx_meta"]["indexSearchable"]
    assert props["vecctx_keys"]["dataType"] == ["text[]"]
    assert props["mn_year"]["dataType"] == ["number[]"]
    flat = class_config(CollectionSpec(name="f", dimension=4, index=IndexParams(kind=IndexKind.FLAT)))
    assert flat["vectorConfig"]["default"]["vectorIndexType"] == "flat"
    with pytest.raises(UnsupportedFeatureError):
        class_config(CollectionSpec(name="i", dimension=4, index=IndexParams(kind=IndexKind.IVF)))


def test_object_uuid_is_stable_uuid5() -> None:
    # pinned: changing NAMESPACE would orphan every stored object
    assert object_uuid("doc-1") == uuid.uuid5(NAMESPACE, "doc-1")
    assert object_uuid("doc-1").version == 5
    assert str(object_uuid("doc-1")) == "c7a590ef-49a7-5ceb-8464-d17db65413fc"


# -- scores and capabilities ---------------------------------------------------------------


def test_score_conversion() -> None:
    assert score_of(Metric.COSINE, 0.25) == pytest.approx(0.75)
    assert score_of(Metric.COSINE, 2.0) == pytest.approx(-1.0)
    assert score_of(Metric.DOT, -3.5) == pytest.approx(3.5)
    assert score_of(Metric.EUCLIDEAN, 9.0) == pytest.approx(3.0)
    assert score_of(Metric.EUCLIDEAN, -1e-7) == 0.0


_BARE: dict[str, bool] = {"with_payload": False, "with_vectors": False}


def _obj(uid: str, distance: float) -> Any:
    props = {"vecctx_id": uid, "vecctx_text": f"t-{uid}", "vecctx_meta": '{"n": 1}'}
    return SimpleNamespace(properties=props, metadata=SimpleNamespace(distance=distance), uuid=uid)


def test_hits_break_ties_by_id() -> None:
    objs = [_obj("b", 0.5), _obj("a", 0.5), _obj("c", 0.1)]  # the server's order: by distance
    hits = hits_from(objs, Metric.COSINE, with_payload=True, with_vectors=False)
    assert [h.id for h in hits] == ["c", "a", "b"]
    assert hits[0].kind is ScoreKind.COSINE and hits[0].score == pytest.approx(0.9)
    assert hits[0].relevance == pytest.approx(0.95) and hits[0].text == "t-c" and hits[0].metadata == {"n": 1}
    eu = hits_from([_obj("b", 1.0), _obj("a", 1.0), _obj("c", 0.01)], Metric.EUCLIDEAN, **_BARE)
    assert [(h.id, h.score) for h in eu] == [("c", pytest.approx(0.1)), ("a", 1.0), ("b", 1.0)]
    assert eu[0].text is None and eu[0].metadata is None and eu[0].vector is None


def test_capabilities_depend_on_server_version() -> None:
    new = capabilities(parse_version("1.33.0"))
    assert new.filter_ops == ALL_OPS
    old = capabilities(parse_version("1.32.9"))
    assert old.filter_ops == ALL_OPS - {Op.NE, Op.NIN, Op.NOT}
    for caps in (new, old):
        assert not caps.sparse and caps.hybrid is HybridSupport.NONE and not caps.fusions
        assert caps.exact_search and caps.approximate and caps.persistent and caps.async_native
        assert caps.nested_keys and caps.list_values and caps.max_batch is None
        assert caps.metrics == frozenset(Metric)
    assert parse_version("1.34.0-rc.1") == (1, 34, 0)
    assert parse_version("1.27") == (1, 27, 0)


# -- errors --------------------------------------------------------------------------------


class _Rpc(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


def test_translate_errors() -> None:
    transient = translate(WeaviateConnectionError("down"), "search")
    assert isinstance(transient, TransientBackendError) and transient.original is not None
    assert isinstance(translate(_Rpc(grpc.StatusCode.UNAVAILABLE), "search"), TransientBackendError)
    assert not isinstance(translate(_Rpc(grpc.StatusCode.INVALID_ARGUMENT), "x"), TransientBackendError)
    assert isinstance(translate(httpx.ConnectError("refused"), "connect"), TransientBackendError)
    assert isinstance(
        translate(WeaviateQueryError("UNAVAILABLE: boom", "GRPC search"), "x"), TransientBackendError
    )
    bad = translate(WeaviateQueryError("no such prop", "GRPC search"), "search 'docs'")
    assert type(bad) is BackendError and "search 'docs'" in str(bad)
    resp = httpx.Response(503, request=httpx.Request("GET", "http://h/v1/schema"), json={"error": "busy"})
    assert isinstance(translate(UnexpectedStatusCodeError("schema", resp), "x"), TransientBackendError)
    resp422 = httpx.Response(422, request=httpx.Request("GET", "http://h/v1/schema"), json={"error": "bad"})
    assert type(translate(UnexpectedStatusCodeError("schema", resp422), "x")) is BackendError


def test_infinities_never_reach_typed_properties() -> None:
    # validation rejects them before; flatten skips non-finite numbers defensively
    flat = flatten({"x": [math.inf, 1]})
    assert flat.values["mn_x"] == [1.0]
