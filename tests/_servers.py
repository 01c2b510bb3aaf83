"""Real local database servers for the fault and load tests: started on 127.0.0.1 at a free
port, killed with SIGKILL by PID, restarted on the same port and data directory.

The launch commands and readiness probes are the adapters' own test fixtures'
(``adapters/chroma/tests/conftest.py``, ``adapters/milvus/tests/conftest.py``), loaded from
their files so that both stay in one place.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
Kind = Literal["chroma", "milvus"]


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_chroma = _load("_vecctx_chroma_fixtures", ROOT / "adapters/chroma/tests/conftest.py")
_milvus = _load("_vecctx_milvus_fixtures", ROOT / "adapters/milvus/tests/conftest.py")


def free_port() -> int:
    port: int = _chroma._free_port()
    return port


class Server:
    """One local server process, restartable on the same port and data directory."""

    def __init__(self, kind: Kind, workdir: Path, port: int | None = None) -> None:
        self.kind = kind
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data = self.workdir / "data"
        self.port = port or free_port()
        self.log_path = self.workdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        #: seconds each start took to answer its readiness probe
        self.start_times: list[float] = []

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, **options: object) -> str:
        """The vecctx URL of this server, with query options."""
        base = (
            f"chroma+http://127.0.0.1:{self.port}"
            if self.kind == "chroma"
            else f"milvus://127.0.0.1:{self.port}"
        )
        if not options:
            return base
        return base + "?" + "&".join(f"{k}={v}" for k, v in options.items())

    def _command(self) -> list[str]:
        if self.kind == "chroma":
            return [sys.executable, "-c", _chroma._LAUNCH, "run", "--path", str(self.data)]
        return [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(self.data)]

    def _ready(self) -> bool:
        if self.kind == "chroma":
            return bool(_chroma._ready(self.http_url))
        return bool(_milvus._ready(self.port))

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 90.0) -> None:
        assert not self.running, "already running"
        env = dict(os.environ, ANONYMIZED_TELEMETRY="False", CHROMA_TELEMETRY="False")
        t0 = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*self._command(), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.starts += 1
        deadline = t0 + timeout
        while not self._ready():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.kind} server exited with {self.proc.returncode}: "
                    f"{self.log_path.read_text(errors='replace')[-2000:]}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.kind} server did not become ready on port {self.port}")
            time.sleep(0.1)
        self.start_times.append(time.monotonic() - t0)

    def kill(self) -> None:
        """SIGKILL by PID (no flush, no cleanup), and reap it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.kills += 1

    def stop(self) -> None:
        """Graceful stop by PID (SIGINT for Milvus Lite so it flushes; SIGTERM for Chroma)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGINT if self.kind == "milvus" else signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


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


__all__ = ["Kind", "RetryLog", "Server", "free_port"]
