"""The API key kept out of config errors and out of the whole cause chain of a failed request."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer
from vecctx_weaviate import parse_url
from werkzeug import Request, Response

from vecctx.contract.errors import BackendError, ConfigError
from vecctx.testing.leaks import raises_masked, secret_leaks

SECRET = "s3cret-weaviate-key"


def test_echoed_key_is_masked_in_the_whole_cause_chain(httpserver: HTTPServer) -> None:
    """``/v1/meta`` answered by a server (or proxy) that echoes the Authorization header."""

    def echo(request: Request) -> Response:
        said = request.headers.get("Authorization", "")
        return Response(f'{{"error": "rejected {said}"}}', status=401, headers={"X-Echo": said})

    httpserver.expect_request("/v1/meta").respond_with_handler(echo)
    config = parse_url(f"weaviate://127.0.0.1:{httpserver.port}?api_key={SECRET}", environ={})
    with pytest.raises(BackendError) as info:
        config.read_version()
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {SECRET}"
    assert info.value.__cause__ is not None
    assert secret_leaks(info.value, SECRET) == []


@pytest.mark.parametrize(
    "url", [f"weaviate://[::1?api_key={SECRET}", f"weaviate://h:99999?api_key={SECRET}", f"x?ApiKey={SECRET}"]
)
def test_config_errors_never_quote_a_secret(url: str) -> None:
    raises_masked(lambda: parse_url(url, environ={}), SECRET, ConfigError)
