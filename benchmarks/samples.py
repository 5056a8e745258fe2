"""Small real reports in each format a user may have (Markdown, HTML with a site's navigation, PDF
with a text layer, Word with a table), written the way their tools write them: for the format tests
and the reliability run.

Leaves out: reading them (vectorstore/formats.py).
"""

from __future__ import annotations

from pathlib import Path

import docx
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FRONT = ["——{year}年1月20日在自贡市第十八届人民代表大会第{n}次会议上", "市长 张明", "各位代表："]


def report(year: int, fact: str, *, n: int = 1) -> tuple[str, list[str]]:
    """A short work report: its title and lines (front matter, a review section holding `fact`, a
    targets section)."""
    title = f"{year}年自贡市政府工作报告"
    lines = [f.format(year=year, n="一二三四五"[n - 1]) for f in FRONT]
    lines += [
        "现在，我代表市人民政府，向大会报告工作，请予审议。",
        f"一、{year - 1}年工作回顾",
        "过去一年，全市上下攻坚克难，经济运行稳中有进。",
        fact,
        f"二、{year}年主要目标",
        "今年经济社会发展的主要预期目标是：地区生产总值增长6%左右。",
    ]
    return title, lines


def write_markdown(path: Path, title: str, lines: list[str]) -> None:
    body = [f"## {line}" if line[1:2] == "、" else line for line in lines]
    front_matter = "---\nsource: 自贡市人民政府\n---\n\n"
    path.write_text(front_matter + f"# {title}\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")


NAVIGATION = ["首页", "机构设置", "政务公开", "联系我们"]
FOOTER = "版权所有：自贡市人民政府办公室 蜀ICP备05003926号"


def write_html(path: Path, title: str, lines: list[str]) -> None:
    nav = "".join(f'<li><a href="/{i}">{name}</a></li>' for i, name in enumerate(NAVIGATION))
    paragraphs = "\n".join(f"<h2>{line}</h2>" if line[1:2] == "、" else f"<p>{line}</p>" for line in lines)
    path.write_text(
        f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n"
        f'<nav><ul class="menu">{nav}</ul></nav>\n<div class="content"><article>\n<h1>{title}</h1>\n'
        f"{paragraphs}\n</article></div>\n<footer><p>{FOOTER}</p></footer>\n</body></html>\n",
        encoding="utf-8",
    )


def write_pdf(path: Path, pages: list[list[str]]) -> None:
    """A PDF with a real text layer: one line of text per line given, a page per list."""
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path))
    for page in pages:
        pdf.setFont("STSong-Light", 11)
        for i, line in enumerate(page):
            pdf.drawString(60, 780 - 18 * i, line)
        pdf.showPage()
    pdf.save()


def write_docx(path: Path, title: str, lines: list[str], table: list[tuple[str, str]]) -> None:
    document = docx.Document()
    document.add_paragraph(title)
    for line in lines:
        document.add_paragraph(line)
    grid = document.add_table(rows=len(table), cols=2)
    for r, (label, value) in enumerate(table):
        grid.cell(r, 0).text, grid.cell(r, 1).text = label, value
    document.add_paragraph("各位代表，新征程催人奋进，让我们共同努力！")
    document.save(str(path))


# The four reports, one fact each that no other holds.
SALT = "全市井矿盐产量达到512万吨，盐化工产值增长9.4%。"
LANTERN = "第三十届自贡国际恐龙灯会接待游客365万人次，旅游收入增长17.2%。"
VEHICLES = "新能源汽车产业链加快成形，整车和零部件项目相继建成投产，新能源汽车产量增长48.7%。"
DOCX_TABLE = [("指标", "完成情况"), ("服务业增加值", "增长7.3%")]


# For each file `write_all` writes: a question only it answers, and the figure of the answer.
QUESTIONS = {
    "salt.md": ("井矿盐产量是多少？", "512万吨"),
    "lantern.html": ("恐龙灯会接待游客多少人次？", "365万人次"),
    "vehicles.pdf": ("新能源汽车产量增长多少？", "48.7%"),
    "services.docx": ("服务业增加值增长多少？", "7.3%"),
}


def write_all(folder: Path) -> None:
    """The four reports, one per format, each holding a fact no other holds (`QUESTIONS`)."""
    write_markdown(folder / "salt.md", *report(2030, SALT))
    write_html(folder / "lantern.html", *report(2031, LANTERN, n=2))
    title, lines = report(2032, VEHICLES, n=3)
    # The fact's sentence is cut by the page break, under a page number, as printed reports are.
    cut = VEHICLES.index("新能源汽车产量")
    write_pdf(folder / "vehicles.pdf", [[title, *lines[:6], VEHICLES[:cut], "— 1 —"], [VEHICLES[cut:], *lines[7:]]])
    write_docx(folder / "services.docx", *report(2033, "过去一年，服务业稳步发展。", n=4), DOCX_TABLE)
