"""``VecctxEmbeddingRetriever``: a Haystack component for dense retrieval from a vecctx store."""

from __future__ import annotations

from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.document_stores.types import FilterPolicy, apply_filter_policy

from vecctx.contract.validation import check_count
from vecctx_haystack._threads import on_worker_thread
from vecctx_haystack.document_store import VecctxDocumentStore


@component
class VecctxEmbeddingRetriever:
    """Retrieve the documents nearest a query embedding from a :class:`VecctxDocumentStore`.

    ``score`` on each returned document is vecctx's ``relevance`` (in [0, 1], higher is better,
    comparable across backends for a given metric) when ``scale_score`` is true, the default;
    with ``scale_score=False`` it is vecctx's raw score in the metric's unit (cosine similarity,
    dot product, or Euclidean distance, for which lower is closer). Documents are returned best
    first either way. Documents stored without an embedding are never returned.
    """

    def __init__(
        self,
        document_store: VecctxDocumentStore,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = True,
        return_embedding: bool = False,
        filter_policy: FilterPolicy | str = FilterPolicy.REPLACE,
    ) -> None:
        if not isinstance(document_store, VecctxDocumentStore):
            raise TypeError("document_store must be a VecctxDocumentStore")
        self.document_store = document_store
        self.filters = filters
        self.top_k = check_count(top_k, "top_k", minimum=1)
        self.scale_score = scale_score
        self.return_embedding = return_embedding
        self.filter_policy = (
            filter_policy if isinstance(filter_policy, FilterPolicy) else FilterPolicy.from_str(filter_policy)
        )

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self,
            document_store=self.document_store.to_dict(),
            filters=self.filters,
            top_k=self.top_k,
            scale_score=self.scale_score,
            return_embedding=self.return_embedding,
            filter_policy=self.filter_policy.value,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VecctxEmbeddingRetriever:
        params = dict(data.get("init_parameters", {}))  # the caller's dict is left as it was
        data = {**data, "init_parameters": params}
        if isinstance(params.get("document_store"), dict):
            params["document_store"] = VecctxDocumentStore.from_dict(params["document_store"])
        if "filter_policy" in params:
            params["filter_policy"] = FilterPolicy.from_str(params["filter_policy"])
        retriever: VecctxEmbeddingRetriever = default_from_dict(cls, data)
        return retriever

    def _settings(
        self,
        filters: dict[str, Any] | None,
        top_k: int | None,
        scale_score: bool | None,
        return_embedding: bool | None,
    ) -> dict[str, Any]:
        return {
            "filters": apply_filter_policy(self.filter_policy, self.filters, filters),
            "top_k": self.top_k if top_k is None else top_k,  # checked by embedding_retrieval
            "scale_score": self.scale_score if scale_score is None else scale_score,
            "return_embedding": self.return_embedding if return_embedding is None else return_embedding,
        }

    @component.output_types(documents=list[Document])
    def run(
        self,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
        return_embedding: bool | None = None,
    ) -> dict[str, list[Document]]:
        """The ``top_k`` documents nearest ``query_embedding`` that match ``filters``, best first.

        ``filters`` combine with the ones given at construction by ``filter_policy`` (``REPLACE``
        or ``MERGE``).
        """
        settings = self._settings(filters, top_k, scale_score, return_embedding)
        docs = self.document_store.embedding_retrieval(query_embedding, **settings)
        return {"documents": docs}

    run_async = component.output_types(documents=list[Document])(on_worker_thread(run))


__all__ = ["VecctxEmbeddingRetriever"]
