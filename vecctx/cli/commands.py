"""The ``vecctx`` command: demo, ingest, query, ask, eval, bench, collections.

Every mistake prints one line on stderr and exits 2: a usage mistake (no command, an unknown
command or option, a missing argument, a bad value, a global option after the command) and a
user error (bad URL, bad filter, missing data, locked store). ``--verbose`` shows a user error's
traceback and the model libraries' own loading messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from vecctx.cli.settings import DEFAULT_FUSION, DEFAULT_MODE, Settings, load_settings
from vecctx.contract.errors import ConfigError, VecctxError
from vecctx.retrieval.retriever import HybridFusion, Mode

PROG = "vecctx"
app = typer.Typer(
    name=PROG,
    help="Context augmentation (RAG) over any vector database.",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
collections_app = typer.Typer(help="List, inspect and drop collections.", invoke_without_command=True)
app.add_typer(collections_app, name="collections")

_state: dict[str, Any] = {"verbose": False, "settings": Settings()}

StoreOpt = Annotated[str | None, typer.Option("--store", "-s", help="Store URL (env VECCTX_STORE).")]
QuestionArg = Annotated[str, typer.Argument(help="The question.")]
FilterOpt = Annotated[
    str | None, typer.Option("--filter", "-f", help='JSON filter, e.g. \'{"year": {"$gte": 2020}}\'')
]
CollOpt = Annotated[
    str | None, typer.Option("--collection", "-c", help="Collection (env VECCTX_COLLECTION).")
]
ModeOpt = Annotated[Mode, typer.Option(help="Retrieval: dense, sparse (BM25) or hybrid (both, fused).")]
FusionOpt = Annotated[
    HybridFusion, typer.Option(help="How hybrid retrieval fuses its two rankings (DBSF measured best).")
]
KOpt = Annotated[int, typer.Option(min=1, help="Passages in the prompt.")]


@app.callback()
def _main(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and the model libraries' messages.")
    ] = False,
    config: Annotated[Path | None, typer.Option(help="Settings file (default ./vecctx.toml).")] = None,
) -> None:
    _state["verbose"] = verbose
    if ctx.invoked_subcommand is None:
        _no_command(ctx)
    if not verbose:
        from vecctx.cli.quiet import quiet_libraries

        quiet_libraries()
    _state["settings"] = load_settings(config)


@collections_app.callback()
def _collections(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        _no_command(ctx)


def _no_command(ctx: typer.Context) -> None:
    print(f"{PROG}: error: no command given; see '{ctx.command_path} --help'", file=sys.stderr)
    raise typer.Exit(2)


def _settings(**flags: Any) -> Settings:
    s: Settings = _state["settings"]
    return s.with_flags(**flags)


_COLLECTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,47}")


def collection_name_for(path: Path) -> str:
    """The collection named after ``path``'s folder (or file) when that is a valid name
    (a letter, then at most 47 letters, digits, ``_`` or ``-``); otherwise that name cut down
    to those characters (prefixed ``c_`` unless it starts with a letter) plus 8 hex digits of
    the SHA-256 of the absolute path, so ``sci.fact`` and ``sci_fact`` never share a collection."""
    full = path.expanduser().resolve()
    if _COLLECTION_NAME.fullmatch(full.name):
        return full.name
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", full.name).strip("_-")[:40]
    if not base[:1].isalpha():
        base = f"c_{base}" if base else "c"
    digest = hashlib.sha256(os.fsencode(full)).hexdigest()[:8]
    return f"{base}_{digest}"


def _console() -> Any:
    from vecctx.cli.render import make_console

    return make_console()


# -- commands ------------------------------------------------------------------------------
@app.command()
def demo(
    store: StoreOpt = None,
    data: Annotated[str | None, typer.Option(help="Data root holding scifact/ (env VECCTX_DATA).")] = None,
    limit: Annotated[int | None, typer.Option(help="Ingest only the first N documents.")] = None,
    questions: Annotated[int, typer.Option(help="How many sample questions to ask.")] = 3,
    budget: Annotated[int, typer.Option(help="Token budget of each prompt.")] = 1200,
) -> None:
    """Ingest SciFact into the embedded default store and show cited prompts for sample claims."""
    from vecctx.cli.demo import run_demo

    run_demo(
        _settings(store=store, data=data, collection="scifact"),
        limit=limit,
        questions=questions,
        budget=budget,
        data_flag=data is not None,
    )


@app.command()
def ingest(
    path: Annotated[
        Path,
        typer.Argument(
            help="A document or a folder of them (.pdf .html .docx .md .txt, read recursively), "
            "a BEIR directory, or a .jsonl file."
        ),
    ],
    store: StoreOpt = None,
    collection: CollOpt = None,
    sparse: Annotated[bool, typer.Option(help="Also store BM25 sparse vectors (hybrid search).")] = True,
    sync: Annotated[bool, typer.Option(help="Delete documents no longer in PATH.")] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N documents.")] = None,
    text_field: Annotated[str, typer.Option(help="JSONL: the text field.")] = "text",
    id_field: Annotated[str, typer.Option(help="JSONL: the id field.")] = "id",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Chunk, embed (offline model) and upsert documents, idempotently and resumably. Each file
    is read by its type; files skipped (unsupported type, no text layer, unreadable) are listed
    with the reason."""
    from collections.abc import Iterable
    from itertools import islice

    from vecctx.chunking import Document
    from vecctx.cli.session import open_session, read_documents
    from vecctx.loaders import SkippedFile, load_path

    s = _settings(store=store, collection=collection or collection_name_for(path))
    skipped: list[SkippedFile] = []
    docs: Iterable[Document]
    if not path.exists() or (path / "corpus.jsonl").is_file() or (path.is_file() and path.suffix == ".jsonl"):
        docs = read_documents(path, limit=limit, text_field=text_field, id_field=id_field)
    else:
        docs = list(islice(load_path(path, skipped=skipped), limit))
        if not as_json:
            from rich.markup import escape

            con = _console()
            for sk in skipped:
                con.print(f"skipped {escape(str(sk))}", soft_wrap=True)
        if not docs:  # never run (a --sync would empty the collection) on nothing
            first = f" ({skipped[0]})" if skipped else ""
            raise ConfigError(f"nothing to ingest in {path}: {_files(len(skipped))} skipped{first}")
    with open_session(s, sparse=sparse) as sess:
        report = sess.ingest(docs, sync=sync)
    if as_json:
        out = dict(report.to_dict() if hasattr(report, "to_dict") else vars(report))
        out["skipped"] = [{"path": sk.path, "reason": sk.reason} for sk in skipped]
        print(json.dumps(out, default=str))
    else:
        more = f"; {_files(len(skipped))} skipped" if skipped else ""
        _console().print(report.summary() + more)


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


@app.command()
def query(
    question: QuestionArg,
    store: StoreOpt = None,
    collection: CollOpt = None,
    filter: FilterOpt = None,
    mode: ModeOpt = DEFAULT_MODE,
    fusion: FusionOpt = DEFAULT_FUSION,
    k: KOpt = 5,
    budget: Annotated[int | None, typer.Option(min=1, help="Token budget of the prompt.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the prompt, sources and timings as JSON.")
    ] = False,
) -> None:
    """Retrieve, rerank and assemble a cited prompt for QUESTION."""
    from vecctx.cli.render import note
    from vecctx.cli.session import open_session
    from vecctx.contract.filters import parse_filter

    flt = parse_filter(_json_arg(filter, "--filter")) if filter else None
    s = _settings(collection=collection, store=store, budget=budget)
    with open_session(s, sparse=mode != "dense", create=False) as sess:
        aug = sess.augmenter(mode=mode, fusion=fusion, k=k)
        load_s = sess.load_model()  # apart from the query's own timings
        if not as_json:
            note(f"embedding model {sess.embedder.name} ready in {load_s:.1f} s")
        prompt = aug.augment(question, filter=flt, budget=s.budget)
    if as_json:
        print(json.dumps({**prompt.to_dict(), "model_load_ms": load_s * 1000}, default=str))
        return
    from vecctx.cli.render import print_prompt

    print_prompt(_console(), prompt)


@app.command()
def ask(
    question: QuestionArg,
    store: StoreOpt = None,
    collection: CollOpt = None,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            help="Model URL: local (default: SmolLM2-135M-Instruct, offline), llama:///path/model.gguf, "
            "or openai+http(s)://host/v1?model=NAME (key from OPENAI_API_KEY).",
        ),
    ] = None,
    filter: FilterOpt = None,
    mode: ModeOpt = DEFAULT_MODE,
    fusion: FusionOpt = DEFAULT_FUSION,
    k: KOpt = 3,
    max_tokens: Annotated[int, typer.Option(min=1, help="The answer's allowance of tokens.")] = 256,
    abstain: Annotated[
        bool, typer.Option(help='Ask for exactly "I don\'t know" when the sources do not hold the answer.')
    ] = False,
    judge: Annotated[
        bool, typer.Option(help="Also ask the model whether each cited sentence is supported.")
    ] = False,
    cite: Annotated[
        bool | None,
        typer.Option(
            "--cite/--no-cite",
            help="Constrain decoding so every sentence cites a source (default: on for a local model, "
            "which does not cite by itself; a server must be llama.cpp's).",
        ),
    ] = None,
) -> None:
    """Answer QUESTION with a language model over the retrieved sources, streamed, then the cited
    sources and the citation and support checks."""
    from vecctx.cli.answer import run_ask
    from vecctx.contract.filters import parse_filter

    flt = parse_filter(_json_arg(filter, "--filter")) if filter else None
    run_ask(
        _settings(collection=collection, store=store),
        question,
        llm=llm,
        filter=flt,
        mode=mode,
        fusion=fusion,
        k=k,
        max_tokens=max_tokens,
        abstain=abstain,
        judge=judge,
        cite=cite,
    )


@app.command("eval")
def eval_cmd(
    directory: Annotated[
        Path, typer.Argument(help="A BEIR directory (corpus.jsonl, queries.jsonl, qrels/).")
    ],
    store: StoreOpt = None,
    collection: CollOpt = None,
    mode: ModeOpt = DEFAULT_MODE,
    fusion: FusionOpt = DEFAULT_FUSION,
    rerank: Annotated[
        list[str] | None, typer.Option(help="Reranker(s) in order: late, bi, mmr, litm.")
    ] = None,
    split: Annotated[str, typer.Option(help="qrels split")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Ingest DIRECTORY if needed, run its queries and print nDCG@10, recall@10/100, MRR@10, latency."""
    from vecctx.eval.runner import evaluate_directory

    s = _settings(store=store, collection=collection or collection_name_for(directory))
    result = evaluate_directory(s, directory, mode=mode, fusion=fusion, rerank=rerank or [], split=split)
    if as_json:
        print(json.dumps(result))
        return
    con = _console()
    for key, value in result.items():
        con.print(f"{key:>18}  {value:.4f}" if isinstance(value, float) else f"{key:>18}  {value}")


@app.command("eval-answers")
def eval_answers(
    task: Annotated[str, typer.Option(help="disfl_qa | conflicts (BIG-bench QA tasks).")] = "disfl_qa",
    n: Annotated[int, typer.Option(help="Answerable questions sampled.")] = 200,
    unanswerable: Annotated[
        int, typer.Option(help="Unanswerable questions also asked open-book (abstention).")
    ] = 50,
    llm: Annotated[
        str | None, typer.Option("--llm", help="Model URL (default: the offline local model).")
    ] = None,
    store: Annotated[str, typer.Option("--store", "-s", help="Store for the paragraphs.")] = "memory://",
    seed: Annotated[int, typer.Option(help="Seed of the question sample.")] = 0,
    max_tokens: Annotated[int, typer.Option(help="Answer allowance in tokens.")] = 32,
    k: Annotated[int, typer.Option(help="Sources in each open-book prompt.")] = 3,
    corpus: Annotated[int, typer.Option(help="At most this many paragraphs ingested.")] = 2000,
    abstain: Annotated[
        bool, typer.Option("--abstain/--no-abstain", help="Open book: ask for I don't know when unsupported.")
    ] = False,
    cite: Annotated[
        bool, typer.Option("--cite/--no-cite", help="Open book: constrain decoding to cite a source.")
    ] = False,
    data: Annotated[
        str | None, typer.Option(help="Directory of <task>/task.json (env VECCTX_QA_DIR; make answers-data).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("answers-results"),
    docs: Annotated[
        Path | None, typer.Option(help="Also write the '## Measured' section of this page (docs/answers.md).")
    ] = None,
) -> None:
    """Closed-book against open-book answers of one model on a QA set: EM, F1, citations, abstention."""
    from dataclasses import replace

    from vecctx.eval.answers_runner import EvalConfig, command_line, render_docs, run_eval

    config = EvalConfig(
        task=task,
        n=n,
        unanswerable=unanswerable,
        llm=llm,
        store=store,
        seed=seed,
        max_tokens=max_tokens,
        k=k,
        corpus=corpus,
        abstain=abstain,
        cite=cite,
        data=data,
    )
    result = run_eval(replace(config, command=command_line(config, out, docs)), out)
    if docs is not None:
        render_docs(result, docs)
    cb, ob = result["closed_book"], result["open_book"]
    _console().print(
        f"{result['task']}: {cb['n']} questions in {result['timings']['wall_s'] / 60:.1f} min; "
        f"closed book EM {cb['exact_match']:.3f} F1 {cb['f1']:.3f}, open book EM {ob['exact_match']:.3f} "
        f"F1 {ob['f1']:.3f}: {out / 'report.md'}"
    )


@app.command()
def bench(
    backends: Annotated[
        str | None, typer.Option(help="Comma-separated backends (default: all that run here).")
    ] = None,
    n: Annotated[int | None, typer.Option(help="Synthetic collection size.")] = None,
    profile: Annotated[str, typer.Option(help="quick | full")] = "quick",
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("bench-results"),
) -> None:
    """Benchmark backends: recall, latency, throughput, quality; writes results.json, report.md, plots.

    The suite is its own distribution, imported only when this command runs: pip install vecctx-bench."""
    try:
        from vecctx_bench import run_bench  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError as exc:
        if exc.name != "vecctx_bench":
            raise  # the suite is installed but one of its dependencies is not: say which
        raise ConfigError(
            "the benchmark suite is a separate distribution: pip install vecctx-bench "
            "(from a checkout of the repository: pip install -e bench)"
        ) from exc
    run_bench(backends=backends.split(",") if backends else None, n=n, profile=profile, out=out)


@app.command()
def study(
    directory: Annotated[Path, typer.Argument(help="BEIR directory with the test split (qrels/test.tsv).")],
    train: Annotated[
        Path, typer.Option("--train", help="BEIR directory of labelled train claims over the same corpus.")
    ],
    out: Annotated[Path, typer.Option(help="Output directory (report.md, results.json, plots).")] = Path(
        "study-results"
    ),
    profile: Annotated[str, typer.Option(help="tiny | quick | full")] = "quick",
    store: Annotated[
        str,
        typer.Option("--store", "-s", help="Store URL for the study's indexes (default: exact, in memory)."),
    ] = "memory://",
    model: Annotated[
        str | None, typer.Option(help="Base embedder: a sentence-transformers directory (default MiniLM).")
    ] = None,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm", help="Answering model for the generative half: a local GGUF or model directory."
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            help="Torch / BLAS threads, pinned and reported (default: the cores this process may use)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every sample and every training run.")] = 0,
    generative: Annotated[
        bool, typer.Option("--generative/--no-generative", help="Run the answering-model half.")
    ] = True,
    docs: Annotated[
        Path | None, typer.Option(help="Also write this docs page (e.g. docs/study.md) and its plots.")
    ] = None,
) -> None:
    """Fine-tuning or context? Run every arm on DIRECTORY and write a report with plots."""
    from vecctx.study import run_study

    result = run_study(
        directory,
        train,
        out,
        profile=profile,
        store=store,
        model=model,
        threads=threads if threads is not None else _usable_cores(),
        seed=seed,
        generative=generative,
        generative_model=llm,
    )
    if docs is not None:
        from vecctx.study.report import render_docs

        render_docs(result, docs, docs.parent / "img")
    _console().print(
        f"{len(result['arms'])} arms in {result['wall_seconds'] / 60:.1f} min: {out / 'report.md'}"
    )


def _usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@collections_app.command("list")
def collections_list(store: StoreOpt = None) -> None:
    """List collections."""
    from vecctx.cli.session import connect_existing

    with connect_existing(_settings(store=store).store) as st:
        for name in st.list_collections():
            print(name)


@collections_app.command("info")
def collections_info(name: str, store: StoreOpt = None) -> None:
    """Show a collection's spec and size."""
    from vecctx.cli.session import connect_existing, missing_collection

    url = _settings(store=store).store
    with connect_existing(url) as st:
        if not st.has_collection(name):
            raise missing_collection(st, name, url, hint="")
        spec = st.collection_spec(name)
        info = {
            "name": spec.name,
            "dimension": spec.dimension,
            "metric": spec.metric.value,
            "sparse": spec.sparse,
            "indexed_fields": {k: v.value for k, v in spec.indexed_fields.items()},
            "count": st.count(name),
            "backend": st.capabilities.name,
        }
        print(json.dumps(info, indent=2))


@collections_app.command("drop")
def collections_drop(
    name: str,
    store: StoreOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Drop a collection and its data."""
    from vecctx.cli.session import connect_existing, missing_collection

    url = _settings(store=store).store
    with connect_existing(url) as st:
        if not st.has_collection(name):
            raise missing_collection(st, name, url, hint="")
        if not yes and not typer.confirm(f"Drop collection {name!r} and all its records?"):
            raise typer.Exit(1)
        st.drop_collection(name)
    print(f"dropped {name}")


def _json_arg(value: str, flag: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{flag} is not valid JSON: {exc.msg} at column {exc.colno}") from exc


def main(argv: list[str] | None = None) -> int:
    """Entry point (``argv``: the arguments after the program name; ``None``: ``sys.argv``). Every
    mistake is one line on stderr and exit code 2: a usage mistake (with where to find help) or a
    :class:`VecctxError` (``--verbose``: its traceback)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _state.update(verbose=False, settings=Settings())
    try:
        code = app(args=argv, prog_name=PROG, standalone_mode=False)
    except VecctxError as exc:
        if _state["verbose"]:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        code = 130
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        return 1
    except _usage_errors() as exc:
        print(f"{PROG}: error: {_usage_message(exc)}", file=sys.stderr)
        return 2
    if code == 130:  # typer turns an interrupt into exit code 130
        print(f"{PROG}: interrupted (ingestion resumes where it stopped on the next run)", file=sys.stderr)
    return code if isinstance(code, int) else 0


def _usage_errors() -> tuple[type[Exception], ...]:
    """The usage errors of the command-line parser: click's, and typer's own where typer carries
    its own copy of click."""
    import click

    kinds: list[type[Exception]] = [click.ClickException]
    own = getattr(typer, "TyperException", None)
    if isinstance(own, type) and issubclass(own, Exception):
        kinds.append(own)
    return tuple(kinds)


def _usage_message(exc: Exception) -> str:
    """One line: the parser's message and where to find help; a global option given after the
    command says where it goes."""
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else PROG
    option = getattr(exc, "option_name", None)
    if option in _GLOBAL_OPTIONS and path != PROG:
        command = path.removeprefix(f"{PROG} ")
        return f"{option} is an option of {PROG} itself: put it before the command ({PROG} {option} {command} ...)"
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    # typer's value checks start their message with pydantic's "Value error, "
    message = " ".join(str(message).replace("Value error, ", "").split()).rstrip(".")
    return f"{message}; see '{path} --help'"


#: The options of ``vecctx`` itself, which go before the command.
_GLOBAL_OPTIONS = ("--verbose", "-v", "--config")


__all__ = ["app", "collection_name_for", "main"]
