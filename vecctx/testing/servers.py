"""Server subprocesses for tests and benchmarks, on 127.0.0.1 at a free port, stopped by PID.

:class:`ServerProcess` runs any command that serves on a port: :meth:`~ServerProcess.start`
launches it (its output appended to a log file) and waits until a readiness probe answers, else
raises :class:`ServerError` with the tail of that log; :meth:`~ServerProcess.stop` sends the
stop signals to its PID in turn, each waited for, then SIGKILL; :meth:`~ServerProcess.kill` is
the crash (SIGKILL at once). A stopped or killed server starts again on the same port. ``with``
starts it (unless running) and stops it::

    @pytest.fixture(scope="session")
    def milvus_url(tmp_path_factory):
        with BackendServer("milvus", tmp_path_factory.mktemp("milvus") / "data") as server:
            yield server.url()

:class:`BackendServer` is a vecctx backend's own server: ``python -m milvus_lite server`` or
``chroma run``. No backend client is imported before a probe runs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, Self

from vecctx.contract.errors import BackendError

#: Whether the server on a port answers (not just accepts connections).
Probe = Callable[[int], bool]

#: The backends whose servers :class:`BackendServer` runs.
Kind = Literal["chroma", "milvus"]

_LOG_TAIL = 2000


class ServerError(BackendError):
    """A test or benchmark server did not start (the message ends with its log's tail), or is
    used before it started."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_ok(path: str = "/") -> Probe:
    """A probe: ``GET http://127.0.0.1:PORT{path}`` answers 200."""

    def probe(port: int) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    return probe


class ServerProcess:
    """A server subprocess on 127.0.0.1: ``command(port)`` is its argument list, ``ready(port)``
    tells when it serves, ``log_path`` collects its output (appended over restarts).

    ``stop_signals`` are sent in turn by :meth:`stop` (each waited ``stop_timeout`` seconds)
    before SIGKILL. ``starts``, ``kills`` and ``start_times`` (seconds each start took to
    answer) count what happened to it, for tests that report restarts."""

    def __init__(
        self,
        name: str,
        command: Callable[[int], Sequence[str]],
        *,
        ready: Probe,
        log_path: Path,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        stop_signals: Sequence[signal.Signals] = (signal.SIGTERM,),
        timeout: float = 60.0,
        stop_timeout: float = 20.0,
    ) -> None:
        self.name = name
        self.port = port or free_port()
        self.log_path = Path(log_path)
        self.timeout = timeout
        self.stop_timeout = stop_timeout
        self.starts = 0
        self.kills = 0
        self.start_times: list[float] = []
        self._command = command
        self._ready = ready
        self._env = dict(os.environ, **(env or {}))
        self._stop_signals = tuple(stop_signals)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int:
        """The PID of the current (or last) process."""
        return self._process().pid

    @property
    def returncode(self) -> int | None:
        """The exit code of the last process (negative: the signal that ended it); ``None``
        while it runs."""
        return self._process().poll()

    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise ServerError(f"{self.name} server was never started")
        return self._proc

    def log_tail(self, chars: int = _LOG_TAIL) -> str:
        """The last ``chars`` characters of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def start(self, timeout: float | None = None) -> Self:
        """Launch the server and wait (``timeout`` seconds, default the constructor's) until it
        answers; on timeout or exit it is stopped and :class:`ServerError` is raised."""
        if self.running:
            raise ServerError(f"{self.name} server is already running (pid {self.pid})")
        timeout = self.timeout if timeout is None else timeout
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                list(self._command(self.port)), stdout=log, stderr=subprocess.STDOUT, env=self._env
            )
        while not self._ready(self.port):
            code = self._proc.poll()
            if code is not None:
                why = f"exited with code {code}"
            elif time.monotonic() - t0 > timeout:
                self.stop()
                why = f"did not answer within {timeout:.0f} s"
            else:
                time.sleep(0.2)
                continue
            raise ServerError(
                f"{self.name} server on 127.0.0.1:{self.port} {why}; {self.log_path} ends with:\n"
                + self.log_tail()
            )
        self.starts += 1
        self.start_times.append(time.monotonic() - t0)
        return self

    def stop(self) -> None:
        """Stop by PID: each stop signal, waited for, then SIGKILL. Nothing if not running."""
        for sig in (*self._stop_signals, signal.SIGKILL):
            if not self.running:
                return
            proc = self._process()
            try:
                os.kill(proc.pid, sig)
                proc.wait(timeout=self.stop_timeout)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                if sig == signal.SIGKILL:
                    raise

    def kill(self) -> None:
        """A crash: SIGKILL by PID (no flush, no cleanup), reaped."""
        if self.running:
            proc = self._process()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=self.stop_timeout)
            self.kills += 1

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} {self.name} 127.0.0.1:{self.port} {state}>"


_CHROMA = "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; sys.exit(app())"


def _milvus_answers(port: int) -> bool:
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


class BackendServer(ServerProcess):
    """A vecctx backend's server with its data in ``data_dir`` and its log beside it
    (``<data_dir>.log``): ``milvus`` runs ``python -m milvus_lite server``, ``chroma`` runs
    ``chroma run`` (telemetry off). Stopped with SIGINT first (Milvus Lite flushes and frees its
    LOCK on it), then SIGTERM, then SIGKILL; restarting reuses the port and the data."""

    def __init__(
        self, kind: Kind, data_dir: Path, *, port: int | None = None, timeout: float = 120.0
    ) -> None:
        self.kind: Kind = kind
        self.data_dir = Path(data_dir)
        super().__init__(
            kind,
            self._argv,
            ready=http_ok("/api/v2/heartbeat") if kind == "chroma" else _milvus_answers,
            log_path=Path(f"{self.data_dir}.log"),
            port=port,
            env={"ANONYMIZED_TELEMETRY": "False", "CHROMA_TELEMETRY": "False"},
            stop_signals=(signal.SIGINT, signal.SIGTERM),
            timeout=timeout,
        )

    def _argv(self, port: int) -> list[str]:
        where = ["--host", "127.0.0.1", "--port", str(port)]
        if self.kind == "chroma":
            return [sys.executable, "-c", _CHROMA, "run", "--path", str(self.data_dir), *where]
        return [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(self.data_dir), *where]

    def url(self, **options: object) -> str:
        """The vecctx store URL of this server (``milvus://…`` or ``chroma+http://…``), with
        ``options`` as its query."""
        scheme = "chroma+http" if self.kind == "chroma" else "milvus"
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return f"{scheme}://127.0.0.1:{self.port}" + (f"?{query}" if query else "")


@contextmanager
def held_in_another_process(url: str, setup: str = "") -> Iterator[None]:
    """A second process that opens the store at ``url`` with ``vecctx.connect``, runs ``setup``
    (Python with the store as ``s``), and holds the store open until the block ends; then it
    closes it and must exit cleanly. It is stopped by its handle if anything goes wrong."""
    script = "\n".join(
        [
            "import sys, vecctx",
            "from vecctx import CollectionSpec, Record",
            f"s = vecctx.connect({url!r})",
            setup,
            'print("ready", flush=True)',
            "sys.stdin.readline()",
            "s.close()",
        ]
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
        if proc.stdout.readline().strip() != "ready":
            code, err = proc.wait(60), proc.stderr.read()
            raise ServerError(f"the process holding {url!r} did not start (exit code {code}):\n{err[-2000:]}")
        yield
        proc.stdin.write("\n")
        proc.stdin.flush()
        if proc.wait(timeout=60) != 0:
            raise ServerError(f"the process holding {url!r} failed to close it (exit code {proc.returncode})")
    finally:
        if proc.poll() is None:
            proc.kill()  # our own child, by its handle
            proc.wait()


__all__ = [
    "held_in_another_process",
    "BackendServer",
    "Kind",
    "Probe",
    "ServerError",
    "ServerProcess",
    "free_port",
    "http_ok",
]
