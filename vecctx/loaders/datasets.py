"""Loaders of data sets: a BEIR directory and a JSONL file, and where shared data lives."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from vecctx.chunking import Document
from vecctx.contract.errors import ConfigError, InvalidInputError


def data_root() -> Path:
    """Where shared data sets live: ``$VECCTX_DATA``, else ``../shared/data`` next to the
    working directory (the layout of the development machines)."""
    env = os.environ.get("VECCTX_DATA")
    if env:
        return Path(env).expanduser()
    return (Path.cwd().parent / "shared" / "data").resolve()


def load_beir(
    directory: str | os.PathLike[str], *, limit: int | None = None, title_separator: str = "\n\n"
) -> Iterator[Document]:
    """Documents of a BEIR ``corpus.jsonl`` (``_id``, ``title``, ``text``, optional
    ``metadata``). The document text is ``title + title_separator + text`` (just ``text``
    without a title), so chunk offsets index that string; the title is also kept as
    metadata ``title``."""
    path = Path(directory) / "corpus.jsonl"
    if not path.is_file():
        raise ConfigError(f"{directory} is not a BEIR directory: no corpus.jsonl")
    for where, row in json_lines(path, limit):
        try:
            doc_id = str(row["_id"])
        except (TypeError, KeyError) as exc:
            raise InvalidInputError(f"{where}: not a BEIR corpus row ({exc})") from exc
        title = str(row.get("title") or "")
        body = str(row.get("text") or "")
        meta: dict[str, Any] = {}
        if isinstance(row.get("metadata"), dict):
            meta.update({k: v for k, v in row["metadata"].items() if v is not None})
        if title:
            meta["title"] = title
        text = f"{title}{title_separator}{body}" if title else body
        yield Document(doc_id, text, meta)


def load_jsonl(
    path: str | os.PathLike[str],
    *,
    id_field: str = "id",
    text_field: str = "text",
    metadata_fields: Sequence[str] | None = None,
    limit: int | None = None,
) -> Iterator[Document]:
    """One document per JSON line: ``id_field`` (a missing id is an error), ``text_field``,
    and as metadata either the listed ``metadata_fields`` (missing ones skipped) or, when
    ``None``, every other top-level field that is not null."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"no such JSONL file: {path}")
    for where, row in json_lines(p, limit):
        if not isinstance(row, dict):
            raise InvalidInputError(f"{where}: a line must hold a JSON object")
        if row.get(id_field) in (None, ""):
            raise InvalidInputError(f"{where}: no {id_field!r} field")
        text = row.get(text_field)
        if not isinstance(text, str):
            raise InvalidInputError(f"{where}: field {text_field!r} must be a string")
        if metadata_fields is None:
            meta = {k: v for k, v in row.items() if k not in (id_field, text_field) and v is not None}
        else:
            meta = {k: row[k] for k in metadata_fields if row.get(k) is not None}
        yield Document(str(row[id_field]), text, meta)


def json_lines(path: Path, limit: int | None) -> Iterator[tuple[str, Any]]:
    """``(where, value)`` for each non-blank line among the first ``limit`` lines of a JSONL
    file; ``where`` (``path:line``) places an error. A line that is not JSON is an error."""
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(islice(fh, limit), 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                value = json.loads(line)
            except ValueError as exc:
                raise InvalidInputError(f"{where}: invalid JSON ({exc})") from exc
            yield where, value


__all__ = ["data_root", "json_lines", "load_beir", "load_jsonl"]
