"""Does the cited passage support the sentence? A per-sentence check of an answer.

The answer is split into sentences with their citation markers
(:func:`vecctx.prompt.citations.cited_sentences`). For each sentence that cites a source:

* ``lexical``: content-word recall, the share of the sentence's content words (lower case,
  stopwords removed, plural ``-s`` / ``-ies`` folded, numbers kept) found in the cited
  passages together;
* ``embedding``: the best cosine similarity between the sentence and one cited passage, both
  embedded with ``embed_query`` of the given embedder (the symmetric use of an asymmetric
  model: e5 recommends its ``query:`` prefix on both sides of a similarity); ``None`` without
  an embedder;
* ``judge``: optionally the model's own verdict: it is asked whether the passages support the
  sentence and must answer yes or no (:func:`judge_messages`, :func:`parse_judgement`);
  ``None`` when not asked or when the reply is neither.

``supported`` is the judge's verdict when it gave one; otherwise (:class:`SupportThresholds`)
``lexical >= 0.5`` and, when measured, ``embedding >= 0.3``; or ``embedding >= 0.7`` alone (a
paraphrase in other words). With all-MiniLM-L6-v2 on 60 SciFact abstracts these thresholds
accept 98% of sentences taken from the cited abstract and 87% of their first halves, and 5% of
sentences taken from the nearest other abstract, 0% from a random one. A sentence citing no
source (the citation report lists it) or claiming nothing (no content word: "The source is
[1].") is not measured: ``supported=None``. Overlap measures catch words and numbers the
passages do not hold, not a negation: a passage "X does not raise Y" supports "X raises Y"
lexically. Ask a judge (a capable model) for that.

:func:`measure_support` computes everything but the judge, without I/O; the sync
:func:`~vecctx.answers.check_support` and async :func:`~vecctx.answers.acheck_support` add
the judge's calls (:func:`with_judgement`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.prompt.citations import (
    CitedSentence,
    cited_sentences,
    find_markers,
    neutralise_markers,
    replace_markers,
)
from vecctx.prompt.template import ChatMessage

if TYPE_CHECKING:
    from vecctx.prompt import Source
    from vecctx.retrieval.retriever import QueryEmbedder

# Function words of English: they carry no claim a passage could support.
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each either few for from
    further had has have having he her here hers herself him himself his how i if in into is it its
    itself just may me might more most must my myself no nor not now of off on once only or other
    our ours ourselves out over own same shall she should so some such than that the their theirs
    them themselves then there these they this those through thus to too under until up upon very
    was we were what when where whether which while who whom whose why will with within without
    would yes yet you your yours yourself yourselves according answer based cited passage passages
    shows show shown source sources state states stated
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD_RE = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
JUDGE_MAX_TOKENS = 4
_VERDICT_RE = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class SupportThresholds:
    """When a cited sentence counts as supported without a judge: its content-word recall in
    the cited passages is at least ``lexical`` and, when an embedder measured it, its best
    cosine similarity to a cited passage is at least ``embedding``; or that similarity alone
    reaches ``embedding_alone``."""

    lexical: float = 0.5
    embedding: float = 0.3
    embedding_alone: float = 0.7

    def __post_init__(self) -> None:
        for name in ("lexical", "embedding", "embedding_alone"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not -1.0 <= value <= 1.0:
                raise ConfigError(f"support threshold {name} must be a number in [-1, 1], got {value!r}")

    def decide(self, lexical: float, embedding: float | None) -> bool:
        """Whether measures so high count as support."""
        if embedding is None:
            return lexical >= self.lexical
        return (lexical >= self.lexical and embedding >= self.embedding) or embedding >= self.embedding_alone


DEFAULT_THRESHOLDS = SupportThresholds()


@dataclass(frozen=True, slots=True)
class SentenceSupport:
    """How well one sentence of an answer is supported by the sources it cites.

    ``sentence`` is the sentence as written (markers included), at ``start``:``end`` of the
    answer; ``markers`` its citation markers; ``sources`` the valid source numbers they name.
    ``lexical``, ``embedding`` and ``judge`` are the measures (module docstring), ``None`` when
    not measured; ``supported`` is ``None`` for a sentence citing no source or holding no
    content word.
    """

    sentence: str
    start: int
    end: int
    markers: tuple[str, ...]
    sources: tuple[int, ...]
    lexical: float | None = None
    embedding: float | None = None
    judge: bool | None = None
    supported: bool | None = None

    @property
    def cited(self) -> bool:
        return bool(self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sentence": self.sentence,
            "start": self.start,
            "end": self.end,
            "markers": list(self.markers),
            "sources": list(self.sources),
            "lexical": self.lexical,
            "embedding": self.embedding,
            "judge": self.judge,
            "supported": self.supported,
        }


def content_words(text: str) -> set[str]:
    """The content words of ``text``: lower case, stopwords removed, plural ``-s``/``-ies``
    folded (``rates`` -> ``rate``, ``studies`` -> ``study``), numbers kept."""
    words: set[str] = set()
    for word in _WORD_RE.findall(text.lower()):
        if word in _STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        words.add(word)
    return words


def lexical_support(sentence: str, passages: Sequence[str]) -> float:
    """Share of the content words of ``sentence`` found in ``passages`` together (0.0 when
    the sentence has none: it claims nothing to find)."""
    claim = content_words(sentence)
    if not claim:
        return 0.0
    seen = set().union(*(content_words(p) for p in passages)) if passages else set()
    return len(claim & seen) / len(claim)


def embedding_support(sentence: str, passages: Sequence[str], embedder: QueryEmbedder) -> float:
    """The best cosine similarity between ``sentence`` and one of ``passages``."""
    if not passages:
        raise InvalidInputError("embedding support needs at least one passage")
    vectors = [np.asarray(embedder.embed_query(t), dtype=np.float64) for t in (sentence, *passages)]
    a = vectors[0] / (np.linalg.norm(vectors[0]) or 1.0)
    return max(float(a @ (v / (np.linalg.norm(v) or 1.0))) for v in vectors[1:])


def _passages(sentence: CitedSentence, sources: Sequence[Source]) -> list[str]:
    return [sources[n - 1].text for n in sentence.numbers]


def measure_support(
    answer: str,
    sources: Sequence[Source],
    *,
    embedder: QueryEmbedder | None = None,
    thresholds: SupportThresholds = DEFAULT_THRESHOLDS,
) -> list[SentenceSupport]:
    """Every sentence of ``answer`` with its lexical and (given an ``embedder``) embedding
    support in the ``sources`` it cites (``sources[i]`` is cited as ``[i + 1]``); no judge."""
    if not isinstance(answer, str):
        raise InvalidInputError(f"answer must be a str, got {type(answer).__name__}")
    if not isinstance(thresholds, SupportThresholds):
        raise ConfigError("thresholds must be a SupportThresholds")
    out: list[SentenceSupport] = []
    for s in cited_sentences(answer, find_markers(answer, n_sources=len(sources))):
        base = SentenceSupport(s.text, s.start, s.end, tuple(m.text for m in s.markers), s.numbers)
        if not s.numbers or not content_words(s.claim):
            out.append(base)
            continue
        passages = _passages(s, sources)
        lexical = lexical_support(s.claim, passages)
        embedding = None if embedder is None else embedding_support(s.claim, passages, embedder)
        supported = thresholds.decide(lexical, embedding)
        out.append(replace(base, lexical=lexical, embedding=embedding, supported=supported))
    return out


def judge_messages(support: SentenceSupport, sources: Sequence[Source]) -> list[ChatMessage]:
    """The question put to the judge about one cited sentence."""
    passages = "\n\n".join(neutralise_markers(sources[n - 1].text) for n in support.sources)
    claim = " ".join(replace_markers(support.sentence, lambda _m: " ").split())
    return [
        {
            "role": "system",
            "content": "You check whether a passage supports a sentence. Reply with one word: yes or no.",
        },
        {
            "role": "user",
            "content": f"Passage:\n{passages}\n\nSentence: {claim}\n\n"
            "Does the passage support the sentence? Answer yes or no.",
        },
    ]


def parse_judgement(reply: str) -> bool | None:
    """``True`` for a reply whose first word is "yes", ``False`` for "no", else ``None``."""
    first = _VERDICT_RE.search(reply.lower())
    return {"yes": True, "no": False}.get(first.group(0)) if first else None


def with_judgement(support: SentenceSupport, verdict: bool | None) -> SentenceSupport:
    """``support`` with the judge's verdict, which decides ``supported`` when it is one."""
    return replace(support, judge=verdict, supported=support.supported if verdict is None else verdict)


__all__ = [
    "DEFAULT_THRESHOLDS",
    "JUDGE_MAX_TOKENS",
    "SentenceSupport",
    "SupportThresholds",
    "content_words",
    "embedding_support",
    "judge_messages",
    "lexical_support",
    "measure_support",
    "parse_judgement",
    "with_judgement",
]
