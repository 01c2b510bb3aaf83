"""URL parsing: the forms, the options, and the token kept out of repr and messages."""

from __future__ import annotations

import pytest
from vecctx_chroma import AsyncChromaStore, parse_url

from vecctx.contract.errors import ConfigError


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
