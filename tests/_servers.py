"""The fault tests' retry counter, and the names they and the load tests use for the local
database servers (:class:`vecctx.testing.servers.BackendServer`: 127.0.0.1, a free port, SIGKILL
by PID, restart on the same port and data directory)."""

from __future__ import annotations

import logging
from collections import Counter
from types import TracebackType

from vecctx.testing.servers import BackendServer as Server
from vecctx.testing.servers import Kind


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
