"""Read BEIR-format directories: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.loaders import data_root, json_lines


def dataset_dir(name: str = "scifact") -> Path:
    """The directory of a named data set under :func:`data_root` (``VECCTX_DATA`` overrides)."""
    path = data_root() / name
    if not (path / "corpus.jsonl").is_file():
        raise ConfigError(
            f"data set {name!r} not found at {path}: set VECCTX_DATA to the directory holding {name}/"
        )
    return path


@dataclass(frozen=True)
class BeirData:
    path: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    def judged_queries(self) -> dict[str, str]:
        return {q: t for q, t in self.queries.items() if q in self.qrels}


def _rows(path: Path, what: str) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file, each with an ``_id``; a bad line names its place."""
    for where, obj in json_lines(path, None):
        if not isinstance(obj, dict) or "_id" not in obj:
            raise InvalidInputError(f"{where}: not a BEIR {what} line (no _id)")
        yield obj


def load_queries(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for obj in _rows(path, "query"):
        if "text" not in obj:
            raise InvalidInputError(f"{path}: query {obj['_id']!r} has no text")
        out[str(obj["_id"])] = str(obj["text"])
    return out


def load_corpus(path: Path) -> dict[str, tuple[str, str]]:
    """A ``corpus.jsonl`` as doc id -> (title, text)."""
    return {
        str(o["_id"]): (str(o.get("title") or ""), str(o.get("text") or "")) for o in _rows(path, "corpus")
    }


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for n, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if n == 1 and parts[0] == "query-id":
                continue
            if len(parts) != 3:
                raise InvalidInputError(f"{path}:{n}: expected 3 tab-separated columns")
            try:
                out.setdefault(parts[0], {})[parts[1]] = int(parts[2])
            except ValueError as exc:
                raise InvalidInputError(f"{path}:{n}: score is not an int") from exc
    return out


def load_judgements(path: Path | str, *, split: str = "test") -> BeirData:
    """Queries and qrels of a BEIR directory (the corpus is read by the ingest loaders)."""
    root = Path(path)
    qrels_path = root / "qrels" / f"{split}.tsv"
    for p in (root / "corpus.jsonl", root / "queries.jsonl", qrels_path):
        if not p.is_file():
            raise ConfigError(f"not a BEIR directory: {p} is missing")
    return BeirData(root, load_queries(root / "queries.jsonl"), load_qrels(qrels_path))


__all__ = ["BeirData", "dataset_dir", "load_corpus", "load_judgements", "load_qrels", "load_queries"]
