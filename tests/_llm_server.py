"""llama-cpp-python's OpenAI-compatible server over the offline GGUF, for the LLM client tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vecctx.llm.llama import default_gguf
from vecctx.testing.servers import ServerProcess, http_ok


def llama_server(log_dir: Path, name: str = "llama-cpp") -> ServerProcess:
    """``python -m llama_cpp.server`` over SmolLM2-135M-Instruct on 127.0.0.1 (one thread, the
    context window of 2048 tokens), ready when ``/v1/models`` answers; not started yet."""
    gguf = str(default_gguf())

    def argv(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            gguf,
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_threads",
            "1",
            "--n_threads_batch",
            "1",
            "--n_ctx",
            "2048",
            "--verbose",
            "False",
        ]

    return ServerProcess(
        name, argv, ready=http_ok("/v1/models"), log_path=log_dir / f"{name}.log", timeout=120
    )


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One llama.cpp server shared by a test module, stopped by PID at its end."""
    with llama_server(tmp_path_factory.mktemp("llm")) as server:
        yield server


def v1_url(server: ServerProcess) -> str:
    return f"http://127.0.0.1:{server.port}/v1"
