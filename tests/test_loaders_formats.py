"""Document loaders on real files made here: a PDF written with fpdf2 (and one with no text
layer), an HTML page with scripts and navigation, a DOCX written with python-docx, Markdown by
section; spans -> chunk page/section; a mixed folder ingested into the default embedded store
and answered with page- and section-level citations."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

import vecctx
from tests._cli import run_vecctx
from vecctx.chunking import Chunker, Document, Span
from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.embedders import HashingEmbedder, RegexTokenizer
from vecctx.loaders import (
    NoTextError,
    SkippedFile,
    UnreadableFileError,
    load_file,
    load_path,
    load_text_dir,
)
from vecctx.loaders.formats import parse_markdown
from vecctx.prompt.citations import source_label

PAGES = [
    "Revenue grew by twelve percent in 2025. The board approved a dividend of two euros per share.",
    "Costs fell because the new factory in Lyon opened in March. Energy use per unit dropped by a third.",
    "",  # a blank page: no span, the page numbers after it stay right
    "The outlook for 2026 is cautious. Orders for turbines are flat.",
]

HTML = """<!doctype html>
<html><head><title>Install guide - Acme Docs</title>
<script>var tracking = "TRACKER_SCRIPT_TEXT";</script>
<style>body { color: red } .STYLE_RULE {}</style></head>
<body>
<header><nav><ul><li><a href="/">Home NAVLINK</a></li><li><a href="/docs">Docs NAVLINK</a></li>
<li><a href="/blog">Blog NAVLINK</a></li></ul></nav></header>
<aside class="sidebar"><ul><li><a href="/a">Getting started SIDEBAR</a></li>
<li><a href="/b">Configuration reference SIDEBAR</a></li></ul></aside>
<main><article>
<h1>Installing Acme</h1>
<p>Acme installs with a single command on Linux, macOS and Windows. The installer checks your
Python version before it changes anything on the machine.</p>
<h2>Requirements</h2>
<p>You need Python 3.11 or later and about 200 MB of free disk space for the package and its
caches, which live in your home directory.</p>
<ul><li>Python 3.11 or later</li><li>200 MB of disk</li></ul>
<script>console.log("INLINE_SCRIPT_TEXT")</script>
<h2>Upgrading</h2>
<p>Run the installer again to upgrade; your settings in acme.toml are kept between versions, and
the old version is removed once the new one starts.</p>
</article></main>
<footer><p>Copyright 2026 Acme Corp. FOOTER_TEXT. Privacy policy. Terms of use.</p></footer>
</body></html>
"""

MARKDOWN = """---
title: The Operator Guide
tags: [ops]
---
Read this before your first shift.

# Guide

Operators keep the plant running day and night.

## Setup

Install the console with the vendor installer.

```sh
# not a heading: a comment inside a fenced code block
make install
```

### On Linux

Use the package from the distribution.

Shutdown procedure
------------------

Close the valves in order: A, then B.
"""


def write_pdf(path: Path, pages: list[str], *, title: str | None = None) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    pdf.output(str(path))


def write_scanned_pdf(path: Path) -> None:
    """A page holding only an image of text (as a scanner makes) and drawn shapes: no text layer."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 120), "white")
    ImageDraw.Draw(image).text((10, 40), "Scanned invoice 42: total 1,200 EUR", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(buffer, x=10, y=10, w=180)
    pdf.set_fill_color(120)
    pdf.rect(20, 120, 100, 40, style="F")
    pdf.output(str(path))


def write_docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.core_properties.title = "Staff handbook"
    d.add_paragraph("Staff handbook", style="Title")
    d.add_paragraph("This handbook applies to every employee.")
    d.add_heading("Leave", level=1)
    d.add_paragraph("Staff get 25 days of paid leave per year.")
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Years", (0, 1): "Days", (1, 0): "5+", (1, 1): "28"}.items():
        table.cell(r, c).text = text
    d.add_heading("Sick days", level=2)
    d.add_paragraph("Report sickness to your manager before 9am.")
    d.add_heading("Expenses", level=1)
    d.add_paragraph("Submit receipts within 30 days.")
    d.save(str(path))


def chunks_of(doc: Document, max_tokens: int = 400) -> list[vecctx.chunking.Chunk]:
    chunks = Chunker(RegexTokenizer(), max_tokens=max_tokens).split(doc)
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
    return chunks


# -- PDF -------------------------------------------------------------------------------------
def test_pdf_pages_become_spans_and_chunk_pages(tmp_path: Path) -> None:
    write_pdf(tmp_path / "report.pdf", PAGES, title="Annual report 2025")
    doc = load_file(tmp_path / "report.pdf")
    assert doc.id == "report.pdf"
    assert dict(doc.metadata) == {"source": "report.pdf", "title": "Annual report 2025", "pages": 4}
    kept = [(n, t) for n, t in enumerate(PAGES, start=1) if t]
    assert doc.text == "\n\n".join(t for _, t in kept)
    assert [(s.metadata["page"], doc.text[s.start : s.end]) for s in doc.spans] == kept
    assert not doc.break_at_spans  # text flows across pages

    # small chunks: each knows its page, and offsets still index the text
    small = chunks_of(doc, max_tokens=12)
    by_page = {c.metadata["page"] for c in small}
    assert by_page == {1, 2, 4}
    for c in small:
        span = next(s for s in doc.spans if s.metadata["page"] == c.metadata["page"])
        assert span.start <= c.start < span.end
        assert "page_end" not in c.metadata
    # one large chunk over every page: first page and last page
    (whole,) = chunks_of(doc)
    assert (whole.metadata["page"], whole.metadata["page_end"]) == (1, 4)
    # spans never move chunk boundaries
    plain = chunks_of(Document(doc.id, doc.text, doc.metadata), max_tokens=12)
    assert [(c.start, c.end) for c in plain] == [(c.start, c.end) for c in small]


def test_pdf_without_a_text_layer_is_a_clear_error_not_an_empty_document(tmp_path: Path) -> None:
    write_scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(NoTextError, match=r"no text layer on its page .*OCR") as err:
        load_file(tmp_path / "scan.pdf")
    assert isinstance(err.value, InvalidInputError) and err.value.path.endswith("scan.pdf")
    skipped: list[SkippedFile] = []
    assert list(load_path(tmp_path, skipped=skipped)) == []
    assert [s.path for s in skipped] == ["scan.pdf"] and "no text layer" in skipped[0].reason


def test_damaged_pdf_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not a pdf body at all\n")
    with pytest.raises(UnreadableFileError, match="unreadable PDF"):
        load_file(tmp_path / "broken.pdf")


# -- HTML ------------------------------------------------------------------------------------
def test_html_main_text_without_navigation_scripts_or_boilerplate(tmp_path: Path) -> None:
    (tmp_path / "install.html").write_text(HTML)
    doc = load_file(tmp_path / "install.html")
    for noise in ("NAVLINK", "SIDEBAR", "TRACKER_SCRIPT_TEXT", "INLINE_SCRIPT_TEXT", "STYLE_RULE", "FOOTER"):
        assert noise not in doc.text, noise
    assert "Acme installs with a single command" in doc.text
    assert "- Python 3.11 or later\n- 200 MB of disk" in doc.text  # the list is kept, an item a line
    assert doc.metadata["title"] == "Installing Acme"
    assert doc.break_at_spans
    sections = {s.metadata["section"]: doc.text[s.start : s.end] for s in doc.spans}
    assert list(sections) == [
        "Installing Acme",
        "Installing Acme > Requirements",
        "Installing Acme > Upgrading",
    ]
    assert sections["Installing Acme > Requirements"].startswith("Requirements\n\nYou need Python 3.11")
    assert "200 MB of disk" in sections["Installing Acme > Requirements"]
    assert sections["Installing Acme > Upgrading"].rstrip().endswith("once the new one starts.")
    for c in chunks_of(doc, max_tokens=15):
        span = next(s for s in doc.spans if s.metadata["section"] == c.metadata["section"])
        assert span.start <= c.start and c.end <= span.end  # a chunk stays in its section


def test_html_page_without_main_text(tmp_path: Path) -> None:
    (tmp_path / "empty.html").write_text(
        "<html><head><title>x</title><script>var a = 1;</script></head><body><nav></nav></body></html>"
    )
    with pytest.raises(NoTextError, match="no main text"):
        load_file(tmp_path / "empty.html")


# -- DOCX ------------------------------------------------------------------------------------
def test_docx_paragraphs_tables_and_heading_sections(tmp_path: Path) -> None:
    write_docx(tmp_path / "handbook.docx")
    doc = load_file(tmp_path / "handbook.docx")
    assert doc.metadata["title"] == "Staff handbook"
    assert doc.text == (
        "Staff handbook\n\nThis handbook applies to every employee.\n\n"
        "Leave\n\nStaff get 25 days of paid leave per year.\n\nYears | Days\n5+ | 28\n\n"
        "Sick days\n\nReport sickness to your manager before 9am.\n\n"
        "Expenses\n\nSubmit receipts within 30 days."
    )
    sections = [(s.metadata["section"], doc.text[s.start : s.end].split("\n\n")[0]) for s in doc.spans]
    assert sections == [("Leave", "Leave"), ("Leave > Sick days", "Sick days"), ("Expenses", "Expenses")]
    chunks = chunks_of(doc)
    assert [c.metadata.get("section") for c in chunks] == [None, "Leave", "Leave > Sick days", "Expenses"]
    assert chunks[1].text.endswith("5+ | 28")


def test_docx_that_is_not_a_zip_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "fake.docx").write_text("not a word document")
    with pytest.raises(UnreadableFileError, match="unreadable DOCX"):
        load_file(tmp_path / "fake.docx")


# -- Markdown --------------------------------------------------------------------------------
def test_markdown_sections_offsets_and_code_fences() -> None:
    parsed = parse_markdown(MARKDOWN)
    assert parsed.text == MARKDOWN and parsed.title == "The Operator Guide"
    got = [(s.metadata["section"], MARKDOWN[s.start : s.end].splitlines()[0]) for s in parsed.spans]
    assert got == [
        ("Guide", "# Guide"),
        ("Guide > Setup", "## Setup"),  # the '# not a heading' in the fence is no heading
        ("Guide > Setup > On Linux", "### On Linux"),
        ("Guide > Shutdown procedure", "Shutdown procedure"),  # a setext heading: level 2
    ]
    assert parsed.spans[-1].end == len(MARKDOWN)
    assert all(a.end == b.start for a, b in zip(parsed.spans, parsed.spans[1:], strict=False))
    doc = Document("guide.md", parsed.text, {}, parsed.spans, parsed.break_at_spans)
    chunks = chunks_of(doc)
    assert [c.metadata.get("section") for c in chunks] == [
        None,  # the front matter and the line before the first heading
        "Guide",
        "Guide > Setup",
        "Guide > Setup > On Linux",
        "Guide > Shutdown procedure",
    ]
    assert "make install" in chunks[2].text and chunks[2].text.startswith("## Setup")
    assert parse_markdown("no headings at all\n").spans == ()
    assert parse_markdown("Title\r\n=====\r\n\r\nBody\r\n").spans[0].metadata == {"section": "Title"}


def test_load_text_dir_keeps_its_contract_and_adds_sections(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Alpha notes\n\nSome text.\n\n## Detail\n\nMore.")
    (tmp_path / "b.txt").write_text("Plain text.")
    (tmp_path / "c.bin").write_bytes(b"\x00")
    docs = list(load_text_dir(tmp_path))
    assert [(d.id, d.metadata["title"], d.metadata["source"]) for d in docs] == [
        ("a.md", "Alpha notes", "a.md"),
        ("b.txt", "b", "b.txt"),
    ]
    assert [s.metadata["section"] for s in docs[0].spans] == ["Alpha notes", "Alpha notes > Detail"]
    assert docs[1].spans == ()
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(InvalidInputError, match="not utf-8 text"):
        list(load_text_dir(tmp_path))


# -- chunk metadata from spans ---------------------------------------------------------------
def test_spans_are_checked_and_plain_documents_are_untouched() -> None:
    text = "One two three. Four five six. Seven eight nine."
    chunker = Chunker(RegexTokenizer(), max_tokens=4)
    plain = chunker.split(Document("d", text, {"k": 1}))
    assert all(c.metadata == {"k": 1} for c in plain)
    spans = (Span(0, 14, {"page": 1}), Span(15, len(text), {"page": 2}))
    paged = chunker.split(Document("d", text, {"k": 1}, spans))
    assert [(c.start, c.end) for c in paged] == [(c.start, c.end) for c in plain]
    assert [c.metadata["page"] for c in paged] == [1, 2, 2]
    for bad in [
        (Span(5, 3, {}),),
        (Span(0, 10, {}), Span(5, 20, {})),  # overlapping
        (Span(0, len(text) + 1, {}),),
    ]:
        with pytest.raises(InvalidInputError, match="span"):
            chunker.split(Document("d", text, {}, bad))


def test_missing_parser_library_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_pdf(tmp_path / "a.pdf", ["Some text."])
    (tmp_path / "b.html").write_text(HTML)
    monkeypatch.setitem(sys.modules, "pypdf", None)  # import pypdf -> ModuleNotFoundError
    with pytest.raises(ConfigError, match=r"needs pypdf: pip install 'vecctx\[pdf\]'"):
        load_file(tmp_path / "a.pdf")
    monkeypatch.setitem(sys.modules, "trafilatura", None)
    skipped: list[SkippedFile] = []
    with pytest.raises(ConfigError, match=r"vecctx\[pdf,html\]"):  # before any file is read
        load_path(tmp_path, skipped=skipped)
    assert skipped == []


# -- a mixed folder --------------------------------------------------------------------------
def make_folder(root: Path) -> Path:
    folder = root / "kb"
    (folder / "web").mkdir(parents=True)
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]")  # hidden: not even reported
    write_pdf(folder / "report.pdf", PAGES, title="Annual report 2025")
    write_scanned_pdf(folder / "scan.pdf")
    (folder / "web" / "install.html").write_text(HTML)
    write_docx(folder / "handbook.docx")
    (folder / "guide.md").write_text(MARKDOWN)
    (folder / "notes.txt").write_text("Backups run nightly at 2am and are kept for 30 days.\n")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    return folder


def test_folder_loads_every_format_and_reports_what_it_skipped(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    skipped: list[SkippedFile] = []
    docs = list(load_path(folder, skipped=skipped))
    assert [d.id for d in docs] == [
        "guide.md",
        "handbook.docx",
        "notes.txt",
        "report.pdf",
        "web/install.html",
    ]
    assert all(d.metadata["source"] == d.id for d in docs)
    reasons = {s.path: s.reason for s in skipped}
    assert set(reasons) == {"latin1.txt", "logo.png", "scan.pdf"}
    assert reasons["logo.png"].startswith("unsupported file type .png")
    assert "no text layer" in reasons["scan.pdf"]
    assert reasons["latin1.txt"].startswith("not utf-8 text")
    with pytest.raises(UnreadableFileError, match=r"latin1\.txt: not utf-8"):  # strict: the first one raises
        list(load_path(folder))
    with pytest.raises(ConfigError, match=r"unsupported file type \.png"):
        load_path(folder / "logo.png")
    assert [d.id for d in load_path(folder / "web" / "install.html")] == ["install.html"]


def test_mixed_folder_answers_with_page_and_section_citations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VECCTX_STORE", raising=False)
    embedder = HashingEmbedder(dimension=256, max_input_tokens=24)  # about a sentence or two a chunk
    skipped: list[SkippedFile] = []
    with vecctx.connect() as store:  # the default embedded store (Qdrant Edge under ./.vecctx)
        assert store.capabilities.name.startswith("qdrant")
        report = vecctx.Ingestor(store, "kb", embedder=embedder).ingest(load_path(folder, skipped=skipped))
        assert report.documents == 5 and len(skipped) == 3
        aug = vecctx.Augmenter(store=store, collection="kb", embedder=embedder, k=3, budget=2000)

        prompt = aug.augment("factory Lyon costs fell March energy")
        top = prompt.sources[0]
        assert top.doc_id == "report.pdf" and top.metadata["page"] == 2
        assert "Lyon" in top.text
        assert source_label(top) == "[1] report.pdf, p. 2"
        # the model sees the file and page too, so it can cite them
        assert '<source id="1" title="Annual report 2025" source="report.pdf" page="2">' in prompt.prompt

        prompt = aug.augment("valves order close shutdown procedure")
        top = prompt.sources[0]
        assert top.doc_id == "guide.md" and top.metadata["section"] == "Guide > Shutdown procedure"
        assert source_label(top, marker=False) == "guide.md \u00a7 Guide > Shutdown procedure"
        assert 'section="Guide &gt; Shutdown procedure"' in prompt.prompt

        prompt = aug.augment("sickness report manager before 9am", filter={"doc_id": "handbook.docx"})
        assert prompt.sources[0].metadata["section"] == "Leave > Sick days"

        prompt = aug.augment("installer upgrade settings acme.toml kept versions")
        top = prompt.sources[0]
        assert top.metadata["source"] == "web/install.html"
        assert source_label(top) == "[1] web/install.html \u00a7 Installing Acme > Upgrading"
        # filters reach the new metadata
        hits = aug.augment("revenue dividend", filter={"page": 1}).sources
        assert hits and all(s.metadata["page"] == 1 for s in hits)
        # re-ingesting the same folder writes nothing
        again = vecctx.Ingestor(store, "kb", embedder=embedder).ingest(load_path(folder, skipped=[]))
        assert again.written == 0 and again.unchanged == report.chunks


def test_source_label_without_page_or_section() -> None:
    from vecctx.contract.types import ScoreKind
    from vecctx.prompt import Source

    def src(**meta: object) -> Source:
        return Source(1, "x#0", "t", 0.5, 0.5, ScoreKind.COSINE, 0, doc_id="notes.txt", metadata=meta)

    assert source_label(src()) == "[1] notes.txt"
    assert source_label(src(source="a/b.pdf", page=3, page_end=4)) == "[1] a/b.pdf, pp. 3-4"
    assert source_label(src(page=3, page_end=3)) == "[1] notes.txt, p. 3"


# -- the command line ------------------------------------------------------------------------
def test_cli_ingest_of_a_scanned_pdf_alone_is_a_one_line_error(tmp_path: Path) -> None:
    write_scanned_pdf(tmp_path / "scan.pdf")
    proc = run_vecctx(["ingest", str(tmp_path / "scan.pdf"), "--store", "memory://"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("vecctx: error: nothing to ingest") and "no text layer" in line


def test_cli_ingest_of_a_folder_lists_skipped_files(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    proc = run_vecctx(["ingest", str(folder), "--store", f"qdrant:///{tmp_path}/s", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["documents"] == 5 and out["written"] > 5
    assert sorted(s["path"] for s in out["skipped"]) == ["latin1.txt", "logo.png", "scan.pdf"]
    text = run_vecctx(["ingest", str(folder), "--store", f"qdrant:///{tmp_path}/s"], tmp_path)
    assert text.returncode == 0, text.stderr
    assert "skipped scan.pdf: no text layer" in text.stdout
    assert "0 written" in text.stdout and "3 files skipped" in text.stdout
