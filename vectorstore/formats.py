"""Reports in formats other than plain text: Markdown, HTML, PDF and Word, each turned into text
lines that remember where in the file they came from.

- `.md`: parsed by markdown-it; markup is dropped, every text line keeps its line in the file. A
  line of links only stays as written (cleaning drops it as a site's navigation), and an ordered
  list keeps its numbers (a glossary's entries are found by them).
- `.html`/`.htm`: the main text is extracted by trafilatura (navigation, menus and footers
  dropped); every paragraph, cut at its `<br>`s, keeps the lines of the file it spans.
- `.pdf`: the text layer, read by pypdf, page by page; every line keeps its page and its line on
  that page. A number alone on a page's first or last line is its page number, and dropped. A PDF
  without a text layer (a scan) is skipped with that reason: no OCR is attempted.
- `.docx`: read by python-docx, paragraphs and table rows in document order; every line keeps its
  paragraph number (or its table and row).

The lines then go through the same cleaning, section parsing and chunking as a `.txt` report, and a
chunk's `locus` names its place with `describe`: `page 3, lines 4–9`, `paragraphs 12–15`.

Leaves out: decoding plain text (reading.py) and what the text means (metadata.py).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vectorstore.cleaning import is_link_line

# An HTML paragraph's first and last characters are looked for this many lines on, to find the
# lines it spans in the file; when not found, it is cited by the line where its element starts.
_SEARCH_LINES = 200
# How many of those characters are compared (whitespace removed on both sides).
_PROBE = 6
_WHITESPACE = re.compile(r"\s+")
# A printed page number: `3`, `- 3 -`, `— 3 —`, `第3页`, `3 / 12`.
_PAGE_NUMBER = re.compile(r"^[-—–\s]*(?:第\s*)?\d{1,4}(?:\s*页)?(?:\s*/\s*\d{1,4})?[-—–\s]*$")


@dataclass(frozen=True)
class Origin:
    """Where one text line sits in its file: `unit` `first`..`last`, on `page` when the file has pages."""

    unit: str  # "line", "paragraph" or "table 2, row"
    first: int
    last: int
    page: int | None = None


@dataclass(frozen=True)
class Extracted:
    """A document's text lines, the place of each, and what read it."""

    lines: tuple[str, ...]
    origins: tuple[Origin, ...]
    reader: str  # shown where a `.txt` report shows its encoding: "pdf (pypdf)"


# A Word report unpacks to a few MB (text and styles); more than this is a zip bomb or not a report.
MAX_UNPACKED = 100_000_000


def _not_a_bomb(data: bytes) -> None:
    """Refuse a zip whose members, as the archive declares them, unpack to more than MAX_UNPACKED
    bytes, before anything is unpacked (a 0.9 MB file once took 6.6 GB and four minutes)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # python-docx says what is damaged
    if declared > MAX_UNPACKED:
        raise Unreadable(
            f"a Word file that unpacks to {declared // 1_000_000} MB (over {MAX_UNPACKED // 1_000_000} MB): "
            "a zip bomb, or not a report"
        )


class Unreadable(Exception):
    """A file of a known format that holds no text we can read; the message says why."""


def describe(span: Sequence[Origin]) -> str:
    """The place of consecutive lines, as a reader looks it up: `page 2, lines 3–7`; a span over
    two pages, or from paragraphs into a table, names both ends: `page 2, line 30 – page 3, line 4`."""
    start, end = span[0], span[-1]
    if all(o.page == start.page and o.unit == start.unit for o in span):
        page = f"page {start.page}, " if start.page is not None else ""
        first, last = start.first, max(o.last for o in span)
        if first == last:
            return f"{page}{start.unit} {first}"
        return f"{page}{start.unit}s {first}–{last}"
    return f"{describe([start])} – {describe([end])}"


def extract(path: Path, data: bytes, text: str | None = None) -> Extracted:
    """The text lines of a `.md`, `.html`, `.pdf` or `.docx` file (`text`: its decoded text, for the
    first two). Raises Unreadable with the reason when it holds none."""
    suffix = path.suffix.lower()
    if suffix == ".md":
        assert text is not None
        found = list(_markdown(text))
        reader = "markdown (markdown-it)"
    elif suffix in (".html", ".htm"):
        assert text is not None
        found = list(_html(text))
        reader = "html (trafilatura)"
    elif suffix == ".pdf":
        found = list(_pdf(data))
        reader = "pdf (pypdf)"
    elif suffix == ".docx":
        found = list(_docx(data))
        reader = "docx (python-docx)"
    else:
        raise ValueError(f"not a document format: {suffix}")
    found = [(line.strip(), origin) for line, origin in found if line.strip()]
    if not found:
        raise Unreadable("no text in it")
    return Extracted(tuple(t for t, _ in found), tuple(o for _, o in found), reader)


# --- Markdown ----------------------------------------------------------------------------------


def _markdown(text: str) -> Iterator[tuple[str, Origin]]:
    from markdown_it import MarkdownIt

    lines = text.split("\n")
    skip = _front_matter(lines)
    parser = MarkdownIt("commonmark").enable("table")
    tokens = parser.parse("\n".join([""] * skip + lines[skip:]))
    row: list[str] = []
    row_line = 0
    number = ""  # an ordered list item's number, until its first line
    for i, token in enumerate(tokens):
        if token.type == "list_item_open" and token.info:
            # Kept: a glossary (`1. 两新：…`) or a numbered list is cited by its numbers.
            number = f"{token.info}{token.markup} "
        elif token.type == "tr_open" and token.map:
            row, row_line = [], token.map[0] + 1
        elif token.type == "tr_close":
            yield _row(row), Origin("line", row_line, row_line)
        elif token.type == "inline" and token.map:
            in_cell = i > 0 and tokens[i - 1].type in ("th_open", "td_open")
            if in_cell:
                row.append(" ".join(_inline_lines(token.children or [])))
                continue
            for k, line in enumerate(_inline_lines(token.children or [])):
                n = token.map[0] + 1 + k
                if is_link_line(lines[n - 1].strip()):
                    # Kept as written, links and all, so cleaning drops it as navigation, as in a
                    # page scraped to .txt, and cuts the site's footer that follows the article.
                    line = lines[n - 1]
                yield number + line, Origin("line", n, n)
                number = ""
        elif token.type in ("fence", "code_block") and token.map:
            # Text set apart as code is still text of the report (a table pasted as preformatted).
            first = token.map[0] + 1 + (token.type == "fence")
            for k, line in enumerate(token.content.split("\n")):
                yield line, Origin("line", first + k, first + k)


def _front_matter(lines: list[str]) -> int:
    """How many lines a YAML front matter block (`---` … `---`) takes at the top; 0 when none."""
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                return i + 1
    return 0


def _inline_lines(children: list[Any]) -> list[str]:
    """The plain text of an inline token, one string per source line (markup and raw HTML dropped)."""
    lines = [""]
    for child in children:
        if child.type in ("softbreak", "hardbreak"):
            lines.append("")
        elif child.type in ("text", "code_inline"):
            lines[-1] += child.content
        elif child.type == "image":
            lines[-1] += "".join(c.content for c in child.children or [])
    return lines


# --- HTML --------------------------------------------------------------------------------------


def _html(text: str) -> Iterator[tuple[str, Origin]]:
    import trafilatura

    document = trafilatura.bare_extraction(
        text, output_format="python", include_comments=False, include_tables=True, favor_recall=True
    )
    body = getattr(document, "body", None)
    if body is None:
        return
    source = [_WHITESPACE.sub("", line) for line in text.split("\n")]
    cursor = 1
    for element in body:
        for block in _blocks(element):
            if block.tag == "row":
                cells = ["".join(cell.itertext()) for cell in block] or [""]
                pieces = [(_row(cells), cells[0], cells[-1])]
            else:
                pieces = [(line, line, line) for line in _lines(block)]
            # trafilatura keeps the parsed element's line, except on the lists and tables it rebuilds.
            known = block.sourceline if isinstance(block.sourceline, int) else None
            for content, head, tail in pieces:
                if not content.strip():
                    continue
                head, tail = (_WHITESPACE.sub("", part) for part in (head, tail))
                start = known or cursor
                first = _line_holding(source, start, head[:_PROBE]) or start
                last = _line_holding(source, first, tail[-_PROBE:]) or first
                cursor, known = first, None
                yield _WHITESPACE.sub(" ", content).strip(), Origin("line", first, last)


def _lines(block: Any) -> list[str]:
    """A paragraph's text cut at its line breaks: many sites put a whole report in one `<p>` or
    `<div>`, its headings and paragraphs apart only by `<br>` (trafilatura's `<lb/>`)."""
    lines = [""]

    def walk(element: Any) -> None:
        if element.tag == "lb":
            lines.append("")
        else:
            lines[-1] += element.text or ""
            for child in element:
                walk(child)
                lines[-1] += child.tail or ""

    walk(block)
    return lines


def _blocks(element: Any) -> Iterator[Any]:
    """The paragraphs of one extracted element: a list's items and a table's rows each stand alone."""
    if element.tag in ("list", "table"):
        for child in element:
            yield from _blocks(child)
    else:
        yield element


def _line_holding(source: list[str], start: int, probe: str) -> int | None:
    """The first line from `start` holding `probe` (the file's lines and the probe without whitespace,
    as a browser ignores it); None when it is written another way there (an entity, inline markup)."""
    if probe:
        for n in range(start, min(start + _SEARCH_LINES, len(source) + 1)):
            if probe in source[n - 1]:
                return n
    return None


# --- PDF ---------------------------------------------------------------------------------------


def _pdf(data: bytes) -> Iterator[tuple[str, Origin]]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("encrypted PDF: save a copy without a password")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, DependencyError, ValueError, KeyError, TypeError) as exc:
        raise Unreadable(f"damaged PDF ({exc})") from exc
    if not any(page.strip() for page in pages):
        raise Unreadable("PDF without a text layer (a scan?): no text to read, and no OCR is done")
    for p, page in enumerate(pages, start=1):
        lines = page.split("\n")
        filled = [n for n, line in enumerate(lines) if line.strip()]
        # A page number is the first or last line of its page; a number elsewhere is text.
        numbers = {n for n in filled[:1] + filled[-1:] if _PAGE_NUMBER.match(lines[n])}
        for n, line in enumerate(lines):
            if n not in numbers:
                yield line, Origin("line", n + 1, n + 1, page=p)


# --- Word --------------------------------------------------------------------------------------


def _docx(data: bytes) -> Iterator[tuple[str, Origin]]:
    import docx
    from docx.table import Table

    _not_a_bomb(data)

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises zipfile, lxml and KeyError failures as they come
        raise Unreadable(f"damaged Word file ({type(exc).__name__}: {exc})") from exc
    paragraph = table = 0
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            table += 1
            for r, row in enumerate(block.rows, start=1):
                yield _row(_unique(cell.text for cell in row.cells)), Origin(f"table {table}, row", r, r)
            continue
        paragraph += 1
        # A manual line break (Shift+Enter) splits one paragraph over lines; all cite the paragraph.
        for line in block.text.split("\n"):
            yield line, Origin("paragraph", paragraph, paragraph)


def _row(cells: list[str]) -> str:
    """A table row as one sentence, `地区生产总值，6.5%。`: cells apart, and the row a sentence of its
    own, so a short row is never taken for a heading and a figure stays with its row's label."""
    texts = [_WHITESPACE.sub(" ", cell).strip() for cell in cells]
    return "，".join(t for t in texts if t) + "。" if any(texts) else ""


def _unique(cells: Iterator[str]) -> list[str]:
    """A merged cell appears once per grid column it spans; keep it once."""
    out: list[str] = []
    for cell in cells:
        if not out or out[-1] != cell:
            out.append(cell)
    return out
