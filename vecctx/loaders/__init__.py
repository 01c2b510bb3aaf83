"""Document loaders: files (PDF, HTML, DOCX, Markdown, text; one file or a folder of them), a
BEIR directory, a JSONL file.

Each yields :class:`~vecctx.chunking.Document` s in a stable order with stable ids, so that
re-ingesting the same source is a no-op. File loaders keep where each piece of text came from
as document spans, so every chunk knows its ``page`` (PDF) or ``section`` (heading path) and a
citation can point to it (:func:`vecctx.prompt.citations.source_label`).
"""

from __future__ import annotations

from vecctx.loaders.datasets import data_root, json_lines, load_beir, load_jsonl
from vecctx.loaders.files import SkippedFile, load_file, load_path, load_text_dir
from vecctx.loaders.formats import FORMATS, Format, NoTextError, UnreadableFileError, format_of

__all__ = [
    "FORMATS",
    "Format",
    "NoTextError",
    "SkippedFile",
    "UnreadableFileError",
    "data_root",
    "format_of",
    "json_lines",
    "load_beir",
    "load_file",
    "load_jsonl",
    "load_path",
    "load_text_dir",
]
