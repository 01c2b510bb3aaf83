"""Metrics against hand-computed values (BEIR / pytrec_eval definitions)."""

import math

import pytest

from vecctx.eval import evaluate_run, load_judgements, mrr_at_k, ndcg_at_k, recall_at_k
from vecctx.eval.beir import dataset_dir


def test_ndcg_hand_computed() -> None:
    rel = {"a": 1, "b": 1}
    # relevant at ranks 2 and 3: DCG = 1/log2(3) + 1/log2(4); IDCG = 1 + 1/log2(3)
    want = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["x", "a", "b"], rel, 10) == pytest.approx(want)
    assert ndcg_at_k(["a", "b"], rel, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], rel, 10) == 0.0
    assert ndcg_at_k(["x", "a"], rel, 1) == 0.0


def test_graded_ndcg() -> None:
    rel = {"a": 2, "b": 1}
    want = (1 / 1 + 2 / math.log2(3)) / (2 / 1 + 1 / math.log2(3))
    assert ndcg_at_k(["b", "a"], rel, 10) == pytest.approx(want)


def test_recall_and_mrr() -> None:
    rel = {"a": 1, "b": 1, "c": 0}
    assert recall_at_k(["a", "x", "c"], rel, 10) == 0.5
    assert recall_at_k(["x", "a", "b"], rel, 2) == 0.5
    assert mrr_at_k(["x", "c", "b"], rel, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["x", "y"], rel, 10) == 0.0


def test_evaluate_run_ties_and_unjudged() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"z": 0}}
    run = {"q1": {"a": 1.0, "x": 1.0}, "q2": {"x": 2.0, "b": 1.0}}
    m = evaluate_run(run, qrels)
    # q1: tie broken by doc id descending -> x first, a second; q2: b second.
    assert m["mrr@10"] == pytest.approx(0.5)
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert m["recall@100"] == 1.0


def test_load_scifact() -> None:
    data = load_judgements(dataset_dir("scifact"))
    assert len(data.queries) == 300
    assert sum(len(v) for v in data.qrels.values()) == 339
    assert len(data.judged_queries()) == len(data.qrels)
