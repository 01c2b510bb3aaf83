"""The facade users call: a question in, an :class:`~vecctx.prompt.AugmentedPrompt` out.

::

    aug = Augmenter(store=vecctx.connect(), collection="docs", embedder=default_embedder())
    prompt = aug.augment("What lowers blood pressure?", filter=F("year") >= 2015, budget=2000)
    prompt.messages      # chat messages for any LLM, sources numbered [1]..[n]
    prompt.sources       # document id, chunk, offsets and metadata of each citation
    prompt.timings       # embed_ms, search_ms, rerank_ms, assemble_ms, total_ms

    answer = aug.answer("What lowers blood pressure?", llm=vecctx.llm.connect_llm(), abstain=True)
    answer.text, answer.citations, answer.support, answer.abstained, answer.usage, answer.timings

:meth:`Augmenter.answer` (``aanswer``, ``stream_answer``, ``astream_answer``) assembles to the
model's own context window and counter, calls the model and checks the reply
(:mod:`vecctx.answers`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Unpack

from vecctx.answers import (
    Answer,
    AnswerJob,
    AnswerOptions,
    AnswerStream,
    AsyncAnswerStream,
    agenerate_answer,
    generate_answer,
    prepare_answer,
)
from vecctx.contract.errors import ConfigError
from vecctx.contract.store import AsyncVectorStore, FilterArg, SearchParams, VectorStore
from vecctx.llm.base import LLM, AsyncLLM
from vecctx.prompt import AugmentedPrompt, PromptAssembler
from vecctx.prompt.tokens import TokenCounter
from vecctx.retrieval.rerank import Chain, MMRReranker, Reranker
from vecctx.retrieval.retriever import (
    DEFAULT_FUSION,
    DEFAULT_MODE,
    AsyncRetriever,
    HybridFusion,
    Mode,
    QueryEmbedder,
    Retrieval,
    Retriever,
    RetrieverConfig,
    SparseQueryEncoder,
)


class Augmenter:
    """Retrieve, rerank and assemble, with the timing of each stage.

    ``mode`` left out is the recommended recipe (:data:`~vecctx.retrieval.retriever.DEFAULT_MODE`,
    hybrid fused by :data:`~vecctx.retrieval.retriever.DEFAULT_FUSION`) when a ``sparse_encoder``
    is given, and dense search otherwise.
    ``candidates`` hits are retrieved (and fused, for hybrid), rerankers choose the final
    ``k``, and the assembler packs them into ``budget`` tokens counted by ``counter``.
    Give ``async_store`` (a native :class:`AsyncVectorStore`) to use :meth:`aaugment`.
    :meth:`answer` assembles with the assembler's settings but the model's window and counter.
    """

    def __init__(
        self,
        *,
        store: VectorStore | None = None,
        collection: str = "vecctx",
        embedder: QueryEmbedder | None = None,
        sparse_encoder: SparseQueryEncoder | None = None,
        mode: Mode | str | None = None,
        fusion: HybridFusion | str = DEFAULT_FUSION,
        weights: tuple[float, float] = (0.5, 0.5),
        candidates: int = 50,
        k: int = 8,
        params: SearchParams | None = None,
        rerankers: Sequence[Reranker] = (),
        budget: int = 3000,
        counter: TokenCounter | str = "cl100k_base",
        assembler: PromptAssembler | None = None,
        async_store: AsyncVectorStore | None = None,
        sparse_store: VectorStore | None = None,
    ) -> None:
        if store is None and async_store is None:
            raise ConfigError("Augmenter needs store= (sync) or async_store= (async)")
        self.config = RetrieverConfig(
            mode=Mode(mode)
            if mode is not None
            else DEFAULT_MODE
            if sparse_encoder is not None
            else Mode.DENSE,
            fusion=HybridFusion(fusion),
            weights=weights,
            candidates=candidates,
            k=k,
            params=params or SearchParams(),
        )
        self.retriever = (
            Retriever(
                store,
                collection,
                embedder=embedder,
                sparse_encoder=sparse_encoder,
                config=self.config,
                sparse_store=sparse_store,
            )
            if store is not None
            else None
        )
        self.async_retriever = (
            AsyncRetriever(
                async_store,
                collection,
                embedder=embedder,
                sparse_encoder=sparse_encoder,
                config=self.config,
            )
            if async_store is not None
            else None
        )
        self.embedder = embedder
        self.reranker: Reranker | None = Chain(list(rerankers)) if rerankers else None
        self._needs_vectors = any(isinstance(r, MMRReranker) for r in rerankers)
        self.assembler = assembler or PromptAssembler(budget=budget, counter=counter)

    def retrieve(self, question: str, *, filter: FilterArg = None) -> Retrieval:
        """Retrieve and rerank, without assembling."""
        if self.retriever is None:
            raise ConfigError("this Augmenter has no sync store: use aaugment")
        depth = self.config.candidates if self.reranker else self.config.k
        result = self.retriever.retrieve(question, filter=filter, k=depth, with_vectors=self._needs_vectors)
        self._rerank(result)
        return result

    def augment(
        self, question: str, *, filter: FilterArg = None, budget: int | None = None
    ) -> AugmentedPrompt:
        t0 = time.perf_counter()
        result = self.retrieve(question, filter=filter)
        return self._assemble(question, result, budget, t0)

    async def aretrieve(self, question: str, *, filter: FilterArg = None) -> Retrieval:
        """:meth:`retrieve` over the async store."""
        if self.async_retriever is None:
            raise ConfigError("this Augmenter has no async_store")
        depth = self.config.candidates if self.reranker else self.config.k
        result = await self.async_retriever.retrieve(
            question, filter=filter, k=depth, with_vectors=self._needs_vectors
        )
        self._rerank(result)
        return result

    async def aaugment(
        self, question: str, *, filter: FilterArg = None, budget: int | None = None
    ) -> AugmentedPrompt:
        """Async all the way down to the store's native async client."""
        t0 = time.perf_counter()
        result = await self.aretrieve(question, filter=filter)
        return self._assemble(question, result, budget, t0)

    def _rerank(self, result: Retrieval) -> None:
        if self.reranker is None:
            return
        t = time.perf_counter()
        result.hits = self.reranker.rerank(result.query, result.hits, k=self.config.k)
        result.timings["rerank_ms"] = (time.perf_counter() - t) * 1000

    def _assemble(self, question: str, result: Retrieval, budget: int | None, t0: float) -> AugmentedPrompt:
        prompt = self.assembler.assemble(question, result.hits[: self.config.k], budget=budget)
        prompt.timings.update(result.timings)
        prompt.timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return prompt

    # -- answers -----------------------------------------------------------------------------

    def answer(
        self, question: str, *, llm: LLM, filter: FilterArg = None, **options: Unpack[AnswerOptions]
    ) -> Answer:
        """Retrieve, assemble to ``llm``'s context window, generate and check the answer.

        ``options`` (:class:`~vecctx.answers.AnswerOptions`): ``max_tokens`` (256),
        ``temperature`` (0), ``abstain`` (ask for exactly "I don't know" when the sources do not
        hold the answer), ``budget`` (a lower cap on the prompt), ``judge`` (the model also
        judges each cited sentence) and the support ``thresholds``.
        """
        return generate_answer(self._answer_job(question, llm, filter, options), llm)

    async def aanswer(
        self, question: str, *, llm: AsyncLLM, filter: FilterArg = None, **options: Unpack[AnswerOptions]
    ) -> Answer:
        """:meth:`answer` over the async store with an async model."""
        return await agenerate_answer(await self._aanswer_job(question, llm, filter, options), llm)

    def stream_answer(
        self, question: str, *, llm: LLM, filter: FilterArg = None, **options: Unpack[AnswerOptions]
    ) -> AnswerStream:
        """:meth:`answer`, streamed: retrieval and assembly happen now (``stream.prompt`` holds
        the sources); iterate the stream for the text as the model writes it, then read
        ``stream.answer``."""
        return AnswerStream(self._answer_job(question, llm, filter, options), llm)

    async def astream_answer(
        self, question: str, *, llm: AsyncLLM, filter: FilterArg = None, **options: Unpack[AnswerOptions]
    ) -> AsyncAnswerStream:
        """:meth:`stream_answer` over the async store with an async model (``async for``)."""
        return AsyncAnswerStream(await self._aanswer_job(question, llm, filter, options), llm)

    def _answer_job(self, question: str, llm: LLM, filter: FilterArg, options: AnswerOptions) -> AnswerJob:
        t0 = time.perf_counter()
        return self._prepare(question, self.retrieve(question, filter=filter), llm, t0, options)

    async def _aanswer_job(
        self, question: str, llm: AsyncLLM, filter: FilterArg, options: AnswerOptions
    ) -> AnswerJob:
        t0 = time.perf_counter()
        return self._prepare(question, await self.aretrieve(question, filter=filter), llm, t0, options)

    def _prepare(
        self, question: str, result: Retrieval, llm: LLM | AsyncLLM, t0: float, options: AnswerOptions
    ) -> AnswerJob:
        """The job for ``result`` (retrieved and reranked since ``t0``): assembled for ``llm``."""
        rerank_ms = result.timings.get("rerank_ms", 0.0)
        timings = {"retrieve_ms": (time.perf_counter() - t0) * 1000 - rerank_ms, "rerank_ms": rerank_ms}
        return prepare_answer(
            question,
            result.hits[: self.config.k],
            llm=llm,
            assembler=self.assembler,
            started=t0,
            timings=timings,
            embedder=self.embedder,
            **options,
        )


__all__ = ["Augmenter"]
