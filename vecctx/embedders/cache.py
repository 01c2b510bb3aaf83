"""An on-disk embedding cache keyed by (model name, text hash), so re-runs skip the model.

One SQLite file per model under the cache directory (``$VECCTX_CACHE``, default
``~/.cache/vecctx``). SQLite in WAL mode is safe across processes and survives a crash
mid-write (a half-written batch is simply absent). :class:`CachedEmbedder` wraps any
embedder and satisfies the same protocol.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vecctx.contract.errors import ConfigError
from vecctx.contract.types import FloatArray
from vecctx.embedders.base import Embedder, EmbedderBase, TextTokenizer


def default_cache_dir() -> Path:
    env = os.environ.get("VECCTX_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vecctx"


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:20]


class EmbeddingCache:
    """Vectors of one model, keyed by the SHA-256 of the exact text that was embedded."""

    def __init__(
        self, model_name: str, dimension: int, *, directory: str | os.PathLike[str] | None = None
    ) -> None:
        root = Path(directory).expanduser() if directory is not None else default_cache_dir()
        root.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name)[:80]
        digest = hashlib.sha256(model_name.encode()).hexdigest()[:10]
        self.path = root / f"emb-{safe}-{digest}.sqlite"
        self.model_name = model_name
        self.dimension = dimension
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=60.0)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS vec (key BLOB PRIMARY KEY, v BLOB NOT NULL)")
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('model', ?), ('dimension', ?)",
                (model_name, str(dimension)),
            )
            self._db.commit()
            rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if rows.get("model") != model_name or rows.get("dimension") != str(dimension):
            raise ConfigError(
                f"embedding cache {self.path} holds model {rows.get('model')!r} "
                f"({rows.get('dimension')}-d), not {model_name!r} ({dimension}-d)"
            )

    def __len__(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM vec").fetchone()
        return int(n)

    def get_many(self, texts: Sequence[str]) -> list[FloatArray | None]:
        keys = [text_key(t) for t in texts]
        found: dict[bytes, bytes] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                marks = ",".join("?" * len(part))
                found.update(
                    self._db.execute(f"SELECT key, v FROM vec WHERE key IN ({marks})", part).fetchall()
                )
        out: list[FloatArray | None] = []
        for k in keys:
            blob = found.get(k)
            out.append(None if blob is None else np.frombuffer(blob, dtype=np.float32).copy())
        return out

    def put_many(self, texts: Sequence[str], vectors: FloatArray) -> None:
        if vectors.shape != (len(texts), self.dimension):
            raise ValueError(f"expected vectors of shape {(len(texts), self.dimension)}, got {vectors.shape}")
        rows = [
            (text_key(t), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?)", rows)
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedEmbedder(EmbedderBase):
    """An embedder whose document and query vectors are looked up in an
    :class:`EmbeddingCache` first; only misses reach the model. Keys include the prefix."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        cache: EmbeddingCache | None = None,
        directory: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(
            name=embedder.name,
            query_prefix=embedder.query_prefix,
            passage_prefix=embedder.passage_prefix,
            normalized=embedder.normalized,
        )
        self.inner = embedder
        self.cache = (
            cache
            if cache is not None
            else EmbeddingCache(embedder.name, embedder.dimension, directory=directory)
        )
        if self.cache.model_name != embedder.name:
            raise ConfigError(f"cache is for {self.cache.model_name!r}, embedder is {embedder.name!r}")
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.inner!r}, cache={str(self.cache.path)!r})"

    def _find_dimension(self) -> int:
        return self.inner.dimension

    def _find_max_input_tokens(self) -> int:
        return self.inner.max_input_tokens

    def _find_tokenizer(self) -> TextTokenizer:
        return self.inner.tokenizer

    def _embed_as(self, texts: list[str], *, query: bool) -> FloatArray:
        """The cached vectors of ``texts``; the misses are embedded by the inner embedder (a text
        repeated among them once) and stored. A query's key is marked apart from a passage's."""
        tag = "\x00query\x00" + self.query_prefix if query else self.passage_prefix
        got = self.cache.get_many([tag + t for t in texts])
        missing = [i for i, v in enumerate(got) if v is None]
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if missing:
            unique: dict[str, int] = {}
            for i in missing:
                unique.setdefault(texts[i], len(unique))
            order = list(unique)
            if query:
                fresh = np.stack([self.inner.embed_query(t) for t in order])
            else:
                fresh = self.inner.embed_documents(order)
            self.cache.put_many([tag + t for t in order], fresh)
            out[missing] = fresh[[unique[texts[i]] for i in missing]]
        for i, v in enumerate(got):
            if v is not None:
                out[i] = v
        return out


__all__ = ["CachedEmbedder", "EmbeddingCache", "default_cache_dir", "text_key"]
