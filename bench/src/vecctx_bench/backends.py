"""The backends a benchmark can run, and the :class:`Target` a measure holds for each.

Every database is opened through :func:`vecctx.connect` and used through the store's public
methods; a backend-specific extra (Chroma's client for the ``ef_search`` sweep, Qdrant Edge's
shard for the overhead A/B) is reached as ``store.driver.<name>`` (:func:`driver_extra`), never
through an adapter's modules. What differs between backends (ANN or not, whether the HNSW beam
is a per-query setting) comes from ``store.capabilities`` and from :class:`BackendDef`. faiss
(``IndexFlatIP``, ``IndexHNSWFlat``) runs as a library baseline without vecctx. Backend
clients are imported lazily, only when their backend runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import numpy as np

from vecctx import (
    CollectionSpec,
    ConfigError,
    FieldType,
    Filter,
    Metric,
    RecordBatch,
    SearchParams,
    UnsupportedFeatureError,
    VectorStore,
    connect,
)
from vecctx.contract.types import FloatArray
from vecctx.registry import available_schemes

from .data import BUCKET, row_id

Sweep = Literal["per_query", "reopen", "none"]

#: Records per ``upsert`` call (each adapter splits further as its backend needs).
UPSERT_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class BackendDef:
    """How to open one backend and what its recall-vs-QPS sweep can vary.

    A vecctx backend is available when an installed adapter registers its URL ``scheme``
    (:func:`vecctx.registry.available_schemes`); ``module`` names a library a baseline needs.

    ``sweep``: ``per_query`` passes ``SearchParams(ef=...)``; ``reopen`` changes the
    collection's ``ef_search`` and reopens the store (Chroma embedded: a loaded index keeps
    the value it was loaded with); ``none`` measures the default and exact search only.
    """

    name: str
    label: str
    kind: Literal["vecctx", "faiss"] = "vecctx"
    url: str = ""
    server: Literal["milvus", "chroma"] | None = None
    sweep: Sweep = "per_query"
    module: str | None = None
    scheme: str | None = None
    env: str | None = None
    distributions: tuple[str, ...] = ()
    note: str = ""

    def available(self) -> tuple[bool, str]:
        """Whether this backend can run here, and why not."""
        if self.env is not None and not os.environ.get(self.env):
            return False, f"${self.env} is not set"
        if self.module is not None and importlib.util.find_spec(self.module) is None:
            return False, f"{self.module} is not installed"
        if self.scheme is not None and self.scheme not in available_schemes():
            adapter = next((d for d in self.distributions if d.startswith("vecctx-")), "its adapter")
            return False, f"no vecctx adapter registers {self.scheme}:// (pip install {adapter})"
        if self.server == "milvus" and importlib.util.find_spec("milvus_lite") is None:
            return False, "milvus-lite is not installed"
        if self.server == "chroma" and importlib.util.find_spec("chromadb") is None:
            return False, "chromadb is not installed"
        return True, ""

    def store_url(self, directory: Path, server_url: str | None) -> str:
        if self.server is not None:
            assert server_url is not None
            return server_url
        if self.env is not None:
            return os.environ[self.env]
        return self.url.format(dir=directory)

    def versions(self) -> dict[str, str]:
        return {d: dist_version(d) for d in self.distributions}


BACKENDS: dict[str, BackendDef] = {
    b.name: b
    for b in (
        BackendDef(
            "memory",
            "reference (numpy)",
            url="memory://",
            sweep="none",
            scheme="memory",
            distributions=("vecctx", "numpy"),
            note="exact brute force in numpy; the oracle every adapter is compared to",
        ),
        BackendDef(
            "qdrant",
            "Qdrant Edge",
            url="qdrant://{dir}",
            scheme="qdrant",
            distributions=("qdrant-edge-py", "vecctx-qdrant"),
            note="the Rust Qdrant engine in-process (default backend)",
        ),
        BackendDef(
            "qdrant+local",
            "qdrant-client local",
            url="qdrant+local://{dir}",
            sweep="none",
            scheme="qdrant+local",
            distributions=("qdrant-client", "vecctx-qdrant"),
            note="pure-Python brute force on a directory; slow, so its size is capped",
        ),
        BackendDef(
            "milvus",
            "Milvus Lite",
            url="milvus://{dir}/milvus.db",
            scheme="milvus",
            distributions=("pymilvus", "milvus-lite", "vecctx-milvus"),
            note="Milvus Lite's gRPC server as a thread of the benchmark process",
        ),
        BackendDef(
            "milvus+server",
            "Milvus Lite server",
            server="milvus",
            scheme="milvus",
            distributions=("pymilvus", "milvus-lite", "vecctx-milvus"),
            note="`milvus-lite server` on 127.0.0.1, over gRPC (memory and disk are the server's)",
        ),
        BackendDef(
            "chroma",
            "Chroma",
            url="chroma://{dir}",
            sweep="reopen",
            scheme="chroma",
            distributions=("chromadb", "vecctx-chroma"),
            note="embedded PersistentClient; ef_search is fixed per loaded index",
        ),
        BackendDef(
            "chroma+http",
            "Chroma HTTP",
            server="chroma",
            sweep="none",
            scheme="chroma+http",
            distributions=("chromadb", "vecctx-chroma"),
            note="`chroma run` on 127.0.0.1 over HTTP; no per-query ef (default and exact only)",
        ),
        BackendDef(
            "weaviate",
            "Weaviate",
            env="VECCTX_WEAVIATE_URL",
            scheme="weaviate",
            distributions=("weaviate-client", "vecctx-weaviate"),
            note="only when $VECCTX_WEAVIATE_URL points at a running server",
        ),
        BackendDef(
            "faiss-flat",
            "faiss IndexFlatIP",
            kind="faiss",
            sweep="none",
            module="faiss",
            distributions=("faiss-cpu",),
            note="library baseline (no vecctx, no payloads, no filters), one OpenMP thread",
        ),
        BackendDef(
            "faiss-hnsw",
            "faiss IndexHNSWFlat",
            kind="faiss",
            module="faiss",
            distributions=("faiss-cpu",),
            note="library baseline, M=16, efConstruction=128, one OpenMP thread",
        ),
    )
}

#: The order backends run and appear in the report.
ORDER = tuple(BACKENDS)


def dist_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def du(path: Path | None) -> int | None:
    """Bytes on disk under ``path`` (allocated blocks, like ``du``)."""
    if path is None or not path.exists():
        return None
    if path.is_file():
        return int(path.stat().st_blocks) * 512
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += int(os.lstat(os.path.join(root, f)).st_blocks) * 512
            except FileNotFoundError:
                continue
    return total


def driver_extra(store: object, name: str) -> Any:
    """``store.driver.<name>``: a backend-specific extra of a store opened with
    :func:`vecctx.connect` (the one way the benchmark reaches past the common store methods)."""
    try:
        return getattr(cast(Any, store).driver, name)  # `driver` is on the front, not the protocol
    except AttributeError:
        raise ConfigError(f"{type(store).__name__} has no driver.{name}") from None


class Target(Protocol):
    """What a measure needs from a backend."""

    @property
    def approximate(self) -> bool: ...

    @property
    def filters(self) -> bool: ...

    def create(self, dim: int) -> None: ...

    def upsert(self, X: FloatArray, start: int, stop: int) -> None: ...

    def optimize(self) -> None: ...

    def search(self, q: FloatArray, *, k: int, params: SearchParams, flt: Filter | None) -> list[str]: ...

    def settings(self, efs: Sequence[int]) -> list[tuple[str, SearchParams]]: ...

    def prepare(self, params: SearchParams) -> SearchParams:
        """Called once before a sweep point; returns the params to search with."""
        ...

    def disk_bytes(self) -> int | None: ...

    def drop(self) -> None: ...

    def close(self) -> None: ...

    def describe(self) -> dict[str, Any]: ...


class VecctxTarget:
    """One collection of one store opened with :func:`vecctx.connect`."""

    def __init__(
        self, backend: BackendDef, url: str, *, collection: str, data_dir: Path | None, metric: Metric
    ) -> None:
        self.backend = backend
        self.url = url
        self.collection = collection
        self.data_dir = data_dir
        self.metric = metric
        self.store: VectorStore = connect(url)
        self._dim = 0

    @property
    def approximate(self) -> bool:
        return self.store.capabilities.approximate

    @property
    def filters(self) -> bool:
        return True

    def create(self, dim: int) -> None:
        self._dim = dim
        self.store.drop_collection(self.collection, missing_ok=True)
        spec = CollectionSpec(
            name=self.collection,
            dimension=dim,
            metric=self.metric,
            indexed_fields={BUCKET: FieldType.INTEGER},
        )
        self.store.create_collection(spec)

    def upsert(self, X: FloatArray, start: int, stop: int) -> None:
        rows = range(start, stop)
        batch = RecordBatch(
            [row_id(i) for i in rows],
            X[start:stop],
            [f"passage {i}" for i in rows],
            [{BUCKET: i % 100} for i in rows],
        )
        self.store.upsert(self.collection, batch)

    def optimize(self) -> None:
        self.store.optimize(self.collection)

    def search(self, q: FloatArray, *, k: int, params: SearchParams, flt: Filter | None) -> list[str]:
        hits = self.store.search(self.collection, vector=q, k=k, params=params, filter=flt)
        return [h.id for h in hits]

    def settings(self, efs: Sequence[int]) -> list[tuple[str, SearchParams]]:
        exact = ("exact", SearchParams(exact=True))
        if not self.approximate:
            return [exact]
        if self.backend.sweep == "none":
            return [("default", SearchParams()), exact]
        return [("default", SearchParams()), *((f"ef={e}", SearchParams(ef=e)) for e in efs), exact]

    def prepare(self, params: SearchParams) -> SearchParams:
        if self.backend.sweep != "reopen" or params.ef is None:
            return params
        self._set_ef_search(params.ef)
        return params

    def _set_ef_search(self, ef: int) -> None:
        """Chroma: change the collection's ``ef_search`` through the driver's chromadb client
        and reopen, so the index reloads with it. The benchmark's collection names are valid
        Chroma names, which the adapter keeps as they are."""
        client = driver_extra(self.store, "client")
        col = client.get_collection(self.collection, embedding_function=None)
        col.modify(configuration={"hnsw": {"ef_search": ef}})
        self.store.close()
        self.store = connect(self.url)

    def disk_bytes(self) -> int | None:
        return du(self.data_dir)

    def drop(self) -> None:
        self.store.drop_collection(self.collection, missing_ok=True)

    def close(self) -> None:
        self.store.close()

    def describe(self) -> dict[str, Any]:
        return {"url": _redact(self.url), "capabilities": self.store.capabilities.as_row()}


class FaissTarget:
    """A faiss index over unit vectors (inner product = cosine), ids are row numbers."""

    def __init__(self, backend: BackendDef, *, hnsw: bool, m: int = 16, ef_construction: int = 128) -> None:
        self.backend = backend
        self.faiss: Any = importlib.import_module("faiss")
        self.faiss.omp_set_num_threads(1)
        self.hnsw = hnsw
        self.m = m
        self.ef_construction = ef_construction
        self.index: Any = None
        self.default_ef = 16

    @property
    def approximate(self) -> bool:
        return self.hnsw

    @property
    def filters(self) -> bool:
        return False

    def create(self, dim: int) -> None:
        faiss = self.faiss
        if self.hnsw:
            self.index = faiss.IndexHNSWFlat(dim, self.m, faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efConstruction = self.ef_construction
            self.default_ef = int(self.index.hnsw.efSearch)
        else:
            self.index = faiss.IndexFlatIP(dim)

    def upsert(self, X: FloatArray, start: int, stop: int) -> None:
        block = np.ascontiguousarray(X[start:stop], dtype=np.float32)
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self.index.add(block / norms)

    def optimize(self) -> None:
        return None

    def search(self, q: FloatArray, *, k: int, params: SearchParams, flt: Filter | None) -> list[str]:
        if flt is not None:
            raise UnsupportedFeatureError("the faiss baseline takes no filter")
        qq = np.asarray(q, dtype=np.float32).reshape(1, -1)
        qq = qq / max(float(np.linalg.norm(qq)), 1e-12)
        if self.hnsw:
            self.index.hnsw.efSearch = max(params.ef or self.default_ef, k)
        _, labels = self.index.search(qq, k)
        return [row_id(int(i)) for i in labels[0] if i >= 0]

    def settings(self, efs: Sequence[int]) -> list[tuple[str, SearchParams]]:
        if not self.hnsw:
            return [("exact", SearchParams(exact=True))]
        return [("default", SearchParams()), *((f"ef={e}", SearchParams(ef=e)) for e in efs)]

    def prepare(self, params: SearchParams) -> SearchParams:
        return params

    def disk_bytes(self) -> int | None:
        return None

    def drop(self) -> None:
        self.index = None

    def close(self) -> None:
        self.index = None

    def describe(self) -> dict[str, Any]:
        kind = (
            f"IndexHNSWFlat(M={self.m}, efConstruction={self.ef_construction})"
            if self.hnsw
            else "IndexFlatIP"
        )
        return {"url": None, "index": kind, "omp_threads": 1}


def open_target(
    backend: BackendDef,
    *,
    directory: Path,
    server_url: str | None,
    server_dir: Path | None,
    collection: str,
) -> Target:
    """A target for ``backend`` storing under ``directory`` (embedded) or on the server."""
    if backend.kind == "faiss":
        return FaissTarget(backend, hnsw=backend.name == "faiss-hnsw")
    url = backend.store_url(directory, server_url)
    if backend.server is None and backend.env is None and backend.name != "memory":
        directory.mkdir(parents=True, exist_ok=True)
    data_dir: Path | None
    if backend.server is not None:
        data_dir = server_dir
    elif backend.name in ("memory", "weaviate"):
        data_dir = None
    else:
        data_dir = directory
    return VecctxTarget(backend, url, collection=collection, data_dir=data_dir, metric=Metric.COSINE)


def _redact(url: str) -> str:
    if "token=" in url or "api_key=" in url:
        return url.split("?", 1)[0] + "?<redacted>"
    return url


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def select(names: Sequence[str] | None) -> tuple[list[BackendDef], dict[str, str]]:
    """The backends to run (all that can run here when ``names`` is None) and why the
    others are left out. Unknown names raise ``ConfigError``."""
    if names is not None:
        unknown = [n for n in names if n not in BACKENDS]
        if unknown:
            raise ConfigError(f"unknown backend(s) {', '.join(unknown)}: choose from {', '.join(BACKENDS)}")
    chosen: list[BackendDef] = []
    skipped: dict[str, str] = {}
    for name in ORDER:
        if names is not None and name not in names:
            continue
        ok, why = BACKENDS[name].available()
        if ok:
            chosen.append(BACKENDS[name])
        else:
            skipped[name] = why
    return chosen, skipped


__all__ = [
    "BACKENDS",
    "ORDER",
    "BackendDef",
    "Target",
    "FaissTarget",
    "VecctxTarget",
    "dist_version",
    "driver_extra",
    "du",
    "open_target",
    "select",
]
