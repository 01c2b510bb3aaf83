"""What the adapter adds on top of weaviate-client, measured against the in-process fake.

Run: ``python adapters/weaviate/benchmarks/bench_weaviate_overhead.py``

The fake answers in Python, so absolute latencies mean nothing about Weaviate; the A/B
difference (adapter ``search`` vs the same ``near_vector`` call made directly on the client,
interleaved, same fake, same request) is the adapter's own cost: filter compilation, hit
conversion, relevance, tie ordering, and the store front's checks. Upsert is split into the store's
own work (``store.upsert`` with weaviate-client's ``insert_many`` answered in-process: validation,
flattening, JSON) and weaviate-client's serialisation of the objects it was handed. The adapter
is reached through ``vecctx.connect`` and its public names only.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from vecctx_weaviate import FilterCompiler
from vecctx_weaviate.schema import PAYLOAD_PROPS
from weaviate.classes.query import MetadataQuery
from weaviate_fake import FakeWeaviate

from vecctx import CollectionSpec, F, Record, connect
from vecctx.testing import lowrank

N, DIM, K, ROUNDS = 200, 384, 10, 300


@contextmanager
def answering(cls: type, method: str, reply: Callable[..., Any]) -> Iterator[None]:
    """Every weaviate-client ``cls`` object (the store's own included) answers ``method`` with
    ``reply`` in-process: the adapter's own cost, without the round trip."""
    real = getattr(cls, method)
    setattr(cls, method, reply)
    try:
        yield
    finally:
        setattr(cls, method, real)


def per_call(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    fake = FakeWeaviate().start()
    store = connect(fake.url())
    vecs = lowrank(N, DIM, seed=1)
    recs = [
        Record(
            id=f"d{i}",
            vector=vecs[i],
            text=f"text {i}",
            metadata={"g": i % 5, "lang": "en" if i % 2 else "de"},
        )
        for i in range(N)
    ]
    store.create_collection(CollectionSpec(name="bench", dimension=DIM))
    store.upsert("bench", recs)
    client = store.driver.client  # the driver's weaviate-client, a public extra
    assert client is not None
    handle = client.collections.use("Bench")
    q = lowrank(1, DIM, seed=2)[0]
    flt = (F("g") >= 2) & (F("lang") == "en")
    compiled = FilterCompiler({"mn_g", "ms_lang", "vecctx_keys"}, native_not=True).compile(flt)
    assert not isinstance(compiled, bool)

    def adapter() -> None:
        store.search("bench", vector=q, k=K, filter=flt)

    def raw() -> Any:
        return handle.query.near_vector(
            near_vector=q.tolist(),
            target_vector="default",
            limit=K,
            filters=compiled,
            return_metadata=MetadataQuery(distance=True),
            return_properties=PAYLOAD_PROPS,
        )

    for _ in range(20):
        adapter()
        raw()
    a_times, r_times = [], []
    for _ in range(ROUNDS):
        a_times += per_call(adapter, 1)
        r_times += per_call(raw, 1)
    a, r = statistics.median(a_times), statistics.median(r_times)
    print(
        f"search p50: adapter {a * 1e3:.3f} ms, raw client {r * 1e3:.3f} ms, overhead {(a - r) * 1e6:.0f} us"
    )

    canned = raw()
    with answering(type(handle.query), "near_vector", lambda self, **_: canned):
        own = per_call(adapter, 2000)
    print(
        f"adapter's own cost per search (k={K}, 2-clause filter, payload): p50 {statistics.median(own) * 1e6:.0f} us"
    )

    t = time.perf_counter()
    for _ in range(2000):
        FilterCompiler({"mn_g", "ms_lang", "vecctx_keys"}, native_not=True).compile(flt)
    print(f"filter compile: {(time.perf_counter() - t) / 2000 * 1e6:.1f} us")

    big = lowrank(2000, DIM, seed=3)
    more = [Record(id=f"u{i}", vector=big[i], metadata={"g": i % 5, "tags": ["a", "b"]}) for i in range(2000)]
    written: list[Any] = []

    def insert_many(self: object, objects: list[Any]) -> SimpleNamespace:
        written.extend(objects)
        return SimpleNamespace(has_errors=False, errors={})

    with answering(type(handle.data), "insert_many", insert_many):
        store.upsert("bench", more)  # adds the new properties first: not timed
        written.clear()
        prep = per_call(lambda: store.upsert("bench", more), 1)[0]
    from weaviate.collections.batch.grpc_batch import _BatchGRPC
    from weaviate.collections.classes.batch import _BatchObject

    batch = _BatchGRPC(client._connection._weaviate_version, None, None)
    internal = [
        _BatchObject(
            collection="Bench",
            vector=o.vector,
            uuid=str(o.uuid),
            properties=o.properties,
            tenant=None,
            references=None,
            index=i,
        )
        for i, o in enumerate(written)
    ]
    t = time.perf_counter()
    batch.grpc_objects(internal)
    ser = time.perf_counter() - t
    print(
        f"upsert without the write (checks + objects): {prep / 2000 * 1e6:.0f} us/record; "
        f"weaviate-client gRPC serialisation: {ser / 2000 * 1e6:.0f} us/record ({DIM}-d)"
    )
    store.close()
    fake.stop()


if __name__ == "__main__":
    main()
