"""URL parsing, registry wiring and API-key redaction."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from vecctx_qdrant import (
    AsyncQdrantClientStore,
    ClientOptions,
    EdgeOptions,
    QdrantClientStore,
    QdrantEdgeStore,
    open_async_store,
    open_store,
    parse_url,
)
from vecctx_qdrant.config import DEFAULT_AUTO_OPTIMIZE

import vecctx
from vecctx.contract.errors import BackendError, ConfigError, RetryDeadlineError, TransientBackendError
from vecctx.registry import default_url
from vecctx.testing.leaks import raises_masked, secret_leaks

SECRET = "s3cr3t-api-key-value"
# qdrant-client warns (once per process) that it cannot check the server's version and that an
# API key goes over plain HTTP: expected against these fake servers.
_CLIENT_WARNINGS = pytest.mark.filterwarnings("ignore::UserWarning")


def test_edge_urls(tmp_path: Path) -> None:
    o = parse_url(f"qdrant://{tmp_path}/db")
    assert isinstance(o, EdgeOptions)
    assert o.path == tmp_path / "db"
    assert o.auto_optimize == DEFAULT_AUTO_OPTIMIZE and not o.idf
    o = parse_url(f"qdrant://{tmp_path}/db?auto_optimize=0&idf=1&search_threads=1&batch=100")
    assert isinstance(o, EdgeOptions)
    assert (o.auto_optimize, o.idf, o.search_threads, o.batch) == (0, True, 1, 100)
    assert parse_url("qdrant:///with%20space") == EdgeOptions(path=Path("/with space"))


def test_server_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QDRANT_API_KEY", raising=False)
    o = parse_url("qdrant://db.example:6333")
    assert isinstance(o, ClientOptions)
    assert (o.mode, o.host, o.port, o.https, o.grpc, o.api_key) == (
        "server",
        "db.example",
        6333,
        False,
        False,
        None,
    )
    o = parse_url("qdrant://db.example")
    assert isinstance(o, ClientOptions) and o.port == 6333
    o = parse_url("qdrant+https://db.example:443/qdrant?api_key=k&shards=3&replication=2&timeout=2.5")
    assert isinstance(o, ClientOptions)
    assert (o.https, o.port, o.prefix, o.api_key, o.shards, o.replication, o.timeout) == (
        True, 443, "/qdrant", "k", 3, 2, 2.5,
    )  # fmt: skip
    o = parse_url("qdrant://h:6333?grpc=1&grpc_port=7000")
    assert isinstance(o, ClientOptions) and o.grpc and o.grpc_port == 7000
    o = parse_url("qdrant+grpc://h:6334")
    assert isinstance(o, ClientOptions) and o.grpc and o.grpc_port == 6334
    monkeypatch.setenv("QDRANT_API_KEY", SECRET)
    o = parse_url("qdrant://h:6333")
    assert isinstance(o, ClientOptions) and o.api_key == SECRET


def test_local_urls(tmp_path: Path) -> None:
    o = parse_url("qdrant+local://:memory:")
    assert isinstance(o, ClientOptions) and o.mode == "local" and o.memory
    o = parse_url(f"qdrant+local://{tmp_path}")
    assert isinstance(o, ClientOptions) and o.path == tmp_path and not o.memory


@pytest.mark.parametrize(
    "url",
    [
        "qdrant://",
        "qdrant://relative/path",  # a host 'relative' with a path: fine; see the next ones
        "qdrant://h:6333?bogus=1",
        "qdrant:///abs?api_key=x",  # server-only option on Edge
        "qdrant:///abs?auto_optimize=-1",
        "qdrant:///abs?idf=maybe",
        "qdrant://h:notaport",
        "qdrant://user:pw@h:6333",
        "qdrant+local://relative",
        "qdrant+local://:memory:?shards=2",
        "qdrant+ftp://h",
        "qdrant://h:6333?shards=0",
        "qdrant://h:6333?timeout=abc",
        "qdrant://h?grpc=1&grpc=0",
        "qdrant://h?retry_deadline=soon",
        "qdrant:///abs?retry_deadline=1",  # Edge never retries
    ],
)
def test_bad_urls(url: str) -> None:
    if url == "qdrant://relative/path":
        o = parse_url(url)
        assert isinstance(o, ClientOptions) and o.host == "relative" and o.prefix == "/path"
        return
    with pytest.raises(ConfigError):
        parse_url(url)


def test_registry_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = vecctx.connect(f"qdrant://{tmp_path / 'e'}")
    assert isinstance(s, QdrantEdgeStore)
    s.close()
    m = vecctx.connect("qdrant+local://:memory:")
    assert isinstance(m, QdrantClientStore)
    m.close()
    a = vecctx.connect_async("qdrant+local://:memory:")
    assert isinstance(a, AsyncQdrantClientStore)
    with pytest.raises(ConfigError, match="no native async"):
        vecctx.connect_async(f"qdrant://{tmp_path / 'e'}")
    # The default store: embedded Edge under ./.vecctx/qdrant.
    monkeypatch.delenv("VECCTX_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_url() == "qdrant://" + str(tmp_path / ".vecctx" / "qdrant")
    with vecctx.connect() as d:
        assert isinstance(d, QdrantEdgeStore)
        assert d.driver.root == tmp_path / ".vecctx" / "qdrant"
    assert (tmp_path / ".vecctx" / "qdrant" / ".vecctx.lock").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@_CLIENT_WARNINGS
def test_api_key_never_in_repr_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _free_port()  # nothing listens: connection refused
    monkeypatch.setenv("QDRANT_API_KEY", SECRET)
    store = open_store(f"qdrant://127.0.0.1:{port}?retry_deadline=0")
    assert isinstance(store, QdrantClientStore)
    assert SECRET not in repr(store) and SECRET not in repr(store.driver.options)
    assert "***" in repr(store.driver.options)
    with pytest.raises(TransientBackendError) as info:
        store.list_collections()
    assert SECRET not in str(info.value)
    assert info.value.original is not None
    store.close()
    # retried until the deadline, then a RetryDeadlineError naming the URL, never the key
    retried = open_store(f"qdrant://127.0.0.1:{port}?retry_deadline=0.3&api_key={SECRET}")
    with retried, pytest.raises(RetryDeadlineError) as rinfo:
        retried.count("c")
    assert rinfo.value.attempts > 1
    assert SECRET not in str(rinfo.value) and f"127.0.0.1:{port}" in str(rinfo.value)
    url = f"qdrant://127.0.0.1:{port}?api_key={SECRET}"
    with pytest.raises(ConfigError) as cinfo:
        parse_url(url + "&nonsense=1")
    assert SECRET not in str(cinfo.value)


@_CLIENT_WARNINGS
def test_http_status_mapping(httpserver: HTTPServer) -> None:
    """REST answers from a fake server on 127.0.0.1: 503 is transient, 401 is not, and the
    key sent in the ``api-key`` header never shows in the error."""
    httpserver.expect_request("/collections").respond_with_json({"status": "unavailable"}, status=503)
    url = f"qdrant://127.0.0.1:{httpserver.port}?api_key={SECRET}&retry_deadline=0"
    store = open_store(url)
    with pytest.raises(TransientBackendError) as info:
        store.list_collections()
    assert SECRET not in str(info.value)
    httpserver.clear()
    httpserver.expect_request("/collections").respond_with_json({"status": {"error": "bad key"}}, status=401)
    with pytest.raises(BackendError) as binfo:
        store.list_collections()
    assert not isinstance(binfo.value, TransientBackendError)
    assert SECRET not in str(binfo.value)
    sent = [r.headers.get("api-key") for r, _ in httpserver.log]
    assert SECRET in sent  # the key did go to the server, in the header
    store.close()


async def _async_list(store: AsyncQdrantClientStore) -> list[str]:
    try:
        return await store.list_collections()
    finally:
        await store.close()


@_CLIENT_WARNINGS
def test_async_errors_are_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    monkeypatch.setenv("QDRANT_API_KEY", SECRET)
    store = open_async_store(f"qdrant://127.0.0.1:{_free_port()}?retry_deadline=0")
    assert SECRET not in repr(store)
    with pytest.raises(TransientBackendError) as info:
        asyncio.run(_async_list(store))
    assert SECRET not in str(info.value)


@_CLIENT_WARNINGS
def test_echoed_key_is_masked_in_the_whole_cause_chain(httpserver: HTTPServer) -> None:
    """A server (or a proxy) that echoes the request's headers in its answer: the key shows in
    none of the error, its printed traceback, or the client's exception kept as the cause (its
    body, its headers)."""
    echo = {"status": {"error": f"forbidden: api-key {SECRET} is revoked"}}
    httpserver.expect_request("/collections").respond_with_json(
        echo, status=403, headers={"X-Echo-Api-Key": SECRET}
    )
    url = f"qdrant://127.0.0.1:{httpserver.port}?api_key={SECRET}&retry_deadline=0"
    with open_store(url) as store, pytest.raises(BackendError) as info:
        store.list_collections()
    assert info.value.__cause__ is not None and "forbidden" in str(info.value)
    assert secret_leaks(info.value, SECRET) == []


@pytest.mark.parametrize(
    "url",
    [
        f"qdrant://h:6333?API_KEY={SECRET}",  # unknown option (the name is case-sensitive)
        f"qdrant://h:6333?Api_Key={SECRET}&bogus=1",
        f"qdrant://h:6333?api_key={SECRET}&api_key=2",
        f"qdrant://k:{SECRET}@h:6333",
        f"qdrant://h:notaport?api_key={SECRET}",
        f"qdrant://[::1?api_key={SECRET}",
        f"nonsense?token={SECRET}",
    ],
)
def test_config_errors_never_quote_a_secret(url: str) -> None:
    raises_masked(lambda: parse_url(url), SECRET, ConfigError)


@pytest.mark.parametrize("url", ["qdrant:///", "qdrant:////", "qdrant:///..", "qdrant+local:///"])
def test_the_filesystem_root_is_no_store(url: str) -> None:
    with pytest.raises(ConfigError, match="root"):
        parse_url(url)


@pytest.mark.parametrize("path", ["/tmp/a\x00b", "/tmp/a%00b", "/tmp/\udc80\ud800"])
def test_unusable_paths_are_config_errors(path: str) -> None:
    for url in (f"qdrant://{path}", f"qdrant+local://{path}"):
        with pytest.raises(ConfigError, match=r"NUL|valid file name"):
            parse_url(url)
