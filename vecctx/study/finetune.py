"""Fine-tune a sentence-transformers embedder with in-batch negatives, and account its cost.

The loop is sentence-transformers' own loss (``MultipleNegativesRankingLoss``: each query's
positive against every other passage in the batch, plus its hard negative when the examples
carry one) driven by a plain AdamW loop with linear warm-up and decay, so the steps, the
threads and the seed are exactly what :class:`TrainConfig` says and the cost is measured
around nothing but training. Batches never hold the same passage twice (a duplicate would
be an in-batch false negative).
"""

from __future__ import annotations

import importlib
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.embedders.offline import require, set_offline
from vecctx.study.pairs import Example


@dataclass(frozen=True)
class TrainConfig:
    """Fixed before any test figure was seen (sentence-transformers' usual recipe for small
    data); the study does not tune them on the test split."""

    epochs: int = 3
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup: float = 0.1
    max_seq_length: int = 256
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2 or self.learning_rate <= 0 or self.threads < 1:
            raise ConfigError(f"invalid training configuration: {self}")


@dataclass
class TrainResult:
    path: Path
    pairs: int
    steps: int
    seconds: float
    cpu_seconds: float
    model_bytes: int
    losses: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["path"] = str(self.path)
        return out


def dir_bytes(path: Path) -> int:
    """Bytes on disk of a model directory (or file)."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def batches(examples: Sequence[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Shuffled batches of ``size`` in which no query or passage repeats; an example that
    would repeat one waits for a later batch; a last partial batch of one is dropped."""
    pending = list(examples)
    rng.shuffle(pending)
    out: list[list[Example]] = []
    while pending:
        batch: list[Example] = []
        seen: set[str] = set()
        rest: list[Example] = []
        for ex in pending:
            texts = {ex.query, ex.positive} | ({ex.negative} if ex.negative else set())
            if len(batch) < size and not (texts & seen):
                batch.append(ex)
                seen |= texts
            else:
                rest.append(ex)
        if len(batch) < 2:
            break
        out.append(batch)
        pending = rest
    return out


def finetune(
    base: str | os.PathLike[str],
    examples: Sequence[Example],
    out: str | os.PathLike[str],
    config: TrainConfig,
    *,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Fine-tune the model at ``base`` on ``examples`` and save it to ``out``."""
    if len(examples) < 2:
        raise InvalidInputError(f"fine-tuning needs at least 2 examples, got {len(examples)}")
    set_offline()
    torch = require("torch", "torch==2.13.0")
    st = require("sentence_transformers", "sentence-transformers")
    transformers = require("transformers", "transformers")
    try:
        losses = importlib.import_module("sentence_transformers.sentence_transformer.losses")
    except ImportError:  # sentence-transformers < 6
        losses = importlib.import_module("sentence_transformers.losses")
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    model = st.SentenceTransformer(str(base), device="cpu", local_files_only=True)
    indexing_length = model.max_seq_length
    model.max_seq_length = config.max_seq_length  # training length only: saved as it was
    loss_fn = losses.MultipleNegativesRankingLoss(model)
    plan = [batches(examples, config.batch_size, rng) for _ in range(config.epochs)]
    total = sum(len(p) for p in plan)
    if total == 0:
        raise InvalidInputError("no batch of two distinct examples could be formed")
    opt = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    sched = transformers.get_linear_schedule_with_warmup(opt, int(total * config.warmup), total)
    preprocess = getattr(model, "preprocess", None) or model.tokenize
    trace: list[float] = []
    model.train()
    t0, c0 = time.perf_counter(), time.process_time()
    step = 0
    for epoch in plan:
        for batch in epoch:
            columns = [[e.query for e in batch], [e.positive for e in batch]]
            if all(e.negative for e in batch):
                columns.append([e.negative or "" for e in batch])
            features = [preprocess(c) for c in columns]
            loss = loss_fn(features, None)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            trace.append(float(loss.detach()))
            step += 1
            if progress is not None and (step % 10 == 0 or step == total):
                progress(f"  step {step}/{total} loss {trace[-1]:.3f}")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    model.eval()
    model.max_seq_length = indexing_length
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    model.save(str(target))
    return TrainResult(target, len(examples), step, seconds, cpu, dir_bytes(target), trace)


__all__ = ["TrainConfig", "TrainResult", "batches", "dir_bytes", "finetune"]
