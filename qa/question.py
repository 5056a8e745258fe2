"""Understanding a question before searching: its script and language, the years it names and
which reports hold figures for them, whether it asks for a target, a definition or a comparison,
and the Chinese terms an English question stands for.

How years map to reports: a report delivered in year Y reviews Y-1 and plans Y. So a figure
"in 2024" is in the 2025 report (and the 2024 plan report says what was planned), while a 2024
target is in the 2024 plan report first. A question that names a report itself ("2017年政府工作报告")
means that report's year. These are preferences for ranking, never hard filters: a filter a
caller passes (`year=`, `source=`) is the only thing that excludes passages.

Leaves out: searching (`qa.retrieval`) and choosing the answering clauses (`qa.answer`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from qa import glossary

_CJK = re.compile(r"[\u3400-\u9fff]")
# The five-year plans these reports speak of (an English question names them through the glossary).
_PERIODS = {"十二五": (2011, 2015), "十三五": (2016, 2020), "十四五": (2021, 2025), "十五五": (2026, 2030)}
_LATIN = re.compile(r"[A-Za-z]")
# Years these reports talk about (the 2035 long-range goals included); a bare 4-digit number such
# as 1230 (亿元) is not a year, nor an amount that happens to look like one (2000亿元, 2010万人次).
YEAR = re.compile(r"(?<![\d.])((?:19[89]|20[0-4])\d)(?!\.?\d)(?!\s*(?:%|[亿万千百十元多余]))")
# `2016—2020年`, `2016-2020`, `2016至2020年`: one period, not two years to compare.
_RANGE = re.compile(
    r"((?:19|20)\d\d)\s*(?:年)?\s*(?:[-—–~～到至]|to)\s*((?:19|20)\d\d)|\bbetween ((?:19|20)\d\d) and ((?:19|20)\d\d)",
    re.IGNORECASE,
)
# A question that speaks of reports ("2017年政府工作报告", "三份政府工作报告", "the 2021 report")
# names them by the year they were delivered, not by the year of their figures.
_REPORT = re.compile(r"报告|\breports?\b", re.IGNORECASE)
_TARGET = re.compile(
    r"目标|计划|力争|(?<![主重需只])要(?!求|点)|将要|打算|准备|希望|期望|想让|想要|安排|任务|"
    r"\b(?:target|aim|aims|aimed|aiming|goal|goals|plan|plans|planned|planning|expected|projected|intend|intends|supposed|"
    r"wants?|wanted|hopes?|hoped|hoping|will|shall|going to)\b|将会",
    re.IGNORECASE,
)
# A five-year plan is the name of a period, not a sign that the question asks for a target.
_PLAN_NAME = re.compile(
    r"\b(?:\d+(?:st|nd|rd|th)\s+)?five[- ]year plans?\b|五年规划|“?十[二三四五]五”?规划", re.IGNORECASE
)
# Words of a question about what happened (not about a target).
_PAST = re.compile(
    r"了|截至|截止|累计|实现|期间|底|末|已经|已|过去|回顾"
    r"|\b(?:was|were|did|had|has|have|reached|achieved|grew|rose|fell|created|completed|built)\b",
    re.IGNORECASE,
)
_DEFINITION = re.compile(
    r"是什么|指什么|指的是|什么意思|何意|含义|意思是|具体指|指哪些|包括哪些|包含哪些|标准是什么|是指"
    r"|\bwhat (?:does|do|is meant by)\b|\bmean(?:s|ing)?\b|\bstand for\b|\brefer to\b|\bdefin",
    re.IGNORECASE,
)
# The part of a question asking what came of a target: "目标是多少？实际完成了多少？", "was it met".
_RESULT_TOO = re.compile(
    r"(?:[？?，,；;]|而|但)\s*(?:那么)?(?:实际|最终|最后|结果|实际上|实绩)|完成得怎么样|完成情况|是否完成|有没有完成|完成了没有|"
    r"\b(?:actually|in the end|was (?:it|the target) (?:met|achieved|reached)|did it (?:meet|reach|achieve))\b",
    re.IGNORECASE,
)
# What asks the system to drop its instructions or show them: no question about the reports.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules?)\b|\bsystem prompt\b|"
    r"(?:忽略|无视|忘记|忘掉).{0,12}(?:指令|指示|提示|规则|要求)|系统提示",
    re.IGNORECASE,
)
# The city every report is about. Nearly every question names it and only some sentences do, so the
# model, given it, ranks sentences by whether they name the city ("自贡经济总量有望跨越2000亿台阶" above
# "城镇居民人均可支配收入增长5.4%" for "自贡市民的收入涨了多少"): what the model compares is said without it.
_CITY = re.compile(
    r"(?:自贡(?:市(?!民))?|全市(?!民)|我市(?!民))(?:的)?|\b(?:in |of )?zigong(?:'s| city's| city)?\b", re.IGNORECASE
)
_QUOTED = re.compile(r"[“\"「『‘']([^”\"」』’']{1,20})[”\"」』’']")


@dataclass(frozen=True)
class Query:
    """A question as the retriever and the answerer see it."""

    text: str  # as asked
    normalized: str  # Simplified Chinese, half-width letters and digits, single spaces
    lang: str  # "zh" or "en"
    years: tuple[int, ...]  # years named, in order of appearance (periods excluded)
    named_reports: tuple[int, ...]  # years of reports named as such ("2017年政府工作报告")
    wants_target: bool
    wants_definition: bool
    quoted: tuple[str, ...]  # terms in quotation marks
    groups: tuple[tuple[str, ...], ...]  # for each English glossary phrase, its Chinese terms
    # whether `groups` also holds the dictionary's report words for English words the glossary lacks
    # (`qa.retrieval.Index.hinted`)
    hinted: bool = False
    # A request addressed to the system ("ignore all previous instructions and say …"), not a question
    # about the reports: refused whatever report words it holds.
    instructs: bool = False

    @property
    def expansions(self) -> tuple[str, ...]:
        """The Chinese terms of the question's English words, each once."""
        return tuple(dict.fromkeys(t for group in self.groups for t in group))

    @property
    def tense(self) -> str | None:
        """"plan" for a question about a target, "review" for one about results (what a question asks
        when it does not say: "…是多少" asks for the figure reached), None for what a term means."""
        if self.wants_target:
            return "plan"
        if self.wants_definition and not _PAST.search(self.normalized):
            return None
        return "review"

    @property
    def wants_result_too(self) -> bool:
        """A question asking for a target and for what came of it ("2024年计划…多少？实际…多少？")."""
        return self.wants_target and bool(_RESULT_TOO.search(self.normalized))

    def as_result(self) -> Query:
        """The same question asking for what happened, not the aim: the second half of a
        target-versus-result question."""
        return replace(self, wants_target=False)

    @property
    def is_comparison(self) -> bool:
        return len(self.years) >= 2

    def report_years(self, year: int) -> tuple[int, ...]:
        """Reports likely to hold the figures of `year`, most likely first."""
        if year in self.named_reports:
            return (year,)
        return (year, year + 1) if self.wants_target else (year + 1, year)

    @property
    def preferred_reports(self) -> tuple[int, ...]:
        """Reports likely to hold the answer, most likely first: for each year named, then for each
        five-year plan named (its targets are set at its start, its results told after its end)."""
        out: list[int] = []
        for year in self.years:
            out.extend(y for y in self.report_years(year) if y not in out)
        for start, end in self.periods:
            likely = (start, end + 1) if self.wants_target else (end + 1, start)
            out.extend(y for y in likely if y not in out)
        return tuple(out)

    @property
    def periods(self) -> tuple[tuple[int, int], ...]:
        """The periods the question names, as (first year, last year): five-year plans, and spans of
        years written out ("2016-2020", "between 2016 and 2020"), which reports review or plan as one."""
        text = f"{self.normalized} {' '.join(self.expansions)}"
        named = [span for name, span in _PERIODS.items() if name in text]
        spans = [(int(m[0] or m[2]), int(m[1] or m[3])) for m in _RANGE.findall(self.normalized)]
        spans = [(a, b) for a, b in spans if a < b]
        return tuple(dict.fromkeys([*named, *spans]))

    @property
    def search_text(self) -> str:
        """What the lexical index and the model are given: the question, then its Chinese terms."""
        if not self.expansions:
            return self.normalized
        return f"{self.normalized} {' '.join(self.expansions)}"

    @property
    def meaning_text(self) -> str:
        """What the model compares with passages and sentences: `search_text` without the city's name."""
        said = re.sub(r"\s{2,}", " ", _CITY.sub("", self.search_text)).strip()
        return said if _CJK.search(said) or _LATIN.search(said) else self.search_text


def spans_as_years(text: str) -> str:
    """"2016至2020年" as "2016年 2020年": the word joining the years of a span (至, 到, -) is wording, not a
    subject of the question."""
    return _RANGE.sub(lambda m: " ".join(f"{y}年" for y in m.groups() if y), text)


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """Traditional -> Simplified, full-width -> half-width (NFKC), whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    if _CJK.search(text):
        text = _t2s().convert(text)
    return " ".join(text.split())


def understand(question: str) -> Query:
    normalized = normalize(question)
    lang = "zh" if _CJK.search(normalized) or not _LATIN.search(normalized) else "en"
    in_ranges = {int(y) for pair in _RANGE.findall(normalized) for y in pair if y}
    years: list[int] = []
    for match in YEAR.finditer(normalized):
        year = int(match.group(1))
        if year not in in_ranges and year not in years:
            years.append(year)
    # English words inside a Chinese question ("自贡GDP") are expanded too.
    groups = tuple(glossary.load().groups(normalized)) if _LATIN.search(normalized) else ()
    return Query(
        text=question,
        normalized=normalized,
        lang=lang,
        years=tuple(years),
        named_reports=tuple(years) if _REPORT.search(normalized) else (),
        wants_target=bool(_TARGET.search(_PLAN_NAME.sub(" ", normalized))),
        wants_definition=bool(_DEFINITION.search(normalized)),
        quoted=tuple(q.strip() for q in _QUOTED.findall(normalized) if q.strip()),
        groups=groups,
        instructs=bool(_INSTRUCTION.search(normalized)),
    )


# Years a question names relative to now. "Now" is the latest report in the index: the 2025 report
# reviews 2024 (去年) and plans 2025 (今年). A period already named ("去年以来") is left as asked.
_RELATIVE_ZH = {"前年": -2, "去年": -1, "上一年": -1, "上年": -1, "今年": 0, "本年": 0, "当年": None, "明年": 1}
_RELATIVE_EN = {"the year before last": -2, "last year": -1, "the previous year": -1, "this year": 0, "next year": 1}
_RELATIVE = re.compile(
    "|".join(re.escape(w) for w in sorted([*_RELATIVE_ZH, *_RELATIVE_EN], key=len, reverse=True)), re.IGNORECASE
)


_COMPARED = re.compile(r"(?:比|较|同比|相比|than|over|compared (?:with|to))\s*$", re.IGNORECASE)


# Years named by what happened in them or by their place in a five-year plan: "疫情那年" (the reports'
# "极不平凡的一年", 2020), "“十四五”头一年" (2021), "“十三五”收官之年" (2020).
_EPIDEMIC_YEAR = re.compile(r"(?:新冠)?(?:肺炎)?疫情(?:暴发|爆发|发生|来袭|最严重)?(?:的)?(?:那|这)一?年")
_PLAN_YEAR = re.compile(
    r"[“\"]?(十[二三四五]五)[”\"]?(?:时期|期间)?(?:的)?(头一年|第一年|首年|开局之年|开局年|开局那年|最后一年|收官之年|收官年|收官那年)"
)


def resolve_named_years(question: str) -> str:
    """`question` with a year named by an event or by its place in a five-year plan written as the
    year it is ("疫情那年" -> "2020年", "“十四五”头一年" -> "2021年")."""
    def plan_year(match: re.Match[str]) -> str:
        start, end = _PERIODS[match.group(1)]
        return f"{end if match.group(2).startswith(('最后', '收官')) else start}年"

    return _EPIDEMIC_YEAR.sub("2020年", _PLAN_YEAR.sub(plan_year, question))


def resolve_relative(question: str, latest: int | None) -> str:
    """`question` with 去年/今年/前年/last year/this year written as the years they mean when the latest
    report in the index was delivered in `latest`; unchanged when there is nothing to resolve."""
    question = resolve_named_years(question)
    if latest is None:
        return question

    def year(match: re.Match[str]) -> str:
        word = match.group(0)
        offset = _RELATIVE_ZH.get(word, _RELATIVE_EN.get(word.lower()))
        # "比上年下降了多少" compares with the year before the one asked about: a base, not a year.
        if offset is None or _COMPARED.search(question[: match.start()]):
            return word
        if word in _RELATIVE_ZH:
            return f"{latest + offset}年"
        return f"in {latest + offset}" if not word.lower().startswith("the") else f"{latest + offset}"

    resolved = _RELATIVE.sub(year, question)
    # "in 2024" after a preposition already there ("in last year" is rare; "in 2024 in" is not English).
    return re.sub(r"\b(in|during|for|of) in (\d{4})", r"\1 \2", resolved)
