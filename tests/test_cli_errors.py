"""Every command-line mistake is one line on stderr and exit code 2, never a traceback; errors
that depend on where the user stands name what was looked up; a failed lookup creates nothing."""

from pathlib import Path

import pytest

import vecctx
from tests._cli import run_vecctx
from vecctx.cli.commands import main


def one_error_line(capsys: pytest.CaptureFixture[str], code: int) -> str:
    out, err = capsys.readouterr()
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vecctx: error: "), err
    assert "Traceback" not in err and out == ""
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "no command given; see 'vecctx --help'"),
        (["collections"], "no command given; see 'vecctx collections --help'"),
        (["query"], "Missing argument 'question'; see 'vecctx query --help'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["query", "q", "--bogus"], "No such option: --bogus; see 'vecctx query --help'"),
        (["query", "q", "--k", "x"], "Invalid value for '--k'"),
        (["query", "q", "--k", "0"], "Invalid value for '--k'"),
        (["ask", "q", "--max-tokens", "1.5"], "Invalid value for '--max-tokens'"),
        (["query", "q", "--mode", "foo"], "'foo' is not one of 'dense', 'sparse', 'hybrid'"),
        (["eval", ".", "--fusion", "max"], "'max' is not one of 'rrf', 'dbsf', 'convex'"),
        (["query", "--verbose", "q"], "--verbose is an option of vecctx itself: put it before the command"),
        (
            ["query", "q", "-v"],
            "-v is an option of vecctx itself: put it before the command (vecctx -v query",
        ),
        (["collections", "list", "--config", "x.toml"], "--config is an option of vecctx itself"),
        (
            ["--bogus", "query", "q"],
            "No such option: --bogus (Possible options: --verbose); see 'vecctx --help'",
        ),
        (["--verbose", "query"], "Missing argument 'question'"),  # --verbose: still one line
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert expected in one_error_line(capsys, main(argv))


@pytest.mark.parametrize("argv", [["--help"], ["query", "--help"], ["collections", "--help"]])
def test_help_still_works(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert "Usage: vecctx" in capsys.readouterr().out


def test_a_usage_mistake_in_a_real_process_is_one_line(tmp_path: Path) -> None:
    for argv, expected in (
        ([], "no command given"),
        (["query", "q", "--mode", "foo"], "'foo' is not one of"),
        (["query", "--verbose", "q"], "put it before the command"),
    ):
        proc = run_vecctx(argv, tmp_path, timeout=300)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith("vecctx: error: ") and expected in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, with no store or settings from the environment."""
    for var in ("VECCTX_STORE", "VECCTX_CONFIG", "VECCTX_COLLECTION", "VECCTX_DATA"):
        monkeypatch.delenv(var, raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.mark.parametrize(
    "argv",
    [["query", "q"], ["ask", "q"], ["collections", "list"], ["collections", "info", "x"]],
)
def test_a_lookup_in_the_default_store_creates_no_store(
    argv: list[str], elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_error_line(capsys, main(argv))
    assert f"no store at {elsewhere / '.vecctx' / 'qdrant'}" in line and "the default store" in line
    assert "VECCTX_STORE" in line
    assert list(elsewhere.iterdir()) == []


def test_a_lookup_in_a_missing_store_names_it_and_creates_nothing(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for url in (f"qdrant://{elsewhere}/s", f"milvus://{elsewhere}/m.db", f"chroma://{elsewhere}/c"):
        line = one_error_line(capsys, main(["query", "q", "--store", url]))
        assert f"no store at {elsewhere}/" in line and repr(url) in line
    assert list(elsewhere.iterdir()) == []


def test_a_missing_collection_names_the_store_and_what_it_holds(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"qdrant://{elsewhere.parent}/store"
    with vecctx.connect(url) as st:
        st.create_collection(vecctx.CollectionSpec(name="notes", dimension=2))
    line = one_error_line(capsys, main(["query", "q", "--store", url, "--collection", "absent"]))
    assert "collection 'absent' does not exist in " + url in line and "collections there: notes" in line
    line = one_error_line(capsys, main(["collections", "drop", "absent", "--store", url, "--yes"]))
    assert "collections there: notes" in line
    assert list(elsewhere.iterdir()) == []


def test_a_bad_store_url_is_named_redacted_with_the_schemes_available(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_error_line(capsys, main(["collections", "list", "--store", "nosuch://me:s3cret@host/x"]))
    assert "'nosuch://***@host/x'" in line and "s3cret" not in line
    assert "schemes available: " in line and "memory://" in line and "qdrant://" in line
    line = one_error_line(capsys, main(["collections", "list", "--store", "just-a-name"]))
    assert "'just-a-name' has no scheme" in line and "schemes available: " in line


def test_missing_data_names_the_path_and_where_it_came_from(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_error_line(capsys, main(["demo", "--data", str(elsewhere / "d")]))
    assert f"no {elsewhere / 'd' / 'scifact' / 'corpus.jsonl'}" in line and "from --data" in line
    monkeypatch.setenv("VECCTX_DATA", str(elsewhere / "e"))
    line = one_error_line(capsys, main(["demo"]))
    assert f"no {elsewhere / 'e' / 'scifact' / 'corpus.jsonl'}" in line and "from VECCTX_DATA" in line
    monkeypatch.delenv("VECCTX_DATA")
    line = one_error_line(capsys, main(["demo"]))
    assert "VECCTX_DATA unset" in line and str(elsewhere) in line
    line = one_error_line(capsys, main(["ingest", str(elsewhere / "nothing")]))
    assert f"{elsewhere / 'nothing'} does not exist" in line
    line = one_error_line(capsys, main(["--config", "nope.toml", "collections", "list"]))
    assert "settings file 'nope.toml' (from --config) does not exist" in line
    assert list(elsewhere.iterdir()) == []
