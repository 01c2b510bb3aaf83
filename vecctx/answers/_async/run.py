"""The I/O of an answer, written once: ``scripts/unasync.py`` generates the synchronous twin
(``vecctx/answers/_sync/run.py``: :func:`generate_answer`, :class:`AnswerStream`,
:func:`check_support`) from the async code here. Everything else is in
:mod:`vecctx.answers.core` and :mod:`vecctx.answers.support`, without I/O.
"""

# unasync: agenerate_answer -> generate_answer
# unasync: acheck_support -> check_support

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING

from vecctx.answers.core import Answer, AnswerJob, AnswerPendingError, answer_text
from vecctx.answers.support import (
    DEFAULT_THRESHOLDS,
    JUDGE_MAX_TOKENS,
    SentenceSupport,
    SupportThresholds,
    judge_messages,
    measure_support,
    parse_judgement,
    with_judgement,
)
from vecctx.contract.errors import LLMError
from vecctx.llm.base import AsyncLLM, Completion

if TYPE_CHECKING:
    from vecctx.prompt import Source
    from vecctx.retrieval.retriever import QueryEmbedder


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


async def acheck_support(
    answer: str,
    sources: Sequence[Source],
    *,
    embedder: QueryEmbedder | None = None,
    judge: AsyncLLM | None = None,
    thresholds: SupportThresholds = DEFAULT_THRESHOLDS,
) -> list[SentenceSupport]:
    """Each sentence of ``answer`` with how well the ``sources`` it cites support it
    (:mod:`vecctx.answers.support`); ``judge`` is asked once per measured sentence."""
    measured = measure_support(answer, sources, embedder=embedder, thresholds=thresholds)
    if judge is None:
        return measured
    out: list[SentenceSupport] = []
    for s in measured:
        if s.supported is not None:  # measured: it cites a source and claims something
            reply = await judge.complete(
                judge_messages(s, sources), max_tokens=JUDGE_MAX_TOKENS, temperature=0.0
            )
            s = with_judgement(s, parse_judgement(reply.text))
        out.append(s)
    return out


async def _finish(
    job: AnswerJob, completion: Completion, llm: AsyncLLM, generate_ms: float, first_token_ms: float | None
) -> Answer:
    t = time.perf_counter()
    support = await acheck_support(
        answer_text(completion),
        job.prompt.sources,
        embedder=job.embedder,
        judge=llm if job.judge else None,
        thresholds=job.thresholds,
    )
    return job.build(
        completion, support, generate_ms=generate_ms, support_ms=_ms(t), first_token_ms=first_token_ms
    )


async def agenerate_answer(job: AnswerJob, llm: AsyncLLM) -> Answer:
    """Call ``llm`` with the job's prompt, check the reply, return the :class:`Answer`."""
    t = time.perf_counter()
    completion = await llm.complete(job.messages, **job.generate)
    return await _finish(job, completion, llm, _ms(t), None)


class AsyncAnswerStream:
    """An answer as the model writes it.

    Iterate it for the pieces of text; once it is exhausted, :attr:`answer` holds the
    :class:`~vecctx.answers.Answer` (its ``timings`` add ``first_token_ms``). :attr:`prompt`
    (the numbered sources) is known before the first piece. :meth:`result` consumes what is
    left and returns the answer; closing it (or leaving its ``with`` block) stops early.
    """

    def __init__(self, job: AnswerJob, llm: AsyncLLM) -> None:
        self.job = job
        self.prompt = job.prompt
        self._llm = llm
        self._answer: Answer | None = None
        self._pieces = self._run()

    async def _run(self) -> AsyncGenerator[str, None]:
        t = time.perf_counter()
        first: float | None = None
        completion: Completion | None = None
        async for chunk in self._llm.stream(self.job.messages, **self.job.generate):
            if chunk.text:
                first = _ms(t) if first is None else first
                yield chunk.text
            if chunk.completion is not None:
                completion = chunk.completion
        if completion is None:
            raise LLMError(f"{self._llm.name}: the stream ended without its final chunk")
        self._answer = await _finish(self.job, completion, self._llm, _ms(t), first)

    def __aiter__(self) -> AsyncGenerator[str, None]:
        return self._pieces

    @property
    def answer(self) -> Answer:
        """The answer, once the stream is exhausted."""
        if self._answer is None:
            raise AnswerPendingError(
                "the answer is known once the stream is exhausted: iterate it or call result()"
            )
        return self._answer

    async def result(self) -> Answer:
        """Consume the rest of the stream and return the answer."""
        async for _ in self._pieces:
            pass
        return self.answer

    async def aclose(self) -> None:
        """Stop the stream (the model stops writing when its client closes)."""
        await self._pieces.aclose()

    async def __aenter__(self) -> AsyncAnswerStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


__all__ = ["AsyncAnswerStream", "acheck_support", "agenerate_answer"]
