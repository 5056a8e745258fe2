"""The figures table: every figure the reports state, one row each, with the indicator it measures,
the year it is about, its value and unit, whether it is a result or a target, and the exact line.

Government work reports are read for their figures, and the same indicators recur across reports
(GDP growth for 2016, 2020 and 2024; the 2024 targets in one report and the 2024 results in the
next). A row is found in a chunk's text by one pattern (a number in digits followed by a unit, or a
rank `第N位`); what it is about comes from where it stands:
- the year: a review part states the year before its report, a plan part its own year, a five-year
  review (`这五年`, `过去的五年`) or a five-year plan section the five years, a news article the
  five years it reviews; a year written in the same sentence (`2025年1至11月…`) wins;
- the kind: `rank` (`居全省第2位`), `average` (`年均`), `share` (`占比`, `比重`), else `target` in a
  plan part and `result` in a review;
- the indicator: the words before the number in its clause, less the verbs around it (`新增`,
  `增长`, `达到` …); a clause with none (`、居全省第2位`, `、增长7.6%`) is about the previous figure's.

Rows are stored with the index (a table of the record manager's SQLite database, rewritten by
every build from the reports being indexed), so a corrected figure or a deleted report shows at
the next build.

Leaves out: answering from the rows (`qa.series`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from vectorstore.chunking import Chunk

if TYPE_CHECKING:
    from vectorstore.ingest import Corpus

# Bump when extraction changes, so that a table written by another version is rebuilt.
VERSION = "1"
NEWS = "news"

# Units a figure is counted in; 万 and 亿 before one scale it (`130万平方米`, `52.2万件`), or stand alone (`20万`).
_UNIT_WORDS = (
    "个百分点 百分点 % ‰ 平方公里 平方米 立方米 千瓦时 千瓦 千伏 公里 千米 公顷 标箱 人次 场次 个月 小时 元 美元 亩 吨 "
    "人 户 家 个 所 部 辆 场 项 件 名 座 条 次 张 台 套 床 位 倍 批 只 头 株 棵 处 栋 间 天 列 支 岁 艘 架"
)
_UNITS = sorted(_UNIT_WORDS.split(), key=len, reverse=True)
_UNIT = "(?:[万亿])?(?:" + "|".join(map(re.escape, _UNITS)) + r")(?:/[月年人天])?|[万亿]"
_NUM = r"\d+(?:\.\d+)?"
_FIGURE = re.compile(
    rf"(?<![\dA-Za-z.\-—/])(?P<rank>第\s*)?(?P<num>{_NUM})\s*(?P<approx>余|多)?\s*(?P<unit>{_UNIT})(?![A-Za-z])"
)
# A rank is `第N位` or `第N名`; any other `第N…` (`第22届`, `第3季度`) is no figure.
_RANK_UNITS = ("位", "名")
# Clause boundaries: a figure's indicator stands between the previous one and the number.
_BOUNDARY = re.compile(r"[，,；;。：:、（(\n]|——")
# A clause naming examples before the count (`内威荣等4条高速公路`, `…和20个扶贫专项计划`): the noun follows.
_LISTED = re.compile(r"(?:等|和|及|与)$")
_SENTENCE = re.compile(r"[^。！？；\n]+[。！？；]?")
# Words around an indicator that say what happened to it, not what it is.
_LEADING = re.compile(
    r"^(?:(?:19|20)\d\d(?:(?:至|-|—|－|到)(?:19|20)\d\d)?年|\d+(?:至\d+)?月|[前后上下]半?[一二三四五]?年|全市|全年|全县|全区|我市|今年|明年|其中|累计|共|力争|确保|争取|全力|着力|完成|实现|新增|净增|新建|"
    r"新改建|改建|新开工|开工|竣工|投用|改造|整治|年均|建成|培育|发放|举办|开展|到位|引进|招引|办好|打造|实施|推动|推进|支持|组织|"
    r"已|再|又|分别|超过|超|近|约|预计|逾)+"
)
_TRAILING = re.compile(
    r"(?:比上年|同比|分别|年均|累计|全年|共|增速|增长|下降|降低|提高|提升|增加|减少|回落|达到|达|实现|完成|突破|保持在|"
    r"稳定在|控制在|提高到|提升到|降到|降至|超过|超|为|至|到|近|约|预计|居|列|位于|位居|排名|跃居|在|"
    r"以上|以内|高于全省|低于全省|高于全国|全省|全国|全市)+$"
)
_GROWTH = re.compile(r"(?:增长|下降|增加|减少|提高|降低|回落|增速)\s*$")
# Where a noun written after its count (`开通14条航线`, `37项涉企服务从…`) ends.
_NOUN_AFTER = re.compile(r"[，,；;。：:、（(“”\n]|从|向|全部|实现|建成|达到|的|已|被|入选|获|和|与|及|以上|左右")
_BEFORE = {"预计": "预计", "近": "近", "超过": "超", "超": "超"}
_AFTER = ("以上", "左右", "余")
_AVERAGE = re.compile(r"年均|平均")
_SHARE = re.compile(r"占比|比重|占全|占")
_FIVE_YEARS = re.compile(r"这五年|过去五年|过去的五年|五年来|“十三五”时期|十三五时期")
_FIVE_YEAR_PLAN = re.compile(r"五年|十四五|十三五|十五五|规划")
_PLAN_HEADING = re.compile(r"安排|计划|目标|规划|建议|任务|考虑|要求")
_REVIEW_HEADING = re.compile(r"回顾|总结|成就|成绩|回望")
_YEAR_IN_TEXT = re.compile(
    r"(?<![比较于自从\d])((?:19|20)\d\d)(?:(?:至|-|—|－|到)((?:19|20)\d\d))?年(?!以来|起|底前|前|的|末)"
)
# What follows a unit and shows the number was no quantity: an age limit (`65岁以上`), a name (`500强`).
_NOT_A_QUANTITY = re.compile(r"^(?:年|月|日|届|版|强|级)")
_AGE_LIMIT = re.compile(r"^(?:及以上|以上|以下|以内|至\d)")
# Common indicators under their canonical names: what a reader calls them, and how reports word them.
CANONICAL: dict[str, tuple[str, ...]] = {
    "地区生产总值": ("地区生产总值",),
    "规模以上工业增加值": ("规模以上工业增加值", "规上工业增加值"),
    "全社会固定资产投资": ("全社会固定资产投资", "固定资产投资"),
    "社会消费品零售总额": ("社会消费品零售总额",),
    "城镇居民人均可支配收入": ("城镇居民人均可支配收入",),
    "农村居民人均可支配收入": ("农村居民人均可支配收入",),
    "居民人均可支配收入": ("居民人均可支配收入",),
    "一般公共预算收入": ("地方一般公共预算收入", "一般公共预算收入"),
    "进出口总额": ("进出口总额", "进出口贸易总额", "外贸进出口总额"),
    "服务业增加值": ("服务业增加值",),
    "第一产业增加值": ("第一产业增加值", "农业增加值"),
    "城镇登记失业率": ("城镇登记失业率",),
    "城镇新增就业": ("城镇新增就业", "城镇就业"),
    "城镇化率": ("常住人口城镇化率", "城镇化率"),
}


@dataclass(frozen=True)
class Figure:
    """One stated figure with its provenance."""

    indicator: str  # the report's own words, `规模以上工业增加值`
    canonical: str  # its common name (`CANONICAL`), or ""
    year: str  # what it is about: `2024`, or a period `2016-2020`
    value: float
    number: str  # as written, `7.1`
    unit: str
    kind: str  # result, target, average, rank or share
    qualifier: str  # 以上, 左右, 余, 预计, 近, 超, or ""
    growth: bool  # a rate of change (`增长7.1%`), not a level (`1230亿元`)
    quote: str  # the words of the chunk that state it: `全市地区生产总值增长7.1%`
    source: str
    report: str  # the report as a reader names it, `2025年政府工作报告`
    report_year: int | None
    section: str
    line: int  # 1-based line of the raw file holding the number
    chunk_id: str

    @property
    def years(self) -> tuple[int, int]:
        first, _, last = self.year.partition("-")
        return int(first), int(last or first)


def part_of(kind: str, section: str, term: str | None = None) -> str | None:
    """ "plan" for a part setting targets, "review" for one reporting results, None for neither."""
    if term:
        return None
    if kind == "plan_report":
        return "plan"
    if kind == NEWS:
        return "review"
    heading = section.split(" › ")[1:2]
    if heading and _PLAN_HEADING.search(heading[0]):
        return "plan"
    if heading and _REVIEW_HEADING.search(heading[0]):
        return "review"
    return None


def years_about(kind: str, section: str, year: int | None, text: str, term: str | None = None) -> tuple[int, int]:
    """The years a passage's figures are about, first and last: a review part its report's year
    before (five years for a five-year review), a plan part its report's year (five for a five-year
    plan), a news article the five years before it; a part of neither kind, or a glossary entry,
    both years of its report. (0, 0) when the report's year is unknown."""
    if year is None:
        return 0, 0
    part = part_of(kind, section, term)
    if kind == NEWS:
        return year - 5, year - 1
    if part is None or kind == "plan_report":
        return year - 1, year
    first, _, last = _base_year_of(kind, section, year, part).partition("-")
    if part == "review" and _FIVE_YEARS.search(text):
        return year - 5, year - 1
    return int(first), int(last or first)


def extract(chunk: Chunk, lines: Sequence[tuple[int, str]], five_years: bool = False) -> tuple[list[Figure], bool]:
    """The figures of one chunk, and whether its last paragraph is about five years.

    `lines` are the chunk's raw lines as cleaned (number, text), for locating each figure's line;
    `five_years` says whether the previous chunk of the same section ended in a five-year review
    (`这五年…` paragraphs run on until the section ends, across chunks).
    """
    part = part_of(chunk.kind, chunk.section, chunk.term)
    if part is None or chunk.year is None:
        return [], False
    found: list[Figure] = []
    locate = _Locator(chunk, lines)
    for paragraph_start, paragraph in _paragraphs(chunk.text):
        five_years = part == "review" and chunk.kind != NEWS and (five_years or bool(_FIVE_YEARS.search(paragraph)))
        period = _span(chunk.year - 5, chunk.year - 1) if five_years else _base_year(chunk, part)
        estimated = "（预计、下同）" in paragraph or "(预计、下同)" in paragraph
        for match in _SENTENCE.finditer(paragraph):
            for at, figure in _sentence_figures(match.group(), chunk, part, period, estimated):
                line = locate(paragraph_start + match.start() + at, figure.number)
                found.append(replace(figure, line=line))
    return found, five_years


def _sentence_figures(text: str, chunk: Chunk, part: str, period: str, estimated: bool) -> Iterator[tuple[int, Figure]]:
    """The figures of one sentence, each with the offset of its number."""
    assert chunk.year is not None
    previous, since, end = "", 0, 0
    for figure in _FIGURE.finditer(text):
        unit, rank, after = figure["unit"], bool(figure["rank"]), text[figure.end() :]
        if (rank and unit not in _RANK_UNITS) or (not rank and _NOT_A_QUANTITY.match(after)):
            continue
        if unit == "岁" and _AGE_LIMIT.match(after):
            continue
        clause = _BOUNDARY.split(text[end : figure.start()])[-1]
        start, end = figure.start() - len(clause), figure.end()
        indicator = "" if clause.startswith("是") else _indicator(clause)
        counted_after = _LISTED.search(clause) or len(indicator) <= 2
        if counted_after and not (rank or _GROWTH.search(clause) or clause.startswith("是")):
            noun = _NOUN_AFTER.split(after, 1)[0]
            if _indicator(noun):
                indicator, end = _indicator(noun), end + len(noun)
        if not indicator and previous:
            indicator, start = previous, since
        if not indicator:
            continue
        previous, since = indicator, start
        qualifier = "预计" if estimated else figure["approx"] or _qualifier(clause, after)
        if qualifier in _AFTER and after.lstrip().startswith(qualifier):
            end = max(end, figure.end() + len(after) - len(after.lstrip()) + len(qualifier))
        yield (
            figure.start("num"),
            Figure(
                indicator=indicator,
                canonical=canonical(indicator),
                year=(_year_in(text[: figure.start()], chunk.year) if part == "review" else None) or period,
                value=float(figure["num"]),
                number=figure["num"],
                unit=unit,
                kind=_kind(rank, text[start : figure.start()], indicator, part),
                qualifier=qualifier,
                growth=bool(_GROWTH.search(clause)) and unit in ("%", "个百分点", "百分点"),
                quote=text[start:end].strip(),
                source=chunk.source,
                report=chunk.section.split(" › ", 1)[0],
                report_year=chunk.year,
                section=chunk.section,
                line=chunk.line_start,
                chunk_id=chunk.id,
            ),
        )


def of_corpus(corpus: Corpus) -> list[Figure]:
    """Every figure of every report, in report order; a chunk indexed twice is read once."""
    rows: list[Figure] = []
    seen: set[str] = set()
    for report in corpus.reports:
        five_years, section = False, ""
        for chunk in report.chunks():
            five_years = five_years and chunk.section == section
            section = chunk.section
            lines = list(enumerate(report.clean_span(chunk.line_start, chunk.line_end), chunk.line_start))
            found, five_years = extract(chunk, lines, five_years)
            if chunk.id not in seen:
                seen.add(chunk.id)
                rows.extend(found)
    return rows


def canonical(indicator: str) -> str:
    """The common name of an indicator worded as in `CANONICAL`, or ""."""
    bare = indicator.replace(" ", "")
    for name, forms in CANONICAL.items():
        if any(bare.endswith(form) for form in forms):
            return name
    return ""


def _base_year(chunk: Chunk, part: str) -> str:
    assert chunk.year is not None
    return _base_year_of(chunk.kind, chunk.section, chunk.year, part)


def _base_year_of(kind: str, section: str, year: int, part: str) -> str:
    if kind == NEWS:
        return _span(year - 5, year - 1)
    heading = section.split(" › ")[1:2]
    if part == "plan":
        if heading and _FIVE_YEAR_PLAN.search(heading[0]):
            return _span(year, year + 4)
        return str(year)
    return str(year - 1) if kind != "plan_report" else str(year)


def _span(first: int, last: int) -> str:
    return f"{first}-{last}"


def _paragraphs(text: str) -> Iterator[tuple[int, str]]:
    start = 0
    for paragraph in text.split("\n"):
        yield start, paragraph
        start += len(paragraph) + 1


def _indicator(clause: str) -> str:
    words = clause.strip().replace(" ", "")
    for _ in range(3):
        stripped = _TRAILING.sub("", _LEADING.sub("", words))
        if stripped == words:
            break
        words = stripped
    words = words.strip("”“\"'")
    return words if len(words) >= 2 and re.search(r"[\u4e00-\u9fff]", words) else ""


def _year_in(before: str, report_year: int) -> str | None:
    """A year written earlier in the same sentence, if it is near the report's own."""
    found = _YEAR_IN_TEXT.findall(before)
    if not found:
        return None
    first, last = found[-1]
    if abs(int(last or first) - report_year) > 5:
        return None
    return _span(int(first), int(last)) if last else first


def _kind(rank: bool, clause: str, indicator: str, part: str) -> str:
    if rank:
        return "rank"
    if _AVERAGE.search(clause):
        return "average"
    if _SHARE.search(indicator) or _SHARE.search(clause):
        return "share"
    return "target" if part == "plan" else "result"


def _qualifier(clause: str, after: str) -> str:
    for word in _AFTER:
        if after.lstrip().startswith(word):
            return word
    tail = clause.rstrip()
    for word, qualifier in _BEFORE.items():
        if tail.endswith(word):
            return qualifier
    return ""


class _Locator:
    """The raw line of the n-th occurrence of a number in a chunk, found in its cleaned lines."""

    def __init__(self, chunk: Chunk, lines: Sequence[tuple[int, str]]) -> None:
        self.chunk = chunk
        self.owners: list[int] = []
        parts: list[str] = []
        for number, text in lines:
            parts.append(text)
            self.owners.extend([number] * len(text))
        self.joined = "".join(parts)
        head = (chunk.original_text or chunk.text).split("\n", 1)[0][:12]
        self.start = max(self.joined.find(head), 0)

    def __call__(self, position: int, number: str) -> int:
        nth = self.chunk.text[:position].count(number)
        at = self.start - 1
        for _ in range(nth + 1):
            at = self.joined.find(number, at + 1)
            if at < 0:
                return self.chunk.line_start
        return self.owners[at]


# -- the table -------------------------------------------------------------------------------------

_COLUMNS = tuple(f.name for f in fields(Figure))


def save(path: Path, figures: Iterable[Figure], stamp: str) -> None:
    """Replace the `figures` table of the SQLite database at `path` in one transaction."""
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE IF NOT EXISTS figures ({', '.join(_COLUMNS)})")
        db.execute("CREATE TABLE IF NOT EXISTS figures_stamp (stamp TEXT)")
        db.execute("DELETE FROM figures")
        db.execute("DELETE FROM figures_stamp")
        db.executemany(
            f"INSERT INTO figures VALUES ({', '.join('?' * len(_COLUMNS))})",
            [tuple(asdict(f).values()) for f in figures],
        )
        db.execute("INSERT INTO figures_stamp VALUES (?)", (stamp,))
    db.close()


def load(path: Path) -> tuple[str, list[Figure]] | None:
    """The stamp and rows of the table, or None when there is no table (an index built before it)."""
    if not path.exists():
        return None
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        stamp = db.execute("SELECT stamp FROM figures_stamp").fetchone()
        rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM figures ORDER BY rowid").fetchall()
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()
    if stamp is None:
        return None
    figures = [Figure(**dict(zip(_COLUMNS, row, strict=True))) for row in rows]
    return str(stamp[0]), [replace(f, growth=bool(f.growth)) for f in figures]
