"""The facade users call: a question in, an :class:`~vecctx.prompt.AugmentedPrompt` out.

::

    aug = Augmenter(store=vecctx.connect(), collection="docs", embedder=default_embedder())
    prompt = aug.augment("What lowers blood pressure?", filter=F("year") >= 2015, budget=2000)
    prompt.messages      # chat messages for any LLM, sources numbered [1]..[n]
    prompt.sources       # document id, chunk, offsets and metadata of each citation
    prompt.timings       # embed_ms, search_ms, rerank_ms, assemble_ms, total_ms
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from vecctx.contract.errors import ConfigError
from vecctx.contract.store import AsyncVectorStore, FilterArg, SearchParams, VectorStore
from vecctx.prompt import AugmentedPrompt, PromptAssembler
from vecctx.prompt.tokens import TokenCounter
from vecctx.retrieval.rerank import Chain, MMRReranker, Reranker
from vecctx.retrieval.retriever import (
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

    ``candidates`` hits are retrieved (and fused, for hybrid), rerankers choose the final
    ``k``, and the assembler packs them into ``budget`` tokens counted by ``counter``.
    Give ``async_store`` (a native :class:`AsyncVectorStore`) to use :meth:`aaugment`.
    """

    def __init__(
        self,
        *,
        store: VectorStore | None = None,
        collection: str = "vecctx",
        embedder: QueryEmbedder | None = None,
        sparse_encoder: SparseQueryEncoder | None = None,
        mode: Mode | str = Mode.DENSE,
        fusion: HybridFusion | str = HybridFusion.RRF,
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
            mode=Mode(mode),
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

    async def aaugment(
        self, question: str, *, filter: FilterArg = None, budget: int | None = None
    ) -> AugmentedPrompt:
        """Async all the way down to the store's native async client."""
        if self.async_retriever is None:
            raise ConfigError("this Augmenter has no async_store")
        t0 = time.perf_counter()
        depth = self.config.candidates if self.reranker else self.config.k
        result = await self.async_retriever.retrieve(
            question, filter=filter, k=depth, with_vectors=self._needs_vectors
        )
        self._rerank(result)
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


__all__ = ["Augmenter"]
