"""What an answer needs before and after the model is called, without I/O.

:func:`prepare_answer` assembles the prompt to the model's own context window and returns an
:class:`AnswerJob` (the chat messages and generation options); :meth:`AnswerJob.build` turns
the model's :class:`~vecctx.llm.base.Completion` and the support check into an
:class:`Answer`. The sync and async shells (:mod:`vecctx.answers._async.run` and its generated
twin) only call the model between the two.

The prompt budget is ``context_window - max_tokens - chat overhead``, counted with the model's
own counter (``llm.counter``). The chat overhead is an allowance for the tokens a chat template
adds around each message and before the reply (:data:`CHAT_TOKENS_PER_MESSAGE` per message plus
:data:`CHAT_TOKENS_REPLY`; ChatML, which SmolLM2 uses, adds 5 and 3), since the assembler counts
the messages' contents only. So the request fits the window and the model never reports a
context overflow for it: fewer or shorter sources are packed instead.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict, Unpack

from vecctx.answers.support import DEFAULT_THRESHOLDS, SentenceSupport, SupportThresholds
from vecctx.contract.errors import ConfigError, InvalidInputError, VecctxError
from vecctx.contract.types import Hit
from vecctx.contract.validation import check_count
from vecctx.llm.base import LLM, AsyncLLM, Completion, GenerateOptions, Usage
from vecctx.prompt.assemble import AugmentedPrompt, PromptAssembler, Source
from vecctx.prompt.citations import CitationReport, check_citations, replace_markers
from vecctx.prompt.template import ChatMessage, PromptTemplate
from vecctx.prompt.tokens import TokenCounter
from vecctx.retrieval.retriever import QueryEmbedder

ABSTAIN_ANSWER = "I don't know"
"""What the model is asked to reply, exactly, when the sources do not hold the answer."""

ABSTAIN_INSTRUCTION = (
    f'If the sources above do not contain the answer, reply exactly "{ABSTAIN_ANSWER}" and nothing else.'
)
CHAT_TOKENS_PER_MESSAGE = 8
CHAT_TOKENS_REPLY = 8
DEFAULT_MAX_TOKENS = 256

# What an answer's assembler keeps of the Augmenter's (the budget and counter are the model's).
_ASSEMBLER_SETTINGS = (
    "dedupe_threshold",
    "shingle_size",
    "min_passage_tokens",
    "cut",
    "ellipsis",
    "order",
    "max_sources",
)
_ABSTENTIONS = frozenset({"i dont know", "i do not know", "im not sure", "i am not sure"})
_ABSTENTION_LEADS = ("the answer is ", "answer ", "a ")
_NON_WORD_RE = re.compile(r"[^\w\s]")


class AnswerOptions(TypedDict, total=False):
    """How to answer, each optional.

    ``max_tokens``: the answer's allowance (default 256), reserved in the context window;
    ``temperature``: default 0 (greedy, reproducible); ``abstain``: ask the model to reply
    exactly "I don't know" when the sources do not hold the answer (default False);
    ``budget``: a cap on the prompt's tokens below what the window leaves; ``judge``: also ask
    the model whether each cited sentence is supported (one short call per cited sentence;
    default False); ``thresholds``: :class:`~vecctx.answers.support.SupportThresholds`;
    ``cite``: constrain decoding so every sentence ends with a citation of a source in the
    prompt, or the answer is "I don't know." (default False; for small local models that do not
    cite by themselves: see :func:`vecctx.llm.citation_grammar`).
    """

    max_tokens: int
    temperature: float
    abstain: bool
    cite: bool
    budget: int
    judge: bool
    thresholds: SupportThresholds


class AnswerPendingError(VecctxError):
    """A streamed answer was read before its stream was exhausted."""


def is_abstention(text: str) -> bool:
    """Whether ``text`` is an "I don't know": its first sentence, without citation markers,
    punctuation, case or spacing, is "i dont know", "i do not know" or "im not sure" (or "i am
    not sure"), alone or after "the answer is" / "answer" (small models write
    ``The answer is "I don't know".``)."""
    from vecctx.chunking import sentence_ends

    ends = sentence_ends(text)
    first = text[: ends[0]] if ends else text
    words = _NON_WORD_RE.sub("", replace_markers(first.replace("\u2019", "'"), lambda _m: " ").lower())
    said = " ".join(words.split())
    stripped = True
    while stripped:  # "A: The answer is ..." drops both leads
        stripped = False
        for lead in _ABSTENTION_LEADS:
            if said.startswith(lead):
                said, stripped = said[len(lead) :], True
    return said in _ABSTENTIONS


def abstain_template(template: PromptTemplate) -> PromptTemplate:
    """``template`` whose user text ends with :data:`ABSTAIN_INSTRUCTION` (the last words a
    small model reads before answering)."""
    return replace(template, user=f"{template.user.rstrip()}\n{ABSTAIN_INSTRUCTION}")


def chat_overhead(template: PromptTemplate) -> int:
    """The allowance for the chat template's tokens around the messages ``template`` renders."""
    return CHAT_TOKENS_PER_MESSAGE * (2 if template.system else 1) + CHAT_TOKENS_REPLY


def model_assembler(
    base: PromptAssembler, counter: TokenCounter, *, abstain: bool = False
) -> PromptAssembler:
    """``base``'s settings with the model's ``counter`` (and the abstain instruction)."""
    kept = {name: getattr(base, name) for name in _ASSEMBLER_SETTINGS}
    template = abstain_template(base.template) if abstain else base.template
    return PromptAssembler(budget=base.budget, counter=counter, template=template, **kept)


def prompt_budget(
    context_window: int, max_tokens: int, template: PromptTemplate, budget: int | None = None
) -> int:
    """The prompt's token budget: what the window leaves after the answer and the chat
    overhead, capped by ``budget``."""
    room = context_window - max_tokens - chat_overhead(template)
    if room < 1:
        raise ConfigError(
            f"max_tokens={max_tokens} leaves no room for a prompt in the model's context window of "
            f"{context_window} tokens"
        )
    return room if budget is None else min(room, check_count(budget, "budget", minimum=1))


@dataclass(slots=True)
class Answer:
    """A model's answer to a question, with what it was built from and how it holds up.

    ``text``: the answer (stripped); ``prompt``: the assembled prompt (``sources`` are its
    numbered sources); ``citations``: its markers checked against them (markers citing nothing:
    ``citations.invalid_markers``; sentences citing nothing: ``citations.uncited_sentences``;
    sources never used: ``citations.uncited_sources``); ``support``: one
    :class:`~vecctx.answers.support.SentenceSupport` per sentence; ``abstained``: the answer is
    an "I don't know" (:func:`is_abstention`); ``usage``: the model's token counts for the
    answer; ``timings``: milliseconds of each stage, ``retrieve_ms``, ``rerank_ms``,
    ``assemble_ms``, ``generate_ms``, ``support_ms`` and ``total_ms`` (a stream adds
    ``first_token_ms``); ``model``: the model's name; ``finish_reason``: ``"stop"``, or
    ``"length"`` when ``max_tokens`` cut the answer.
    """

    question: str
    text: str
    prompt: AugmentedPrompt
    citations: CitationReport
    support: list[SentenceSupport]
    abstained: bool
    usage: Usage
    timings: dict[str, float]
    model: str
    finish_reason: str

    @property
    def sources(self) -> list[Source]:
        return self.prompt.sources

    @property
    def unsupported(self) -> list[SentenceSupport]:
        """Cited sentences the check found unsupported."""
        return [s for s in self.support if s.supported is False]

    def to_dict(self) -> dict[str, Any]:
        c = self.citations
        return {
            "question": self.question,
            "text": self.text,
            "abstained": self.abstained,
            "model": self.model,
            "finish_reason": self.finish_reason,
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
            },
            "timings": dict(self.timings),
            "citations": {
                "cited": c.cited,
                "uncited_sources": c.uncited,
                "invalid": c.invalid,
                "invalid_markers": [m.text for m in c.invalid_markers],
                "uncited_sentences": [s.text for s in c.uncited_sentences],
            },
            "support": [s.to_dict() for s in self.support],
            "sources": [s.to_dict() for s in self.sources],
        }


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


@dataclass(slots=True)
class AnswerJob:
    """An answer in the making: the prompt and how to call the model (``messages``,
    ``generate``), then what checks the reply (``embedder``, ``judge``, ``thresholds``).
    ``timings`` holds the stages done so far; ``started`` is their ``perf_counter`` start."""

    prompt: AugmentedPrompt
    generate: GenerateOptions
    started: float
    timings: dict[str, float] = field(default_factory=dict)
    embedder: QueryEmbedder | None = None
    judge: bool = False
    thresholds: SupportThresholds = DEFAULT_THRESHOLDS

    @property
    def messages(self) -> list[ChatMessage]:
        return self.prompt.messages

    def build(
        self,
        completion: Completion,
        support: list[SentenceSupport],
        *,
        generate_ms: float,
        support_ms: float,
        first_token_ms: float | None = None,
    ) -> Answer:
        """The :class:`Answer` for the model's ``completion`` and the ``support`` check of
        :func:`answer_text` of it."""
        timings = {**self.timings, "generate_ms": generate_ms, "support_ms": support_ms}
        if first_token_ms is not None:
            timings["first_token_ms"] = first_token_ms
        timings["total_ms"] = _ms(self.started)
        text = answer_text(completion)
        return Answer(
            question=self.prompt.question,
            text=text,
            prompt=self.prompt,
            citations=check_citations(text, self.prompt),
            support=support,
            abstained=is_abstention(text),
            usage=completion.usage,
            timings=timings,
            model=completion.model,
            finish_reason=completion.finish_reason,
        )


def answer_text(completion: Completion) -> str:
    """The answer as checked and reported: the completion's text, stripped."""
    return completion.text.strip()


def prepare_answer(
    question: str,
    hits: list[Hit],
    *,
    llm: LLM | AsyncLLM,
    assembler: PromptAssembler,
    started: float,
    timings: dict[str, float],
    embedder: QueryEmbedder | None = None,
    **options: Unpack[AnswerOptions],
) -> AnswerJob:
    """Assemble ``hits`` (best first) for ``llm``'s window and return the job to run.

    ``assembler`` gives every setting but the budget and counter (the model's);
    ``timings`` holds the stages already done (``retrieve_ms``, ``rerank_ms``); ``options``
    are :class:`AnswerOptions`.
    """
    unknown = set(options) - set(AnswerOptions.__annotations__)
    if unknown:
        raise InvalidInputError(f"unknown answer option(s) {sorted(unknown)}")
    opts = options
    max_tokens = check_count(opts.get("max_tokens", DEFAULT_MAX_TOKENS), "max_tokens", minimum=1)
    abstain = opts.get("abstain", False)
    judge = opts.get("judge", False)
    cite = opts.get("cite", False)
    for name, flag in (("abstain", abstain), ("judge", judge), ("cite", cite)):
        if not isinstance(flag, bool):
            raise InvalidInputError(f"{name} must be a bool, got {type(flag).__name__}")
    thresholds = opts.get("thresholds", DEFAULT_THRESHOLDS)
    if not isinstance(thresholds, SupportThresholds):
        raise InvalidInputError("thresholds must be a SupportThresholds")
    t = time.perf_counter()
    model = model_assembler(assembler, llm.counter, abstain=abstain)
    budget = prompt_budget(llm.context_window, max_tokens, model.template, opts.get("budget"))
    prompt = model.assemble(question, hits, budget=budget)
    timings = {**timings, "assemble_ms": _ms(t)}
    prompt.timings.update(timings)
    generate: GenerateOptions = {"max_tokens": max_tokens, "temperature": float(opts.get("temperature", 0.0))}
    if cite and prompt.sources:
        generate["cite_sources"] = len(prompt.sources)
    return AnswerJob(
        prompt=prompt,
        generate=generate,
        started=started,
        timings=timings,
        embedder=embedder,
        judge=judge,
        thresholds=thresholds,
    )


__all__ = [
    "ABSTAIN_ANSWER",
    "ABSTAIN_INSTRUCTION",
    "CHAT_TOKENS_PER_MESSAGE",
    "CHAT_TOKENS_REPLY",
    "Answer",
    "AnswerJob",
    "AnswerOptions",
    "AnswerPendingError",
    "abstain_template",
    "answer_text",
    "chat_overhead",
    "is_abstention",
    "model_assembler",
    "prepare_answer",
    "prompt_budget",
]
