"""Rerankers behind one protocol, chainable.

A reranker takes the query and candidate hits (best first) and returns up to ``k`` hits.
Rerankers that rescore set ``kind=ScoreKind.RERANK`` with a score in [0, 1]; reorderings
(MMR, lost-in-the-middle) keep each hit's retrieval score.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.contract.types import FloatArray, Hit, ScoreKind
from vecctx.retrieval.fusion import rrf
from vecctx.retrieval.retriever import Query

T = TypeVar("T")


@runtime_checkable
class Reranker(Protocol):
    @property
    def name(self) -> str: ...

    def rerank(self, query: Query, hits: Sequence[Hit], *, k: int) -> list[Hit]: ...


def _texts(hits: Sequence[Hit]) -> list[str]:
    out = []
    for h in hits:
        if h.text is None:
            raise InvalidInputError(f"hit {h.id!r} has no text: retrieve with payloads to rerank")
        out.append(h.text)
    return out


def _rescored(hits: Sequence[Hit], scores: Sequence[float], k: int) -> list[Hit]:
    order = sorted(range(len(hits)), key=lambda i: (-scores[i], hits[i].id))[:k]
    out = []
    for i in order:
        s = float(min(1.0, max(0.0, scores[i])))
        out.append(replace(hits[i], score=s, relevance=s, kind=ScoreKind.RERANK))
    return out


class Chain:
    """Apply rerankers in order; each sees the previous one's output. ``depths`` sets how
    many hits each stage keeps (default: all but the last, which keeps ``k``)."""

    def __init__(self, rerankers: Sequence[Reranker], *, depths: Sequence[int] | None = None) -> None:
        if not rerankers:
            raise ConfigError("a rerank chain needs at least one reranker")
        if depths is not None and len(depths) != len(rerankers):
            raise ConfigError("one depth per reranker")
        self.rerankers = list(rerankers)
        self.depths = list(depths) if depths is not None else None

    @property
    def name(self) -> str:
        return " > ".join(r.name for r in self.rerankers)

    def rerank(self, query: Query, hits: Sequence[Hit], *, k: int) -> list[Hit]:
        cur = list(hits)
        for i, r in enumerate(self.rerankers):
            last = i == len(self.rerankers) - 1
            depth = k if last else (self.depths[i] if self.depths else len(cur))
            cur = r.rerank(query, cur, k=depth)
        return cur[:k]


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder`` (for users who can load one: no cross-encoder
    weights are available offline on our machines). Logits are mapped by a sigmoid."""

    def __init__(self, model: str | Any, *, batch_size: int = 32, max_length: int = 512) -> None:
        self._spec = model
        self._model: Any = None if isinstance(model, str) else model
        self.batch_size = batch_size
        self.max_length = max_length

    @property
    def name(self) -> str:
        return f"cross-encoder({self._spec if isinstance(self._spec, str) else type(self._spec).__name__})"

    def _load(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import CrossEncoder
            except ImportError as exc:
                raise ConfigError("CrossEncoderReranker needs: pip install sentence-transformers") from exc
            try:
                self._model = CrossEncoder(self._spec, max_length=self.max_length, device="cpu")
            except Exception as exc:  # hub errors, missing files
                raise ConfigError(f"cannot load cross-encoder {self._spec!r}: {exc}") from exc
        return self._model

    def rerank(self, query: Query, hits: Sequence[Hit], *, k: int) -> list[Hit]:
        if not hits:
            return []
        model = self._load()
        pairs = [(query.text, t) for t in _texts(hits)]
        logits = np.asarray(model.predict(pairs, batch_size=self.batch_size), dtype=np.float64).reshape(-1)
        return _rescored(hits, (1.0 / (1.0 + np.exp(-logits))).tolist(), k)


class BiEncoderReranker:
    """Rescore candidates with a second embedding model (cosine, mapped to [0, 1]).
    ``weight`` < 1 blends with the incoming relevance: ``w * new + (1 - w) * old``."""

    def __init__(self, embedder: Any, *, weight: float = 1.0, label: str | None = None) -> None:
        self.embedder = embedder
        self.weight = weight
        self._label = label

    @property
    def name(self) -> str:
        return self._label or f"bi-encoder({getattr(self.embedder, 'name', type(self.embedder).__name__)})"

    def rerank(self, query: Query, hits: Sequence[Hit], *, k: int) -> list[Hit]:
        if not hits:
            return []
        q = _unit(np.asarray(self.embedder.embed_query(query.text), dtype=np.float32)[None, :])[0]
        docs = _unit(np.asarray(self.embedder.embed_documents(_texts(hits)), dtype=np.float32))
        new = (1.0 + docs @ q) / 2.0
        old = np.array([h.relevance for h in hits])
        return _rescored(hits, (self.weight * new + (1 - self.weight) * old).tolist(), k)


class LateInteractionReranker:
    """ColBERT-style MaxSim over token embeddings of a bundled model (all-MiniLM-L6-v2 by
    default): each query token takes its best-matching passage token; scores are averaged.

    ``cache_size`` keeps the token vectors of that many passages (least recently used out),
    so a passage is encoded once however many queries retrieve it; :meth:`precompute`
    encodes a collection's passages ahead of queries, as a late-interaction index would.
    ``threads`` pins torch's threads when the default model is loaded.
    """

    def __init__(
        self,
        model: Any = None,
        *,
        batch_size: int = 32,
        weight: float = 1.0,
        cache_size: int = 0,
        threads: int | None = 1,
    ) -> None:
        if cache_size < 0:
            raise ConfigError("cache_size must be >= 0")
        self._model = model
        self.threads = threads
        self.batch_size = batch_size
        self.weight = weight
        self.cache_size = cache_size
        self._cache: OrderedDict[str, FloatArray] = OrderedDict()

    def precompute(self, texts: Sequence[str]) -> None:
        """Encode and cache the token vectors of ``texts`` (up to ``cache_size`` of them)."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache][: self.cache_size]
        for i in range(0, len(todo), self.batch_size):
            self._cached_tokens(todo[i : i + self.batch_size])

    def _cached_tokens(self, texts: list[str]) -> list[FloatArray]:
        if self.cache_size == 0:
            return self._tokens(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        fresh = dict(zip(missing, self._tokens(missing), strict=True)) if missing else {}
        out = []
        for t in texts:
            vec = fresh[t] if t in fresh else self._cache[t]
            self._cache[t] = vec
            self._cache.move_to_end(t)
            out.append(vec)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return out

    @property
    def name(self) -> str:
        return "late-interaction(maxsim)"

    def _load(self) -> Any:
        if self._model is None:
            from vecctx.embedders.sentence_transformers import SentenceTransformerEmbedder

            self._model = SentenceTransformerEmbedder(threads=self.threads)._model.get()
        return self._model

    def _tokens(self, texts: list[str]) -> list[FloatArray]:
        model = self._load()
        embs = model.encode(
            texts, output_value="token_embeddings", batch_size=self.batch_size, show_progress_bar=False
        )
        out = []
        for e in embs:
            arr = np.asarray(e.detach().cpu().numpy() if hasattr(e, "detach") else e, dtype=np.float32)
            out.append(_unit(arr[1:-1] if len(arr) > 2 else arr))  # drop [CLS] and [SEP]
        return out

    def rerank(self, query: Query, hits: Sequence[Hit], *, k: int) -> list[Hit]:
        if not hits:
            return []
        q = self._tokens([query.text])[0]
        docs = self._cached_tokens(_texts(hits))
        new = np.array([float((q @ d.T).max(axis=1).mean()) for d in docs])
        new = (1.0 + new) / 2.0
        old = np.array([h.relevance for h in hits])
        return _rescored(hits, (self.weight * new + (1 - self.weight) * old).tolist(), k)


class RRFReranker:
    """Reciprocal rank fusion of several rankings of the same candidates: the incoming order
    (when ``include_input``) and each given reranker's order."""

    def __init__(self, rerankers: Sequence[Reranker], *, include_input: bool = True, rrf_k: int = 60) -> None:
        self.rerankers = list(rerankers)
        self.include_input = include_input
        self.rrf_k = rrf_k

    @property
    def name(self) -> str:
        return (
            "rrf("
            + ", ".join((["input"] if self.include_input else []) + [r.name for r in self.rerankers])
            + ")"
        )

    def rerank(self, query: Query, hits: Sequence[Hit], *, k: int) -> list[Hit]:
        rankings: list[Sequence[Hit]] = [hits] if self.include_input else []
        rankings += [r.rerank(query, hits, k=len(hits)) for r in self.rerankers]
        return rrf(rankings, k=k, rrf_k=self.rrf_k)


class MMRReranker:
    """Maximal marginal relevance: trade relevance to the query (``lambda_``) against
    similarity to passages already chosen. Needs hit vectors and the query vector
    (the pipeline retrieves with vectors when MMR is on)."""

    def __init__(self, *, lambda_: float = 0.7, embedder: Any = None) -> None:
        if not 0.0 <= lambda_ <= 1.0:
            raise ConfigError("MMR lambda_ must be in [0, 1]")
        self.lambda_ = lambda_
        self.embedder = embedder

    @property
    def name(self) -> str:
        return f"mmr({self.lambda_})"

    def rerank(self, query: Query, hits: Sequence[Hit], *, k: int) -> list[Hit]:
        if not hits:
            return []
        vecs = self._vectors(hits)
        q = query.vector
        if q is None:
            if self.embedder is None:
                raise InvalidInputError("MMR needs the query vector or an embedder")
            q = self.embedder.embed_query(query.text)
        return [hits[i] for i in mmr_order(np.asarray(q, dtype=np.float32), vecs, k, self.lambda_)]

    def _vectors(self, hits: Sequence[Hit]) -> FloatArray:
        if all(h.vector is not None and len(h.vector) for h in hits):
            return np.stack([np.asarray(h.vector, dtype=np.float32) for h in hits])
        if self.embedder is None:
            raise InvalidInputError("MMR needs hit vectors (retrieve with_vectors=True) or an embedder")
        return np.asarray(self.embedder.embed_documents(_texts(hits)), dtype=np.float32)


def mmr_order(query: FloatArray, vectors: FloatArray, k: int, lambda_: float) -> list[int]:
    """Indices chosen greedily by maximal marginal relevance (cosine similarities)."""
    docs = _unit(vectors)
    q = _unit(query[None, :])[0]
    rel = docs @ q
    sim = docs @ docs.T
    chosen: list[int] = []
    best_sim = np.full(len(docs), -np.inf)
    remaining = np.ones(len(docs), dtype=bool)
    for _ in range(min(k, len(docs))):
        penalty = np.where(np.isfinite(best_sim), best_sim, 0.0)
        score = lambda_ * rel - (1 - lambda_) * penalty
        score[~remaining] = -np.inf
        i = int(np.argmax(score))
        chosen.append(i)
        remaining[i] = False
        best_sim = np.maximum(best_sim, sim[i])
    return chosen


def reorder_lost_in_the_middle(items: Sequence[T]) -> list[T]:
    """Place the best items (``items`` is best first) at both ends and the weakest in the middle:
    ranks 1 2 3 4 5 6 -> 1 3 5 6 4 2 (Liu et al., "Lost in the Middle", 2023)."""
    seq = list(items)
    return seq[0::2] + seq[1::2][::-1]


class LostInTheMiddle:
    """Reorder so the best passages sit at the start and the end of the context, the
    weakest in the middle (Liu et al., 2023): ranks 1, 3, 5, ... then ..., 6, 4, 2."""

    @property
    def name(self) -> str:
        return "lost-in-the-middle"

    def rerank(self, query: Query, hits: Sequence[Hit], *, k: int) -> list[Hit]:
        return reorder_lost_in_the_middle(list(hits)[:k])


def _unit(m: FloatArray) -> FloatArray:
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    out: FloatArray = (m / norms).astype(np.float32)
    return out


RERANKER_NAMES: dict[str, Callable[[], Reranker]] = {
    "late": LateInteractionReranker,
    "mmr": MMRReranker,
    "litm": LostInTheMiddle,
}

__all__ = [
    "BiEncoderReranker",
    "Chain",
    "CrossEncoderReranker",
    "LateInteractionReranker",
    "LostInTheMiddle",
    "MMRReranker",
    "RERANKER_NAMES",
    "RRFReranker",
    "Reranker",
    "mmr_order",
    "reorder_lost_in_the_middle",
]
