"""Ingest CPU and query latency of vecctx against the raw model it wraps (``ingest_cpu``).

On the first ``docs`` SciFact abstracts, in one process with every thread pool pinned to one
thread, this measures the process CPU time (:func:`time.process_time`: every thread of the
process, the store's native threads included) of

* **vecctx ingest**: :class:`vecctx.ingest.Ingestor` with the default embedder
  (:func:`vecctx.embedders.default_embedder`, no embedding cache) into the default store
  (embedded Qdrant Edge, in a temporary directory); the index build that follows
  (``store.optimize``) is measured apart;
* **raw model, the same chunks**: the model's own runtime (the ONNX Runtime session or the
  ``SentenceTransformer`` the default embedder runs, opened again beside it) encoding the very
  texts the ingest embedded (:func:`vecctx.ingest.embed_text`: a chunk after its document's
  title when it lacks it), sorted by token length, in one call (in batches of the
  embedder's own size);
* **raw model, the documents**: the same runtime encoding each document once (cut at the
  model's input limit), which is the least a document can cost;

and counts the model tokens of the documents and of the texts embedded for the chunks
(overlap and titles included; without special tokens). Query latency, with the model running
(nothing cached): p50 of embed + dense search through vecctx (the retriever of
:class:`vecctx.Augmenter`) against the raw runtime's embedding + the native client's search on the same shard (``qdrant_edge``
``EdgeShard.query`` on ``store.driver.native_shard(name)``), A/B interleaved.

``python -m vecctx_bench.ingest_cpu [--docs N] [--queries Q] [--json OUT]`` prints the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vecctx.contract.types import FloatArray

from .backends import driver_extra, remove_tree
from .measures import load_average, summary

#: Texts per batch of the raw model's single length-sorted call where the embedder names no
#: batch size of its own (an ``OnnxEmbedder`` does: 1 for the default, dynamically quantised).
RAW_BATCH = 32
#: Where #18 wants the ratios: ingest CPU / raw chunks CPU, chunk tokens / document tokens,
#: vecctx query p50 / native query p50.
TARGETS = {"ingest_cpu": 1.15, "tokens": 1.1, "query_p50": 1.1}
COLLECTION = "ingestcpu"
WARMUP = 5


def cpu_now() -> float:
    """CPU seconds of this process so far (user + system, every thread), plus those of its
    finished child processes (Qdrant Edge builds its index in one)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass
class RawModel:
    """The model the default embedder runs, called directly: ``encode(texts)`` returns
    normalised mean-pooled rows in the order given, in batches of ``batch`` texts."""

    runtime: str
    encode_batch: Callable[[list[str]], FloatArray]
    count: Callable[[str], int]
    batch: int = RAW_BATCH

    def encode(self, texts: Sequence[str]) -> FloatArray:
        rows = [self.encode_batch(list(texts[i : i + self.batch])) for i in range(0, len(texts), self.batch)]
        out = np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        normed: FloatArray = (out / np.clip(norms, 1e-12, None)).astype(np.float32)
        return normed

    def sort_by_length(self, texts: Sequence[str]) -> list[str]:
        """``texts`` longest first, by token count (so each batch pads least)."""
        return sorted(texts, key=self.count, reverse=True)


def raw_model(embedder: Any, *, threads: int = 1) -> RawModel:
    """The runtime behind ``embedder`` (an :class:`~vecctx.embedders.OnnxEmbedder` or a
    :class:`~vecctx.embedders.SentenceTransformerEmbedder`), opened again with ``threads``
    threads, without vecctx around it."""
    from vecctx.embedders import offline

    kind = type(embedder).__name__
    if kind == "OnnxEmbedder":
        ort: Any = importlib.import_module("onnxruntime")
        tokenizers: Any = importlib.import_module("tokenizers")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(embedder.model_file), options, providers=["CPUExecutionProvider"])
        tok_file = getattr(embedder, "tokenizer_file", None) or offline.minilm_tokenizer_path()
        tok = tokenizers.Tokenizer.from_file(str(tok_file))
        tok.enable_truncation(max_length=int(embedder.max_input_tokens))
        tok.enable_padding(pad_id=tok.token_to_id("[PAD]") or 0, pad_token="[PAD]")
        counter = tokenizers.Tokenizer.from_file(str(tok_file))
        counter.no_truncation()  # tokenizer.json may carry its own truncation and padding
        counter.no_padding()
        inputs = {i.name for i in session.get_inputs()}

        def encode_onnx(texts: list[str]) -> FloatArray:
            encs = tok.encode_batch(texts)
            ids = np.array([e.ids for e in encs], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in inputs:
                feeds["token_type_ids"] = np.array([e.type_ids for e in encs], dtype=np.int64)
            tokens = session.run(None, feeds)[0]
            w = mask[:, :, None].astype(np.float32)
            pooled: FloatArray = ((tokens * w).sum(axis=1) / np.clip(w.sum(axis=1), 1e-9, None)).astype(
                np.float32
            )
            return pooled

        def count_onnx(text: str) -> int:
            return len(counter.encode(text, add_special_tokens=False).ids)

        return RawModel(
            f"onnxruntime {ort.__version__} ({Path(embedder.model_file).name})",
            encode_onnx,
            count_onnx,
            batch=int(embedder.batch_size),
        )
    if kind == "SentenceTransformerEmbedder":
        torch: Any = importlib.import_module("torch")
        st: Any = importlib.import_module("sentence_transformers")
        torch.set_num_threads(threads)
        model = st.SentenceTransformer(str(offline.minilm_path()), device="cpu")

        def encode_st(texts: list[str]) -> FloatArray:
            out: FloatArray = np.asarray(
                model.encode(texts, batch_size=RAW_BATCH, convert_to_numpy=True), dtype=np.float32
            )
            return out

        def count_st(text: str) -> int:
            return len(model.tokenizer(text, add_special_tokens=False)["input_ids"])

        # SentenceTransformer.encode sorts by length and batches itself: one call for all texts
        return RawModel(f"sentence-transformers {st.__version__}", encode_st, count_st, batch=1 << 30)
    raise TypeError(f"no raw runtime known for {kind} ({embedder.name})")


def _cpu(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``fn()``."""
    c0, w0 = cpu_now(), time.perf_counter()
    fn()
    return cpu_now() - c0, time.perf_counter() - w0


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def bench_ingest_cpu(
    directory: Path,
    *,
    docs: int,
    queries: int,
    work: Path,
    repeats: int = 1,
    log: Callable[[str], None] = lambda _m: None,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """The figures described in the module docstring, on the first ``docs`` documents of the
    BEIR corpus in ``directory`` and its first ``queries`` judged test queries. Each CPU
    measure runs ``repeats`` times, interleaved (ingest, optimize, raw chunks, raw documents,
    then again), and the medians are kept (every run too, in ``cpu_s_runs``)."""
    import vecctx
    from vecctx.embedders import default_embedder
    from vecctx.eval.beir import load_judgements
    from vecctx.ingest import Ingestor, embed_text
    from vecctx.loaders import load_beir

    out: dict[str, Any] = {"load_before": load_average(), "targets": dict(TARGETS)}
    progress("loading the model")
    embedder = default_embedder(threads=1)
    raw = raw_model(embedder, threads=1)
    out["model"] = embedder.name
    out["runtime"] = raw.runtime
    documents = list(load_beir(directory, limit=docs))
    # model load and first-call allocations are not ingest time: both sides embed the same
    # few full-length texts first
    warm = [d.text for d in documents[:RAW_BATCH]]
    embedder.embed_documents(warm)
    raw.encode(raw.sort_by_length(warm))
    judged = list(load_judgements(directory).judged_queries().values())[:queries]
    store_dir = work / "store"
    store = vecctx.connect(f"qdrant://{store_dir}")
    try:
        ingestor = Ingestor(store, COLLECTION, embedder=embedder)
        chunks = [embed_text(c) for d in documents for _, c, _ in ingestor.chunks_of(d)]
        doc_tokens = sum(raw.count(d.text) for d in documents)
        chunk_tokens = sum(raw.count(t) for t in chunks)
        out.update(
            documents=len(documents),
            chunks=len(chunks),
            doc_tokens=doc_tokens,
            chunk_tokens=chunk_tokens,
            token_ratio=_ratio(chunk_tokens, doc_tokens),
            max_input_tokens=embedder.max_input_tokens,
        )
        report: Any = None

        def run_ingest() -> None:
            nonlocal report
            report = ingestor.ingest(documents)

        ordered = raw.sort_by_length(chunks)
        texts = raw.sort_by_length([d.text for d in documents])
        steps: list[tuple[str, Callable[[], object]]] = [
            ("vecctx_ingest", run_ingest),
            ("vecctx_optimize", lambda: store.optimize(COLLECTION)),
            ("raw_chunks_sorted", lambda: raw.encode(ordered)),
            ("raw_documents", lambda: raw.encode(texts)),
        ]
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in steps}
        for r in range(max(1, repeats)):
            if r:
                store.drop_collection(COLLECTION)
            for name, fn in steps:
                progress(
                    f"repeat {r + 1} of {repeats}: {name} ({len(documents)} documents, {len(chunks)} chunks)"
                )
                runs[name].append(_cpu(fn))
            log(
                f"ingest_cpu: repeat {r + 1}: "
                + ", ".join(
                    f"{name} {v[-1][0]:.1f} CPU s ({v[-1][1]:.1f} s wall)" for name, v in runs.items()
                )
            )
        out["ingest_report"] = {
            "written": report.written,
            "embed_s": report.embed_seconds,
            "store_s": report.store_seconds,
            "chunk_s": report.chunk_seconds,
        }
        progress(f"query latency, {len(judged)} queries")
        out["query"] = _queries(store, embedder, raw, judged)
    finally:
        store.close()
        remove_tree(store_dir)
    cpu = {name: float(np.median([c for c, _ in v])) for name, v in runs.items()}
    out["cpu_s"] = cpu
    out["wall_s"] = {name: float(np.median([w for _, w in v])) for name, v in runs.items()}
    out["cpu_s_runs"] = {name: [c for c, _ in v] for name, v in runs.items()}
    out["repeats"] = max(1, repeats)
    out["ratios"] = {
        "ingest_vs_raw_chunks": _ratio(cpu["vecctx_ingest"], cpu["raw_chunks_sorted"]),
        "ingest_vs_raw_documents": _ratio(cpu["vecctx_ingest"], cpu["raw_documents"]),
        "raw_chunks_vs_raw_documents": _ratio(cpu["raw_chunks_sorted"], cpu["raw_documents"]),
        "tokens": out["token_ratio"],
        "query_p50": out["query"]["p50_ratio"],
    }
    out["load_after"] = load_average()
    for line in lines(out):
        log(line)
    return out


def _queries(store: Any, embedder: Any, raw: RawModel, texts: Sequence[str]) -> dict[str, Any]:
    """p50 of embed + search: through vecctx (the dense retriever, the model embedding each
    query) and through the raw runtime + the native ``qdrant_edge`` query, alternating which
    goes first."""
    from vecctx import Augmenter

    qe: Any = importlib.import_module("qdrant_edge")
    retriever = Augmenter(store=store, collection=COLLECTION, embedder=embedder, mode="dense", k=10).retriever
    assert retriever is not None
    shard = driver_extra(store, "native_shard")(COLLECTION)
    QR, NEAR = qe.QueryRequest, qe.Query.Nearest

    def via_vecctx(text: str) -> Any:
        return [h.id for h in retriever.retrieve(text, k=10).hits]

    def native(text: str) -> Any:
        vec = raw.encode([text])[0]
        res = shard.query(QR(limit=10, query=NEAR(vec.tolist(), using="dense"), with_payload=True))
        return [(p.id, p.score, p.payload) for p in res]

    for text in texts[:WARMUP]:
        via_vecctx(text)
        native(text)
    lat: dict[str, list[float]] = {"vecctx": [], "native": []}
    sides = (("vecctx", via_vecctx), ("native", native))
    for i, text in enumerate(texts):
        for name, fn in sides if i % 2 == 0 else sides[::-1]:
            t0 = time.perf_counter()
            fn(text)
            lat[name].append((time.perf_counter() - t0) * 1000.0)
    v, n = summary(lat["vecctx"]), summary(lat["native"])
    return {
        "queries": len(texts),
        "vecctx_ms": v,
        "native_ms": n,
        "p50_ratio": _ratio(float(v.get("p50", 0.0)), float(n.get("p50", 0.0))),
        "vecctx_side": "Augmenter(mode='dense').retriever.retrieve(text, k=10), default embedder",
        "native_side": "raw runtime encode + qdrant_edge EdgeShard.query(limit=10, with_payload)",
    }


def _f(x: Any, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


def lines(r: dict[str, Any]) -> list[str]:
    """The figures as printed lines."""
    cpu, rat, q = r.get("cpu_s", {}), r.get("ratios", {}), r.get("query", {})
    t = r.get("targets", TARGETS)
    return [
        f"ingest_cpu: {r.get('documents')} documents, {r.get('chunks')} chunks; model {r.get('model')} "
        f"({r.get('runtime')})",
        f"ingest_cpu: tokens: documents {r.get('doc_tokens')}, chunks {r.get('chunk_tokens')}, "
        f"ratio {_f(r.get('token_ratio'), '.3f')} (target <= {t['tokens']})",
        f"ingest_cpu: CPU s (median of {r.get('repeats', 1)}): vecctx ingest {_f(cpu.get('vecctx_ingest'))} (+ optimize "
        f"{_f(cpu.get('vecctx_optimize'))}), raw model on the same chunks sorted by length "
        f"{_f(cpu.get('raw_chunks_sorted'))}, raw model on the documents {_f(cpu.get('raw_documents'))}",
        f"ingest_cpu: ratios: ingest / raw chunks {_f(rat.get('ingest_vs_raw_chunks'), '.3f')} "
        f"(target <= {t['ingest_cpu']}), ingest / raw documents {_f(rat.get('ingest_vs_raw_documents'), '.3f')}",
        f"ingest_cpu: query p50 with the model running: vecctx {_f(q.get('vecctx_ms', {}).get('p50'))} ms, "
        f"raw embed + native search {_f(q.get('native_ms', {}).get('p50'))} ms, ratio "
        f"{_f(q.get('p50_ratio'), '.3f')} (target <= {t['query_p50']}; {q.get('queries')} queries)",
    ]


def main(argv: list[str] | None = None) -> int:
    from vecctx.loaders import data_root

    from . import _log

    p = argparse.ArgumentParser(prog="python -m vecctx_bench.ingest_cpu", description=__doc__.split("\n")[0])
    p.add_argument("--docs", type=int, default=500, help="SciFact documents (the first N)")
    p.add_argument("--queries", type=int, default=100, help="judged test queries for the latency")
    p.add_argument("--repeats", type=int, default=3, help="runs of each CPU measure (medians kept)")
    p.add_argument("--data", type=Path, default=None, help="a BEIR directory (default: SciFact)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    a = p.parse_args(argv)
    directory = a.data or data_root() / "scifact"
    work = Path(tempfile.mkdtemp(prefix="vecctx-ingest-cpu-"))
    try:
        r = bench_ingest_cpu(
            directory, docs=a.docs, queries=a.queries, work=work, repeats=a.repeats, log=_log
        )
    finally:
        with contextlib.suppress(OSError):
            remove_tree(work)
    print("\n".join(lines(r)))
    if a.json is not None:
        a.json.write_text(json.dumps(r, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["RAW_BATCH", "TARGETS", "RawModel", "bench_ingest_cpu", "cpu_now", "lines", "raw_model"]
