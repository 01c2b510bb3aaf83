"""Faults on real local servers: a Chroma server (``chroma run``) and a Milvus server
(``milvus-lite server``), each started on 127.0.0.1 at a free port, killed with SIGKILL by PID
mid-ingest and mid-query, and restarted on the same port and data directory.

(a) an ingest that loses its server twice completes, and every acknowledged record is there;
(b) a query loop that loses its server keeps going and every answer is right;
(c) a server that stays down makes a call fail with the typed error after its deadline.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vecctx
from tests._servers import Kind, RetryLog, Server
from vecctx import CollectionSpec, IndexKind, IndexParams, Metric, Record, RetryDeadlineError, SearchRequest
from vecctx.contract.errors import TransientBackendError

pytestmark = pytest.mark.slow

DIM = 16
#: Fast retries for tests: keep retrying for up to 90 s (a restart takes 2-8 s here).
RETRY = {"retry_deadline": 90, "retry_initial_backoff": 0.05, "retry_max_backoff": 0.5}
KINDS: list[Kind] = ["chroma", "milvus"]


def checksum(rid: str, vector: np.ndarray[Any, Any]) -> str:
    h = hashlib.sha1(rid.encode())
    h.update(np.round(np.asarray(vector, dtype=np.float64), 4).tobytes())
    return h.hexdigest()[:16]


def make_records(start: int, n: int, seed: int = 7) -> list[Record]:
    rng = np.random.default_rng(seed + start)
    out = []
    for i in range(start, start + n):
        v = rng.standard_normal(DIM).astype(np.float32)
        rid = f"r{i:05d}"
        out.append(
            Record(id=rid, vector=v, text=f"text of {rid}", metadata={"i": i, "chk": checksum(rid, v)})
        )
    return out


def spec_for(kind: Kind, name: str) -> CollectionSpec:
    # Milvus: FLAT (exact) so answers are deterministic across restarts; Chroma builds HNSW only.
    index = IndexParams(kind=IndexKind.FLAT) if kind == "milvus" else IndexParams()
    return CollectionSpec(name=name, dimension=DIM, metric=Metric.EUCLIDEAN, index=index)


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    kind: Kind = request.param
    with Server(kind, Path(tmp_path_factory.mktemp(f"{kind}-faults"))) as srv:
        yield srv
    print(
        f"\n[faults] {kind}: {srv.starts} starts, {srv.kills} SIGKILLs, "
        f"start times {[round(t, 1) for t in srv.start_times]} s"
    )


@pytest.fixture
def retry_log() -> Iterator[RetryLog]:
    with RetryLog() as log:
        yield log


def _restart(srv: Server, pause: float) -> None:
    srv.kill()
    time.sleep(pause)  # calls in flight now hit a dead port
    srv.start()


def test_kill_mid_ingest(server: Server, retry_log: RetryLog) -> None:
    """Two SIGKILLs while a thread upserts 48 batches: the ingest completes and every
    acknowledged record is present, whole, after the restarts."""
    store = vecctx.connect(server.url(**RETRY))
    name = "ingest_faults"
    store.ensure_collection(spec_for(server.kind, name))
    batches = [make_records(b * 50, 50) for b in range(48)]
    acked: list[str] = []
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            for batch in batches:
                store.upsert(name, batch)
                acked.extend(r.id for r in batch)
                time.sleep(0.02)
        except BaseException as exc:
            errors.append(exc)

    t0 = time.monotonic()
    thread = threading.Thread(target=ingest, daemon=True)
    thread.start()
    kills = 0
    for threshold in (500, 1400):
        wait_until = time.monotonic() + 60
        while len(acked) < threshold and thread.is_alive() and time.monotonic() < wait_until:
            time.sleep(0.01)
        if not thread.is_alive():
            break
        _restart(server, pause=0.5)
        kills += 1
    thread.join(timeout=180)
    assert not thread.is_alive(), "ingest did not finish"
    assert not errors, errors
    elapsed = time.monotonic() - t0
    assert kills == 2, "the ingest finished before both kills: make it longer"

    ids = [r.id for b in batches for r in b]
    assert acked == ids
    assert store.count(name) == len(ids)
    got = {r.id: r for r in store.get(name, ids, with_vectors=True)}
    assert set(got) == set(ids), f"missing after restart: {sorted(set(ids) - set(got))[:10]}"
    for rid, rec in got.items():
        assert rec.metadata["chk"] == checksum(rid, rec.vector), rid
        assert rec.text == f"text of {rid}"
    print(
        f"\n[faults] {server.kind} ingest: {len(ids)} records in {len(batches)} batches, "
        f"{kills} SIGKILL+restart, acknowledged {len(acked)}, present {len(got)}, {elapsed:.1f} s; "
        f"{retry_log.total} retries: {dict(retry_log.by_type)}"
    )
    assert retry_log.total > 0
    store.close()


def test_kill_mid_query(server: Server, retry_log: RetryLog) -> None:
    """A SIGKILL while a thread runs searches, batch searches, gets and counts: the loop keeps
    going (its calls retry through the outage) and every answer equals the one before it."""
    store = vecctx.connect(server.url(**RETRY))
    name = "query_faults"
    store.ensure_collection(spec_for(server.kind, name))
    records = make_records(100_000, 300, seed=11)
    store.upsert(name, records)
    store.optimize(name)
    queries = [r.vector + np.float32(0.01) for r in records[:30]]
    expected = [[h.id for h in store.search(name, vector=q, k=5)] for q in queries]
    for q_ids, r in zip(expected, records[:30], strict=True):
        assert q_ids[0] == r.id

    results: list[tuple[int, float, float, bool]] = []  # (query no, start, latency, ok)
    errors: list[BaseException] = []
    stop = threading.Event()

    def check(n: int) -> bool:
        j = n % len(queries)
        op = n % 4
        if op == 0:
            return [h.id for h in store.search(name, vector=queries[j], k=5)] == expected[j]
        if op == 1:
            reqs = [SearchRequest(vector=queries[j], k=5), SearchRequest(vector=queries[j - 1], k=5)]
            got = store.search_batch(name, reqs)
            return [[h.id for h in hits] for hits in got] == [expected[j], expected[j - 1]]
        if op == 2:
            recs = store.get(name, [records[j].id])
            return len(recs) == 1 and recs[0].metadata["chk"] == records[j].metadata["chk"]
        return store.count(name) == len(records)

    def loop() -> None:
        n = 0
        try:
            while not stop.is_set() and n < 20_000:
                t = time.monotonic()
                ok = check(n)
                results.append((n, t, time.monotonic() - t, ok))
                n += 1
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    while len(results) < 40 and thread.is_alive():
        time.sleep(0.01)
    kill_at = time.monotonic()
    _restart(server, pause=1.0)
    restarted_at = time.monotonic()
    deadline = restarted_at + 60
    while thread.is_alive() and time.monotonic() < deadline:
        if sum(1 for r in results if r[1] > restarted_at) >= 200:
            break
        time.sleep(0.02)
    stop.set()
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert not errors, errors
    wrong = [r for r in results if not r[3]]
    assert not wrong, f"{len(wrong)} wrong answers of {len(results)}"
    spanning = [r for r in results if r[1] <= restarted_at and r[1] + r[2] >= restarted_at]
    after = [r for r in results if r[1] > restarted_at]
    assert spanning, "no call was in flight during the outage"
    assert len(after) >= 200
    print(
        f"\n[faults] {server.kind} queries: {len(results)} calls, all correct; outage "
        f"{restarted_at - kill_at:.1f} s (SIGKILL + restart), {len(spanning)} call(s) retried through "
        f"it (longest {max(r[2] for r in spanning):.1f} s), {len(after)} after the restart; "
        f"{retry_log.total} retries: {dict(retry_log.by_type)}"
    )
    assert retry_log.total > 0
    store.close()


def test_server_stays_down(server: Server) -> None:
    """With the server down for good, a call fails after its (short) retry deadline with
    RetryDeadlineError naming the operation, the collection and the server, never the token,
    and within a bounded time; so does opening a new store."""
    secret = "s3cr3t-t0ken"
    opts: dict[str, object] = {"retry_deadline": 2, "retry_initial_backoff": 0.05, "retry_max_backoff": 0.5}
    store = vecctx.connect(server.url(**opts, token=secret))
    name = "down_faults"
    store.ensure_collection(spec_for(server.kind, name))
    store.upsert(name, make_records(0, 10))
    assert store.count(name) == 10
    server.kill()
    try:
        for op, call in (
            ("count", lambda: store.count(name)),
            (
                "search",
                lambda: store.search(name, vector=np.ones(DIM), k=3),
            ),
            ("upsert", lambda: store.upsert(name, make_records(10, 5))),
        ):
            t0 = time.monotonic()
            with pytest.raises(RetryDeadlineError) as info:
                call()
            elapsed = time.monotonic() - t0
            err = info.value
            text = str(err)
            assert isinstance(err, TransientBackendError)
            assert 2.0 <= elapsed < 2.0 + 8.0, elapsed  # the deadline plus at most one attempt
            assert err.attempts >= 2 and err.elapsed_s >= 2.0
            assert f"{server.kind} {op}" in text and repr(name) in text, text
            assert f"127.0.0.1:{server.port}" in text, text
            assert "attempts over" in text
            assert secret not in text and secret not in repr(err)
            assert isinstance(err.original, TransientBackendError)
            assert err.__cause__ is err.original
            print(f"\n[faults] {server.kind} down: {op} gave up after {elapsed:.1f} s: {text[:200]}")
        t0 = time.monotonic()
        with pytest.raises(RetryDeadlineError, match="connect") as info:
            vecctx.connect(server.url(retry_deadline=1, retry_initial_backoff=0.05, token=secret))
        assert time.monotonic() - t0 < 1.0 + 12.0
        assert secret not in str(info.value)
    finally:
        store.close()
        server.start()
