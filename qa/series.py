"""Answers from the figures table (`vectorstore.figures`): an indicator over the years, and a year's
target against its result, each figure quoted from its report and cited.

- A trend question (`历年`, `分别`, `变化`, `over the years`, or two or more years) gets one cited
  sentence per year the reports give the indicator for.
- A question naming no year ("自贡第一产业增加值增长了多少？") gets the latest year the reports give the
  indicator for first, then the older ones, each from its report: when every weighed word of the
  question is in the row and the row passes the checks any answer passes (`qa.asked.checks`). A
  five-year review's figure may be its last year's level or a sum, so it is stated with its period
  ("五年间：…"), never as one year's.
- A target-versus-result question (`目标…实际`, `完成得怎么样`, `was the target met`) gets the aim,
  the result, and, when both are numbers in the same unit, whether the result met, exceeded or
  missed it: computed here, never guessed. An aim that is not a number is quoted, not judged.
Which rows a question is about is decided by the question's weighed words (`qa.matching`) held by
the words stating the row (`新改建农村公路300公里`); the rows of one indicator are those holding
nearly as much of the question as the best row does. Every sentence passes the same number check as any answer.

Leaves out: building the table (`vectorstore.figures`), and questions about one figure (`qa.answer`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa import asked, glossary
from qa.answer import english_label, verified
from qa.matching import question_words
from qa.question import Query
from qa.retrieval import Index, bigrams
from qa.types import Answer, Citation, Passage
from vectorstore.figures import CANONICAL, Figure

# Words that ask for an indicator over the years even when no year is named ("分别" and "各是" do
# not: "营收和资产总额分别增长多少" asks for two indicators of one year).
_TREND = re.compile(
    r"历年|历次|逐年|每年|各年|近几年|这几年|变化|趋势|走势|几份|三份|各份|"
    r"over the years|each year|every year|trend|changed|since (?:19|20)\d\d",
    re.IGNORECASE,
)
_MET = re.compile(
    r"目标.{0,12}(?:实际|完成)|(?:计划|打算|预期).{0,20}实际|完成得?怎么样|完成情况|完成了吗|是否完成|达到目标|"
    r"达成|target.{0,30}(?:met|achieved|reached|actual)|did .{0,40}(?:meet|reach|achieve)",
    re.IGNORECASE,
)
# What a question about a year's targets as a whole says besides asking whether they were met.
_GENERAL_WORDS = re.compile(
    r"(?:19|20)\d\d年?|自贡市?|Zigong|'s|的|了|吗|呢|各项|主要|全年|所有|目标|计划|任务|指标|完成|实现|"
    r"得|怎么样|怎样|如何|情况|好不好|实际|是否|达到|达成|了吗|"
    r"\b(?:targets?|goals?|aims?|were|was|is|are|did|does|do|the|all|its|in|for|of|met|meet|achieved?|reached?|"
    r"actual(?:ly)?|how|well)\b|[？?。，,！!\s]",
    re.IGNORECASE,
)
# Periods a question names as such: "“十三五”时期", "2017年报告回顾的那五年".
_PERIOD_NAMES = re.compile(r"十[一二三四五]五|(?:那|过去|这)(?:的)?五年|five-year plan", re.IGNORECASE)
# A question listing what it asks about: "国家级、省级各几个".
_LISTING = re.compile(r"、|和|及|与|分别|各|\band\b", re.IGNORECASE)
_YEARS = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_GROWTH = re.compile(r"增速|增长|增幅|增长率|growth|grow|rate|速度|涨", re.IGNORECASE)
_RANKED = re.compile(r"排名|第几|位次|rank", re.IGNORECASE)
_PERIOD = re.compile(r"五年|十三五|十四五|累计|年均|期间|period|five", re.IGNORECASE)
_UPPER_BOUND = re.compile(r"控制在|以内|以下|不超过")
# A row's indicator must hold this share of what the best row's holds to be the same indicator.
SAME_INDICATOR = 0.8
# ... and at least this share of the question's weighed words.
MIN_MATCH = 0.25
# At most this many target-versus-result pairs in an answer about a year's targets as a whole.
MAX_PAIRS = 8
# A question naming no year is read from the table only when the rows hold all of its weighed words.
WHOLE = 0.999
# ... and gets at most this many years, the latest first.
MAX_YEARS = 4


@dataclass(frozen=True)
class Series:
    """The rows an answer rests on, best first per year."""

    rows: tuple[Figure, ...]
    kind: str  # "trend" or "target"


def asks_trend(query: Query) -> bool:
    """An indicator over the years: trend words, or two or more years or periods named."""
    return bool(_TREND.search(query.normalized)) or _times(query) >= 2


def _times(query: Query) -> int:
    return len(_named_years(query)) + len(_PERIOD_NAMES.findall(_YEARS.sub(" ", query.normalized)))


def asks_met(query: Query) -> bool:
    return bool(_MET.search(query.normalized)) or query.wants_result_too


def answer(query: Query, index: Index, language: str) -> Answer | None:
    """The answer from the figures table, or None when the question is not one it answers."""
    table = index.store.figures or []
    if not table or query.instructs:
        return None
    if asks_met(query):
        return _met(query, index, table, language)
    if asks_trend(query):
        return _trend(query, index, table, language)
    if asks_yearless(query):
        return _latest(query, index, table, language)
    return None


def asks_yearless(query: Query) -> bool:
    """A figure asked for with no year, report or period named: "自贡的地区生产总值是多少？"."""
    text = query.normalized
    return (
        not query.years and not query.named_reports and not _PERIOD.search(text) and not _times(query)
        and bool(asked.ASKS_FIGURE.search(text)) and not asked.WHEN.search(text)
    )


def matching(query: Query, index: Index, table: Sequence[Figure]) -> list[tuple[float, Figure]]:
    """The rows of the indicator asked about, best first: those holding nearly as much of the
    question as the best row does."""
    scored = scores(query, index, table)
    if not scored:
        return []
    best = scored[0][0]
    return [(s, r) for s, r in scored if s >= SAME_INDICATOR * best]


def scores(query: Query, index: Index, table: Sequence[Figure], floor: float = MIN_MATCH) -> list[tuple[float, Figure]]:
    """Rows by how much of the question their words hold, best first; none below `floor`."""
    words = question_words(query, index.vocabulary)
    if not words.total:
        return []
    scored: list[tuple[float, Figure]] = []
    cache: dict[str, float] = {}
    for row in table:
        key = f"{row.quote}\x1f{row.canonical}"
        if key not in cache:
            credit = words.credit(f"{row.quote} {row.canonical} {' '.join(CANONICAL.get(row.canonical, ()))}")
            cache[key] = sum(words.weights[w] * c for w, c in credit.items()) / words.total
        if cache[key] >= floor and cache[key] > 0:
            scored.append((cache[key], row))
    scored.sort(key=lambda pair: -pair[0])
    return scored


def _suits(query: Query, row: Figure) -> bool:
    """The measure asked: a rate of growth or a level, a rank only when asked, a period only when asked."""
    text = query.normalized
    if row.kind == "rank" and not _RANKED.search(text):
        return False
    if row.kind != "rank" and _GROWTH.search(text) and not row.growth and row.unit not in ("%", "个百分点"):
        return False
    first, last = row.years
    return first == last or bool(_PERIOD.search(text)) or not _named_years(query) or _by_report(query)


def _spans(row: Figure) -> bool:
    return row.years[0] != row.years[1]


def _by_report(query: Query) -> bool:
    """The question names reports by their years ("2017、2021、2025年三份政府工作报告"): a figure a report."""
    return "报告" in query.normalized and len(_named_years(query)) >= 2


def _named_years(query: Query) -> list[int]:
    return sorted({int(y) for y in _YEARS.findall(query.normalized)})


def _in_years(query: Query, row: Figure) -> bool:
    years = _named_years(query)
    if not years:
        return True
    if "报告" in query.normalized and row.report_year in years:
        return True
    first, last = row.years
    return any(first <= y <= last for y in years)


def _trend(query: Query, index: Index, table: Sequence[Figure], language: str) -> Answer | None:
    wanted = "target" if query.wants_target else "result"
    # Of rows holding as much of the question, one year's figure before a period's, unless a period
    # is asked: a report's "今后五年…2000公里" is not its plan for the year.
    period = bool(_PERIOD.search(query.normalized))
    rows = [
        r
        for _, r in sorted(matching(query, index, table), key=lambda p: (-p[0], not period and _spans(p[1])))
        if _in_years(query, r) and _suits(query, r) and _tense(r) == wanted
    ]
    per_year: dict[object, Figure] = {}
    for row in rows:  # best first: the first row of a year (or of a report) is kept
        per_year.setdefault(row.report_year if _by_report(query) else row.year, row)
    if not per_year:
        return None
    chosen = sorted(per_year.values(), key=lambda r: (r.years, r.report_year or 0))
    named = _named_years(query)
    covered = (
        {r.report_year for r in chosen}
        if _by_report(query)
        else {y for r in chosen for y in range(r.years[0], r.years[1] + 1)}
    )
    if (len(named) >= 2 and not set(named) <= covered) or len(chosen) < min(_times(query), 2):
        return None  # a year asked for is not in the table: the composer looks for it in the passages
    note = (
        ""
        if len(chosen) > 1
        else ("The reports give this one year only." if language == "en" else "报告中只有这一年的数字。")
    )
    return _compose(query, index, chosen, [], language, note)


@dataclass(frozen=True)
class _Quote:
    """A row's words as a chosen clause of its passage, for the checks every answer passes."""

    passage: int
    text: str
    sentence: str


def _latest(query: Query, index: Index, table: Sequence[Figure], language: str) -> Answer | None:
    """The latest year's figure first, then the older years', for a question naming no year."""
    wanted = "target" if query.wants_target else "result"
    level = not asked.RATE.search(query.normalized)
    averaged = bool(asked.AVERAGE.search(query.normalized))
    per_year: dict[str, Figure] = {}
    for _, row in scores(query, index, table, floor=WHOLE):
        if (not _suits(query, row) or _tense(row) != wanted or (row.kind == "average") != averaged
                or (level and (row.growth or row.unit in ("%", "个百分点")))):
            continue
        record = index.records_by_chunk.get(row.chunk_id)
        if record is None or not asked.gives_what_is_asked(query, [record.passage], [_Quote(0, row.quote, row.quote)]):
            continue
        per_year.setdefault(row.year, row)  # best first: the first row of a year is kept
    chosen = sorted(per_year.values(), key=lambda r: (r.years[1], r.years[0], r.report_year or 0), reverse=True)
    # A period's figure ("五年间：社会消费品零售总额583亿元") may be its last year's level or a sum, so it is
    # never given as one year's: it is stated with its period ("2016—2020年：…"), as the passage states it.
    if not chosen:
        return None
    return _compose(query, index, chosen[:MAX_YEARS], [], language, "")


def _tense(row: Figure) -> str:
    """An aim or a result: a share, rank or average in a plan part is an aim too."""
    return "target" if row.kind == "target" or (row.kind != "result" and _is_plan(row)) else "result"


def _is_plan(row: Figure) -> bool:
    return row.report_year is not None and row.years[0] >= row.report_year


def _met(query: Query, index: Index, table: Sequence[Figure], language: str) -> Answer | None:
    years = _named_years(query) or sorted({r.years[0] for r in table if r.kind == "target"})[-1:]
    # "2024年的目标完成得怎么样？" names no indicator: every target of the year with a result.
    general = not _GENERAL_WORDS.sub("", query.normalized).strip()
    pairs: list[tuple[Figure, Figure | None]] = []
    if general:
        for year in years:
            of_year = [r for r in table if r.years == (year, year) and _suits(query, r)]
            for target in (r for r in of_year if _tense(r) == "target"):
                result = next((r for r in of_year if _tense(r) == "result" and _same(target, r)), None)
                if result is not None and len(pairs) < MAX_PAIRS:
                    pairs.append((target, result))
    else:
        # Scored once: the figures listed beside a pair need only hold some word of the question.
        every = scores(query, index, table, floor=0.0)
        held = {id(r) for _, r in every}
        scored = [(s, r) for s, r in every if s >= MIN_MATCH and r.years[0] == r.years[1] and _suits(query, r)]
        for year in years:
            targets = [r for _, r in scored if _tense(r) == "target" and r.years[0] == year]
            if not targets:
                continue
            target = targets[0]
            # The result is the row of the year, in the target's unit, that holds most of the question
            # and shares most words with the target ("新建中试平台11个" for "新增科技成果转化中试平台2个").
            results = [
                (s + _shared(target, r), r)
                for s, r in scored
                if _tense(r) == "result" and r.years[0] == year and r.unit == target.unit and r.growth == target.growth
            ]
            result = max(results, key=lambda pair: pair[0])[1] if results else None
            pairs.append((target, result))
            if result is not None and _LISTING.search(query.normalized):
                # "国家级几个、省级几个？": the figures listed right after each, when the question names them.
                more = zip(_next_of(target, table, held), _next_of(result, table, held), strict=False)
                pairs.extend((t, r) for t, r in more if t.unit == r.unit)
    if any(result is None for _, result in pairs):
        return None  # an aim without its result: the composer reads both tenses from the passages
    if not pairs:
        return None
    return _compose(query, index, [], pairs, language, "")


def _next_of(row: Figure, table: Sequence[Figure], held: set[int]) -> list[Figure]:
    """The row stated right after `row` in the same passage and unit, if it holds words of the question."""
    at = next((i for i, r in enumerate(table) if r is row), -1)
    after = table[at + 1] if 0 <= at < len(table) - 1 else None
    if after is None or after.chunk_id != row.chunk_id or after.unit != row.unit or id(after) not in held:
        return []
    return [after]


def _shared(target: Figure, result: Figure) -> float:
    """The share of the shorter indicator's character pairs the other one holds."""
    a, b = bigrams(target.indicator), bigrams(result.indicator)
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def _same(target: Figure, result: Figure) -> bool:
    """The same indicator measured the same way."""
    same_name = (target.canonical and target.canonical == result.canonical) or target.indicator == result.indicator
    return bool(same_name) and target.growth == result.growth and target.unit == result.unit


def verdict(target: Figure, result: Figure, language: str = "zh") -> str:
    """Met, exceeded or missed, when both are numbers in the same unit; "" when they cannot be compared."""
    if target.unit != result.unit or target.growth != result.growth:
        return ""
    lower_is_better = bool(_UPPER_BOUND.search(target.quote))
    if result.value == target.value:
        return "met the target" if language == "en" else "完成目标"
    better = result.value < target.value if lower_is_better else result.value > target.value
    if language == "en":
        return "exceeded the target" if better else "missed the target"
    return "超出目标" if better else "未达到目标"


def _compose(
    query: Query,
    index: Index,
    rows: Sequence[Figure],
    pairs: Sequence[tuple[Figure, Figure | None]],
    language: str,
    note: str,
) -> Answer | None:
    cited: list[Passage] = []
    support: dict[str, list[str]] = {}
    shown: list[dict[str, object]] = []

    def cite(row: Figure) -> tuple[int, Passage] | None:
        record = index.records_by_chunk.get(row.chunk_id)
        if record is None or row.quote not in record.passage.text:
            return None
        passage = record.passage
        if passage not in cited:
            cited.append(passage)
        support.setdefault(passage.id, [])
        if row.quote not in support[passage.id]:
            support[passage.id].append(row.quote)
        n = cited.index(passage) + 1
        shown.append(as_row(row, n))
        return n, passage

    sentences: list[str] = []
    for row in rows:
        got = cite(row)
        said = _stated(row, got[1], language) if got else None
        if got and said:
            sentences.append(f"{said}[{got[0]}]")
    for target, result in pairs:
        aim = cite(target)
        said = _stated(target, aim[1], language, "Target" if language == "en" else "目标") if aim else None
        if aim is None or said is None:
            continue
        sentences.append(f"{said}[{aim[0]}]")
        if result is None:
            continue
        done = cite(result)
        outcome = _stated(result, done[1], language, "Result" if language == "en" else "实际") if done else None
        if done is None or outcome is None:
            continue
        sentences.append(f"{outcome}[{done[0]}]")
        compared = _verdict(target, result, (aim[0], done[0]), language)
        if compared:
            sentences.append(compared)
    if not any("[" in s for s in sentences):
        return None
    text = (" " if language == "en" else "").join(sentences)
    citations = tuple(Citation.of(n, p, tuple(support[p.id])) for n, p in enumerate(cited, 1))
    return Answer(
        question=query.text,
        text=text,
        found=True,
        citations=citations,
        coverage=1.0,
        language=language,
        note=note,
        figures=tuple(shown),
    )


def csv_text(rows: Sequence[dict[str, object]]) -> str:
    """Rows (`as_row`) as CSV with a header row."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def as_row(row: Figure, n: int | None = None) -> dict[str, object]:
    """A row as the chat's table, `--json` and `--csv` show it."""
    out: dict[str, object] = {
        "year": row.year,
        "indicator": row.indicator,
        "canonical": row.canonical,
        "value": row.value,
        "unit": row.unit,
        "kind": row.kind,
        "qualifier": row.qualifier,
        "report": row.report,
        "source": row.source,
        "line": row.line,
        "quote": row.quote,
    }
    if n is not None:
        out["citation"] = n
    return out


def _stated(row: Figure, passage: Passage, language: str, prefix: str = "") -> str | None:
    """`据2017年政府工作报告，2016年：新增国家高新技术企业3户。`, its numbers checked against the passage;
    a period whose years the passage does not write is named in words."""
    first, last = row.years
    if language == "en":
        lead = f"{prefix} for" if prefix else "In"
        whens = [f"{lead} {first}" if first == last else f"{lead} {first}–{last}", f"{prefix or 'Over'} the five years"]
        options = [f"{w}, according to {english_label(passage)}: “{row.quote}”." for w in whens]
    else:
        whens = [f"{first}年" if first == last else f"{first}—{last}年", "五年间"]
        options = [f"据{row.report}，{w}{prefix}：{row.quote}。" for w in whens]
    return next((o for o in options if verified(o, passage)), None)


def _verdict(target: Figure, result: Figure, marks: tuple[int, int], language: str) -> str | None:
    """`超出目标：目标40户以上[1]，实际168户[2]。`: the comparison, when there is one, each number
    followed by the citation of the passage it is read from."""
    judged = verdict(target, result, language)
    if not judged:
        return None
    aim = f"{target.number}{target.unit}{target.qualifier if target.qualifier in ('以上', '左右') else ''}"
    got = f"{result.number}{result.unit}"
    if language == "en":
        return f"{judged[0].upper()}{judged[1:]}: target {aim}[{marks[0]}], result {got}[{marks[1]}]."
    return f"{judged}：目标{aim}[{marks[0]}]，实际{got}[{marks[1]}]。"


def rows_for(indicator: str | None, table: Sequence[Figure]) -> list[Figure]:
    """The rows whose indicator or canonical name holds `indicator` (all rows when None), by year."""
    wanted = (indicator or "").replace(" ", "")
    # English names ("GDP") as the reports write them, through the glossary the questions use.
    terms = {t for group in glossary.load().groups(indicator or "") for t in group} or {wanted}
    rows = [r for r in table if not wanted or any(t in r.indicator or t == r.canonical for t in terms)]
    return sorted(rows, key=lambda r: (r.canonical or r.indicator, r.years, r.report_year or 0, r.line))
