"""Loaders of document files: one file, or a folder of mixed PDF, HTML, DOCX, Markdown and text.

The loader is picked by file suffix (:data:`vecctx.loaders.formats.FORMATS`). A document's id
and its metadata ``source`` are its path relative to the folder loaded (POSIX separators; a
single file: its name), its ``title`` the one the file names (PDF or DOCX properties, the HTML
title, the first level-1 Markdown heading) or else the file name without extension. Its spans
give each chunk a ``page`` (PDF) or a ``section`` (the heading path, ``"Intro > Setup"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from vecctx.chunking import Document
from vecctx.contract.errors import ConfigError
from vecctx.loaders.formats import (
    FORMATS,
    Format,
    Parsed,
    UnreadableFileError,
    format_of,
    parse_markdown,
    read_text,
)


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file :func:`load_path` did not load: ``path`` (relative to the folder loaded) and why
    (an unsupported type, no text layer, unreadable...)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _supported() -> str:
    return " ".join(s for f in FORMATS for s in f.suffixes)


def _document(path: Path, parsed: Parsed, rel: str) -> Document:
    meta: dict[str, Any] = {"source": rel, "title": parsed.title or path.stem, **parsed.metadata}
    return Document(rel, parsed.text, meta, parsed.spans, parsed.break_at_spans)


def load_file(path: str | os.PathLike[str], *, doc_id: str | None = None) -> Document:
    """One document from a file, read by its suffix; its id and ``source`` are ``doc_id``
    (default: the file name). Raises :class:`~vecctx.contract.errors.ConfigError` for an
    unsupported type, a missing file or a missing parser library (naming the extra to install),
    and :class:`~vecctx.loaders.formats.UnreadableFileError` (or its subclass
    :class:`~vecctx.loaders.formats.NoTextError`) for a file that holds no text or cannot be
    parsed."""
    p = Path(path)
    fmt = format_of(p)
    if fmt is None:
        raise ConfigError(
            f"{path}: unsupported file type {p.suffix or '(none)'}; vecctx reads {_supported()}"
        )
    if not p.is_file():
        raise ConfigError(f"no such file: {path}")
    fmt.check_installed()
    return _document(p, fmt.read(p), doc_id or p.name)


def _walk(root: Path, recursive: bool) -> list[tuple[Path, str]]:
    """Files under ``root`` with their POSIX paths relative to it, sorted; hidden files and
    folders (names starting with ``.``) are left out, symbolic links to folders not followed."""
    found: list[tuple[Path, str]] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        for name in files:
            if not name.startswith("."):
                f = Path(folder) / name
                found.append((f, f.relative_to(root).as_posix()))
    return sorted(found, key=lambda item: item[1])


def load_path(
    path: str | os.PathLike[str], *, skipped: list[SkippedFile] | None = None, recursive: bool = True
) -> Iterator[Document]:
    """Documents from a file or a folder (recursively unless ``recursive=False``; hidden files
    and folders left out), each file read by its suffix, in path order.

    Files of an unsupported type are always skipped. A file that cannot be loaded (no text
    layer, damaged, not UTF-8...) raises :class:`~vecctx.loaders.formats.UnreadableFileError`
    when ``skipped`` is ``None``; given a list, it is appended there with the reason and
    loading goes on. Either way, a missing parser library for a format present raises
    :class:`~vecctx.contract.errors.ConfigError` naming the extra, before any file is read.
    """
    root = Path(path)
    if root.is_file():
        files = [(root, root.name)]
    elif root.is_dir():
        files = _walk(root, recursive)
    else:
        raise ConfigError(f"{path}: no such file or directory")
    planned: list[tuple[Path, str, Format]] = []
    for f, rel in files:
        fmt = format_of(f)
        if fmt is not None:
            planned.append((f, rel, fmt))
            continue
        reason = f"unsupported file type {f.suffix or '(no suffix)'}; vecctx reads {_supported()}"
        if root.is_file() and skipped is None:
            raise ConfigError(f"{path}: {reason}")
        if skipped is not None:
            skipped.append(SkippedFile(rel, reason))
    _check_installed({fmt.name: fmt for _, _, fmt in planned}.values())
    return _load(planned, skipped)


def _load(planned: list[tuple[Path, str, Format]], skipped: list[SkippedFile] | None) -> Iterator[Document]:
    for f, rel, fmt in planned:
        try:
            yield _document(f, fmt.read(f), rel)
        except UnreadableFileError as exc:
            if skipped is None:
                raise
            skipped.append(SkippedFile(rel, exc.reason))


def _check_installed(formats: Iterable[Format]) -> None:
    """One :class:`ConfigError` naming every extra missing for ``formats``."""
    missing: list[tuple[Format, str]] = []
    for fmt in formats:
        try:
            fmt.check_installed()
        except ConfigError as exc:
            missing.append((fmt, str(exc)))
    if len(missing) == 1:
        raise ConfigError(missing[0][1])
    if missing:
        needed = ", ".join(f"{fmt.name} needs {fmt.package}" for fmt, _ in missing)
        extras = ",".join(fmt.extra for fmt, _ in missing)
        raise ConfigError(f"reading these files: {needed}: pip install 'vecctx[{extras}]'")


def load_text_dir(
    directory: str | os.PathLike[str],
    *,
    patterns: Sequence[str] = ("*.txt", "*.md"),
    recursive: bool = True,
    encoding: str = "utf-8",
) -> Iterator[Document]:
    """One document per file matching ``patterns``; the id is the path relative to
    ``directory`` (POSIX separators), metadata ``source`` (that path) and ``title`` (a
    Markdown file's front matter ``title`` or first level-1 heading, else the file name without
    extension). A Markdown file's chunks carry their ``section`` (the heading path); see
    :func:`load_path` for every format."""
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError(f"{directory} is not a directory")
    files: set[Path] = set()
    for pattern in patterns:
        files.update(root.rglob(pattern) if recursive else root.glob(pattern))
    for f in sorted(p for p in files if p.is_file()):
        rel = f.relative_to(root).as_posix()
        text = read_text(f, encoding)
        markdown = any(fnmatch(f.name.lower(), s) for s in ("*.md", "*.markdown"))
        yield _document(f, parse_markdown(text) if markdown else Parsed(text), rel)


__all__ = ["SkippedFile", "load_file", "load_path", "load_text_dir"]
