"""What vecctx costs on top of each native client: search and upsert, A/B interleaved.

For every backend the *same* engine instance serves both sides, so only the Python around
the call differs:

* **search**: one collection written and optimised through vecctx; the native side queries
  that very collection with the backend's own client (``qdrant_edge`` ``EdgeShard.query`` on
  ``store.driver.native_shard(name)``; ``chromadb`` ``Collection.query`` through
  ``store.driver.client``; ``pymilvus`` ``MilvusClient.search`` against the same Milvus Lite
  server) and reads each
  hit's id, score and payload, as any caller must. Queries alternate which side runs first;
  the ratio is p50(vecctx) / p50(native) and the median of the per-query paired differences
  is kept too (robust to load changing during the run).
* **upsert**: fresh collections, rounds alternate which side goes first; native =
  the client's own insert of the same vectors, ids, texts and metadata in its natural batch
  size; vecctx = ``store.upsert`` of a ``RecordBatch`` of the same columns (the bulk-load
  API; validation, id mapping and payload layout included). The ratio is
  throughput(vecctx) / throughput(native).

Native clients are imported here, lazily, only when this benchmark runs. Adapters are reached
only through :func:`vecctx.connect` and ``store.driver.<extra>`` (:func:`.backends.driver_extra`).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vecctx import Record, RecordBatch, VectorStore, connect
from vecctx.contract.types import FloatArray

from .backends import BACKENDS, driver_extra, remove_tree
from .data import BUCKET, Vectors, collection_spec, row_id
from .measures import load_average, spread, summary
from .servers import Server, start_milvus

COLL = "abbench"
WARMUP = 50


@dataclass
class ABCase:
    """Both sides of one backend's comparison; ``store`` holds the collection :data:`COLL` that
    both sides search (:func:`searched_store`)."""

    backend: str
    native: str
    store: VectorStore
    search_native: Callable[[FloatArray], Any]
    upsert_native: Callable[[int], float]
    upsert_vecctx: Callable[[int], float]
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def search_vecctx(self, q: FloatArray) -> Any:
        return self.store.search(COLL, vector=q, k=10)

    def close(self) -> None:
        for fn in reversed(self.cleanup):
            with contextlib.suppress(Exception):
                fn()


@dataclass
class Data(Vectors):
    """The records both sides write and the queries both sides run."""

    X: FloatArray
    Q: FloatArray
    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]

    def records(self) -> list[Record]:
        X, ids, texts, metas = self.X, self.ids, self.texts, self.metas
        return [Record(ids[i], X[i], texts[i], metas[i]) for i in range(len(ids))]

    def batch(self) -> RecordBatch:
        return RecordBatch(self.ids, self.X, self.texts, self.metas)


def make_data(n: int, queries: int, *, dim: int = 384, seed: int = 0) -> Data:
    from vecctx.testing.data import lowrank, lowrank_queries

    return Data(
        lowrank(n, dim, seed=seed),
        lowrank_queries(queries, dim, seed=seed),
        [row_id(i) for i in range(n)],
        [f"passage {i}: " + "lorem ipsum " * 8 for i in range(n)],
        [{BUCKET: i % 100} for i in range(n)],
    )


def _timed(fn: Callable[[], object]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def searched_store(url: str, data: Data) -> VectorStore:
    """A store at ``url`` whose collection :data:`COLL` holds ``data``, written and optimised
    through vecctx: the one engine instance both sides of the search comparison query."""
    store = connect(url)
    try:
        store.create_collection(collection_spec(COLL, data.dim))
        store.upsert(COLL, data.records())
        store.optimize(COLL)
    except BaseException:
        store.close()
        raise
    return store


def upsert_beside(store: VectorStore, data: Data) -> Callable[[int], float]:
    """vecctx's upsert side: round ``r`` writes ``data`` into a fresh collection of ``store``
    (beside the one the native side writes in the same engine) and drops it."""

    def upsert(r: int) -> float:
        name = f"vecctx{r}"
        store.create_collection(collection_spec(name, data.dim))
        s = _timed(lambda: store.upsert(name, data.batch()))
        store.drop_collection(name)
        return s

    return upsert


# -- Qdrant Edge ----------------------------------------------------------------------------------

#: Where the 32 hex digits go in the 36-character UUID form.
_UUID_DIGITS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def uuid5_ids(ids: Sequence[str], namespace: uuid.UUID = uuid.NAMESPACE_URL) -> list[str]:
    """``[str(uuid.uuid5(namespace, i)) for i in ids]``, as a careful native caller writes it:
    Qdrant takes only integer and UUID point ids, so a caller with string ids must map them.
    The SHA-1 digests are taken in one pass and the version bits and hex formatting are done by
    numpy on the whole batch (under a quarter of the time ``uuid.uuid5`` takes), so the native side of
    the upsert comparison is not slowed by a naive mapping."""
    n = len(ids)
    ns, sha1 = namespace.bytes, hashlib.sha1
    digests = b"".join([sha1(ns + i.encode("utf-8", "surrogatepass")).digest() for i in ids])
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(n, 20)[:, :16].copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50  # version 5
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    chars[:, _UUID_DIGITS] = np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype=np.uint8).reshape(n, 32)
    out: list[str] = chars.view("S36").ravel().astype("U36").tolist()
    return out


def qdrant_case(data: Data, work: Path) -> ABCase:
    qe: Any = importlib.import_module("qdrant_edge")
    dim = data.dim
    store = searched_store(f"qdrant://{work / 'search'}", data)
    shard = driver_extra(store, "native_shard")(COLL)  # the very EdgeShard vecctx searches
    QR, NEAR = qe.QueryRequest, qe.Query.Nearest

    def native(q: FloatArray) -> Any:
        res = shard.query(QR(limit=10, query=NEAR(q.tolist(), using="dense"), with_payload=True))
        return [(p.id, p.score, p.payload) for p in res]

    def up_native(r: int) -> float:
        path = work / f"native-{r}"
        config = qe.EdgeConfig(
            vectors={"dense": qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            hnsw_config=qe.HnswIndexConfig(m=16, ef_construct=128, full_scan_threshold=10_000),
        )
        sh = qe.EdgeShard.create(str(path), config)
        sh.update(qe.UpdateOperation.create_field_index(f"meta.{BUCKET}", qe.PayloadSchemaType.Integer))
        Point, upsert = qe.Point, qe.UpdateOperation.upsert_points
        X, ids, texts, metas = data.X, data.ids, data.texts, data.metas

        def go() -> None:
            pids = uuid5_ids(ids)  # Qdrant takes only integer and UUID ids
            rows = X.tolist()
            points = [
                Point(pids[i], {"dense": rows[i]}, {"id": ids[i], "text": texts[i], "meta": metas[i]})
                for i in range(len(ids))
            ]
            for j in range(0, len(points), 2048):
                sh.update(upsert(points[j : j + 2048]))

        s = _timed(go)
        sh.close()
        remove_tree(path)
        return s

    def up_vecctx(r: int) -> float:
        path = work / f"vecctx-{r}"
        st = connect(f"qdrant://{path}?auto_optimize=0")
        st.create_collection(collection_spec(COLL, dim))
        s = _timed(lambda: st.upsert(COLL, data.batch()))
        st.close()
        remove_tree(path)
        return s

    return ABCase("qdrant", "qdrant_edge EdgeShard", store, native, up_native, up_vecctx, [store.close])


# -- Chroma ---------------------------------------------------------------------------------------


def chroma_case(data: Data, work: Path) -> ABCase:
    store = searched_store(f"chroma://{work / 'chroma'}", data)
    client = driver_extra(store, "client")  # the driver's chromadb client
    col = client.get_collection(COLL, embedding_function=None)  # a valid Chroma name: kept as is
    include = ["metadatas", "documents", "distances"]
    max_batch = int(client.get_max_batch_size())

    def native(q: FloatArray) -> Any:
        r = col.query(query_embeddings=q.reshape(1, -1), n_results=10, include=include)
        return list(zip(r["ids"][0], r["distances"][0], r["metadatas"][0], r["documents"][0], strict=True))

    def up_native(r: int) -> float:
        name = f"native{r}"
        c = client.create_collection(
            name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        X, ids, texts, metas = data.X, data.ids, data.texts, data.metas

        def go() -> None:
            for j in range(0, len(ids), max_batch):
                e = j + max_batch
                c.add(ids=ids[j:e], embeddings=X[j:e], metadatas=metas[j:e], documents=texts[j:e])

        s = _timed(go)
        client.delete_collection(name)
        return s

    up_vecctx = upsert_beside(store, data)
    return ABCase("chroma", "chromadb Collection", store, native, up_native, up_vecctx, [store.close])


# -- Milvus (a milvus-lite server; both clients talk to it over gRPC) -----------------------------


def milvus_case(data: Data, work: Path) -> ABCase:
    pymilvus: Any = importlib.import_module("pymilvus")
    server: Server = start_milvus(work / "milvus-data")
    cleanup: list[Callable[[], None]] = [server.stop]
    try:
        store = searched_store(server.url, data)
        cleanup.append(store.close)
        uri = server.url.replace("milvus://", "http://", 1)
        client = pymilvus.MilvusClient(uri=uri)
        cleanup.append(client.close)
        fields = ["id", "text", "meta"]
        params = {"params": {"ef": 64}}

        def native(q: FloatArray) -> Any:
            res = client.search(
                COLL, data=[q], anns_field="vector", limit=10, output_fields=fields, search_params=params
            )
            return [(h["id"], h["distance"], h["entity"]) for h in res[0]]

        def up_native(r: int) -> float:
            name = f"native{r}"
            client.create_collection(
                name,
                dimension=data.dim,
                metric_type="COSINE",
                id_type="string",
                max_length=64,
                auto_id=False,
            )
            X, ids, texts, metas = data.X, data.ids, data.texts, data.metas

            def go() -> None:
                rows = [{"id": ids[i], "vector": X[i], "text": texts[i], **metas[i]} for i in range(len(ids))]
                for j in range(0, len(rows), 2048):
                    client.insert(name, rows[j : j + 2048])

            s = _timed(go)
            client.drop_collection(name)
            return s

    except BaseException:
        for fn in reversed(cleanup):
            fn()
        raise
    up_vecctx = upsert_beside(store, data)
    return ABCase("milvus+server", "pymilvus MilvusClient", store, native, up_native, up_vecctx, cleanup)


CASES: dict[str, Callable[[Data, Path], ABCase]] = {
    "qdrant": qdrant_case,
    "chroma": chroma_case,
    "milvus+server": milvus_case,
}


# -- the A/B loops --------------------------------------------------------------------------------


def search_ab(case: ABCase, Q: FloatArray) -> dict[str, list[float]]:
    for q in Q[: min(WARMUP, len(Q))]:
        case.search_native(q)
        case.search_vecctx(q)
    out: dict[str, list[float]] = {"native": [], "vecctx": []}
    sides = [("native", case.search_native), ("vecctx", case.search_vecctx)]
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for i, q in enumerate(Q):  # alternate which side goes first
            (first, search_first), (second, search_second) = sides if i % 2 == 0 else sides[::-1]
            t0 = clock()
            search_first(q)
            t1 = clock()
            search_second(q)
            t2 = clock()
            out[first].append((t1 - t0) / 1e6)
            out[second].append((t2 - t1) / 1e6)
    finally:
        gc.enable()
    return out


def upsert_ab(case: ABCase, rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"native": [], "vecctx": []}
    for r in range(rounds):
        order = [("native", case.upsert_native), ("vecctx", case.upsert_vecctx)]
        for side, fn in order if r % 2 == 0 else list(reversed(order)):
            out[side].append(fn(r))
    return out


def bench_overhead(
    names: tuple[str, ...],
    *,
    n: int,
    queries: int,
    rounds: int,
    work: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the A/B comparison for each backend in ``names`` that can run here."""
    data = make_data(n, queries)
    out: dict[str, Any] = {
        "n": n,
        "dim": data.dim,
        "queries": queries,
        "rounds": rounds,
        "cases": {},
    }
    root = work or Path(tempfile.mkdtemp(prefix="vecctx-ab-"))
    for name in names:
        ok, why = BACKENDS[name].available()
        if not ok:
            out["cases"][name] = {"skipped": why}
            continue
        log(f"overhead: {name}")
        case_dir = root / name.replace("+", "_")
        case_dir.mkdir(parents=True, exist_ok=True)
        res: dict[str, Any] = {"load_before": load_average(), "versions": BACKENDS[name].versions()}
        try:
            case = CASES[name](data, case_dir)
        except Exception as exc:
            out["cases"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            remove_tree(case_dir)
            continue
        try:
            res["native"] = case.native
            s = search_ab(case, data.Q)
            p50 = {k: statistics.median(v) for k, v in s.items()}
            res["search_ms"] = {k: summary(v) for k, v in s.items()}
            res["search_ratio"] = p50["vecctx"] / p50["native"]
            res["search_paired_diff_us"] = 1000 * statistics.median(
                v - nv for v, nv in zip(s["vecctx"], s["native"], strict=True)
            )
            u = upsert_ab(case, rounds)
            tput = {k: n / statistics.median(v) for k, v in u.items()}
            res["upsert_s"] = {k: spread(v) for k, v in u.items()}
            res["upsert_per_s"] = tput
            res["upsert_ratio"] = tput["vecctx"] / tput["native"]
            log(
                f"overhead {name}: search x{res['search_ratio']:.3f} "
                f"({res['search_paired_diff_us']:+.0f} us), upsert x{res['upsert_ratio']:.3f}"
            )
        except Exception as exc:
            res["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            case.close()
            remove_tree(case_dir)
        res["load_after"] = load_average()
        out["cases"][name] = res
    if work is None:
        remove_tree(root)
    return out


__all__ = ["CASES", "bench_overhead", "make_data", "search_ab", "upsert_ab", "uuid5_ids"]
