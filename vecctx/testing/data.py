"""Test data: low-rank vectors (like real embeddings) and tricky metadata."""

from __future__ import annotations

from typing import Any

import numpy as np

from vecctx.contract.types import FloatArray, Record


def lowrank(n: int, dim: int, *, rank: int = 32, seed: int = 0, noise: float = 0.05) -> FloatArray:
    """``n`` vectors of dimension ``dim`` near a ``rank``-dimensional subspace, fixed seed.

    Uniform random vectors are the worst case for graph indexes and mislead benchmarks;
    real embeddings are low-rank, and so are these.
    """
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((rank, dim))
    weights = rng.standard_normal((n, rank)) * np.linspace(2.0, 0.2, rank)
    out = weights @ basis + noise * rng.standard_normal((n, dim))
    return out.astype(np.float32)


def lowrank_queries(n: int, dim: int, *, rank: int = 32, seed: int = 0) -> FloatArray:
    """Queries from the same distribution as :func:`lowrank` with the same ``seed``."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((rank, dim))
    qrng = np.random.default_rng(seed + 10_000)
    weights = qrng.standard_normal((n, rank)) * np.linspace(2.0, 0.2, rank)
    return (weights @ basis).astype(np.float32)


#: Flat metadata with missing fields, type mismatches (a string year), int/float mixes,
#: booleans, unicode and values that look like syntax.
FLAT_METADATA: list[dict[str, Any]] = [
    {"year": 2019, "lang": "en", "score": 0.5, "draft": True, "title": "alpha"},
    {"year": 2020, "lang": "de", "score": 1.0, "draft": False, "title": "beta"},
    {"year": 2021, "lang": "en", "score": 1, "title": 'gamma "quoted"'},
    {"year": 2022.5, "lang": "fr", "draft": False},
    {"year": "2020", "lang": "EN", "title": "year is a string"},
    {},
    {"year": 2023, "lang": "de", "score": -2.5, "draft": True, "title": "ünïcødé ✓"},
    {"year": 2020, "lang": "en", "score": 3, "title": "it's a 'test' \\ with ) or (1==1"},
    {"year": 2018, "score": 0, "draft": True, "title": "zero"},
    {"lang": "de", "score": 2.25},
    {"year": 1, "lang": "true", "draft": False, "title": "1"},
    {"year": 2024, "lang": "en", "score": 1.5, "draft": True, "title": "last"},
]

#: Metadata with nested objects (for backends with ``nested_keys``).
NESTED_METADATA: list[dict[str, Any]] = [
    {"author": {"name": "ann", "age": 30}, "year": 2020},
    {"author": {"name": "bob"}, "year": 2021},
    {"author": {"name": "cy", "age": 41.5}},
    {"author": "not an object"},
    {"year": 2022},
    {"author": {"name": "ann", "age": 52, "org": {"name": "acme"}}},
]

#: Metadata with list values (for backends with ``list_values``).
LIST_METADATA: list[dict[str, Any]] = [
    {"tags": ["a", "b"], "nums": [1, 5]},
    {"tags": ["b"], "nums": [2]},
    {"tags": [], "nums": []},
    {"tags": ["c", "a"], "nums": [10, 20.5]},
    {"tags": "a"},
    {},
]


def records_for(
    metadata: list[dict[str, Any]], dim: int, *, seed: int = 1, prefix: str = "r"
) -> list[Record]:
    vecs = lowrank(len(metadata), dim, rank=min(dim, 4), seed=seed)
    return [
        Record(id=f"{prefix}{i:03d}", vector=vecs[i], text=f"text {i}", metadata=m)
        for i, m in enumerate(metadata)
    ]


def recall_at_k(found: list[list[str]], truth: list[list[str]], k: int) -> float:
    """Mean share of the true top-k ids found in the returned top-k."""
    total = 0.0
    for f, t in zip(found, truth, strict=True):
        tk = set(t[:k])
        total += len(tk.intersection(f[:k])) / max(len(tk), 1)
    return total / max(len(truth), 1)


__all__ = [
    "FLAT_METADATA",
    "LIST_METADATA",
    "NESTED_METADATA",
    "lowrank",
    "lowrank_queries",
    "recall_at_k",
    "records_for",
]
