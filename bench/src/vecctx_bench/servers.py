"""Local servers the benchmark talks to: ``milvus-lite server`` and ``chroma run``.

Each starts on 127.0.0.1 at a free port, is waited for until it answers, and is stopped by
its PID (never by name). Used by the benchmark workers and ``benchmarks/conftest.py`` (the
repository's fault and load tests start their servers with their own fixture,
``tests/_servers.py``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from vecctx import BackendError

_CHROMA_LAUNCH = "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; sys.exit(app())"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """A server subprocess: its store URL, data directory, log and process."""

    kind: str
    url: str
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL by PID (no flush, no cleanup), and reap it: a crash, for fault tests."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGINT (Milvus Lite flushes and frees its LOCK on it), then SIGTERM, then SIGKILL."""
        proc = self.proc
        for sig, wait in ((signal.SIGINT, 20.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            if proc.poll() is not None:
                return
            try:
                os.kill(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _milvus_ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            pass
    except OSError:
        return False
    try:
        from pymilvus import MilvusClient  # type: ignore[import-untyped,unused-ignore]

        client = MilvusClient(uri=f"http://127.0.0.1:{port}", timeout=5)
        try:
            client.get_server_version()
        finally:
            client.close()
    except Exception:
        return False
    return True


def _chroma_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _wait(server: Server, probe: Callable[[int], bool], port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe(port):
        if server.proc.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-1500:]
            raise BackendError(f"{server.kind} server exited with {server.proc.returncode}: {tail}")
        if time.monotonic() > deadline:
            server.stop()
            raise BackendError(f"{server.kind} server did not answer on port {port} within {timeout:.0f} s")
        time.sleep(0.2)


def start_milvus(data_dir: Path, *, timeout: float = 120.0, port: int | None = None) -> Server:
    """``python -m milvus_lite server`` on ``port`` (default: a free one; give the same port and
    ``data_dir`` to restart a killed server); the store URL is ``milvus://127.0.0.1:PORT``."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = Path(str(data_dir) + ".log")
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "milvus_lite",
                "server",
                "--data-dir",
                str(data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server("milvus", f"milvus://127.0.0.1:{port}", data_dir, log_path, proc)
    _wait(server, _milvus_ready, port, timeout)
    return server


def start_chroma(data_dir: Path, *, timeout: float = 120.0, port: int | None = None) -> Server:
    """``chroma run`` on ``port`` (default: a free one; the same port and ``data_dir`` restart a
    killed server); the store URL is ``chroma+http://127.0.0.1:PORT``."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = Path(str(data_dir) + ".log")
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False", CHROMA_TELEMETRY="False")
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _CHROMA_LAUNCH,
                "run",
                "--path",
                str(data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = Server("chroma", f"chroma+http://127.0.0.1:{port}", data_dir, log_path, proc)
    _wait(server, _chroma_ready, port, timeout)
    return server


STARTERS = {"milvus": start_milvus, "chroma": start_chroma}

__all__ = ["STARTERS", "Server", "free_port", "start_chroma", "start_milvus"]
