"""Store URLs: one redaction for every message that quotes one, empty and root URLs refused,
and secrets masked through the whole cause chain of a client's exception."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest

import vecctx
from vecctx.contract.checks import redact_chain, redacted
from vecctx.contract.errors import BackendError, ConfigError, mask
from vecctx.contract.types import (
    CollectionSpec,
    FieldType,
    IndexKind,
    IndexParams,
    Metric,
    spec_data,
    spec_from_data,
)
from vecctx.contract.urls import flag_option, number_option, redact_url, split_url, store_path, url_options
from vecctx.registry import scheme_of
from vecctx.testing.leaks import secret_leaks

SECRET = "s3cr3t/+ value"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("qdrant://h:6333?api_key=K&shards=2", "qdrant://h:6333?api_key=***&shards=2"),
        (
            "qdrant://h?API_KEY=K&ApiKey=K&x-auth-token=K",
            "qdrant://h?API_KEY=***&ApiKey=***&x-auth-token=***",
        ),
        ("chroma+http://h?Token=K;password=K&tenant=t", "chroma+http://h?Token=***;password=***&tenant=t"),
        ("milvus://root:K@h:19530/?db=d", "milvus://***@h:19530/?db=d"),
        ("milvus://K@h", "milvus://***@h"),
        ("weaviate://h?client_secret=K&Secret=K&key=K", "weaviate://h?client_secret=***&Secret=***&key=***"),
        ("x://h#access_token=K&page=2", "x://h#access_token=***&page=2"),
        ("x://h?api%5Fkey=K", "x://h?api%5Fkey=***"),
        ("user:K@host:1?auth=K", "***@host:1?auth=***"),
        ("qdrant:///data/a@b?idf=1", "qdrant:///data/a@b?idf=1"),  # an @ in a path is no user part
        ("http://[::1?token=K", "http://[::1?token=***"),  # malformed, still masked
        ("memory://", "memory://"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_url_of_a_non_string() -> None:
    assert redact_url(b"qdrant://h?api_key=K") == "<bytes>"
    assert redact_url(None) == "<NoneType>"


@pytest.mark.parametrize("url", ["", "   ", "\t\n"])
def test_an_empty_url_is_refused_not_the_default_store(url: str) -> None:
    with pytest.raises(ConfigError, match="empty"):
        vecctx.connect(url)
    with pytest.raises(ConfigError, match="empty"):
        vecctx.connect_async(url)


def test_registry_messages_redact_the_url() -> None:
    with pytest.raises(ConfigError) as info:
        scheme_of(f"user:{SECRET}@host?Api_Key={SECRET}")
    assert SECRET not in str(info.value) and "host" in str(info.value)
    with pytest.raises(ConfigError) as info:
        vecctx.connect(f"host:6333?TOKEN={SECRET}")
    assert SECRET not in str(info.value)
    assert scheme_of("http://[::1") == "http"  # the scheme alone: no parse error


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (f"x://h:99999?token={SECRET}", "invalid port"),
        (f"x://[::1?token={SECRET}", "malformed"),
        ("x://h:p", "port"),
    ],
)
def test_split_url_refuses_malformed_urls_redacted(url: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as info:
        split_url(url, "the URL")
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/", "root"),
        ("//", "root"),
        ("/a/../..", "root"),
        ("relative/dir", "absolute"),
        ("", "absolute"),
        ("/tmp/a\x00b", "NUL"),
        ("/tmp/\ud800", "valid file name"),
    ],
)
def test_store_path_refusals(path: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        store_path(path, "x:///abs/path")
    assert store_path("/tmp/a b", "x:///abs/path") == "/tmp/a b"


def test_mask_covers_the_percent_encoded_secret() -> None:
    assert (
        mask(f"GET /x?key={SECRET} or /x?key=s3cr3t%2F%2B%20value", [SECRET])
        == "GET /x?key=*** or /x?key=***"
    )


class _ClientError(Exception):
    """Like qdrant-client's UnexpectedResponse: no args, the echo in attributes."""

    def __init__(self, content: bytes, headers: httpx.Headers) -> None:
        self.content = content
        self.headers = headers
        self.reason = f"echo {SECRET}"
        self.source = ValueError(f"nested {SECRET}")
        self.add_note(f"note {SECRET}")

    def __str__(self) -> str:
        return self.content.decode()


def _http_error() -> httpx.HTTPStatusError:
    request = httpx.Request(
        "GET", f"http://h/x?api_key={SECRET}", headers={"Authorization": f"Bearer {SECRET}"}
    )
    response = httpx.Response(
        401, headers={"X-Echo": f"Bearer {SECRET}"}, content=f"bad {SECRET}".encode(), request=request
    )
    response.read()
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        return exc
    raise AssertionError("401 raised nothing")


def test_redact_chain_masks_args_notes_attributes_and_http_exchanges() -> None:
    http = _http_error()
    client = _ClientError(f"rejected {SECRET}".encode(), httpx.Headers({"x-echo": SECRET, "x-ok": "fine"}))
    client.__context__ = http
    err = BackendError(f"backend failed: {client}", client)
    err.__cause__ = client
    assert len(secret_leaks(err, SECRET)) >= 8  # the test sees every place
    redacted(err, [SECRET])
    assert secret_leaks(err, SECRET) == []
    assert str(err) == "backend failed: rejected ***"
    assert client.headers["x-ok"] == "fine" and client.headers["x-echo"] == "***"
    assert http.response.status_code == 401 and http.request.headers["Authorization"] == "Bearer ***"


def test_redact_chain_without_secrets_changes_nothing() -> None:
    http = _http_error()
    redact_chain(http, [])
    redact_chain(http, [""])
    assert SECRET in http.request.headers["Authorization"]


# -- the query options every adapter reads (vecctx.contract.urls) ---------------------------


def test_url_options_each_known_and_given_once() -> None:
    assert url_options("a=1&b=&c", {"a", "b", "c", "d"}, "x://") == {"a": "1", "b": "", "c": ""}
    assert url_options("", {"a"}, "x://") == {}
    with pytest.raises(ConfigError, match=r"'a' is given more than once for x://"):
        url_options("a=1&a=2", {"a"}, "x://")
    with pytest.raises(ConfigError, match=r"unknown option\(s\) 'e', 'z' for x://; known: a, b"):
        url_options("z=1&a=2&e=3", {"a", "b"}, "x://")


def test_unknown_options_never_quote_their_values() -> None:
    with pytest.raises(ConfigError) as info:
        url_options(f"api_kee={SECRET}", {"api_key"}, "x://")
    assert SECRET not in str(info.value) and "api_kee" in str(info.value)


@pytest.mark.parametrize(
    ("raw", "kind", "kw", "want"),
    [
        (None, int, {}, "dflt"),
        ("3", int, {}, 3),
        ("0", int, {"above": -1}, 0),
        ("2.5", float, {}, 2.5),
        ("65535", int, {"at_most": 65535}, 65535),
    ],
)
def test_number_option_reads_a_bounded_number(
    raw: str | None, kind: type, kw: dict[str, int], want: object
) -> None:
    options = {} if raw is None else {"n": raw}
    assert number_option(options, "n", kind, "dflt", **kw) == want


@pytest.mark.parametrize(
    ("raw", "kind", "kw", "why"),
    [
        ("x", int, {}, "must be an integer greater than 0"),
        ("2.5", int, {}, "must be an integer"),
        ("0", int, {}, "greater than 0"),
        ("-1", int, {"above": -1}, "greater than -1"),
        ("nan", float, {}, "must be a number"),
        ("inf", float, {}, "must be a number"),
        ("65536", int, {"at_most": 65535}, "at most 65535"),
    ],
)
def test_number_option_refuses_what_is_out_of_bounds(
    raw: str, kind: type, kw: dict[str, int], why: str
) -> None:
    with pytest.raises(ConfigError, match=why):
        number_option({"n": raw}, "n", kind, None, **kw)


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        (None, "dflt"),
        ("", True),
        ("1", True),
        ("TRUE", True),
        (" on", True),
        ("no", False),
        ("0", False),
        ("Off", False),
    ],
)
def test_flag_option(raw: str | None, want: object) -> None:
    options = {} if raw is None else {"f": raw}
    assert flag_option(options, "f", "dflt") == want


def test_flag_option_refuses_other_words() -> None:
    with pytest.raises(ConfigError, match=r"f='maybe' must be true or false"):
        flag_option({"f": "maybe"}, "f")


# -- the stored form of a collection spec (vecctx.contract.types) ---------------------------

SPECS = [
    CollectionSpec(name="a", dimension=3),
    CollectionSpec(
        name="b-2",
        dimension=768,
        metric=Metric.DOT,
        sparse=True,
        indexed_fields={"t": FieldType.DATETIME, "k": "keyword"},
        index=IndexParams(kind=IndexKind.FLAT, m=8, ef_construct=64, nlist=7),
    ),
]


@pytest.mark.parametrize("spec", SPECS, ids=["defaults", "every-field"])
def test_spec_data_round_trips_in_the_format_drivers_stored(spec: CollectionSpec) -> None:
    data = spec_data(spec)
    # the JSON every driver wrote before spec_data existed: collections made then still open
    assert data == json.loads(json.dumps(dataclasses.asdict(spec)))
    assert spec_from_data(json.loads(json.dumps({"format": 9, "v": 1, **data}))) == spec


@pytest.mark.parametrize(
    "data",
    [
        {"dimension": 3},
        {"name": "a", "dimension": "x"},
        {"name": "a", "dimension": 3, "metric": "cosinus"},
        {"name": "a", "dimension": 3, "index": {"kind": "lsh"}},
        {"name": "a", "dimension": 3, "index": {"q": 1}},
        {"name": "a", "dimension": 3, "index": [1]},
    ],
)
def test_spec_from_data_says_what_is_unreadable(data: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="unreadable collection spec"):
        spec_from_data(data)
