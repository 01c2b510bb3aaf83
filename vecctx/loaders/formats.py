"""Readers of document files: PDF, HTML, DOCX, Markdown and plain text -> text with spans.

Each reader returns a :class:`Parsed`: the text chunk offsets will index, the spans that label
parts of it (``page`` of a PDF, ``section`` of the other formats: the heading path
``"Intro > Setup"``) and a title when the file names one. The parser libraries are optional
and imported only when a file of their format is read:

===========  ===================  ============================================================
format       library              extra
===========  ===================  ============================================================
PDF          ``pypdf``            ``pip install 'vecctx[pdf]'``
HTML         ``trafilatura``      ``pip install 'vecctx[html]'``
DOCX         ``python-docx``      ``pip install 'vecctx[docx]'``
Markdown     ``markdown-it-py``   none (a core dependency)
===========  ===================  ============================================================

``pip install 'vecctx[formats]'`` installs the three optional ones.
"""

from __future__ import annotations

import functools
import importlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from vecctx.chunking import Span
from vecctx.contract.errors import ConfigError, InvalidInputError

#: Blocks (pages, paragraphs) of extracted text are joined with a blank line, which also ends a
#: sentence for the chunker.
BLOCK_SEPARATOR = "\n\n"


class UnreadableFileError(InvalidInputError):
    """A document file could not be read; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class NoTextError(UnreadableFileError):
    """A document file holds no text to extract: a scanned PDF without a text layer, an empty
    page or file. It is never loaded as an empty document."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a reader extracted from one file."""

    text: str
    spans: tuple[Span, ...] = ()
    title: str | None = None
    #: Whether chunks must stay inside one span (sections) or may run across them (pages).
    break_at_spans: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Format:
    """A file format: its name, the module that reads it and the extra that installs it."""

    name: str
    suffixes: tuple[str, ...]
    read: Callable[[Path], Parsed]
    module: str | None = None  # None: no optional library needed
    package: str = ""
    extra: str = ""

    def check_installed(self) -> None:
        """Raise :class:`ConfigError` naming the extra when the format's library is missing."""
        if self.module is not None:
            _require(self.module, self.package, self.extra, self.name)


def _require(module: str, package: str, extra: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise  # the library is there but one of its own dependencies is not: say which
        raise ConfigError(
            f"reading {what} files needs {package}: pip install 'vecctx[{extra}]' "
            "(or 'vecctx[formats]' for every document format)"
        ) from exc


def section_spans(headings: Sequence[tuple[int, str, int]], length: int) -> list[Span]:
    """One span per heading ``(level, title, offset)`` (ascending offsets), from the heading to
    the next one (the last to ``length``), labelled ``section``: the titles of the heading and
    of the headings above it, joined by ``" > "``."""
    spans: list[Span] = []
    path: list[tuple[int, str]] = []
    for i, (level, title, start) in enumerate(headings):
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, title))
        end = headings[i + 1][2] if i + 1 < len(headings) else length
        spans.append(Span(start, end, {"section": " > ".join(t for _, t in path)}))
    return spans


class _Blocks:
    """Text assembled from blocks joined by :data:`BLOCK_SEPARATOR`, with headings recorded."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.headings: list[tuple[int, str, int]] = []

    def add(self, block: str) -> tuple[int, int] | None:
        """Append a block (stripped; a blank one is left out) and return its offsets."""
        block = block.strip()
        if not block:
            return None
        if self.parts:
            self.length += len(BLOCK_SEPARATOR)
        start = self.length
        self.parts.append(block)
        self.length += len(block)
        return start, self.length

    def heading(self, level: int, title: str) -> None:
        title = " ".join(title.split())
        where = self.add(title)
        if where is not None:
            self.headings.append((level, title, where[0]))

    @property
    def text(self) -> str:
        return BLOCK_SEPARATOR.join(self.parts)

    def sections(self) -> tuple[Span, ...]:
        return tuple(section_spans(self.headings, self.length))


def _words(text: str) -> str:
    return " ".join(text.split())


# -- PDF -------------------------------------------------------------------------------------
def read_pdf(path: Path) -> Parsed:
    """The text layer of each page (pypdf), pages joined by a blank line; a span per page
    with text, labelled ``page`` (1-based). A PDF whose pages hold no text at all (scanned
    images, drawings) raises :class:`NoTextError`."""
    pypdf = _require("pypdf", "pypdf", "pdf", "PDF")
    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFileError(path, "the PDF is encrypted with a password")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = info.title if info is not None else None
    except UnreadableFileError:
        raise
    except Exception as exc:  # a damaged file can fail anywhere in the parser
        raise UnreadableFileError(path, f"unreadable PDF ({type(exc).__name__}: {exc})") from exc
    blocks = _Blocks()
    spans: list[Span] = []
    for number, page in enumerate(pages, start=1):
        where = blocks.add(page)
        if where is not None:
            spans.append(Span(*where, {"page": number}))
    if not spans:
        raise NoTextError(
            path,
            f"no text layer on {'its page' if len(pages) == 1 else f'any of its {len(pages)} pages'} "
            "(a scanned document?): "
            "run OCR on it first (e.g. ocrmypdf) and ingest the result"
            if pages
            else "the PDF has no pages",
        )
    return Parsed(
        blocks.text, tuple(spans), title=_words(str(title or "")) or None, metadata={"pages": len(pages)}
    )


# -- HTML ------------------------------------------------------------------------------------
def read_html(path: Path) -> Parsed:
    """The main text of a web page (trafilatura: navigation, headers, footers, sidebars,
    scripts and boilerplate left out), one block per paragraph, list or table (an item or a
    row a line); a span per heading, labelled ``section``. A page with no main text raises
    :class:`NoTextError`."""
    trafilatura = _require("trafilatura", "trafilatura", "html", "HTML")
    raw = _read_bytes(path)
    try:
        xml = trafilatura.extract(
            raw,
            output_format="xml",
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            config=_trafilatura_config(),
        )
        root = ET.fromstring(xml) if xml else None
    except Exception as exc:  # a damaged page can fail anywhere in the parser
        raise UnreadableFileError(path, f"unreadable HTML ({type(exc).__name__}: {exc})") from exc
    blocks = _Blocks()
    body = root.find("main") if root is not None else None
    if body is not None:
        _html_blocks(body, blocks)
    if not blocks.parts:
        raise NoTextError(path, "no main text found in the HTML page")
    title = _words(root.get("title") or "") if root is not None else ""
    return Parsed(blocks.text, blocks.sections(), title=title or None, break_at_spans=True)


@functools.cache
def _trafilatura_config() -> Any:
    """trafilatura's defaults, except: any main text counts (its default discards an extraction
    under 250 characters for the whole page's text, navigation included), no extensive date
    search (vecctx keeps only the title) and no timeout signal (it would need the main thread)."""
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    config.set("DEFAULT", "MIN_OUTPUT_SIZE", "1")
    config.set("DEFAULT", "EXTENSIVE_DATE_SEARCH", "off")
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return config


_HEADING_REND = re.compile(r"h([1-6])")


def _html_blocks(element: ET.Element, blocks: _Blocks) -> None:
    """Walk trafilatura's XML (``head``, ``p``, ``list``/``item``, ``table``/``row``/``cell``,
    ``quote``, ``code``...)."""
    for child in element:
        tag = child.tag
        if tag == "head":
            m = _HEADING_REND.fullmatch(child.get("rend") or "")
            blocks.heading(int(m.group(1)) if m else 2, "".join(child.itertext()))
        elif tag == "list":  # one block, an item a line (nested lists flattened)
            items = (
                _words((item.text or "") + "".join(_own_text(sub) for sub in item if sub.tag != "list"))
                for item in child.iter("item")
            )
            blocks.add("\n".join(f"- {item}" for item in items if item))
        elif tag == "table":  # one block, a row a line
            rows = (
                " | ".join(_words("".join(cell.itertext())) for cell in row if cell.tag == "cell")
                for row in child.iter("row")
            )
            blocks.add("\n".join(row for row in rows if row.strip(" |")))
        elif tag == "code":
            blocks.add("".join(child.itertext()))
        elif tag in ("div", "section", "main"):
            _html_blocks(child, blocks)
        else:
            blocks.add(_words("".join(child.itertext())))


def _own_text(element: ET.Element) -> str:
    return "".join(element.itertext()) + (element.tail or "")


# -- DOCX ------------------------------------------------------------------------------------
_DOCX_HEADING = re.compile(r"heading ([1-9])", re.IGNORECASE)


def read_docx(path: Path) -> Parsed:
    """The paragraphs and tables of a Word document in order (python-docx), one block per
    paragraph or table (a row a line); a span per ``Heading n`` paragraph, labelled
    ``section``. The title is the document's ``title`` property, else its first ``Title``
    paragraph."""
    docx = _require("docx", "python-docx", "docx", "DOCX")
    from docx.table import Table

    blocks = _Blocks()
    first_title: str | None = None
    try:
        document = docx.Document(str(path))
        for item in document.iter_inner_content():
            if isinstance(item, Table):  # one block, a row a line (a merged cell once)
                rows = []
                for row in item.rows:
                    cells = [_words(cell.text) for cell in row.cells]
                    rows.append(
                        " | ".join(c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1]))
                    )
                blocks.add("\n".join(row for row in rows if row))
                continue
            style = item.style.name if item.style is not None else ""
            m = _DOCX_HEADING.fullmatch(style or "")
            if m:
                blocks.heading(int(m.group(1)), item.text)
            else:
                if style == "Title" and first_title is None and item.text.strip():
                    first_title = _words(item.text)
                blocks.add(item.text)
        title = _words(document.core_properties.title or "") or first_title
    except Exception as exc:  # a damaged file can fail anywhere in the parser
        raise UnreadableFileError(path, f"unreadable DOCX ({type(exc).__name__}: {exc})") from exc
    if not blocks.parts:
        raise NoTextError(path, "the document holds no text")
    return Parsed(blocks.text, blocks.sections(), title=title, break_at_spans=True)


# -- Markdown --------------------------------------------------------------------------------
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line breaks markdown-it counts lines by
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.MULTILINE)


def parse_markdown(text: str) -> Parsed:
    """The text unchanged, with a span per heading (ATX ``#`` or setext, not in code blocks,
    quotes or lists), labelled ``section``; the title is a YAML front matter ``title``, else
    the first level-1 heading. Text before the first heading has no section."""
    from markdown_it import MarkdownIt

    front = _FRONT_MATTER.match(text)
    skip = front.end() if front else 0
    title: str | None = None
    if front:
        m = _FRONT_TITLE.search(front.group(1))
        title = _words(m.group(1).strip("\"'")) if m else None
    body = text[skip:]
    line_starts = [0] + [m.end() for m in _LINE_BREAK.finditer(body)]
    tokens = MarkdownIt("commonmark").parse(body)
    headings: list[tuple[int, str, int]] = []
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or token.level != 0 or token.map is None:
            continue
        inline = tokens[i + 1] if i + 1 < len(tokens) else None
        heading = _words(_inline_text(inline.children or []) if inline is not None else "")
        if not heading:
            continue
        level = int(token.tag[1:])
        if level == 1 and title is None:
            title = heading
        headings.append((level, heading, skip + line_starts[token.map[0]]))
    return Parsed(text, tuple(section_spans(headings, len(text))), title=title, break_at_spans=True)


def _inline_text(children: Iterable[Any]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_inline_text(child.children or []))
    return "".join(parts)


def read_markdown(path: Path) -> Parsed:
    """A Markdown file (UTF-8), see :func:`parse_markdown`."""
    parsed = parse_markdown(read_text(path))
    if not parsed.text.strip():
        raise NoTextError(path, "the file is empty")
    return parsed


# -- plain text ------------------------------------------------------------------------------
def read_plain(path: Path) -> Parsed:
    """A UTF-8 text file, whole."""
    text = read_text(path)
    if not text.strip():
        raise NoTextError(path, "the file is empty")
    return Parsed(text)


def read_text(path: Path, encoding: str = "utf-8-sig") -> str:
    """The file's text (``utf-8-sig``: UTF-8, a byte-order mark dropped)."""
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(path, f"not {encoding.removesuffix('-sig')} text ({exc})") from exc
    except OSError as exc:
        raise UnreadableFileError(path, f"unreadable ({exc.strerror or exc})") from exc


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(path, f"unreadable ({exc.strerror or exc})") from exc


FORMATS: tuple[Format, ...] = (
    Format("PDF", (".pdf",), read_pdf, "pypdf", "pypdf", "pdf"),
    Format("HTML", (".html", ".htm", ".xhtml"), read_html, "trafilatura", "trafilatura", "html"),
    Format("DOCX", (".docx",), read_docx, "docx", "python-docx", "docx"),
    Format("Markdown", (".md", ".markdown"), read_markdown),
    Format("text", (".txt", ".text"), read_plain),
)
"""The formats :func:`vecctx.loaders.load_path` reads, by file suffix (case-insensitive)."""

_BY_SUFFIX = {suffix: f for f in FORMATS for suffix in f.suffixes}


def format_of(path: Path) -> Format | None:
    """The format of a file by its suffix, or ``None`` when it is not one vecctx reads."""
    return _BY_SUFFIX.get(path.suffix.lower())


__all__ = [
    "BLOCK_SEPARATOR",
    "FORMATS",
    "Format",
    "NoTextError",
    "Parsed",
    "UnreadableFileError",
    "format_of",
    "parse_markdown",
    "read_docx",
    "read_html",
    "read_markdown",
    "read_pdf",
    "read_plain",
    "section_spans",
]
