"""Load: 16 threads search while one thread ingests (new records and new versions of old
ones), for a bounded time, on one shared store: embedded Qdrant Edge, a local Chroma server
over HTTP and a local Milvus server.

Asserted: no errors and no torn reads (every hit's id, metadata, text and, where asked, vector
belong to one version of one record: the metadata holds a checksum of the id, the version and
the vector), and afterwards every acknowledged record is present at its last acknowledged
version. Reported, not asserted: queries, QPS, p50/p99 latency (printed to stdout; run with
``-s`` to see them).
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vecctx
from tests._servers import Server
from vecctx import CollectionSpec, Metric, Record, VectorStore

pytestmark = pytest.mark.slow

DIM = 32
THREADS = 16
SECONDS = float(os.environ.get("VECCTX_LOAD_SECONDS", "6"))
PRELOAD = 2000
BATCH = 50
NAME = "load"


@functools.lru_cache(maxsize=1 << 17)
def vector_of(rid: str, ver: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    seed = int.from_bytes(hashlib.blake2b(f"{rid}/{ver}".encode(), digest_size=8).digest(), "little")
    return np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)


def checksum(rid: str, ver: int, vector: np.ndarray[Any, Any]) -> str:
    h = hashlib.sha1(f"{rid}/{ver}/".encode())
    h.update(np.round(np.asarray(vector, dtype=np.float64) / np.linalg.norm(vector), 4).tobytes())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=1 << 17)
def _checksum_of(rid: str, ver: int) -> str:
    return checksum(rid, ver, vector_of(rid, ver))


def record(rid: str, ver: int) -> Record:
    v = vector_of(rid, ver)
    chk = checksum(rid, ver, v)
    return Record(id=rid, vector=v, text=f"{rid}:{ver}:{chk}", metadata={"rid": rid, "ver": ver, "chk": chk})


def torn(
    rid: str,
    text: str | None,
    meta: Mapping[str, Any] | None,
    vec: Any = None,
    *,
    vector_may_lag: bool = False,
) -> str | None:
    """Why this hit/record is not one whole version of record ``rid`` (None when it is).
    ``vector_may_lag``: the vector may be another version of the same record written up to
    then (see :data:`VECTOR_LAG`), never another record's."""
    if not meta or meta.get("rid") != rid:
        return f"{rid}: metadata of another record or none: {meta}"
    ver = meta.get("ver")
    if not isinstance(ver, int):
        return f"{rid}: no version in {meta}"
    expected = vector_of(rid, ver)
    if meta.get("chk") != _checksum_of(rid, ver):
        return f"{rid}: checksum does not match version {ver}"
    if text != f"{rid}:{ver}:{meta['chk']}":
        return f"{rid}: text {text!r} is not version {ver}'s"
    if vec is not None:
        v = np.asarray(vec, dtype=np.float64)
        cos = float(v @ expected / (np.linalg.norm(v) * np.linalg.norm(expected)))
        if cos < 0.999 and not (
            vector_may_lag and any(_same(v, vector_of(rid, other)) for other in range(ver + 2))
        ):
            return f"{rid}: vector is not version {ver}'s (cosine {cos:.4f})"
    return None


def _same(v: np.ndarray[Any, Any], w: np.ndarray[Any, Any]) -> bool:
    return float(v @ w / (np.linalg.norm(v) * np.linalg.norm(w))) >= 0.999


#: Backends whose search may return, for a record being rewritten, the metadata and text of one
#: version with the vector of the version before or after it: a Chroma server keeps vectors
#: (HNSW segment) and metadata (SQLite) apart and a query reads them without one snapshot.
#: Measured here: 2 of about 24,000 hits in two of four runs of this test. Such a vector must
#: still be one of the same record's versions; metadata and text must always be one version.
VECTOR_LAG = frozenset({"chroma http server"})


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    torn: list[str] = field(default_factory=list)
    hits: int = 0
    upserted: int = 0
    updates: int = 0
    batches: int = 0


def run_load(store: VectorStore, label: str) -> Run:
    store.create_collection(CollectionSpec(name=NAME, dimension=DIM, metric=Metric.COSINE))
    acked: dict[str, int] = {}
    for start in range(0, PRELOAD, 500):
        recs = [record(f"d{i:06d}", 0) for i in range(start, start + 500)]
        store.upsert(NAME, recs)
        acked.update((r.id, 0) for r in recs)
    store.optimize(NAME)

    run = Run()
    lock = threading.Lock()
    start_gate = threading.Barrier(THREADS + 2)
    end_at = 0.0

    def ingest() -> None:
        rng = random.Random(1)
        next_id = PRELOAD
        try:
            start_gate.wait()
            while time.monotonic() < end_at and run.batches < 10_000:
                recs = []
                for _ in range(BATCH):
                    if rng.random() < 0.5:
                        rid = f"d{next_id:06d}"
                        next_id += 1
                        recs.append(record(rid, 0))
                    else:
                        rid = f"d{rng.randrange(next_id):06d}"
                        recs.append(record(rid, acked.get(rid, -1) + 1))
                recs = list({r.id: r for r in recs}.values())
                store.upsert(NAME, recs)
                with lock:
                    for r in recs:
                        run.updates += r.id in acked
                        acked[r.id] = r.metadata["ver"]
                    run.upserted += len(recs)
                    run.batches += 1
        except BaseException as exc:
            run.errors.append(exc)

    def query(seed: int) -> None:
        rng = np.random.default_rng(seed)
        lat: list[float] = []
        bad: list[str] = []
        hits = 0
        try:
            start_gate.wait()
            n = 0
            while time.monotonic() < end_at and n < 1_000_000:
                rid = f"d{int(rng.integers(PRELOAD)):06d}"
                q = vector_of(rid, 0) + rng.standard_normal(DIM).astype(np.float32) * 0.3
                with_vectors = n % 4 == 0
                t = time.perf_counter()
                res = store.search(NAME, vector=q, k=10, with_vectors=with_vectors)
                lat.append(time.perf_counter() - t)
                n += 1
                hits += len(res)
                if not res:
                    bad.append("empty result")
                for h in res:
                    why = torn(
                        h.id,
                        h.text,
                        h.metadata,
                        h.vector if with_vectors else None,
                        vector_may_lag=label in VECTOR_LAG,
                    )
                    if why:
                        bad.append(why)
        except BaseException as exc:
            run.errors.append(exc)
        with lock:
            run.latencies.extend(lat)
            run.torn.extend(bad)
            run.hits += hits

    threads = [threading.Thread(target=ingest, daemon=True)]
    threads += [threading.Thread(target=query, args=(i,), daemon=True) for i in range(THREADS)]
    for t in threads:
        t.start()
    end_at = time.monotonic() + SECONDS + 0.05  # set before the gate opens
    start_gate.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join(timeout=SECONDS + 120)
    elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), "a thread did not finish"

    lat = np.asarray(run.latencies) * 1000
    qps = len(lat) / elapsed
    print(
        f"\n[load] {label}: {THREADS} query threads + 1 ingest thread, {elapsed:.1f} s: "
        f"{len(lat)} queries, {qps:.0f} QPS, p50 {np.percentile(lat, 50):.2f} ms, "
        f"p99 {np.percentile(lat, 99):.2f} ms, max {lat.max():.1f} ms; ingest {run.upserted} records "
        f"({run.updates} updates) in {run.batches} batches ({run.upserted / elapsed:.0f} rec/s); "
        f"{len(run.errors)} errors, {len(run.torn)} torn hits of {run.hits}"
    )
    assert not run.errors, run.errors[:3]
    assert not run.torn, run.torn[:5]
    assert len(lat) > 0 and run.batches > 0

    # every acknowledged record is there, whole, at its last acknowledged version
    ids = sorted(acked)
    assert store.count(NAME) == len(ids)
    got = {r.id: r for r in store.get(NAME, ids)}
    assert set(got) == set(ids)
    for rid, rec in got.items():
        assert torn(rid, rec.text, rec.metadata) is None, torn(rid, rec.text, rec.metadata)
        assert rec.metadata["ver"] == acked[rid], (rid, rec.metadata["ver"], acked[rid])
    return run


def test_load_qdrant_edge(tmp_path: Path) -> None:
    pytest.importorskip("vecctx_qdrant")
    with vecctx.connect(f"qdrant://{tmp_path / 'edge'}") as store:
        run_load(store, "qdrant edge (embedded)")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server("chroma", Path(tmp_path_factory.mktemp("chroma-load"))) as srv:
        yield srv


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server("milvus", Path(tmp_path_factory.mktemp("milvus-load"))) as srv:
        yield srv


def test_load_chroma_http(chroma_server: Server) -> None:
    pytest.importorskip("vecctx_chroma")
    with vecctx.connect(chroma_server.url()) as store:
        run_load(store, "chroma http server")


def test_load_milvus_server(milvus_server: Server) -> None:
    pytest.importorskip("vecctx_milvus")
    with vecctx.connect(milvus_server.url()) as store:
        run_load(store, "milvus-lite server")


def test_torn_detects_mixed_versions() -> None:
    r1 = record("d000001", 1)
    v0, v2, other = vector_of("d000001", 0), vector_of("d000001", 2), vector_of("d000002", 1)
    assert torn("d000001", r1.text, r1.metadata, vector_of("d000001", 1)) is None
    assert torn("d000001", r1.text, r1.metadata, v0) is not None  # strict everywhere else
    assert torn("d000001", r1.text, r1.metadata, v0, vector_may_lag=True) is None
    assert torn("d000001", r1.text, r1.metadata, v2, vector_may_lag=True) is None
    assert torn("d000001", r1.text, r1.metadata, other, vector_may_lag=True) is not None
    assert torn("d000001", "d000001:0:x", r1.metadata, None, vector_may_lag=True) is not None
