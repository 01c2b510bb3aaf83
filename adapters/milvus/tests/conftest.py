"""Fixtures: a real standalone Milvus Lite server (``milvus-lite server``) on 127.0.0.1 at a
free port, started once per session and stopped by its PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(port: int) -> bool:
    from pymilvus import MilvusClient

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            pass
    except OSError:
        return False
    try:
        client = MilvusClient(uri=f"http://127.0.0.1:{port}", timeout=5)
        try:
            client.get_server_version()
        finally:
            client.close()
    except Exception:
        return False
    return True


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGINT)  # graceful: the server flushes and frees its LOCK
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (``milvus://127.0.0.1:PORT``) of a standalone Milvus Lite gRPC server."""
    data = tmp_path_factory.mktemp("milvus-server") / "data"
    port = _free_port()
    log_path = Path(str(data) + ".log")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "milvus_lite",
                "server",
                "--data-dir",
                str(data),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while not _ready(port):
                if proc.poll() is not None:
                    raise RuntimeError(f"milvus-lite server exited with {proc.returncode}; see {log_path}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"milvus-lite server did not start on port {port}; see {log_path}")
                time.sleep(0.2)
            yield f"milvus://127.0.0.1:{port}"
        finally:
            _stop(proc)
