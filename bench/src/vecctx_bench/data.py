"""Benchmark data: low-rank synthetic vectors and real SciFact embeddings, with exact ground truth.

Every data set carries its vectors ``X`` (one row per record, id ``d<row>``), its queries
``Q``, and the exact top-100 of every query by cosine similarity (``gt["all"]``), plus the
exact top-10 under each filter of :data:`FILTERS` (an integer ``bucket = row % 100`` in the
metadata, declared in ``CollectionSpec.indexed_fields``). Ground truth is computed with
numpy: candidates in float32, the final order in float64.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vecctx import CollectionSpec, F, FieldType, Filter, Metric
from vecctx.contract.types import FloatArray
from vecctx.testing import lowrank, lowrank_queries

IntArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

#: Metadata field holding ``row % 100``.
BUCKET = "bucket"
#: Ground truth depth (recall@100 needs the true top-100).
GT_DEPTH = 100
#: Filtered ground truth depth.
FILTER_DEPTH = 10
#: SciFact chunks embedded (and written to the embedding cache) per step.
EMBED_STEP = 256


@dataclass(frozen=True, slots=True)
class FilterCase:
    """A filter of a given selectivity over ``bucket``."""

    label: str
    selectivity: float
    build: Callable[[], Filter]
    mask: Callable[[npt.NDArray[np.int64]], BoolArray]


FILTERS: tuple[FilterCase, ...] = (
    FilterCase("1%", 0.01, lambda: F(BUCKET) == 7, lambda b: b == 7),
    FilterCase("50%", 0.50, lambda: F(BUCKET) < 50, lambda b: b < 50),
    FilterCase("99%", 0.99, lambda: F(BUCKET) < 99, lambda b: b < 99),
)


def buckets(n: int) -> npt.NDArray[np.int64]:
    return np.arange(n, dtype=np.int64) % 100


def row_id(i: int) -> str:
    return f"d{i}"


def collection_spec(name: str, dim: int) -> CollectionSpec:
    """A cosine collection of ``dim``-d vectors whose ``bucket`` is an indexed integer."""
    return CollectionSpec(
        name=name, dimension=dim, metric=Metric.COSINE, indexed_fields={BUCKET: FieldType.INTEGER}
    )


def row_of(rid: str) -> int:
    return int(rid[1:])


class Vectors:
    """Row vectors ``X``: ``n`` of them, of ``dim`` dimensions."""

    X: FloatArray

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])


@dataclass
class Dataset(Vectors):
    """Vectors, queries and exact ground truth of one benchmark data set."""

    name: str
    X: FloatArray
    Q: FloatArray
    gt: dict[str, IntArray]
    source: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "X.npy", self.X)
        np.save(directory / "Q.npy", self.Q)
        np.savez(directory / "gt.npz", allow_pickle=False, **self.gt)
        meta = {"name": self.name, "n": self.n, "dim": self.dim, "queries": int(self.Q.shape[0])}
        meta["source"] = self.source
        (directory / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: Path) -> Dataset:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        X = np.load(directory / "X.npy")
        Q = np.load(directory / "Q.npy")
        with np.load(directory / "gt.npz") as z:
            gt = {k: z[k] for k in z.files}
        return cls(meta["name"], X, Q, gt, meta.get("source", {}))


def _unit(m: npt.NDArray[Any]) -> npt.NDArray[Any]:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: npt.NDArray[Any] = m / norms
    return out


def exact_top_k(X: FloatArray, Q: FloatArray, k: int, mask: BoolArray | None = None) -> IntArray:
    """Rows of the exact top-``k`` of every query by cosine similarity, best first; ``-1``
    pads when fewer than ``k`` rows pass ``mask``."""
    n = X.shape[0]
    Xn = _unit(X.astype(np.float32)).astype(np.float32)
    Qn = _unit(Q.astype(np.float32)).astype(np.float32)
    allowed = n if mask is None else int(mask.sum())
    kk = min(k + 32, allowed)
    out = np.full((Q.shape[0], k), -1, dtype=np.int32)
    if kk == 0:
        return out
    valid_rows = None if mask is None else np.nonzero(mask)[0]
    step = max(1, min(256, 50_000_000 // max(n, 1)))
    for s in range(0, Q.shape[0], step):
        q = Qn[s : s + step]
        if valid_rows is None:
            scores = q @ Xn.T
            rows_of = None
        else:
            scores = q @ Xn[valid_rows].T
            rows_of = valid_rows
        cand = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        rows = cand if rows_of is None else rows_of[cand]
        q64 = _unit(Q[s : s + step].astype(np.float64))
        for j in range(q.shape[0]):
            cr = rows[j]
            exact = _unit(X[cr].astype(np.float64)) @ q64[j]
            order = np.argsort(-exact, kind="stable")[:k]
            out[s + j, : len(order)] = cr[order]
    return out


def ground_truth(X: FloatArray, Q: FloatArray) -> dict[str, IntArray]:
    b = buckets(X.shape[0])
    gt = {"all": exact_top_k(X, Q, GT_DEPTH)}
    for case in FILTERS:
        gt[case.label] = exact_top_k(X, Q, FILTER_DEPTH, case.mask(b))
    return gt


def lowrank_chunked(
    n: int,
    dim: int,
    *,
    rank: int = 32,
    seed: int = 0,
    noise: float = 0.05,
    step: int = 100_000,
    above: int = 200_000,
) -> FloatArray:
    """:func:`vecctx.testing.lowrank`, generated ``step`` rows at a time above ``above`` rows
    (the same numbers in bounded memory: 1M rows)."""
    if n <= above:
        return lowrank(n, dim, rank=rank, seed=seed, noise=noise)
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((rank, dim))
    weights = rng.standard_normal((n, rank)) * np.linspace(2.0, 0.2, rank)
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, step):
        e = min(n, s + step)
        out[s:e] = (weights[s:e] @ basis + noise * rng.standard_normal((e - s, dim))).astype(np.float32)
    return out


def synthetic(n: int, *, dim: int = 384, queries: int = 200, seed: int = 0) -> Dataset:
    """Low-rank Gaussian vectors (like real embeddings; uniform random vectors mislead graph
    indexes), fixed seed, with exact ground truth."""
    X = lowrank_chunked(n, dim, seed=seed)
    Q = lowrank_queries(queries, dim, seed=seed)
    return Dataset(
        f"lowrank-{n}",
        X,
        Q,
        ground_truth(X, Q),
        {"kind": "lowrank", "n": n, "dim": dim, "rank": 32, "noise": 0.05, "seed": seed, "queries": queries},
    )


def scifact_texts(directory: Path, *, limit: int | None, embedder: Any) -> tuple[list[str], list[str]]:
    """The texts the ingest pipeline embeds for the SciFact corpus (its chunks, each after its
    document's title when it lacks it: :func:`vecctx.ingest.embed_text`), so the on-disk
    embedding cache filled by ``vecctx eval``/``demo`` answers them, and their document ids."""
    from vecctx.chunking import Chunker
    from vecctx.ingest import embed_text
    from vecctx.loaders import load_beir

    chunker = Chunker.for_embedder(embedder)
    texts: list[str] = []
    docs: list[str] = []
    for doc in load_beir(directory, limit=limit):
        for c in chunker.split(doc):
            texts.append(embed_text(c))
            docs.append(c.doc_id)
    return texts, docs


def scifact(
    directory: Path,
    *,
    cache_dir: Path | None,
    limit: int | None = None,
    queries: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Dataset:
    """Real embeddings: SciFact chunks and test claims through all-MiniLM-L6-v2 (the default
    offline embedder, cached on disk), exact ground truth by numpy.

    The chunks are embedded :data:`EMBED_STEP` at a time, each step's vectors stored in the
    on-disk cache as it finishes, so a run stopped part-way (at its time budget) leaves its
    work for the next one; ``progress`` hears how far it got after each step."""
    from vecctx.embedders import default_embedder
    from vecctx.embedders.cache import CachedEmbedder
    from vecctx.eval.beir import load_judgements

    emb = CachedEmbedder(default_embedder(threads=1), directory=cache_dir)
    texts, _docs = scifact_texts(directory, limit=limit, embedder=emb)
    parts: list[FloatArray] = []
    for s in range(0, len(texts), EMBED_STEP):
        parts.append(emb.embed_documents(texts[s : s + EMBED_STEP]))
        if progress is not None:
            progress(
                f"data: embedding SciFact with {emb.name}: {min(len(texts), s + EMBED_STEP):,} of "
                f"{len(texts):,} chunks done ({emb.hits:,} from the embedding cache, {emb.misses:,} by the model)"
            )
    X = np.ascontiguousarray(
        np.concatenate(parts) if parts else np.zeros((0, emb.dimension)), dtype=np.float32
    )
    judged = list(load_judgements(directory).judged_queries().values())
    if queries is not None:
        judged = judged[:queries]
    Q = np.stack([emb.embed_query(t) for t in judged]).astype(np.float32)
    source = {
        "kind": "scifact",
        "model": emb.name,
        "documents": limit or "all",
        "chunks": len(texts),
        "queries": len(judged),
        "cache_hits": emb.hits,
        "cache_misses": emb.misses,
    }
    emb.cache.close()
    return Dataset("scifact", X, Q, ground_truth(X, Q), source)


def recall(found: list[list[str]], truth: IntArray, k: int) -> float:
    """Mean share of each query's true top-``k`` rows found in its returned top-``k``
    (queries without ground truth are skipped; ``-1`` pads are ignored)."""
    total = 0.0
    m = 0
    for ids, row in zip(found, truth, strict=False):
        want = {int(r) for r in row[:k] if r >= 0}
        if not want:
            continue
        got = {row_of(i) for i in ids[:k]}
        total += len(want & got) / len(want)
        m += 1
    return total / m if m else float("nan")


__all__ = [
    "BUCKET",
    "FILTERS",
    "Dataset",
    "FilterCase",
    "Vectors",
    "buckets",
    "collection_spec",
    "exact_top_k",
    "ground_truth",
    "lowrank_chunked",
    "recall",
    "row_id",
    "row_of",
    "scifact",
    "scifact_texts",
    "synthetic",
]
