"""Retrieval evaluation: BEIR-format data, metrics as defined by BEIR / pytrec_eval."""

from vecctx.eval.beir import BeirData, load_judgements, load_qrels, load_queries
from vecctx.eval.metrics import evaluate_run, mrr_at_k, ndcg_at_k, recall_at_k

__all__ = [
    "BeirData",
    "evaluate_run",
    "load_judgements",
    "load_qrels",
    "load_queries",
    "mrr_at_k",
    "ndcg_at_k",
    "recall_at_k",
]
