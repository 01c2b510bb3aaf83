"""The study's data: one corpus, a test split to report on, a train split to learn from.

:func:`load_study_data` reads two BEIR directories over the same corpus, refuses a train
split that shares a claim with the test split (by id or by normalised text), and cuts the
corpus and the claims down to a profile's size with a fixed seed. Everything downstream
(fine-tuning pairs, synthetic queries, evaluation) reads from the :class:`StudyData` it
returns, so no code path can reach a test claim except the evaluation.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from vecctx.chunking import Document
from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.eval.beir import load_corpus, load_judgements

_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.strip().lower())


@dataclass(frozen=True)
class Split:
    """Judged claims of one split: claim id -> text, and claim id -> {doc id: grade}."""

    name: str
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """(claim id, relevant doc id), in file order."""
        return [(q, d) for q, rel in self.qrels.items() for d, g in rel.items() if g > 0]


@dataclass(frozen=True)
class StudyData:
    """A corpus with a test split and a train split over it.

    ``corpus`` is what gets indexed (the whole corpus, or a profile's seeded cut of it that
    keeps every document judged for a test claim); ``texts`` is the whole corpus, where
    training pairs may take their passages from. ``train`` is every train claim (training
    data); ``dev`` is the train claims whose judged documents are all indexed, on which
    recipes are chosen before anything is reported on ``test``.
    """

    corpus: dict[str, tuple[str, str]]
    texts: dict[str, tuple[str, str]]
    test: Split
    train: Split
    dev: Split

    def documents(self) -> list[Document]:
        """The corpus as vecctx documents (``title + "\\n\\n" + text``, as :func:`load_beir`)."""
        out = []
        for doc_id, (title, text) in self.corpus.items():
            body = f"{title}\n\n{text}" if title else text
            out.append(Document(doc_id, body, {"title": title} if title else {}))
        return out

    def doc_text(self, doc_id: str) -> str:
        title, text = self.texts[doc_id]
        return f"{title}\n\n{text}" if title else text


def read_corpus(directory: Path) -> dict[str, tuple[str, str]]:
    path = directory / "corpus.jsonl"
    if not path.is_file():
        raise ConfigError(f"not a BEIR directory: {path} is missing")
    return load_corpus(path)


def _split(directory: Path, name: str) -> Split:
    data = load_judgements(directory, split=name)
    judged = {q: t for q, t in data.queries.items() if q in data.qrels}
    missing = sorted(set(data.qrels) - set(judged))
    if missing:
        raise InvalidInputError(
            f"{directory}: qrels/{name}.tsv judges {len(missing)} claims absent from queries.jsonl "
            f"(first: {missing[0]!r})"
        )
    return Split(name, judged, {q: dict(r) for q, r in data.qrels.items()})


def find_train_split(directory: Path) -> str:
    """The qrels split of a train directory: ``train`` if present, else its only split."""
    qrels = directory / "qrels"
    names = sorted(p.stem for p in qrels.glob("*.tsv")) if qrels.is_dir() else []
    if "train" in names:
        return "train"
    if len(names) == 1:
        return names[0]
    raise ConfigError(f"{directory}: expected qrels/train.tsv (found {names or 'no qrels'})")


def check_disjoint(test: Split, train: Split) -> None:
    """Refuse a train split that shares a claim with the test split, by id or by text."""
    by_id = sorted(set(test.queries) & set(train.queries))
    test_texts = {_norm(t): q for q, t in test.queries.items()}
    by_text = sorted((q, test_texts[_norm(t)]) for q, t in train.queries.items() if _norm(t) in test_texts)
    if by_id or by_text:
        first = f"id {by_id[0]!r}" if by_id else f"train {by_text[0][0]!r} = test {by_text[0][1]!r}"
        raise InvalidInputError(
            f"the train split shares {len(by_id)} claim ids and {len(by_text)} claim texts with the "
            f"test split (first: {first}): a model fine-tuned on it would be evaluated on claims it "
            "saw. Remove those claims from the train directory."
        )


def load_study_data(
    test_dir: str | Path,
    train_dir: str | Path,
    *,
    corpus_size: int | None = None,
    test_claims: int | None = None,
    train_claims: int | None = None,
    seed: int = 0,
) -> StudyData:
    """Read and check both splits; optionally cut them down (seeded).

    ``test_claims`` / ``train_claims`` keep that many judged claims of each split.
    ``corpus_size`` indexes every document judged for a kept test claim plus seeded random
    distractors up to that many documents. Raises :class:`InvalidInputError` when the splits overlap or a judged
    document is missing from the corpus.
    """
    test_root, train_root = Path(test_dir), Path(train_dir)
    if test_root.resolve() == train_root.resolve():
        raise InvalidInputError("the test and train directories are the same: give a separate train split")
    corpus = read_corpus(test_root)
    test = _split(test_root, "test")
    train = _split(train_root, find_train_split(train_root))
    check_disjoint(test, train)
    if (train_root / "corpus.jsonl").is_file() and (train_root / "corpus.jsonl").stat().st_size != (
        test_root / "corpus.jsonl"
    ).stat().st_size:
        extra = read_corpus(train_root)
        clash = [d for d in extra if d in corpus and extra[d] != corpus[d]]
        if clash:
            raise InvalidInputError(
                f"the train corpus disagrees with the test corpus on {len(clash)} documents "
                f"(first: {clash[0]!r}): the study needs one corpus"
            )
        for d, row in extra.items():
            corpus.setdefault(d, row)
    for split in (test, train):
        absent = sorted({d for _, d in split.pairs} - set(corpus))
        if absent:
            raise InvalidInputError(
                f"{split.name} split judges {len(absent)} documents absent from the corpus "
                f"(first: {absent[0]!r})"
            )
    rng = random.Random(seed)
    test = _sample(test, test_claims, rng)
    train = _sample(train, train_claims, rng)
    if not test.qrels:
        raise InvalidInputError(f"{test_root}: the test split judges no claim")
    if not train.qrels:
        raise InvalidInputError(f"{train_root}: the train split judges no claim")
    indexed = corpus
    if corpus_size is not None and corpus_size < len(corpus):
        keep = {d for _, d in test.pairs}
        others = sorted(d for d in corpus if d not in keep)
        rng.shuffle(others)
        keep.update(others[: max(0, corpus_size - len(keep))])
        indexed = {d: corpus[d] for d in corpus if d in keep}
    return StudyData(indexed, corpus, test, train, _restrict(train, indexed))


def _sample(split: Split, n: int | None, rng: random.Random) -> Split:
    if n is None or n >= len(split.qrels):
        return split
    ids = sorted(split.qrels)
    rng.shuffle(ids)
    keep = set(ids[:n])
    return Split(
        split.name,
        {q: t for q, t in split.queries.items() if q in keep},
        {q: r for q, r in split.qrels.items() if q in keep},
    )


def _restrict(split: Split, corpus: dict[str, tuple[str, str]]) -> Split:
    keep = {q for q, rel in split.qrels.items() if all(d in corpus for d, g in rel.items() if g > 0)}
    return Split(
        split.name,
        {q: t for q, t in split.queries.items() if q in keep},
        {q: r for q, r in split.qrels.items() if q in keep},
    )


__all__ = ["Split", "StudyData", "check_disjoint", "find_train_split", "load_study_data", "read_corpus"]
