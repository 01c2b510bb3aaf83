"""The CLI as a user meets it: one-line errors, ingest then query, eval JSON."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests._cli import run_vecctx
from vecctx.cli.commands import collection_name_for
from vecctx.contract.types import CollectionSpec
from vecctx.loaders import data_root


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_vecctx(args, cwd, timeout=900, **{"VECCTX_DATA": str(data_root().resolve()), **env})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["query", "q", "--filter", '{"year": {"$bogus": 1}}', "--store", "memory://"],
            "unknown operator '$bogus'",
        ),
        (["query", "q", "--filter", "{not json", "--store", "memory://"], "--filter is not valid JSON"),
        (["collections", "list", "--store", "nosuch://x"], "no adapter is installed for nosuch://"),
        (["collections", "list", "--store", "no-scheme"], "has no scheme"),
        (["ingest", "/nonexistent/dir", "--store", "memory://"], "/nonexistent/dir does not exist"),
        (
            ["query", "q", "--store", "memory://", "--collection", "absent"],
            "collection 'absent' does not exist",
        ),
    ],
)
def test_user_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run(args, tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vecctx: error:") and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    proc = run(["--verbose", "collections", "list", "--store", "nosuch://x"], tmp_path)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_locked_store_is_a_clear_error(tmp_path: Path) -> None:
    import vecctx

    url = f"qdrant:///{tmp_path}/store"
    with vecctx.connect(url) as held:
        held.create_collection(vecctx.CollectionSpec(name="x", dimension=2))
        proc = run(["collections", "list", "--store", url], tmp_path)
    assert proc.returncode == 2 and "locked" in proc.stderr and str(tmp_path) in proc.stderr


def test_ingest_query_and_collections(tmp_path: Path) -> None:
    docs = tmp_path / "notes"
    docs.mkdir()
    (docs / "keys.md").write_text(
        "# Rotating keys\n\nRotate the api keys every 90 days with the vault CLI.\n"
    )
    (docs / "backup.txt").write_text("Backups run nightly at 2am and are kept for 30 days.\n")
    url = f"qdrant:///{tmp_path}/store"
    ing = run(["ingest", str(docs), "--store", url, "--collection", "notes", "--json"], tmp_path)
    assert ing.returncode == 0, ing.stderr
    assert json.loads(ing.stdout.strip().splitlines()[-1])["written"] == 2
    q = run(
        [
            "query",
            "how often are api keys rotated?",
            "--store",
            url,
            "--collection",
            "notes",
            "--k",
            "1",
            "--json",
            "--filter",
            '{"title": {"$exists": true}}',
        ],
        tmp_path,
    )
    assert q.returncode == 0, q.stderr
    out = json.loads(q.stdout)
    assert out["sources"][0]["doc_id"] == "keys.md"
    assert "[1]" in out["prompt"] and "90 days" in out["prompt"]
    info = run(["collections", "info", "notes", "--store", url], tmp_path)
    assert json.loads(info.stdout)["count"] == 2
    drop = run(["collections", "drop", "notes", "--store", url, "--yes"], tmp_path)
    assert drop.returncode == 0
    assert run(["collections", "list", "--store", url], tmp_path).stdout.strip() == ""


def test_eval_json_on_a_small_beir_directory(tmp_path: Path) -> None:
    beir = tmp_path / "tiny"
    (beir / "qrels").mkdir(parents=True)
    corpus = [
        {
            "_id": "d1",
            "title": "Vitamin D",
            "text": "Vitamin D supplements reduce fracture risk in the elderly.",
        },
        {"_id": "d2", "title": "Statins", "text": "Statins lower LDL cholesterol and cardiovascular events."},
        {"_id": "d3", "title": "Sleep", "text": "Short sleep is associated with obesity in children."},
    ]
    (beir / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus))
    queries = [
        {"_id": "q1", "text": "does vitamin d prevent fractures"},
        {"_id": "q2", "text": "cholesterol drugs"},
    ]
    (beir / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\r\nq1\td1\t1\r\nq2\td2\t1\r\n")
    # dense first: the collection it creates still serves the sparse and hybrid runs after it
    for mode in ("dense", "sparse", "hybrid"):
        proc = run(
            ["eval", str(beir), "--store", f"qdrant:///{tmp_path}/s", "--mode", mode, "--json"], tmp_path
        )
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        for key in ("ndcg@10", "recall@100", "mrr@10", "latency_p50_ms"):
            assert key in result
        assert result["mode"] == mode and result["queries"] == 2
    assert result["ndcg@10"] == pytest.approx(1.0)


def scifact_sample(root: Path, *, queries: int = 4, extra_docs: int = 6) -> Path:
    """A small BEIR folder named ``sci.fact`` under ``root``: the first test queries of SciFact,
    the documents they judge and a few others (written to tmp, never into the repository)."""
    src = data_root() / "scifact"
    qrels = [line.split("\t") for line in (src / "qrels" / "test.tsv").read_text().splitlines()[1:]]
    picked = {qid for qid, _, _ in qrels[:queries]}
    qrels = [row for row in qrels if row[0] in picked]
    wanted = {doc for _, doc, _ in qrels}
    corpus: list[str] = []
    with (src / "corpus.jsonl").open() as f:
        for line in f:
            doc_id = json.loads(line)["_id"]
            if doc_id in wanted or len(corpus) < extra_docs:
                corpus.append(line)
                wanted.discard(doc_id)
            if not wanted and len(corpus) >= extra_docs:
                break
    beir = root / "sci.fact"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text("".join(corpus))
    with (src / "queries.jsonl").open() as f:
        qs = [line for line in f if json.loads(line)["_id"] in picked]
    (beir / "queries.jsonl").write_text("".join(qs))
    (beir / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join("\t".join(row) + "\n" for row in qrels)
    )
    return beir


def test_eval_on_a_folder_whose_name_is_no_collection_name(tmp_path: Path) -> None:
    beir = scifact_sample(tmp_path)
    url = f"qdrant:///{tmp_path}/s"
    proc = run(["eval", str(beir), "--store", url, "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["queries"] == 4 and 0.0 < result["ndcg@10"] <= 1.0
    listed = run(["collections", "list", "--store", url], tmp_path).stdout.split()
    assert listed == [collection_name_for(beir)] and listed[0].startswith("sci_fact_")


def test_collection_names_derived_from_paths(tmp_path: Path) -> None:
    valid = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
    names = {}
    for folder in ("sci.fact", "sci_fact", "sci fact", "2024-data", ".hidden", "donn\u00e9es", "a" * 200):
        (tmp_path / folder).mkdir()
        names[folder] = collection_name_for(tmp_path / folder)
        assert valid.fullmatch(names[folder]) and len(names[folder]) <= 64, names[folder]
        CollectionSpec(name=names[folder], dimension=2)  # the spec accepts it
        assert collection_name_for(tmp_path / folder) == names[folder]  # stable
    assert names["sci_fact"] == "sci_fact"  # a valid name is kept as it is
    assert len(set(names.values())) == len(names)  # sanitised names never collide
    assert collection_name_for(tmp_path / "x" / "..") == collection_name_for(tmp_path)


@pytest.fixture
def notes_store(tmp_path: Path) -> str:
    """Ten short notes ingested (with BM25 vectors) into an embedded store; its URL."""
    docs = tmp_path / "notes"
    docs.mkdir()
    topics = ["api keys", "backups", "tls certificates", "passwords", "ssh keys", "tokens", "logs"]
    for i, topic in enumerate(topics):
        (docs / f"n{i}.md").write_text(f"# {topic}\n\nRotate the {topic} every {30 * (i + 1)} days.\n")
    url = f"qdrant:///{tmp_path}/store"
    ing = run(["ingest", str(docs), "--store", url, "--collection", "notes"], tmp_path)
    assert ing.returncode == 0, ing.stderr
    return url


def test_query_reports_model_loading_apart_quietly_and_does_not_wrap_a_log(
    tmp_path: Path, notes_store: str
) -> None:
    question = ("how often are the api keys rotated, " + "and who rotates them " * 6).strip()
    assert len(question) > 120
    q = run(["query", question, "--store", notes_store, "--collection", "notes", "--k", "2"], tmp_path)
    assert q.returncode == 0, q.stderr
    # stderr: how long the model took to load, and nothing from the model libraries
    assert re.fullmatch(r"embedding model \S+ ready in \d+\.\d s\n", q.stderr), q.stderr
    lines = q.stdout.splitlines()
    # written to a pipe: plain lines, none cut at 80 columns
    assert f"Sources for: {question}" in lines and f"Question: {question}" in lines
    assert re.match(r"timings: .*total \d+\.\d ms$", lines[-1]) and "ready" not in lines[-1]
    js = run(["query", "api keys", "--store", notes_store, "--collection", "notes", "--json"], tmp_path)
    out = json.loads(js.stdout)
    assert out["model_load_ms"] > 0 and "model_load_ms" not in out["timings"]
    assert js.stderr == ""


@pytest.mark.parametrize("fusion", ["rrf", "dbsf", "convex"])
def test_hybrid_query_shows_each_chunk_once(tmp_path: Path, notes_store: str, fusion: str) -> None:
    q = run(
        [
            *("query", "rotate keys", "--store", notes_store, "--collection", "notes", "--k", "10"),
            *("--mode", "hybrid", "--fusion", fusion, "--json"),
        ],
        tmp_path,
    )
    assert q.returncode == 0, q.stderr
    sources = json.loads(q.stdout)["sources"]
    assert len(sources) == 7  # every note: each found by both the dense and the BM25 side
    assert len({s["id"] for s in sources}) == 7
    assert len({(s["doc_id"], s["chunk"]) for s in sources}) == 7
    assert all(s["kind"] == fusion for s in sources)


def test_demo_answers_first_then_finishes_and_a_rerun_reuses_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A first prompt over the first slice, said to be partial; then the rest with an estimate;
    then the prompts over all of it. A second run finds everything stored (the manifest)."""
    import shutil

    from vecctx.cli import demo
    from vecctx.cli.settings import Settings

    src, data = data_root() / "scifact", tmp_path / "data" / "scifact"
    (data / "qrels").mkdir(parents=True)
    lines = (src / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:16]
    (data / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(src / "queries.jsonl", data / "queries.jsonl")
    shutil.copy(src / "qrels" / "test.tsv", data / "qrels" / "test.tsv")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo, "FIRST_SLICE_SECONDS", 0.0)  # the first step only: 10 documents
    monkeypatch.setattr(demo, "FIRST_STEP", 10)
    answered: list[str] = []
    monkeypatch.setattr(demo, "_answer", lambda con, aug, question, relevant: answered.append(question))
    settings = Settings(
        store=f"qdrant://{tmp_path / 'store'}", data=str(tmp_path / "data"), cache=str(tmp_path / "cache")
    )
    demo.run_demo(settings, questions=1)
    out, err = capsys.readouterr()
    first = out.index("This prompt searched only the 10 documents stored so far, of 16")
    rest = out.index("ingesting the other 6 documents")
    whole = re.search(r"ingest: 16 documents, (\d+) chunks: (\d+) written, (\d+) unchanged", out)
    assert whole is not None and first < rest < whole.start() < out.index("claim 1 ")
    chunks, written, unchanged = map(int, whole.groups())
    assert written > 0 and written + unchanged == chunks and "first prompt after" in err
    assert len(answered) == 1
    demo.run_demo(settings, questions=1)
    out = capsys.readouterr().out
    assert (
        "the first 10 documents are stored already" in out and "This prompt searched all 16 documents." in out
    )
    assert f"ingest: 16 documents, {chunks} chunks: 0 written, {chunks} unchanged" in out
    assert "ingesting the other" not in out
