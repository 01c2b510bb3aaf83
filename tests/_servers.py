"""Real local database servers for the fault and load tests: started on 127.0.0.1 at a free
port, killed with SIGKILL by PID, restarted on the same port and data directory.

This is the tests' own fixture (the benchmark suite, ``vecctx-bench``, starts its servers
itself): ``python -m milvus_lite server`` and ``chroma run``, each waited for until it answers,
with the restart bookkeeping the fault tests report.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Literal

Kind = Literal["chroma", "milvus"]

_CHROMA = "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; sys.exit(app())"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(kind: Kind, port: int) -> bool:
    """Whether the server on ``port`` serves requests (not just accepts connections)."""
    if kind == "chroma":
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        from pymilvus import MilvusClient  # type: ignore[import-untyped,unused-ignore]

        client = MilvusClient(uri=f"http://127.0.0.1:{port}", timeout=5)
        try:
            client.get_server_version()
        finally:
            client.close()
    except Exception:
        return False
    return True


class Server:
    """One local server process, restartable on the same port and data directory."""

    def __init__(self, kind: Kind, workdir: Path) -> None:
        self.kind = kind
        self.data = Path(workdir) / "data"
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        #: seconds each start took to answer its readiness probe
        self.start_times: list[float] = []

    def url(self, **options: object) -> str:
        """The vecctx URL of this server, with query options."""
        scheme = "chroma+http" if self.kind == "chroma" else "milvus"
        base = f"{scheme}://127.0.0.1:{self.port}"
        return base + ("?" + "&".join(f"{k}={v}" for k, v in options.items()) if options else "")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _command(self) -> list[str]:
        where = ["--host", "127.0.0.1", "--port", str(self.port)]
        if self.kind == "chroma":
            return [sys.executable, "-c", _CHROMA, "run", "--path", str(self.data), *where]
        return [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(self.data), *where]

    def start(self, timeout: float = 90.0) -> None:
        assert not self.running, "already running"
        self.data.parent.mkdir(parents=True, exist_ok=True)
        log_path = Path(f"{self.data}.log")
        env = dict(os.environ, ANONYMIZED_TELEMETRY="False", CHROMA_TELEMETRY="False")
        t0 = time.monotonic()
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT, env=env)
        while not _answers(self.kind, self.port):
            if self.proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-1500:]
                raise RuntimeError(f"{self.kind} server exited with {self.proc.returncode}: {tail}")
            if time.monotonic() - t0 > timeout:
                self.stop()
                raise RuntimeError(
                    f"{self.kind} server did not answer on port {self.port} in {timeout:.0f} s"
                )
            time.sleep(0.2)
        self.starts += 1
        self.start_times.append(time.monotonic() - t0)

    def kill(self) -> None:
        """SIGKILL by PID (no flush, no cleanup), and reap it."""
        if self.running:
            assert self.proc is not None
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.kills += 1

    def stop(self) -> None:
        """Graceful stop by PID: SIGINT (Milvus Lite flushes and frees its LOCK on it), then
        SIGTERM, then SIGKILL."""
        for sig, wait in ((signal.SIGINT, 20.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            if not self.running:
                return
            assert self.proc is not None
            try:
                os.kill(self.proc.pid, sig)
                self.proc.wait(timeout=wait)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue


class RetryLog(logging.Handler):
    """Counts the retries logged by :mod:`vecctx.retry`, by the backend exception behind each
    (``with RetryLog() as log: ...; log.by_type``)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.by_type: Counter[str] = Counter()
        self._logger = logging.getLogger("vecctx.retry")
        self._level = self._logger.level

    def emit(self, record: logging.LogRecord) -> None:
        original = getattr(record, "vecctx_original", None)
        if original is not None:
            kind = type(original)
            code = getattr(original, "code", None)
            suffix = f"(code={code})" if isinstance(code, int) and not callable(code) else ""
            self.by_type[f"{kind.__module__}.{kind.__qualname__}{suffix}"] += 1

    @property
    def total(self) -> int:
        return sum(self.by_type.values())

    def __enter__(self) -> RetryLog:
        self._logger.addHandler(self)
        self._logger.setLevel(logging.INFO)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)


__all__ = ["Kind", "RetryLog", "Server"]
