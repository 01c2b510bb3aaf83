"""Rank fusion used by the reference store and by client-side (emulated) hybrid search."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vecctx.contract.types import Hit, ScoreKind, relevance_of


def rrf(rankings: Sequence[Sequence[Hit]], *, k: int, rrf_k: int = 60) -> list[Hit]:
    """Reciprocal rank fusion: score = sum over lists of 1 / (rrf_k + rank), rank from 1."""
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.id] = scores.get(hit.id, 0.0) + 1.0 / (rrf_k + rank)
            first.setdefault(hit.id, hit)
    return _fused(scores, first, ScoreKind.RRF, k, n_lists=len(rankings), rrf_k=rrf_k)


def dbsf(rankings: Sequence[Sequence[Hit]], *, k: int) -> list[Hit]:
    """Distribution-based score fusion (as in Qdrant): each list's scores are scaled by
    mean +/- 3 sample standard deviations, then summed (no clipping, as Qdrant)."""
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for ranking in rankings:
        if not ranking:
            continue
        raw = np.array([_higher_better(h) for h in ranking], dtype=np.float64)
        mean = float(raw.mean())
        std = float(raw.std(ddof=1)) if len(raw) > 1 else 0.0
        lo, hi = mean - 3 * std, mean + 3 * std
        norm = (raw - lo) / (hi - lo) if hi > lo else np.full_like(raw, 0.5)
        for hit, s in zip(ranking, norm, strict=True):
            scores[hit.id] = scores.get(hit.id, 0.0) + float(s)
            first.setdefault(hit.id, hit)
    return _fused(scores, first, ScoreKind.DBSF, k, n_lists=len(rankings))


def convex(rankings: Sequence[Sequence[Hit]], *, weights: Sequence[float], k: int) -> list[Hit]:
    """Weighted sum of min-max normalised scores (missing from a list counts as 0)."""
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    total = float(sum(weights)) or 1.0
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        if not ranking:
            continue
        raw = np.array([_higher_better(h) for h in ranking], dtype=np.float64)
        lo, hi = float(raw.min()), float(raw.max())
        norm = (raw - lo) / (hi - lo) if hi > lo else np.ones_like(raw)
        for hit, s in zip(ranking, norm, strict=True):
            scores[hit.id] = scores.get(hit.id, 0.0) + w / total * float(s)
            first.setdefault(hit.id, hit)
    return _fused(scores, first, ScoreKind.CONVEX, k, n_lists=1)


def _higher_better(hit: Hit) -> float:
    return -hit.score if hit.kind is ScoreKind.EUCLIDEAN else hit.score


def _fused(
    scores: dict[str, float],
    first: dict[str, Hit],
    kind: ScoreKind,
    k: int,
    *,
    n_lists: int,
    rrf_k: int = 60,
) -> list[Hit]:
    order = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    out: list[Hit] = []
    for hid, s in order:
        h = first[hid]
        out.append(
            Hit(
                id=hid,
                score=s,
                relevance=relevance_of(kind, s, n_lists=max(n_lists, 1), rrf_k=rrf_k),
                kind=kind,
                text=h.text,
                metadata=h.metadata,
                vector=h.vector,
                sparse=h.sparse,
            )
        )
    return out


__all__ = ["convex", "dbsf", "rrf"]
