"""The fine-tuning-or-context study: data checks, pairs, fine-tuning, SPLADE, and the tiny
profile end to end with the real models (MiniLM, SPLADE-tiny, e5-small, SmolLM2)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.loaders import data_root
from vecctx.study import (
    TrainConfig,
    check_disjoint,
    finetune,
    load_study_data,
    self_labelled_pairs,
    synthetic_pairs,
    synthetic_queries,
)
from vecctx.study.finetune import batches
from vecctx.study.pairs import Example, claim_subset, human_pairs
from vecctx.study.report import pareto

SCIFACT = data_root() / "scifact"
TRAIN = data_root() / "scifact-train"


def _beir(
    root: Path, corpus: dict[str, str], queries: dict[str, str], qrels: dict[str, str], split: str
) -> Path:
    root.mkdir(parents=True)
    (root / "qrels").mkdir()
    with (root / "corpus.jsonl").open("w") as fh:
        for d, t in corpus.items():
            fh.write(json.dumps({"_id": d, "title": f"T{d}", "text": t}) + "\n")
    with (root / "queries.jsonl").open("w") as fh:
        for q, t in queries.items():
            fh.write(json.dumps({"_id": q, "text": t}) + "\n")
    (root / "qrels" / f"{split}.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in qrels.items())
    )
    return root


CORPUS = {
    "d1": "Vitamin D lowers the risk of hip fractures in older women. The trial ran for five years in Oslo.",
    "d2": "Statins reduce cardiovascular events in adults with high cholesterol. Benefits grew with dose.",
    "d3": "Smoking raises the incidence of lung cancer sharply. Quitting halves the excess risk in ten years.",
}


def test_refuses_a_train_split_that_shares_a_test_claim(tmp_path: Path) -> None:
    test = _beir(tmp_path / "t", CORPUS, {"1": "Vitamin D prevents fractures."}, {"1": "d1"}, "test")
    by_id = _beir(tmp_path / "a", CORPUS, {"1": "Statins help hearts."}, {"1": "d2"}, "train")
    with pytest.raises(InvalidInputError, match="shares 1 claim ids"):
        load_study_data(test, by_id)
    by_text = _beir(tmp_path / "b", CORPUS, {"9": "  vitamin D prevents  fractures. "}, {"9": "d1"}, "train")
    with pytest.raises(InvalidInputError, match="1 claim texts"):
        load_study_data(test, by_text)
    with pytest.raises(InvalidInputError, match="same"):
        load_study_data(test, test)
    ok = _beir(tmp_path / "c", CORPUS, {"2": "Statins help hearts."}, {"2": "d2"}, "train")
    data = load_study_data(test, ok)
    assert set(data.test.qrels) == {"1"} and set(data.train.qrels) == {"2"}


def test_refuses_judgements_of_missing_documents(tmp_path: Path) -> None:
    test = _beir(tmp_path / "t", CORPUS, {"1": "Vitamin D prevents fractures."}, {"1": "d9"}, "test")
    train = _beir(tmp_path / "a", CORPUS, {"2": "Statins help hearts."}, {"2": "d2"}, "train")
    with pytest.raises(InvalidInputError, match="absent from the corpus"):
        load_study_data(test, train)
    with pytest.raises(ConfigError, match="not a BEIR directory"):
        load_study_data(tmp_path / "nothing", train)


def test_shipped_train_split_is_disjoint_from_the_test_split() -> None:
    data = load_study_data(SCIFACT, TRAIN)
    check_disjoint(data.test, data.train)
    assert len(data.test.qrels) == 300 and len(data.train.qrels) == 373
    assert len(data.train.pairs) == 417
    assert not set(data.test.queries) & set(data.train.queries)


def test_corpus_cut_keeps_every_test_document_and_is_seeded() -> None:
    a = load_study_data(SCIFACT, TRAIN, corpus_size=400, seed=3)
    b = load_study_data(SCIFACT, TRAIN, corpus_size=400, seed=3)
    c = load_study_data(SCIFACT, TRAIN, corpus_size=400, seed=4)
    assert list(a.corpus) == list(b.corpus) and len(a.corpus) == 400
    assert set(a.corpus) != set(c.corpus)
    assert {d for _, d in a.test.pairs} <= set(a.corpus)
    assert len(a.texts) == 5183 and len(a.train.qrels) == 373
    for q, rel in a.dev.qrels.items():  # dev claims are fully indexed
        assert all(d in a.corpus for d in rel) and q in a.train.qrels


def test_claim_subsets_grow_by_prefix_and_human_pairs_mine_negatives() -> None:
    data = load_study_data(SCIFACT, TRAIN, corpus_size=300)
    quarter, half, full = (claim_subset(data, f, seed=1) for f in (0.25, 0.5, 1.0))
    assert half[: len(quarter)] == quarter and full[: len(half)] == half and len(full) == 373
    with pytest.raises(ValueError):
        claim_subset(data, 0.0)
    claim = quarter[0]
    rel = set(data.train.qrels[claim])
    other = next(d for d in data.corpus if d not in rel)
    pairs = human_pairs(data, [claim], negatives=lambda text, k: [*sorted(rel), other][:k])
    assert {p.source for p in pairs} == rel
    assert all(p.query == data.train.queries[claim] for p in pairs)
    assert all(p.negative == data.doc_text(other) for p in pairs)


def test_synthetic_queries_are_seeded_sentences_of_their_source() -> None:
    data = load_study_data(SCIFACT, TRAIN, corpus_size=200)
    qs = synthetic_queries(data, 50, seed=5)
    assert qs == synthetic_queries(data, 50, seed=5)
    assert qs[:20] == synthetic_queries(data, 20, seed=5)
    assert qs != synthetic_queries(data, 50, seed=6)
    for sentence, doc in qs:
        assert doc in data.corpus and sentence in data.corpus[doc][1]
        assert len(sentence.split()) >= 6
    pairs = synthetic_pairs(qs, data)
    assert all(p.query not in p.positive for p in pairs)  # the inverse cloze removes it


def test_self_labels_follow_the_search_and_count_its_mistakes() -> None:
    data = load_study_data(SCIFACT, TRAIN, corpus_size=100)
    qs = synthetic_queries(data, 10, seed=0)
    wrong = sorted(data.corpus)[0]
    flip = {s for i, (s, _) in enumerate(qs) if i % 2}
    examples, acc = self_labelled_pairs(qs, data, lambda s, k: [wrong if s in flip else dict(qs)[s]])
    assert acc == pytest.approx(sum(1 for s, d in qs if s not in flip or d == wrong) / 10)
    for (s, d), ex in zip(qs, examples, strict=True):
        assert ex.source == (wrong if s in flip else d)


def test_batches_never_repeat_a_text() -> None:
    exs = [Example(f"q{i % 7}", f"p{i % 5}") for i in range(40)]
    for batch in batches(exs, 4, random.Random(0)):
        texts = [t for e in batch for t in (e.query, e.positive)]
        assert len(texts) == len(set(texts)) and 2 <= len(batch) <= 4


def test_finetune_changes_the_model_toward_its_pairs(tmp_path: Path) -> None:
    from vecctx.embedders.offline import minilm_path
    from vecctx.embedders.sentence_transformers import SentenceTransformerEmbedder

    pairs = [
        Example("zorblat kinase", "QX7R encodes a membrane pump of the liver."),
        Example("frobnic acid", "Heart valves calcify faster in old mice."),
        Example("glimmer cells", "Retinal glia respond to light with calcium waves."),
        Example("plonk receptor", "Bone density falls during space flight."),
    ]
    cfg = TrainConfig(epochs=3, batch_size=4, learning_rate=1e-4, max_seq_length=32)
    res = finetune(minilm_path(), pairs, tmp_path / "ft", cfg)
    assert res.steps == 3 and res.pairs == 4 and res.seconds > 0 and res.cpu_seconds > 0
    assert res.model_bytes > 10_000_000 and (res.path / "config.json").is_file()
    assert res.losses[-1] < res.losses[0]

    def margin(path: Path, name: str) -> float:
        e = SentenceTransformerEmbedder(path, name=name)
        q = np.stack([e.embed_query(p.query) for p in pairs])
        d = e.embed_documents([p.positive for p in pairs])
        sims = q @ d.T
        return float(np.mean(np.diag(sims)) - np.mean(sims[~np.eye(4, dtype=bool)]))

    assert margin(res.path, "ft") > margin(minilm_path(), "base") + 0.05
    # the saved model indexes at its original length, not the training length
    assert SentenceTransformerEmbedder(res.path, name="ft2").max_input_tokens == 256
    with pytest.raises(InvalidInputError):
        finetune(minilm_path(), pairs[:1], tmp_path / "x", cfg)
    with pytest.raises(ConfigError):
        TrainConfig(batch_size=1)


def test_splade_expands_and_ranks() -> None:
    from vecctx.retrieval.splade import SpladeEncoder

    enc = SpladeEncoder()
    docs = enc.encode_documents([CORPUS["d1"], CORPUS["d2"], CORPUS["d3"]])
    q = enc.encode_query("does vitamin d protect bones of elderly women")
    scores = [q.dot(d) for d in docs]
    assert int(np.argmax(scores)) == 0
    assert all(v > 0 for v in docs[0].values) and len(docs[0].indices) > 10
    assert enc.encode_documents([]) == []
    with pytest.raises(TypeError):
        enc.encode_documents("one string")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        SpladeEncoder("/nonexistent/model")


def test_late_interaction_cache_gives_the_same_ranking() -> None:
    from vecctx.contract.types import Hit, ScoreKind
    from vecctx.retrieval.rerank import LateInteractionReranker
    from vecctx.retrieval.retriever import Query

    hits = [Hit(id=d, score=0.5, relevance=0.5, kind=ScoreKind.COSINE, text=t) for d, t in CORPUS.items()]
    q = Query("lung cancer and smoking")
    plain = LateInteractionReranker().rerank(q, hits, k=3)
    cached = LateInteractionReranker(cache_size=2)
    cached.precompute([h.text or "" for h in hits])
    assert len(cached._cache) == 2
    for _ in range(2):
        again = cached.rerank(q, hits, k=3)
        assert [h.id for h in again] == [h.id for h in plain] and again[0].id == "d3"
        assert [h.relevance for h in again] == pytest.approx([h.relevance for h in plain], abs=1e-5)
    assert len(cached._cache) == 2
    with pytest.raises(ConfigError):
        LateInteractionReranker(cache_size=-1)


def test_pareto_front() -> None:
    arms: list[dict[str, Any]] = [
        {"name": "cheap", "setup_cpu_seconds": 1.0, "ndcg@10": 0.6},
        {"name": "dear-better", "setup_cpu_seconds": 10.0, "ndcg@10": 0.7},
        {"name": "dear-worse", "setup_cpu_seconds": 20.0, "ndcg@10": 0.65},
        {"name": "twin", "setup_cpu_seconds": 1.0, "ndcg@10": 0.6},
    ]
    assert pareto(arms) == ["cheap", "dear-better"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    from vecctx.study import run_study

    out = tmp_path_factory.mktemp("study")
    messages: list[str] = []
    result = run_study(SCIFACT, TRAIN, out, profile="tiny", progress=messages.append)
    assert any("wrote" in m for m in messages)
    return result, out


def test_tiny_profile_runs_every_arm(tiny_run: tuple[dict[str, Any], Path]) -> None:
    result, _out = tiny_run
    arms = result["arms"]
    groups = {a["group"] for a in arms}
    assert groups == {"context", "human", "synthetic", "self-consuming", "fine-tuned + context"}
    names = {a["name"] for a in arms}
    for expected in ("BM25", "SPLADE-tiny", "hybrid rrf", "hybrid dbsf", "hybrid convex"):
        assert expected in names
    assert sum("late-interaction" in n for n in names) == 1 and sum("e5-small" in n for n in names) == 1
    for a in arms:
        for m in ("ndcg@10", "recall@100", "mrr@10"):
            assert 0.0 <= a[m] <= 1.0
        assert a["latency_p50_ms"] > 0 and a["index_seconds"] > 0 and a["model_bytes"] > 1_000_000
        if a["group"] == "context":
            assert a["train_steps"] == 0 and a["labelled_pairs"] == 0
        else:
            assert a["train_steps"] > 0 and a["train_seconds"] > 0 and a["train_cpu_seconds"] > 0
    human = sorted((a for a in arms if a["group"] == "human"), key=lambda a: a["labelled_pairs"])
    assert len(human) == 2 and human[0]["labelled_pairs"] < human[1]["labelled_pairs"]
    assert all(a["labelled_pairs"] == 0 for a in arms if a["group"] == "synthetic")
    gens = sorted(a["generation"] for a in arms if a["group"] == "self-consuming")
    assert gens == [1, 2, 3]
    steps = [
        a["train_steps"]
        for a in sorted((a for a in arms if a["group"] == "self-consuming"), key=lambda a: a["generation"])
    ]
    assert steps == sorted(steps) and steps[0] < steps[-1]  # cumulative cost of the loop
    assert all(0.0 <= a["label_accuracy"] <= 1.0 for a in arms if a["group"] == "self-consuming")
    gen = result["generative"]
    assert gen is not None and len(gen["arms"]) == 4


def test_tiny_profile_writes_report_and_plots(tiny_run: tuple[dict[str, Any], Path]) -> None:
    result, out = tiny_run
    saved = json.loads((out / "results.json").read_text())
    assert saved["arms"] == json.loads(json.dumps(result["arms"], default=str))
    assert saved["environment"]["packages"]["torch"] and saved["settings"]["threads"] == 1
    report = (out / "report.md").read_text()
    assert "## Conclusion from these figures" in report and "| BM25 |" in report
    assert "## The answering model" in report
    for png in ("quality_vs_cost.png", "learning_curve.png", "generations.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "models").exists()  # fine-tuned weights are scratch
    from vecctx.study.report import render_docs

    docs = out / "site" / "study.md"
    docs.parent.mkdir()
    render_docs(result, docs, docs.parent / "img")
    page = docs.read_text()
    assert page.startswith("# Fine-tuning or context?") and "--profile tiny" in page
    assert "![Learning curve over labelled pairs](img/study-learning_curve.png)" in page
    assert (docs.parent / "img" / "study-generations.png").is_file()
    assert "## Limits of this run" in page and "### Conclusion from these figures" in page


def test_cli_study_refuses_a_bad_profile(tmp_path: Path) -> None:
    from vecctx.cli import main

    assert (
        main(["study", str(SCIFACT), "--train", str(TRAIN), "--profile", "huge", "--out", str(tmp_path)]) != 0
    )
    shutil.rmtree(tmp_path, ignore_errors=True)
