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
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import numpy as np

from vecctx import (
    ConfigError,
    Filter,
    RecordBatch,
    SearchParams,
    UnsupportedFeatureError,
    VectorStore,
    connect,
)
from vecctx.contract.types import FloatArray
from vecctx.registry import available_schemes

from .data import BUCKET, collection_spec, row_id

Sweep = Literal["per_query", "reopen", "none"]

#: Records per ``upsert`` call (each adapter splits further as its backend needs).
UPSERT_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class BackendDef:
    """How to open one backend and what its recall-vs-QPS sweep can vary.

    A vecctx backend opens ``url`` (``{dir}``: the store directory), the URL of the local
    ``server`` the run starts, or ``$env``; it is available when an installed adapter registers
    its ``scheme`` (default: its name; :func:`vecctx.registry.available_schemes`). A ``faiss``
    backend is a library baseline, available when faiss is installed.

    ``sweep``: ``per_query`` passes ``SearchParams(ef=...)``; ``reopen`` changes the
    collection's ``ef_search`` and reopens the store (Chroma embedded: a loaded index keeps
    the value it was loaded with); ``none`` measures the default and exact search only.
    """

    name: str
    label: str
    distributions: tuple[str, ...]
    note: str
    kind: Literal["vecctx", "faiss"] = "vecctx"
    url: str = ""
    server: Literal["milvus", "chroma"] | None = None
    env: str | None = None
    scheme: str | None = None
    sweep: Sweep = "per_query"

    def available(self) -> tuple[bool, str]:
        """Whether this backend can run here, and why not."""
        if self.env is not None and not os.environ.get(self.env):
            return False, f"${self.env} is not set"
        if self.kind == "faiss":
            return _importable("faiss", "faiss")
        scheme = self.scheme or self.name
        if scheme not in available_schemes():
            adapter = next((d for d in self.distributions if d.startswith("vecctx-")), "its adapter")
            return False, f"no vecctx adapter registers {scheme}:// (pip install {adapter})"
        if self.server is not None:
            return _importable(*_SERVER_MODULES[self.server])
        return True, ""

    def store_url(self, directory: Path, server_url: str | None) -> str:
        """The URL to open; a store that keeps its data in ``directory`` gets it created."""
        if self.server is not None:
            assert server_url is not None
            return server_url
        if self.env is not None:
            return os.environ[self.env]
        if "{dir}" in self.url:
            directory.mkdir(parents=True, exist_ok=True)
        return self.url.format(dir=directory)

    def versions(self) -> dict[str, str]:
        return {d: dist_version(d) for d in self.distributions}


#: What a local server needs installed: (module, distribution).
_SERVER_MODULES = {"milvus": ("milvus_lite", "milvus-lite"), "chroma": ("chromadb", "chromadb")}


def _importable(module: str, distribution: str) -> tuple[bool, str]:
    if importlib.util.find_spec(module) is None:
        return False, f"{distribution} is not installed"
    return True, ""


# One backend a row: name, label, the distributions whose versions the run records, the note
# the report shows, then how it is opened and swept.
# fmt: off
BACKENDS: dict[str, BackendDef] = {b.name: b for b in (
    BackendDef("memory", "reference (numpy)", ("vecctx", "numpy"),
               "exact brute force in numpy; the oracle every adapter is compared to",
               url="memory://", sweep="none"),
    BackendDef("qdrant", "Qdrant Edge", ("qdrant-edge-py", "vecctx-qdrant"),
               "the Rust Qdrant engine in-process (default backend)", url="qdrant://{dir}"),
    BackendDef("qdrant+local", "qdrant-client local", ("qdrant-client", "vecctx-qdrant"),
               "pure-Python brute force on a directory; slow, so its size is capped",
               url="qdrant+local://{dir}", sweep="none"),
    BackendDef("milvus", "Milvus Lite", ("pymilvus", "milvus-lite", "vecctx-milvus"),
               "Milvus Lite's gRPC server as a thread of the benchmark process",
               url="milvus://{dir}/milvus.db"),
    BackendDef("milvus+server", "Milvus Lite server", ("pymilvus", "milvus-lite", "vecctx-milvus"),
               "`milvus-lite server` on 127.0.0.1, over gRPC (memory and disk are the server's)",
               server="milvus", scheme="milvus"),
    BackendDef("chroma", "Chroma", ("chromadb", "vecctx-chroma"),
               "embedded PersistentClient; ef_search is fixed per loaded index",
               url="chroma://{dir}", sweep="reopen"),
    BackendDef("chroma+http", "Chroma HTTP", ("chromadb", "vecctx-chroma"),
               "`chroma run` on 127.0.0.1 over HTTP; no per-query ef (default and exact only)",
               server="chroma", sweep="none"),
    BackendDef("weaviate", "Weaviate", ("weaviate-client", "vecctx-weaviate"),
               "only when $VECCTX_WEAVIATE_URL points at a running server", env="VECCTX_WEAVIATE_URL"),
    BackendDef("faiss-flat", "faiss IndexFlatIP", ("faiss-cpu",),
               "library baseline (no vecctx, no payloads, no filters), one OpenMP thread",
               kind="faiss", sweep="none"),
    BackendDef("faiss-hnsw", "faiss IndexHNSWFlat", ("faiss-cpu",),
               "library baseline, M=16, efConstruction=128, one OpenMP thread", kind="faiss"),
)}
# fmt: on

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


@dataclass
class VecctxTarget:
    """One collection of one store opened with :func:`vecctx.connect`; ``data_dir`` is where
    its data lands on disk (None: nowhere this process can measure)."""

    backend: BackendDef
    url: str
    collection: str
    data_dir: Path | None
    filters: bool = field(default=True, init=False)
    store: VectorStore = field(init=False)

    def __post_init__(self) -> None:
        self.store = connect(self.url)

    @property
    def approximate(self) -> bool:
        return self.store.capabilities.approximate

    def create(self, dim: int) -> None:
        self.store.drop_collection(self.collection, missing_ok=True)
        self.store.create_collection(collection_spec(self.collection, dim))

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


@dataclass
class FaissTarget:
    """A faiss index over unit vectors (inner product = cosine), ids are row numbers:
    ``IndexHNSWFlat`` when ``approximate``, else ``IndexFlatIP``."""

    backend: BackendDef
    approximate: bool
    m: int = 16
    ef_construction: int = 128
    filters: bool = field(default=False, init=False)
    index: Any = field(default=None, init=False)
    default_ef: int = field(default=16, init=False)
    faiss: Any = field(init=False)

    def __post_init__(self) -> None:
        self.faiss = importlib.import_module("faiss")
        self.faiss.omp_set_num_threads(1)

    def create(self, dim: int) -> None:
        faiss = self.faiss
        if self.approximate:
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
        if self.approximate:
            self.index.hnsw.efSearch = max(params.ef or self.default_ef, k)
        _, labels = self.index.search(qq, k)
        return [row_id(int(i)) for i in labels[0] if i >= 0]

    def settings(self, efs: Sequence[int]) -> list[tuple[str, SearchParams]]:
        if not self.approximate:
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
            if self.approximate
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
        return FaissTarget(backend, approximate=backend.name == "faiss-hnsw")
    url = backend.store_url(directory, server_url)
    data_dir = server_dir if backend.server is not None else directory if "{dir}" in backend.url else None
    return VecctxTarget(backend, url, collection, data_dir)


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
