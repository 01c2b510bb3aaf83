"""URL parsing: the token kept out of repr and messages; the store path and every other part checked."""

from __future__ import annotations

import pytest
from vecctx_milvus import MilvusDriver, parse_url

from vecctx.contract.errors import ConfigError
from vecctx.testing.leaks import raises_masked

SECRET = "s3cret-milvus-token"


def test_token_never_in_repr_and_declared_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MILVUS_TOKEN", raising=False)
    for url in (f"milvus://h:1?token={SECRET}", f"milvus://root:{SECRET}@h:1"):
        config = parse_url(url)
        assert SECRET in config.token and SECRET not in repr(config)
        assert SECRET in config.secrets  # the password of user:password alone too
        assert set(MilvusDriver(config).secrets) == set(config.secrets)
    assert parse_url("milvus://h:1").secrets == ()


@pytest.mark.parametrize(
    "url",
    [
        f"milvus://root:{SECRET}@h:notaport",
        f"milvus://root:{SECRET}@[::1",
        f"milvus://root:{SECRET}@:1/",
        f"milvus://h:1?TOKEN={SECRET}",
        f"redis://h?Token={SECRET}",
        f"milvus:///tmp/x.db?token={SECRET}",
    ],
)
def test_config_errors_never_quote_a_secret(url: str) -> None:
    raises_masked(lambda: parse_url(url), SECRET, ConfigError)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("milvus:////", "root"),
        ("milvus:///..", "root"),
        ("milvus:///tmp/a%00b.db", "NUL"),
        ("milvus:///tmp/\udc80\ud800.db", "valid file name"),
        ("qdrant://h", "not a milvus URL"),
        (5, "not a milvus URL"),
        ("milvus://h?bogus=1", "unknown option.*'bogus'.*Milvus server"),
        ("milvus:///tmp/x.db?token=t", "unknown option.*'token'.*Milvus Lite"),
        ("milvus://h?timeout=-1", "timeout='-1' must be a number greater than 0"),
        ("milvus://h?flush_threshold=x", "flush_threshold='x' must be an integer"),
        ("milvus://h?flush_threshold=-1", "flush_threshold='-1' must be an integer greater than -1"),
        ("milvus://h?tls=maybe", "tls='maybe' must be true or false"),
        ("milvus://h/path", "takes no path"),
        ("milvus://h:99999", "invalid port"),
        ("milvus://file.db", "looks like a Milvus Lite file"),
        ("milvus+https:///tmp/x.db", "needs a host"),
        ("milvus+https://h?tls=false", "contradictory"),
        ("milvus://h?db=a&db=b", "'db' is given more than once"),
        ("milvus://", "needs a host .* or a path"),
    ],
)
def test_bad_urls_are_config_errors(url: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        parse_url(url)
