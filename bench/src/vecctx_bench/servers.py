"""Local servers the benchmark talks to: ``milvus-lite server`` and ``chroma run``, each a
:class:`vecctx.testing.servers.BackendServer` (127.0.0.1, a free port, waited for until it
answers, stopped by its PID). Used by the benchmark workers and ``benchmarks/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vecctx.testing.servers import BackendServer, Kind


@dataclass(frozen=True)
class Server:
    """A started server as the benchmark records it: its kind, store URL and data directory."""

    kind: str
    url: str
    data_dir: Path
    process: BackendServer

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.stop()


def start(kind: Kind, data_dir: Path) -> Server:
    """Start ``kind``'s server with its data in ``data_dir``; its log is ``<data_dir>.log``."""
    process = BackendServer(kind, data_dir).start()
    return Server(kind, process.url(), process.data_dir, process)


def start_milvus(data_dir: Path) -> Server:
    return start("milvus", data_dir)


def start_chroma(data_dir: Path) -> Server:
    return start("chroma", data_dir)


STARTERS: dict[str, Callable[[Path], Server]] = {"milvus": start_milvus, "chroma": start_chroma}

__all__ = ["STARTERS", "Server", "start", "start_chroma", "start_milvus"]
