"""nDCG@k, recall@k and MRR@k with the BEIR / pytrec_eval definitions.

* nDCG@k: gain ``rel`` (graded, from the qrels) discounted by ``log2(rank + 1)``; the ideal
  DCG sorts the query's judged-relevant documents by grade. Documents with grade <= 0 give
  no gain. Queries with no relevant documents are skipped (as BEIR does).
* recall@k: relevant documents found in the top k over all relevant documents.
* MRR@k: reciprocal rank of the first relevant document in the top k, else 0.

A run maps query id -> {doc id: score}; documents are ranked by score, ties by doc id
descending (pytrec_eval's order).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]


def _ranked(scores: Mapping[str, float]) -> list[str]:
    return [d for d, _ in sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]


def ndcg_at_k(ranking: list[str], relevant: Mapping[str, int], k: int) -> float:
    dcg = sum(
        relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]) if relevant.get(d, 0) > 0
    )
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranking: list[str], relevant: Mapping[str, int], k: int) -> float:
    rel = {d for d, g in relevant.items() if g > 0}
    if not rel:
        return 0.0
    return len(rel.intersection(ranking[:k])) / len(rel)


def mrr_at_k(ranking: list[str], relevant: Mapping[str, int], k: int) -> float:
    for i, d in enumerate(ranking[:k]):
        if relevant.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def evaluate_run(run: Run, qrels: Qrels) -> dict[str, float]:
    """Mean nDCG@10, recall@10, recall@100 and MRR@10 over the judged queries of ``qrels``."""
    totals = {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    n = 0
    for qid, rel in qrels.items():
        if not any(g > 0 for g in rel.values()):
            continue
        ranking = _ranked(run.get(qid, {}))
        totals["ndcg@10"] += ndcg_at_k(ranking, rel, 10)
        totals["recall@10"] += recall_at_k(ranking, rel, 10)
        totals["recall@100"] += recall_at_k(ranking, rel, 100)
        totals["mrr@10"] += mrr_at_k(ranking, rel, 10)
        n += 1
    return {key: value / n if n else 0.0 for key, value in totals.items()}


__all__ = ["Qrels", "Run", "evaluate_run", "mrr_at_k", "ndcg_at_k", "recall_at_k"]
