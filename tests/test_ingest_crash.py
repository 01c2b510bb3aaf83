"""A subprocess ingest killed with SIGKILL (halfway at a batch boundary, and several times at
seeded random moments), then rerun, ends with exactly the records of a clean run (fresh load,
and an update that replaces documents). The ingests keep a manifest (as the CLI does): a killed
run leaves it untrusted, and the run after a completed rerun trusts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vecctx
from vecctx.loaders import data_root

SCRIPT = r"""
import json, os, sys, time
import vecctx
from vecctx.chunking import Document
from vecctx.embedders import HashingEmbedder
from vecctx.ingest import Ingestor
from vecctx.loaders import load_beir
from vecctx.retrieval.sparse import BM25Encoder

db, stats, cache, n, changed, delay = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
docs = list(load_beir(os.path.join(os.environ["VECCTX_DATA"], "scifact"), limit=n))
# the "update" corpus: the first `changed` documents get a new opening sentence, the last 10 vanish
if changed:
    docs = [Document(d.id, "Revised. " + d.text, dict(d.metadata)) if i < changed else d for i, d in enumerate(docs)][:-10]

def on_batch(done):
    print(f"batch {done.batch}/{done.batches}", flush=True)
    time.sleep(delay)

store = vecctx.connect("qdrant://" + db)
ing = Ingestor(store, "docs", embedder=HashingEmbedder(dimension=48, max_input_tokens=96), sparse=BM25Encoder(),
               sparse_path=stats, cache=cache, batch_size=16, progress=False, on_batch=on_batch,
               manifest_path=db + ".manifest.json")
report = ing.ingest(docs, sync=True)
store.close()
print("manifest" if report.manifest else "scroll", flush=True)
print("done", report.written, report.deleted, flush=True)
"""

N_DOCS = 120


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["VECCTX_DATA"] = str(data_root())
    return env


def _args(script: Path, db: Path, stats: Path, cache: Path, changed: int, delay: float) -> list[str]:
    return [
        sys.executable,
        str(script),
        str(db),
        str(stats),
        str(cache),
        str(N_DOCS),
        str(changed),
        str(delay),
    ]


def _run(script: Path, db: Path, stats: Path, cache: Path, *, changed: int, delay: float = 0.0) -> str:
    args = _args(script, db, stats, cache, changed, delay)
    out = subprocess.run(args, capture_output=True, text=True, env=_env(), timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


@contextmanager
def _ingesting(
    script: Path, db: Path, stats: Path, cache: Path, *, changed: int, delay: float
) -> Iterator[subprocess.Popen[str]]:
    """An ingest process, reaped on the way out whatever happened."""
    args = _args(script, db, stats, cache, changed, delay)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _sigkill(proc: subprocess.Popen[str]) -> bool:
    """SIGKILL: no cleanup, no flush, no close. Whether it died of it."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return proc.returncode == -signal.SIGKILL


def _kill_halfway(script: Path, db: Path, stats: Path, cache: Path, *, changed: int, after: int) -> None:
    with _ingesting(script, db, stats, cache, changed=changed, delay=0.3) as proc:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"ingest ended early: {proc.stderr.read() if proc.stderr else ''}"
            if line.startswith(f"batch {after}/"):
                total = int(line.split("/")[1])
                assert total > after + 2, "the corpus is too small to be killed halfway"
                break
        assert _sigkill(proc)


def _snapshot(db: Path) -> dict[str, Any]:
    store = vecctx.connect(f"qdrant://{db}")
    try:
        return {r.id: r for r in store.scroll("docs", with_vectors=True)}
    finally:
        store.close()


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for k, ra in a.items():
        rb = b[k]
        assert (ra.text, dict(ra.metadata)) == (rb.text, dict(rb.metadata))
        np.testing.assert_allclose(ra.vector, rb.vector, rtol=1e-6, atol=1e-7)
        assert ra.sparse is not None and rb.sparse is not None
        assert ra.sparse.indices == rb.sparse.indices
        np.testing.assert_allclose(ra.sparse.values, rb.sparse.values, rtol=1e-6)


@pytest.mark.parametrize("scenario", ["fresh", "update"])
def test_sigkill_then_rerun_equals_clean_run(tmp_path: Path, scenario: str) -> None:
    pytest.importorskip("vecctx_qdrant")
    script = tmp_path / "ingest_job.py"
    script.write_text(SCRIPT)
    changed = 25 if scenario == "update" else 0
    cache = tmp_path / "cache"

    # the reference: a clean, uninterrupted run
    clean_db, clean_stats = tmp_path / "clean", tmp_path / "clean.bm25.json"
    if scenario == "update":
        _run(script, clean_db, clean_stats, cache, changed=0)
    _run(script, clean_db, clean_stats, cache, changed=changed)

    # the victim: killed with SIGKILL after its third batch is written, then rerun
    db, stats = tmp_path / "crash", tmp_path / "crash.bm25.json"
    if scenario == "update":
        _run(script, db, stats, cache, changed=0)
        before = len(_snapshot(db))
    _kill_halfway(script, db, stats, cache, changed=changed, after=3)
    partial = _snapshot(db)
    expected = _snapshot(clean_db)
    if scenario == "fresh":
        assert 0 < len(partial) < len(expected)
    else:
        assert partial.keys() != expected.keys() and len(partial) >= before - 10
    out = _run(script, db, stats, cache, changed=changed)
    assert out.strip().splitlines()[-2:-1] == ["scroll"]  # the killed run left no trusted manifest
    assert out.strip().splitlines()[-1].startswith("done")
    _same(_snapshot(db), expected)
    assert json.loads(stats.read_text()) == json.loads(clean_stats.read_text())
    # and a further run is a no-op that trusts the manifest
    assert _run(script, db, stats, cache, changed=changed).strip().splitlines()[-2:] == [
        "manifest",
        "done 0 0",
    ]


class _Interrupting:
    """Wraps an embedder; raises KeyboardInterrupt (Ctrl-C) on its n-th call."""

    def __init__(self, inner: Any, at: int) -> None:
        self.inner = inner
        self.at = at
        self.calls = 0
        self.name = inner.name
        self.dimension = inner.dimension
        self.max_input_tokens = inner.max_input_tokens
        self.normalized = inner.normalized
        self.query_prefix = inner.query_prefix
        self.passage_prefix = inner.passage_prefix
        self.tokenizer = inner.tokenizer

    def embed_documents(self, texts: Any) -> Any:
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> Any:
        return self.inner.embed_query(text)


@pytest.mark.parametrize("manifest", [False, True])
def test_ctrl_c_then_rerun_equals_clean_run(tmp_path: Path, manifest: bool) -> None:
    from vecctx import MemoryStore
    from vecctx.embedders import HashingEmbedder
    from vecctx.ingest import Ingestor
    from vecctx.loaders import load_beir
    from vecctx.retrieval.sparse import BM25Encoder

    docs = list(load_beir(data_root() / "scifact", limit=60))

    def make(store: Any, emb: Any) -> Ingestor:
        return Ingestor(
            store,
            "docs",
            embedder=emb,
            sparse=BM25Encoder(),
            batch_size=8,
            progress=False,
            sparse_path=tmp_path / "bm25.json" if manifest else None,
            manifest_path=tmp_path / "m.json" if manifest else None,
        )

    clean = MemoryStore()
    clean_emb = HashingEmbedder(dimension=16, max_input_tokens=64)
    clean_ing = Ingestor(
        clean, "docs", embedder=clean_emb, sparse=BM25Encoder(), batch_size=8, progress=False
    )
    clean_ing.ingest(docs[:20])  # the same history, uninterrupted
    clean_stats = clean_ing.ingest(docs).bm25
    store = MemoryStore()
    make(store, HashingEmbedder(dimension=16, max_input_tokens=64)).ingest(docs[:20])  # a manifest
    with pytest.raises(KeyboardInterrupt):
        make(store, _Interrupting(HashingEmbedder(dimension=16, max_input_tokens=64), at=4)).ingest(docs)
    assert 0 < store.count("docs") < clean.count("docs")
    report = make(store, HashingEmbedder(dimension=16, max_input_tokens=64)).ingest(docs)
    assert not report.manifest  # the interrupted run left it untrusted
    assert report.unchanged == store.count("docs") - report.written
    assert report.bm25 is not None and clean_stats is not None and report.bm25.stats == clean_stats.stats
    again = make(store, HashingEmbedder(dimension=16, max_input_tokens=64)).ingest(docs)
    assert again.manifest == manifest and again.written == 0
    _same(
        {r.id: r for r in store.scroll("docs", with_vectors=True)},
        {r.id: r for r in clean.scroll("docs", with_vectors=True)},
    )


def _kill_at(script: Path, db: Path, stats: Path, cache: Path, *, after_s: float) -> bool:
    """Start an ingest and SIGKILL it ``after_s`` seconds after its first batch was written:
    a point that is not a batch boundary (mid-embedding, mid-upsert, mid-save of the BM25
    statistics). Returns whether it was killed (False: it finished first)."""
    with _ingesting(script, db, stats, cache, changed=0, delay=0.05) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("batch "):  # nothing left to write: it finished at once
            proc.wait(timeout=60)
            return False
        time.sleep(after_s)
        if proc.poll() is not None:
            return False
        return _sigkill(proc)


def test_sigkill_at_random_points_then_rerun_equals_clean_run(tmp_path: Path) -> None:
    """Several SIGKILLs at random moments of the same ingest (seeded), each followed by a
    restart that goes on from where the last one stopped; the final run ends with exactly the
    records and BM25 statistics of a clean run: none lost, none duplicated, none stale."""
    pytest.importorskip("vecctx_qdrant")
    import random

    script = tmp_path / "ingest_job.py"
    script.write_text(SCRIPT)
    cache = tmp_path / "cache"
    clean_db, clean_stats = tmp_path / "clean", tmp_path / "clean.bm25.json"
    _run(script, clean_db, clean_stats, cache, changed=0)
    expected = _snapshot(clean_db)

    rng = random.Random(20261201)
    db, stats = tmp_path / "crash", tmp_path / "crash.bm25.json"
    kills = 0
    for _ in range(4):
        kills += _kill_at(script, db, stats, cache, after_s=rng.uniform(0.0, 0.35))
    assert kills >= 2, "the ingest finished before it could be killed at least twice"
    if db.exists():
        assert len(_snapshot(db)) <= len(expected)  # never more than a clean run
    out = _run(script, db, stats, cache, changed=0)
    assert out.strip().splitlines()[-1].startswith("done")
    _same(_snapshot(db), expected)
    assert json.loads(stats.read_text()) == json.loads(clean_stats.read_text())
