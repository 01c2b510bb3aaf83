"""What the adapter adds on top of weaviate-client, measured against the in-process fake.

Run: ``python adapters/weaviate/benchmarks/bench_weaviate_overhead.py``

The fake answers in Python, so absolute latencies mean nothing about Weaviate; the A/B
difference (adapter ``search`` vs the same ``near_vector`` call made directly on the client,
interleaved, same fake, same request) is the adapter's own cost: filter compilation, hit
conversion, relevance, tie ordering, and the store front's checks. Upsert is split into the adapter's preparation
(validation, flattening, JSON) and weaviate-client's own serialisation of the batch.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from vecctx_weaviate import WeaviateStore
from vecctx_weaviate._core import prepare_objects
from vecctx_weaviate.filters import FilterCompiler
from vecctx_weaviate.schema import PAYLOAD_PROPS
from weaviate.classes.query import MetadataQuery
from weaviate_fake import FakeWeaviate

from vecctx.contract.filters import F
from vecctx.contract.types import CollectionSpec, Record
from vecctx.contract.validation import validate_records
from vecctx.testing import lowrank

N, DIM, K, ROUNDS = 200, 384, 10, 300


def main() -> None:
    fake = FakeWeaviate().start()
    store = WeaviateStore.from_url(fake.url())
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
    client = store.driver.client
    assert client is not None
    handle = client.collections.use("Bench")
    q = lowrank(1, DIM, seed=2)[0]
    flt = (F("g") >= 2) & (F("lang") == "en")
    compiled = FilterCompiler({"mn_g", "ms_lang", "vecctx_keys"}, native_not=True).compile(flt)
    assert not isinstance(compiled, bool)

    def adapter() -> None:
        store.search("bench", vector=q, k=K, filter=flt)

    def raw() -> None:
        handle.query.near_vector(
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
        t = time.perf_counter()
        adapter()
        a_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        raw()
        r_times.append(time.perf_counter() - t)
    a, r = statistics.median(a_times), statistics.median(r_times)
    print(
        f"search p50: adapter {a * 1e3:.3f} ms, raw client {r * 1e3:.3f} ms, overhead {(a - r) * 1e6:.0f} us"
    )

    # the adapter's own CPU cost, without the round trip: the client call answers a canned reply
    canned = handle.query.near_vector(
        near_vector=q.tolist(),
        target_vector="default",
        limit=K,
        filters=compiled,
        return_metadata=MetadataQuery(distance=True),
        return_properties=PAYLOAD_PROPS,
    )
    store.search("bench", vector=q, k=K, filter=flt)  # caches the store's own handle
    own_handle = store.driver._handles["Bench"]
    real = own_handle.query.near_vector
    own_handle.query.near_vector = lambda **_: canned  # type: ignore[method-assign]
    own = []
    for _ in range(2000):
        t = time.perf_counter()
        adapter()
        own.append(time.perf_counter() - t)
    own_handle.query.near_vector = real  # type: ignore[method-assign]
    print(
        f"adapter's own cost per search (k={K}, 2-clause filter, payload): p50 {statistics.median(own) * 1e6:.0f} us"
    )

    t = time.perf_counter()
    for _ in range(2000):
        FilterCompiler({"mn_g", "ms_lang", "vecctx_keys"}, native_not=True).compile(flt)
    print(f"filter compile: {(time.perf_counter() - t) / 2000 * 1e6:.1f} us")

    big = lowrank(2000, DIM, seed=3)
    more = [Record(id=f"u{i}", vector=big[i], metadata={"g": i % 5, "tags": ["a", "b"]}) for i in range(2000)]
    t = time.perf_counter()
    matrix = validate_records(more, store.collection_spec("bench"))
    objects, _ = prepare_objects(more, matrix)
    prep = time.perf_counter() - t
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
        for i, o in enumerate(objects)
    ]
    t = time.perf_counter()
    batch.grpc_objects(internal)
    ser = time.perf_counter() - t
    print(
        f"upsert prep (validate + flatten + JSON): {prep / 2000 * 1e6:.0f} us/record; "
        f"weaviate-client gRPC serialisation: {ser / 2000 * 1e6:.0f} us/record ({DIM}-d)"
    )
    store.close()
    fake.stop()


if __name__ == "__main__":
    main()
