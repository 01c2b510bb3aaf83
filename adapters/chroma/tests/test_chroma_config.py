"""URL parsing: the forms, the options, and the token kept out of repr and messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from vecctx_chroma import AsyncChromaStore, open_store, parse_url
from werkzeug import Request, Response

from vecctx.contract.errors import CollectionNotFoundError, ConfigError, VecctxError
from vecctx.testing.leaks import raises_masked, secret_leaks

SECRET = "s3cret-chroma-token"


def test_embedded_path() -> None:
    cfg = parse_url("chroma:///data/chroma/")
    assert cfg.mode == "persistent"
    assert cfg.path == "/data/chroma"
    assert cfg.ef_search is None
    assert cfg.headers() == {}


def test_embedded_options() -> None:
    cfg = parse_url("chroma:///d?ef_search=64&tenant=t1&database=db1")
    assert (cfg.ef_search, cfg.tenant, cfg.database) == (64, "t1", "db1")


def test_embedded_path_with_escapes() -> None:
    assert parse_url("chroma:///tmp/my%20dir").path == "/tmp/my dir"


@pytest.mark.parametrize(
    "url",
    [
        "chroma://relative/path",
        "chroma://",
        "chroma:///",
        "chroma:///d?token=abc",
        "chroma:///d?ef_search=0",
        "chroma:///d?ef_search=many",
        "chroma:///d?bogus=1",
        "chroma:///d?tenant=a&tenant=b",
        "chroma+http://",
        "chroma+http://host:99999",
        "chroma+http://host/some/path",
        "chroma+http://user:pw@host",
        "chroma+http://host?token_header=cookie",
        "qdrant:///d",
        "no-scheme",
        "chroma+http://h:1?token=s3cret&bogus=1",
    ],
)
def test_bad_urls_never_echo_the_token(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_url(url, environ={"CHROMA_TOKEN": "s3cret"})
    assert "s3cret" not in str(info.value)


def test_http_defaults() -> None:
    cfg = parse_url("chroma+http://127.0.0.1", environ={})
    assert (cfg.mode, cfg.host, cfg.port, cfg.ssl) == ("http", "127.0.0.1", 8000, False)
    assert cfg.headers() == {}
    https = parse_url("chroma+https://example.org", environ={})
    assert (https.port, https.ssl) == (443, True)
    assert https.display_url() == "chroma+https://example.org:443"


def test_token_from_url_wins_over_env_and_stays_secret() -> None:
    cfg = parse_url("chroma+http://h:1234?token=s3cret-url", environ={"CHROMA_TOKEN": "s3cret-env"})
    assert cfg.token == "s3cret-url"
    assert cfg.headers() == {"Authorization": "Bearer s3cret-url"}
    assert "s3cret" not in repr(cfg)
    assert "s3cret" not in cfg.display_url()


def test_token_from_env_and_header_choice() -> None:
    cfg = parse_url("chroma+https://h?token_header=x-chroma-token", environ={"CHROMA_TOKEN": "envtok"})
    assert cfg.headers() == {"X-Chroma-Token": "envtok"}
    assert "envtok" not in repr(cfg)


def test_async_store_needs_http() -> None:
    with pytest.raises(ConfigError, match="no async API"):
        AsyncChromaStore(parse_url("chroma:///tmp/x"))


def test_async_store_repr_hides_token() -> None:
    store = AsyncChromaStore(parse_url("chroma+http://127.0.0.1:9?token=s3cret", environ={}))
    assert "s3cret" not in repr(store)
    assert "127.0.0.1:9" in repr(store)


@pytest.mark.parametrize("url", ["chroma:///", "chroma:////", "chroma:///..", "chroma:///%2F"])
def test_the_filesystem_root_is_no_store(url: str) -> None:
    with pytest.raises(ConfigError, match="root"):
        parse_url(url)


@pytest.mark.parametrize("path", ["/tmp/a%00b", "/tmp/\udc80\ud800"])
def test_unusable_paths_are_config_errors(path: str) -> None:
    with pytest.raises(ConfigError, match=r"NUL|valid file name"):
        parse_url(f"chroma://{path}")


@pytest.mark.parametrize(
    "url",
    [
        f"chroma+http://[::1?token={SECRET}",
        f"chroma+http://h:99999?TOKEN={SECRET}",
        f"chroma+http://u:{SECRET}@h",
        f"no-scheme?Api_Key={SECRET}",
    ],
)
def test_config_errors_never_quote_a_secret(url: str) -> None:
    raises_masked(lambda: parse_url(url, environ={}), SECRET, ConfigError)


def test_echoed_token_is_masked_in_the_whole_cause_chain(httpserver: HTTPServer) -> None:
    """A server (or a proxy) that echoes the request's Authorization header in its answer: the
    token shows in none of the error, its printed traceback, or the exceptions it was raised
    from (chromadb's, and httpx's with the request and response it holds)."""

    def echo(request: Request) -> Response:
        said = request.headers.get("Authorization", "")
        return Response(f"upstream refused {said}", status=502, headers={"X-Echo": said})

    httpserver.expect_request(re.compile(".*")).respond_with_handler(echo)
    with pytest.raises(VecctxError) as info:
        open_store(f"chroma+http://127.0.0.1:{httpserver.port}?token={SECRET}&retry_deadline=0")
    assert httpserver.log and httpserver.log[0][0].headers["Authorization"] == f"Bearer {SECRET}"
    assert "upstream refused" in str(info.value)
    assert secret_leaks(info.value, SECRET) == []


@pytest.mark.parametrize("http", [False, True])
def test_path_like_names_are_not_found_embedded_or_over_http(
    http: bool, chroma_server: str, tmp_path: Path
) -> None:
    """A name such as ``../x`` must not reach a server's URL path: over HTTP as embedded, it
    names no collection."""
    with open_store("chroma+" + chroma_server if http else f"chroma://{tmp_path}") as store:
        for name in ("../x", "..", "a/b", "./x", "x/../../y"):
            with pytest.raises(CollectionNotFoundError):
                store.count(name)
            with pytest.raises(CollectionNotFoundError):
                store.drop_collection(name)
            assert not store.has_collection(name)
