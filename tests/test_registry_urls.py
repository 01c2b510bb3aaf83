"""Store URLs: one redaction for every message that quotes one, empty and root URLs refused,
and secrets masked through the whole cause chain of a client's exception."""

from __future__ import annotations

import httpx
import pytest

import vecctx
from vecctx.contract.checks import redact_chain, redacted
from vecctx.contract.errors import BackendError, ConfigError, mask
from vecctx.contract.urls import redact_url, split_url, store_path
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
