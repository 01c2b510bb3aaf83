"""The prompt assembler: ranked passages + a question -> one budgeted, cited, delimited prompt.

Steps (:meth:`PromptAssembler.assemble`):

1. passages without text are dropped (``empty``), so are repeated ids and exact duplicates
   after normalisation (``duplicate``), and near-duplicates whose word-shingle Jaccard
   similarity to a better-ranked kept passage reaches ``dedupe_threshold`` (``duplicate``;
   :mod:`vecctx.prompt.dedupe`);
2. passages are packed in rank order into the token budget of the *whole* prompt (system
   text, template, question and passages, as counted by the given counter). The first
   passage that does not fit is cut at the last sentence boundary that fits (never mid-word;
   :mod:`vecctx.prompt.packing`) or dropped when fewer than ``min_passage_tokens`` would
   remain; every later passage is dropped (``budget``). With ``max_sources`` the rest beyond
   it are dropped (``max_sources``);
3. optionally the kept passages are reordered so the best are at the start and the end
   (:func:`~vecctx.retrieval.rerank.reorder_lost_in_the_middle`);
4. sources are numbered ``[1]..[n]`` in the order they appear, rendered as
   ``<source id="n" title="...">text</source>`` blocks (:mod:`vecctx.prompt.template`), and the
   prompt is rendered both as one string and as chat messages. The rendered prompt is
   re-counted and, if needed, the lowest-ranked source is shortened or dropped until the count
   is within the budget, so ``counter.count(prompt) <= budget`` always holds.

Retrieved text is data: reserved tags and citation markers in passages, titles and the
question are neutralised (:mod:`vecctx.prompt.escape`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.contract.types import Hit, ScoreKind
from vecctx.contract.validation import check_count
from vecctx.prompt.dedupe import DedupeIndex
from vecctx.prompt.escape import escape_attribute, escape_passage, neutralise_tags, tag_pattern
from vecctx.prompt.packing import cut_to_fit
from vecctx.prompt.template import DEFAULT_TEMPLATE, ChatMessage, PromptTemplate
from vecctx.prompt.tokens import TokenCounter, get_counter
from vecctx.retrieval.rerank import reorder_lost_in_the_middle


class DropReason(StrEnum):
    EMPTY = "empty"  # the hit has no text
    DUPLICATE = "duplicate"  # repeated id, exact or near duplicate of a better-ranked passage
    BUDGET = "budget"  # no room left in the token budget
    TOO_SHORT = "too_short"  # would have been cut below min_passage_tokens
    MAX_SOURCES = "max_sources"  # beyond the max_sources limit


@dataclass(frozen=True, slots=True)
class DroppedPassage:
    """A passage left out of the prompt. ``rank`` is its 0-based position in the input."""

    id: str
    rank: int
    reason: DropReason
    duplicate_of: str | None = None
    similarity: float | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """One numbered source of a prompt; cite it as ``[number]``.

    ``text`` is the passage as included (after any cut, before escaping). ``doc_id``,
    ``chunk``, ``start``, ``end`` and ``title`` come from the hit's metadata keys of the same
    names when present. When a passage was cut (``truncated``) and its offsets described the
    full text (``end - start == len(original text)``), ``end`` is moved to the end of the kept
    prefix. ``rank`` is the 0-based position of the hit in the input ranking. ``token_count``
    is what the source's block (separator, tags and escaped text) added to the prompt when it
    was packed (block boundaries can merge a token, so the sum may differ by a few).
    """

    number: int
    id: str
    text: str
    score: float
    relevance: float
    kind: ScoreKind
    rank: int
    doc_id: str | None = None
    chunk: int | str | None = None
    start: int | None = None
    end: int | None = None
    title: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    truncated: bool = False
    token_count: int = 0

    @property
    def marker(self) -> str:
        return f"[{self.number}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "id": self.id,
            "doc_id": self.doc_id,
            "chunk": self.chunk,
            "start": self.start,
            "end": self.end,
            "title": self.title,
            "score": self.score,
            "relevance": self.relevance,
            "kind": self.kind.value,
            "rank": self.rank,
            "truncated": self.truncated,
            "token_count": self.token_count,
            "metadata": dict(self.metadata),
            "text": self.text,
        }


@dataclass(slots=True)
class AugmentedPrompt:
    """The assembled prompt.

    ``prompt`` is the single-string form (system text, a blank line, the user text);
    ``messages`` the chat form. ``token_count`` is the larger of the counts of ``prompt`` and of
    the messages' contents summed (per-message chat overhead of a provider not included) and
    is at most ``budget``. ``timings`` holds ``assemble_ms`` and is meant to be completed by the
    pipeline (retrieve, rerank...).
    """

    prompt: str
    messages: list[ChatMessage]
    sources: list[Source]
    token_count: int
    budget: int
    question: str
    counter: str
    dropped: list[DroppedPassage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def dropped_count(self) -> int:
        return len(self.dropped)

    @property
    def drop_reasons(self) -> dict[str, int]:
        """Number of dropped passages per reason."""
        return dict(Counter(d.reason.value for d in self.dropped))

    def source(self, number: int) -> Source:
        """The source cited as ``[number]``."""
        if not 1 <= number <= len(self.sources):
            raise KeyError(f"no source [{number}]; the prompt has {len(self.sources)}")
        return self.sources[number - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "messages": [dict(m) for m in self.messages],
            "sources": [s.to_dict() for s in self.sources],
            "token_count": self.token_count,
            "budget": self.budget,
            "question": self.question,
            "counter": self.counter,
            "dropped": [
                {
                    "id": d.id,
                    "rank": d.rank,
                    "reason": d.reason.value,
                    "duplicate_of": d.duplicate_of,
                    "similarity": d.similarity,
                }
                for d in self.dropped
            ],
            "timings": dict(self.timings),
        }


@dataclass(slots=True)
class _Candidate:
    hit: Hit
    rank: int
    text: str  # original text (stripped)
    attrs: str  # rendered block attributes
    kept: str = ""  # text included: a prefix of text, plus the ellipsis after a word cut
    kept_len: int = 0  # characters of text included
    truncated: bool = False
    tokens: int = 0  # tokens of separator + block when packed


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


class PromptAssembler:
    """Builds :class:`AugmentedPrompt` objects; configure once, call :meth:`assemble` per question.

    ``budget``: tokens for the whole prompt. ``counter``: a :class:`TokenCounter` or a spec for
    :func:`vecctx.prompt.tokens.get_counter`. ``dedupe_threshold``: shingle-Jaccard similarity from
    which a passage is a near-duplicate (None: only repeated ids and exact duplicates are
    removed). ``min_passage_tokens``: a cut passage shorter than this is dropped instead.
    ``cut``: ``"sentence"`` cuts the last passage at a sentence end only; ``"word"`` falls back
    to a word boundary (with ``ellipsis`` appended) when not even one sentence fits.
    ``order``: ``"rank"`` or ``"lost_in_the_middle"``. ``max_sources``: optional cap.
    """

    def __init__(
        self,
        *,
        budget: int,
        counter: TokenCounter | str = "cl100k_base",
        template: PromptTemplate = DEFAULT_TEMPLATE,
        dedupe_threshold: float | None = 0.8,
        shingle_size: int = 3,
        min_passage_tokens: int = 24,
        cut: Literal["sentence", "word"] = "sentence",
        ellipsis: str = " \u2026",
        order: Literal["rank", "lost_in_the_middle"] = "rank",
        max_sources: int | None = None,
    ) -> None:
        if cut not in ("sentence", "word"):
            raise ConfigError(f"cut must be 'sentence' or 'word', got {cut!r}")
        if order not in ("rank", "lost_in_the_middle"):
            raise ConfigError(f"order must be 'rank' or 'lost_in_the_middle', got {order!r}")
        if not isinstance(template, PromptTemplate):
            raise ConfigError("template must be a PromptTemplate")
        DedupeIndex(threshold=dedupe_threshold, k=shingle_size)  # bad options fail here, not per call
        self.budget = check_count(budget, "budget", minimum=1)
        self.counter = get_counter(counter)
        self.template = template
        self.dedupe_threshold = dedupe_threshold
        self.shingle_size = shingle_size
        self.min_passage_tokens = check_count(min_passage_tokens, "min_passage_tokens", error=ConfigError)
        self.cut = cut
        self.ellipsis = ellipsis
        self.order = order
        self.max_sources = (
            None if max_sources is None else check_count(max_sources, "max_sources", error=ConfigError)
        )
        self._system_tokens = self.counter.count(template.system)
        self._tag_re = tag_pattern(template.tag_names())

    # -- rendering ---------------------------------------------------------------------------

    def _attrs(self, hit: Hit) -> str:
        meta = hit.metadata or {}
        parts: list[str] = []
        for name in self.template.attributes:
            value = meta.get(name)
            if value is None or isinstance(value, Mapping | list | tuple):
                continue
            parts.append(f' {name}="{escape_attribute(str(value), pattern=self._tag_re)}"')
        return "".join(parts)

    def _block(self, n: int, attrs: str, text: str) -> str:
        return self.template.render_source(n, escape_passage(text, self._tag_re), attrs)

    def _cost(self, sep: str, n: int, attrs: str, text: str) -> int:
        """Tokens the separator ``sep`` and the block of source ``n`` holding ``text`` add."""
        return self.counter.count(sep + self._block(n, attrs, text))

    def _render(self, question: str, blocks: Sequence[str]) -> tuple[str, list[ChatMessage], int]:
        prompt, messages = self.template.render(question, blocks)
        count = self.counter.count
        return prompt, messages, max(count(prompt), self._system_tokens + count(messages[-1]["content"]))

    def _cut(self, c: _Candidate, text: str, n: int, room: int, sep: str) -> DropReason | None:
        """Keep in ``c`` the longest prefix of ``text`` whose block (source ``n`` after ``sep``)
        costs at most ``room`` tokens; else the reason to drop ``c``."""
        fit = cut_to_fit(
            text,
            lambda prefix: self._cost(sep, n, c.attrs, prefix),
            room,
            self.counter,
            ellipsis=self.ellipsis if self.cut == "word" else None,
        )
        if fit is None:
            return DropReason.BUDGET
        if self.counter.count(fit[0]) < self.min_passage_tokens:
            return DropReason.TOO_SHORT
        c.kept, c.kept_len, c.truncated = fit[0], fit[1], True
        c.tokens = self._cost(sep, n, c.attrs, c.kept)
        return None

    # -- main --------------------------------------------------------------------------------

    def assemble(
        self, question: str, passages: Iterable[Hit], *, budget: int | None = None
    ) -> AugmentedPrompt:
        """Assemble a prompt for ``question`` from ``passages`` (best first); ``budget``
        overrides the assembler's budget for this call."""
        t0 = time.perf_counter()
        budget = self.budget if budget is None else check_count(budget, "budget", minimum=1)
        if not isinstance(question, str):
            raise InvalidInputError(f"question must be a str, got {type(question).__name__}")
        if isinstance(passages, str | bytes | Mapping) or not isinstance(passages, Iterable):
            raise InvalidInputError("passages must be an iterable of Hit")
        passages = list(passages)
        for i, p in enumerate(passages):
            if not isinstance(p, Hit):
                raise InvalidInputError(f"passages[{i}] is a {type(p).__name__}, not a Hit")
        safe_question = neutralise_tags(question.strip(), self._tag_re)
        sep = self.template.separator

        _, _, empty_cost = self._render(safe_question, [])
        if empty_cost > budget:
            raise InvalidInputError(
                f"a budget of {budget} tokens cannot hold the template and the question ({empty_cost} tokens)"
            )
        _, _, base = self._render(safe_question, [""])  # the fixed part when sources are present

        dropped: list[DroppedPassage] = []
        cands: list[_Candidate] = []
        seen_ids: set[str] = set()
        for rank, hit in enumerate(passages):
            text = hit.text.strip() if hit.text else ""
            if not text:
                dropped.append(DroppedPassage(hit.id, rank, DropReason.EMPTY))
            elif hit.id in seen_ids:
                dropped.append(DroppedPassage(hit.id, rank, DropReason.DUPLICATE, hit.id, 1.0))
            else:
                seen_ids.add(hit.id)
                cands.append(_Candidate(hit, rank, text, self._attrs(hit), text, len(text)))

        # Pack in rank order with additive estimates; near-duplicates are checked against the
        # passages already kept, so the cost is proportional to what the prompt holds.
        dedupe = DedupeIndex(threshold=self.dedupe_threshold, k=self.shingle_size)
        room = budget - base
        kept: list[_Candidate] = []
        stop: DropReason | None = None
        for c in cands:
            if stop is None and self.max_sources is not None and len(kept) >= self.max_sources:
                stop = DropReason.MAX_SOURCES
            if stop is not None:
                dropped.append(DroppedPassage(c.hit.id, c.rank, stop))
                continue
            dup = dedupe.check(c.rank, c.text)
            if dup is not None:
                original, sim = dup
                dropped.append(
                    DroppedPassage(c.hit.id, c.rank, DropReason.DUPLICATE, passages[original].id, sim)
                )
                continue
            block_sep = sep if kept else ""
            c.tokens = self._cost(block_sep, len(kept) + 1, c.attrs, c.text)
            if c.tokens <= room:
                kept.append(c)
                room -= c.tokens
                continue
            stop = DropReason.BUDGET
            if (reason := self._cut(c, c.text, len(kept) + 1, room, block_sep)) is None:
                kept.append(c)
            else:
                dropped.append(DroppedPassage(c.hit.id, c.rank, reason))

        # Render exactly; shorten or drop the lowest-ranked source until the budget holds.
        while True:
            ordered = reorder_lost_in_the_middle(kept) if self.order == "lost_in_the_middle" else list(kept)
            blocks = [self._block(i, c.attrs, c.kept) for i, c in enumerate(ordered, start=1)]
            prompt, messages, tokens = self._render(safe_question, blocks)
            if tokens <= budget:
                break
            # Token counts are not exactly additive across block boundaries, and numbers move
            # when sources are reordered: cut the lowest-ranked source by the excess, or drop it.
            last = kept.pop()
            number = ordered.index(last) + 1
            block_sep = sep if kept else ""
            room = self._cost(block_sep, number, last.attrs, last.kept) - (tokens - budget)
            if (reason := self._cut(last, last.text[: last.kept_len], number, room, block_sep)) is None:
                kept.append(last)
            else:
                dropped.append(DroppedPassage(last.hit.id, last.rank, reason))

        return AugmentedPrompt(
            prompt=prompt,
            messages=messages,
            sources=[_source(i, c) for i, c in enumerate(ordered, start=1)],
            token_count=tokens,
            budget=budget,
            question=question,
            counter=self.counter.name,
            dropped=sorted(dropped, key=lambda d: d.rank),
            timings={"assemble_ms": (time.perf_counter() - t0) * 1000.0},
        )


def _source(number: int, c: _Candidate) -> Source:
    meta = dict(c.hit.metadata or {})
    start = _int_or_none(meta.get("start"))
    end = _int_or_none(meta.get("end"))
    original = c.hit.text or ""
    if c.truncated and start is not None and (end is None or end - start == len(original)):
        lead = len(original) - len(original.lstrip())  # the text was stripped before use
        end = start + lead + c.kept_len
    doc_id = meta.get("doc_id")
    chunk = meta.get("chunk")
    title = meta.get("title")
    return Source(
        number=number,
        id=c.hit.id,
        text=c.kept,
        score=c.hit.score,
        relevance=c.hit.relevance,
        kind=c.hit.kind,
        rank=c.rank,
        doc_id=None if doc_id is None else str(doc_id),
        chunk=chunk if isinstance(chunk, int | str) and not isinstance(chunk, bool) else None,
        start=start,
        end=end,
        title=None if title is None else str(title),
        metadata=meta,
        truncated=c.truncated,
        token_count=c.tokens,
    )


def assemble_prompt(
    question: str,
    passages: Iterable[Hit],
    *,
    budget: int,
    counter: TokenCounter | str = "cl100k_base",
    template: PromptTemplate = DEFAULT_TEMPLATE,
    dedupe_threshold: float | None = 0.8,
    min_passage_tokens: int = 24,
    cut: Literal["sentence", "word"] = "sentence",
    order: Literal["rank", "lost_in_the_middle"] = "rank",
    max_sources: int | None = None,
) -> AugmentedPrompt:
    """One-shot form of :class:`PromptAssembler`."""
    return PromptAssembler(
        budget=budget,
        counter=counter,
        template=template,
        dedupe_threshold=dedupe_threshold,
        min_passage_tokens=min_passage_tokens,
        cut=cut,
        order=order,
        max_sources=max_sources,
    ).assemble(question, passages)


__all__ = [
    "AugmentedPrompt",
    "DropReason",
    "DroppedPassage",
    "PromptAssembler",
    "Source",
    "assemble_prompt",
]
