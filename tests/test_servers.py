"""vecctx.testing.servers on real subprocesses: ``python -m http.server`` on a free port."""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from vecctx.testing import BackendServer, ServerError, ServerProcess, free_port, http_ok


def python(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", code]


def http_server(tmp_path: Path) -> ServerProcess:
    (tmp_path / "index.html").write_text("hello")

    def command(port: int) -> Sequence[str]:
        return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(tmp_path)]

    return ServerProcess("http", command, ready=http_ok("/index.html"), log_path=tmp_path / "http.log")


def test_starts_answers_and_stops_by_pid(tmp_path: Path) -> None:
    with http_server(tmp_path) as srv:
        assert srv.running and srv.starts == 1 and len(srv.start_times) == 1
        assert http_ok("/index.html")(srv.port)
        assert f"pid {srv.pid}" in repr(srv) and f"127.0.0.1:{srv.port}" in repr(srv)
        with pytest.raises(ServerError, match="already running"):
            srv.start()
    assert not srv.running and srv.returncode == -signal.SIGTERM  # the first stop signal did it
    assert not http_ok("/index.html")(srv.port)
    assert "stopped" in repr(srv)
    srv.stop()  # stopping a stopped server does nothing


def test_kill_then_restart_on_the_same_port(tmp_path: Path) -> None:
    with http_server(tmp_path) as srv:
        port, first = srv.port, srv.pid
        srv.kill()
        assert srv.returncode == -signal.SIGKILL and srv.kills == 1 and not http_ok()(port)
        srv.start()
        assert srv.port == port and srv.pid != first and srv.starts == 2
        assert http_ok("/index.html")(port)
        assert "GET /index.html" in srv.log_tail()  # the log is kept over restarts


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ignoring'); time.sleep(60)"
    srv = ServerProcess(
        "stubborn",
        lambda port: python(code),
        ready=lambda port: log.exists() and "ignoring" in log.read_text(),
        log_path=log,
        stop_timeout=0.5,
    )
    with srv:
        assert srv.running
    assert srv.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    ("code", "timeout", "why"),
    [
        ("import time; print('booting slowly'); time.sleep(60)", 1.0, "did not answer within 1 s"),
        ("import sys; print('booting slowly: bad flag'); sys.exit(3)", 60.0, "exited with code 3"),
    ],
)
def test_a_server_that_never_answers_fails_with_its_log(
    tmp_path: Path, code: str, timeout: float, why: str
) -> None:
    srv = ServerProcess(
        "mute", lambda port: python(code), ready=http_ok(), log_path=tmp_path / "mute.log", timeout=timeout
    )
    with pytest.raises(ServerError) as info:
        srv.start()
    text = str(info.value)
    assert f"mute server on 127.0.0.1:{srv.port} {why}" in text, text
    assert "booting slowly" in text and str(tmp_path / "mute.log") in text
    assert not srv.running  # stopped by its PID, not left behind


def test_never_started() -> None:
    srv = ServerProcess("idle", lambda port: python("pass"), ready=http_ok(), log_path=Path("unused.log"))
    with pytest.raises(ServerError, match="never started"):
        srv.pid  # noqa: B018
    assert srv.log_tail() == "" and not srv.running


def test_free_port_is_bindable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", free_port()))


def test_backend_server_urls(tmp_path: Path) -> None:
    milvus = BackendServer("milvus", tmp_path / "m", port=1234)
    assert milvus.url() == "milvus://127.0.0.1:1234"
    assert milvus.url(retry_deadline=2, token="t") == "milvus://127.0.0.1:1234?retry_deadline=2&token=t"
    chroma = BackendServer("chroma", tmp_path / "c")
    assert chroma.url() == f"chroma+http://127.0.0.1:{chroma.port}"
    assert chroma.log_path == tmp_path / "c.log" and not chroma.running
