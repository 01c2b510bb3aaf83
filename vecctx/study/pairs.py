"""Training pairs for the study's fine-tuned embedders.

Three sources, each a list of :class:`Example` (query, positive passage, optional hard
negative):

* :func:`human_pairs`: the train split's labelled claims and their judged documents,
  with a hard negative mined by BM25 (its best hit that is not judged relevant);
* :func:`synthetic_queries` / :func:`synthetic_pairs`: no human label: a sentence of an
  abstract is the query for the rest of its abstract (the inverse cloze task);
* :func:`self_labelled_pairs`: the same synthetic queries, labelled by a model's own
  retrieval (its top hit), which is how a self-consuming loop feeds on itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vecctx.chunking import sentence_spans
from vecctx.study.data import StudyData

#: A search over the corpus: query text, k -> document ids, best first.
Search = Callable[[str, int], list[str]]


@dataclass(frozen=True, slots=True)
class Example:
    query: str
    positive: str
    negative: str | None = None
    #: The document the query was made from (synthetic) or judged for (human).
    source: str = ""


def claim_subset(data: StudyData, fraction: float, *, seed: int = 0) -> list[str]:
    """A seeded fraction of the train claims; smaller fractions are prefixes of larger ones,
    so a learning curve adds data without swapping it."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    ids = sorted(data.train.qrels)
    random.Random(seed).shuffle(ids)
    return ids[: max(1, round(len(ids) * fraction))]


def human_pairs(
    data: StudyData, claims: Sequence[str], *, negatives: Search | None = None, depth: int = 10
) -> list[Example]:
    """One example per (claim, relevant document) of ``claims``; with ``negatives``, the best
    hit among the top ``depth`` that is not judged relevant to the claim is the hard negative."""
    out: list[Example] = []
    for qid in claims:
        rel = {d for d, g in data.train.qrels[qid].items() if g > 0}
        text = data.train.queries[qid]
        neg: str | None = None
        if negatives is not None:
            neg_id = next((d for d in negatives(text, depth) if d not in rel), None)
            neg = data.doc_text(neg_id) if neg_id is not None else None
        for d in sorted(rel):
            out.append(Example(text, data.doc_text(d), neg, source=d))
    return out


def synthetic_queries(data: StudyData, n: int, *, seed: int = 0, min_words: int = 6) -> list[tuple[str, str]]:
    """``n`` (sentence, source doc id) pairs drawn from the abstracts with a fixed seed: each
    document gives at most one sentence per pass over the corpus."""
    rng = random.Random(seed)
    docs = sorted(data.corpus)
    rng.shuffle(docs)
    candidates: dict[str, list[str]] = {}
    for d in docs:
        text = data.corpus[d][1]
        sents = [text[a:b].strip() for a, b in sentence_spans(text)]
        candidates[d] = [s for s in sents if len(s.split()) >= min_words]
    out: list[tuple[str, str]] = []
    used: set[tuple[str, str]] = set()
    while len(out) < n:
        added = False
        for d in docs:
            free = [s for s in candidates[d] if (d, s) not in used]
            if not free:
                continue
            s = rng.choice(free)
            used.add((d, s))
            out.append((s, d))
            added = True
            if len(out) == n:
                break
        if not added:
            break
    return out


def _without(data: StudyData, doc_id: str, sentence: str) -> str:
    title, text = data.texts[doc_id]
    rest = " ".join(text.replace(sentence, " ").split())
    return f"{title}\n\n{rest}" if title else rest


def synthetic_pairs(queries: Sequence[tuple[str, str]], data: StudyData) -> list[Example]:
    """The inverse cloze task: the sentence is the query, its abstract without it the passage."""
    return [Example(s, _without(data, d, s), source=d) for s, d in queries]


def self_labelled_pairs(
    queries: Sequence[tuple[str, str]], data: StudyData, search: Search
) -> tuple[list[Example], float]:
    """Each query labelled with the model's own top hit (its abstract without the sentence when
    the hit is the source, the hit's whole text otherwise), and the fraction of labels that
    were right (the top hit was the query's source)."""
    out: list[Example] = []
    right = 0
    for s, d in queries:
        hits = search(s, 1)
        top = hits[0] if hits else d
        if top == d:
            right += 1
            out.append(Example(s, _without(data, d, s), source=top))
        else:
            out.append(Example(s, data.doc_text(top), source=top))
    return out, right / len(queries) if queries else 0.0


__all__ = [
    "Example",
    "Search",
    "claim_subset",
    "human_pairs",
    "self_labelled_pairs",
    "synthetic_pairs",
    "synthetic_queries",
]
