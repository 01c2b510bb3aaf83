"""Real local database servers for the fault and load tests: started on 127.0.0.1 at a free
port, killed with SIGKILL by PID, restarted on the same port and data directory.

The launch commands and readiness probes are the benchmark's (:mod:`vecctx.bench.servers`);
this adds the restart bookkeeping the fault tests report.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Literal

from vecctx.bench import servers

Kind = Literal["chroma", "milvus"]


class Server:
    """One local server process, restartable on the same port and data directory."""

    def __init__(self, kind: Kind, workdir: Path) -> None:
        self.kind = kind
        self.data = Path(workdir) / "data"
        self.port = servers.free_port()
        self.current: servers.Server | None = None
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
        return self.current is not None and self.current.proc.poll() is None

    def start(self, timeout: float = 90.0) -> None:
        assert not self.running, "already running"
        t0 = time.monotonic()
        self.current = servers.STARTERS[self.kind](self.data, timeout=timeout, port=self.port)
        self.starts += 1
        self.start_times.append(time.monotonic() - t0)

    def kill(self) -> None:
        """SIGKILL by PID (no flush, no cleanup), and reap it."""
        if self.running:
            assert self.current is not None
            self.current.kill()
            self.kills += 1

    def stop(self) -> None:
        """Graceful stop by PID (SIGINT first, so Milvus Lite flushes)."""
        if self.current is not None:
            self.current.stop()


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
