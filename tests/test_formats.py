"""Reports as Markdown, HTML, PDF and Word files: each test writes a small real file of its kind
(the PDF with reportlab, the Word file with python-docx), ingests it like the bundled reports, and
checks the chunks, their place in the file, and the citations of answers built on them."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pypdf
import pytest
from reportlab.pdfgen import canvas

import qa
from benchmarks.samples import LANTERN, NAVIGATION, QUESTIONS, SALT, VEHICLES, report, write_all, write_pdf
from vectorstore import Corpus, build, load
from vectorstore.chunking import Chunk
from vectorstore.config import Settings
from vectorstore.formats import Origin, describe
from vectorstore.ingest import Report
from vectorstore.reading import read


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("formats")
    write_all(folder)
    return folder


@pytest.fixture(scope="module")
def corpus(folder: Path) -> Corpus:
    return load(folder)


def chunk_holding(corpus: Corpus, text: str) -> Chunk:
    found = [c for c in corpus.chunks() if text in c.text]
    assert len(found) == 1, [c.text for c in found]
    return found[0]


def test_every_format_is_ingested_with_its_metadata(corpus: Corpus) -> None:
    assert not corpus.skipped and not corpus.warnings
    years = {r.source: (r.meta.year, r.meta.kind, r.meta.date, r.encoding) for r in corpus.reports}
    assert years == {
        "lantern.html": (2031, "work_report", "2031-01-20", "html (trafilatura)"),
        "salt.md": (2030, "work_report", "2030-01-20", "markdown (markdown-it)"),
        "services.docx": (2033, "work_report", "2033-01-20", "docx (python-docx)"),
        "vehicles.pdf": (2032, "work_report", "2032-01-20", "pdf (pypdf)"),
    }


def test_markdown_chunks_cite_the_lines_of_the_file_without_markup(corpus: Corpus, folder: Path) -> None:
    chunk = chunk_holding(corpus, "井矿盐产量")
    assert chunk.section == "2030年政府工作报告 › 一、2029年工作回顾"
    raw = (folder / "salt.md").read_text(encoding="utf-8").split("\n")
    first = raw.index("过去一年，全市上下攻坚克难，经济运行稳中有进。") + 1
    assert chunk.locus == f"lines {first}–{first + 2}"
    assert raw[first + 1] == SALT and SALT in chunk.text
    assert not any("#" in c.text or "source:" in c.text for c in corpus.chunks())


def test_html_keeps_the_main_text_and_drops_navigation_and_footer(corpus: Corpus, folder: Path) -> None:
    texts = "\n".join(c.text + c.section for c in corpus.chunks() if c.source == "lantern.html")
    assert LANTERN in texts
    for word in [*NAVIGATION, "版权所有", "ICP"]:
        assert word not in texts
    chunk = chunk_holding(corpus, "恐龙灯会")
    raw = (folder / "lantern.html").read_text(encoding="utf-8").split("\n")
    n = next(i for i, line in enumerate(raw, start=1) if LANTERN in line)
    assert chunk.locus == f"lines {n - 1}–{n}"  # the paragraph before it, and its own line


def test_a_page_holding_its_report_in_one_paragraph_broken_by_br_keeps_its_sections(tmp_path: Path) -> None:

    title, lines = report(2031, LANTERN)
    # As many sites publish a report: one <p>, headings and paragraphs apart only by <br>, two a line.
    pairs = [[title, *lines][i : i + 2] for i in range(0, len(lines) + 1, 2)]
    body = "\n".join("<br/>".join(pair) + "<br/>" for pair in pairs)
    page = f'<html><body><div class="nav"><a href="/">首页</a></div>\n<div id="zoom"><p>\n{body}\n</p></div></body></html>'
    (tmp_path / "zoom.html").write_text(page, encoding="utf-8")
    corpus = load(tmp_path)
    chunk = chunk_holding(corpus, "恐龙灯会")
    assert chunk.section == "2031年政府工作报告 › 一、2030年工作回顾"
    raw = page.split("\n")
    n = next(i for i, line in enumerate(raw, start=1) if LANTERN in line)
    assert chunk.locus == f"line {n}"  # the section's two sentences share a line of the file
    assert corpus.reports[0].meta.date == "2031-01-20"


def test_pdf_chunks_cite_page_and_line_and_the_text_layer_there_holds_them(corpus: Corpus, folder: Path) -> None:
    chunk = chunk_holding(corpus, "新能源汽车产量")
    assert chunk.section == "2032年政府工作报告 › 一、2031年工作回顾"
    # The sentence cut by the page break is whole again, without the page number between.
    assert VEHICLES in chunk.text and "1" not in chunk.text.replace(VEHICLES, "")
    # Page 1: title, three lines of front matter, the opening, the heading, then the section's text.
    assert chunk.locus == "page 1, line 7 – page 2, line 1"
    pages = [page.extract_text().split("\n") for page in pypdf.PdfReader(folder / "vehicles.pdf").pages]
    assert pages[0][7] + pages[1][0] == VEHICLES


def test_a_number_alone_on_a_pdf_line_is_text_and_only_a_page_edge_number_is_dropped(tmp_path: Path) -> None:

    title, lines = report(2032, "")
    # The text layer splits `500` off `500强`, as pypdf does with some fonts; each page is numbered.
    fact = ["全市新增三类500强企业投资项目12个，其中中国民营企业", "500", "强投资项目5个。"]
    write_pdf(tmp_path / "r.pdf", [["— 1 —", title, *lines[:6]], [*fact, *lines[7:], "第2页"]])
    corpus = load(tmp_path)
    chunk = chunk_holding(corpus, "三类500强")
    assert "其中中国民营企业500强投资项目5个。" in chunk.text
    assert chunk.locus == "page 1, line 8 – page 2, line 3"
    assert not any("第2页" in c.text or "— 1 —" in c.text for c in corpus.chunks())


@pytest.mark.parametrize(
    "seed", ["000_9a0a210a4c556ec2.txt", "002_1cab8fd74a5b0016.txt", "003_80c5026a2abaecef.txt", "004_5674408eb07718c4.txt"]
)
@pytest.mark.parametrize("suffix", [".docx", ".html", ".md", ".pdf"])
def test_a_bundled_report_saved_as_word_html_markdown_or_pdf_gives_the_chunks_of_its_txt(
    tmp_path: Path, seed: str, suffix: str
) -> None:
    import html

    import docx

    from tests.conftest import SEEDS

    lines = (SEEDS / seed).read_text(encoding="utf-8").split("\n")
    path = tmp_path / (Path(seed).stem + suffix)
    if suffix == ".docx":  # a paragraph per line, as a copy and paste into Word gives
        document = docx.Document()
        for line in lines:
            document.add_paragraph(line)
        document.save(str(path))
    elif suffix == ".md":  # as it is: 000 is a web page scraped to Markdown, navigation links and all
        shutil.copy(SEEDS / seed, path)
    elif suffix == ".pdf":  # a text line per line, 40 to a page, each page numbered at its foot
        write_pdf(path, [[*lines[i : i + PDF_PAGE], f"— {i // PDF_PAGE + 1} —"] for i in range(0, len(lines), PDF_PAGE)])
    else:  # a <p> per line, inside a site's navigation and footer
        body = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines if line.strip())
        path.write_text(
            f'<html><body><nav><a href="/">首页</a> <a href="/gk">政务公开</a></nav>\n<article>\n{body}\n</article>'
            "<footer>版权所有 蜀ICP备05003926号</footer></body></html>",
            encoding="utf-8",
        )
    txt = load_one(SEEDS / seed, tmp_path / "txt")
    other = load_one(path, tmp_path / "other")
    assert other.meta == txt.meta and other.repairs == txt.repairs
    assert [(c.section, c.text) for c in other.chunks()] == [(c.section, c.text) for c in txt.chunks()]
    if suffix == ".pdf":  # every chunk cites the page its first line is printed on
        pages = [f"page {(c.line_start - 1) // PDF_PAGE + 1}, " for c in txt.chunks()]
        assert [c.locus[: len(p)] for c, p in zip(other.chunks(), pages, strict=True)] == pages


PDF_PAGE = 40


def load_one(path: Path, folder: Path) -> Report:
    folder.mkdir()
    shutil.copy(path, folder / path.name)
    (report,) = load(folder).reports
    return report


def test_docx_chunks_cite_paragraphs_and_table_rows(corpus: Corpus) -> None:
    review = chunk_holding(corpus, "服务业稳步发展")
    # Paragraph 1 is the title, 2-4 the front matter, 5 the opening, 6 the heading.
    assert review.locus == "paragraphs 7–8"
    row = chunk_holding(corpus, "服务业增加值")
    assert "服务业增加值，增长7.3%。" in row.text
    # It shares a chunk with the targets paragraph before the table and the closing one after it.
    assert row.locus == "paragraph 10 – paragraph 11"


def test_a_span_over_pages_or_kinds_of_place_names_both_ends() -> None:
    assert describe([Origin("line", 30, 30, page=2), Origin("line", 4, 4, page=3)]) == "page 2, line 30 – page 3, line 4"
    assert describe([Origin("paragraph", 9, 9), Origin("table 1, row", 2, 2)]) == "paragraph 9 – table 1, row 2"
    table_between = [Origin("paragraph", 9, 9), Origin("table 1, row", 1, 1), Origin("paragraph", 10, 10)]
    assert describe(table_between) == "paragraph 9 – paragraph 10"
    assert describe([Origin("line", 3, 4), Origin("line", 6, 8)]) == "lines 3–8"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("scan.pdf", "blank", "PDF without a text layer"),
        ("broken.pdf", b"%PDF-1.7\nnot really a pdf", "damaged PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip archive", "damaged Word file"),
        ("empty.docx", b"", "empty file"),
        ("menu.html", b"<html><body><nav><a href='/'>home</a></nav></body></html>", "no text in it"),
    ],
)
def test_a_document_without_readable_text_is_skipped_with_why(tmp_path: Path, name: str, data: bytes | str, reason: str) -> None:
    if data == "blank":  # a scan: a page with a drawing and no text layer
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer)
        pdf.rect(100, 100, 300, 400, fill=1)
        pdf.showPage()
        pdf.save()
        data = buffer.getvalue()
    assert isinstance(data, bytes)
    result = read(tmp_path / name, data)
    assert isinstance(result, str) and reason in result


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_an_encrypted_pdf_is_read_when_it_opens_without_a_password_and_skipped_with_why_when_not(
    folder: Path, algorithm: str
) -> None:
    def encrypted(user_password: str) -> bytes:
        writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(folder / "vehicles.pdf"))
        writer.encrypt(user_password=user_password, owner_password="owner", algorithm=algorithm)
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()

    # Printing and copying restricted, as published government PDFs often are: it still opens.
    restricted = read(Path("restricted.pdf"), encrypted(""))
    assert not isinstance(restricted, str) and VEHICLES[:10] in "".join(restricted.lines)
    assert read(Path("locked.pdf"), encrypted("pw")) == "encrypted PDF: save a copy without a password"


def test_answers_from_each_format_cite_the_place_in_its_file(folder: Path, tmp_path: Path, model_cache: Path) -> None:
    settings = Settings(seeds=folder, index=tmp_path / "index", cache=model_cache)
    build(settings, progress=False)
    try:
        places = {
            "salt.md": "lines ",
            "lantern.html": "lines ",
            "vehicles.pdf": "page 1, line 7 – page 2, line 1",
            "services.docx": "paragraph 10 – paragraph 11",
        }
        for source, (question, figure) in QUESTIONS.items():
            place = places[source]
            answer = qa.ask(question, settings=settings)
            assert answer.found, (question, answer.text)
            assert figure in answer.text
            cited = [c for c in answer.citations if figure in c.text]
            assert cited and cited[0].source == source
            assert cited[0].where.startswith(f"{source}: ") and place in cited[0].where
            # The JSON a client gets says the same place.
            assert cited[0].locus in {c["locus"] for c in answer.as_dict()["citations"]}
    finally:
        qa.close()
