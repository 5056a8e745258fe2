"""Which clauses of the retrieved passages answer a question (`qa.answer` quotes them and decides).

The question's words (`qa.matching`), weighed by how rare they are in the reports, are looked for in
every clause; a clause scores the share of that weight it holds, plus the model's similarity of its
sentence to the question (embedded at build time), times the retriever's score of its passage (which
carries the question's years, reports and tense). The best clause is widened to its neighbours in
the same sentence while they add words of the question, so an answer keeps its subject
("“保交房”完成94.4%") and every figure asked for ("营收增长10.6%、资产总额增长9.3%"). A question in two
parts gets a second clause when the first left a good share of it unanswered. A comparison gets one
clause per year it names, from the report most likely to hold that year. A question about a target
and its result gets the aim, then the result. A list question gets the enumerating sentence whole.
A question about what a term means gets the glossary entry whole. A question naming a year is
answered only from a report about that year, or a passage naming it; one naming a period, from a
passage about most of it.

Leaves out: whether the clauses answer (`qa.asked`, `qa.calibration`) and what is said (`qa.answer`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from qa import asked
from qa.matching import QuestionWords
from qa.question import Query
from qa.retrieval import defines, tense
from qa.types import Passage
from vectorstore.figures import years_about
from vectorstore.sentences import CLAUSE, SENTENCE

# A sentence of the answer holds at most this many clauses and characters, so it stays short.
MAX_CLAUSES = 4
MAX_CHARS = 160
# A second clause is added to a two-part question when the first left this share of the question's
# weight, and only if it holds that much itself: a stray word is no second answer.
SECOND_PART = 0.25
# A clause without any figure, for a question asking for one, counts this much: it can still win
# when nothing else holds the question's words, but not against a clause that gives a number. For a
# question naming its unit ("多少项"), a figure in another unit is none ("锚定到2035年…" against
# "提出了五大类28项主要指标").
FIGURELESS = 0.5
# A clause that names a year the question asks about ("2025年1至11月") counts this much more.
YEAR_BONUS = 0.3
# A sentence that names only other years than the ones asked about ("2024年，…；" for a question on
# 2025) counts this much: it is about another year.
OTHER_YEAR = 0.3
# A target's clause for a question about results (or the reverse) counts this much: "截至2025年底
# 累计建成了多少" is not answered by the 2025 plan's "建成…10个以上".
TENSE_PENALTY = 0.5
# A clause giving an average over years ("年均增长7.3%", the five-year plan's) for a question about
# one year's figure counts this much: it is not that year's growth, though it holds the same words.
AVERAGE_PENALTY = 0.3

_TWO_PARTS = re.compile(r"分别|以及|和|与|及|并且|[？?].+[？?]|\band\b|\bboth\b", re.IGNORECASE)
# The model's similarity of a sentence to the question counts from this floor up (e5's cosines of
# unrelated Chinese texts sit around 0.75-0.8), scaled to 0-1 and weighed against the lexical share.
DENSE_FLOOR = 0.8
CLAUSE_DENSE = 0.5
# The same for one clause against the others of its sentence (each clause is embedded at build
# time). Fit on the tuning questions: 0.5 and 1 answered one more (tune2) than 0, and changed no other.
CLAUSE_MEANING = 0.5
_GOES_ON = re.compile(r"^(?:[二三四五六七八九十]是|（[二三四五六七八九十]）|第[二三四五六七八九十]|[2-9][.、])")
_FIRST_ITEM = re.compile(r"^(?:一是|（一）|第一[，、是]|1[.、])")
# An enumeration is quoted up to this many characters (`enumeration`).
LIST_CHARS = 300
# A year a sentence reports on: not a base it compares with ("比2010年翻一番", "2015年以来").
YEAR = re.compile(r"(?<![比较于自从])((?:19|20)\d\d)年(?!以来|起|底前|前)")


@dataclass(frozen=True)
class Window:
    """Clauses of one sentence chosen to answer, with what they hold and how well they score."""

    passage: int  # index into the passages
    text: str
    covered: frozenset[str]  # question words it holds whole
    score: float
    year: int | None = None  # the year of a comparison it answers for
    sentence: str = ""  # the whole sentence it was cut from (which may name the year)


def choose(
    query: Query, passages: Sequence[Passage], words: QuestionWords, sims: dict[str, float] | None = None
) -> list[Window]:
    sims = sims or {}
    figure = bool(asked.ASKS_FIGURE.search(query.normalized))
    if query.is_comparison:
        chosen: list[Window] = []
        for year in query.years:
            best = _for_year(query, passages, words, figure, year, frozenset(w.text for w in chosen), sims)
            if best is not None:
                chosen.append(replace(best, year=year))
        return chosen
    if query.wants_result_too:
        # The aim first, then what came of it, each from a passage of its own tense.
        aim = _best(query, passages, range(len(passages)), words, figure, frozenset(), query.years, sims)
        done = _best(
            query.as_result(), passages, range(len(passages)), words, figure,
            frozenset([aim.text] if aim else []), query.years, sims,
        )
        return [w for w in (aim, done) if w is not None]
    definition = _definition(query, passages, words)
    if definition is not None:
        return [definition]
    everywhere = range(len(passages))
    best = _best(query, passages, everywhere, words, figure, frozenset(), query.years, sims)
    if best is None:
        return []
    chosen = [best]
    left = sum(w for t, w in words.weights.items() if t not in best.covered)
    if _TWO_PARTS.search(query.normalized) and left >= SECOND_PART * words.total:
        rest = QuestionWords(
            {t: w for t, w in words.weights.items() if t not in best.covered},
            {t: f for t, f in words.forms.items() if t not in best.covered},
            words.parts,
            words.vocabulary,
            words.context,
            words.english,
        )
        second = _best(query, passages, everywhere, rest, figure, frozenset([best.text]), query.years, sims)
        if second is not None and sum(rest.weights[t] for t in second.covered) >= SECOND_PART * words.total:
            chosen.append(second)
    return chosen

def _for_year(
    query: Query,
    passages: Sequence[Passage],
    words: QuestionWords,
    figure: bool,
    year: int,
    exclude: frozenset[str],
    sims: dict[str, float],
) -> Window | None:
    """The best clause for one year of a comparison, from the report most likely to hold that year's
    figures, then the next likely one; never a clause already given for another year."""
    for report in query.report_years(year):
        among = [i for i, p in enumerate(passages) if p.year == report]
        best = _best(query, passages, among, words, figure, exclude, (year,), sims)
        if best is not None:
            return best
    among = [i for i, p in enumerate(passages) if f"{year}年" in p.section]
    return _best(query, passages, among, words, figure, exclude, (year,), sims)

def _definition(query: Query, passages: Sequence[Passage], words: QuestionWords) -> Window | None:
    """The glossary entry of the term the question asks about, whole: when it asks what a term
    means, or names a glossary term in quotation marks ("“三抓联动”抓的是哪三项？")."""
    for i, p in enumerate(passages[:2]):
        asks_term = query.wants_definition or (query.quoted and not asked.ASKS_FIGURE.search(query.normalized))
        if p.term and asks_term and defines(p.term, query):
            return Window(i, p.text.strip(), words.held(p.text), 1.0, sentence=p.text)
    return None

def _best(
    query: Query,
    passages: Sequence[Passage],
    among: Sequence[int],
    words: QuestionWords,
    figure: bool,
    exclude: frozenset[str],
    years: tuple[int, ...],
    sims: dict[str, float] | None = None,
) -> Window | None:
    """The best clause window: the question's weighed words it holds (a share of their weight)
    plus the model's similarity of its sentence to the question, times the passage's prior."""
    sims = sims or {}
    total = words.total or 1.0
    best: Window | None = None
    level = figure and not asked.RATE.search(query.normalized)
    unit = asked.unit_asked(query) if figure else None
    # A count of what was added ("净增…42户") is no figure of how many there are, unless that is asked.
    added = unit is not None and asked.asks_new(query)
    top = max((passages[i].score for i in among), default=0.0)
    for i in among:
        # The retriever's score carries the question's years, reports and tense; a passage it
        # ranks lower needs more of the question's words to win.
        prior = passages[i].score / top if top > 0 else 1.0
        if query.tense is not None and tense(passages[i]) not in (None, query.tense):
            prior *= TENSE_PENALTY
        if query.periods and not years and not _about_period(passages[i], query.periods):
            prior *= OTHER_YEAR
        for sentence in SENTENCE.findall(passages[i].text):
            clauses = [c for c in CLAUSE.findall(sentence) if c.strip()]
            named = set(YEAR.findall(sentence))
            other = bool(years) and bool(named) and not named & {str(y) for y in years}
            weight = prior * (OTHER_YEAR if other else 1.0)
            close = _closeness(sims.get(sentence.strip(), 0.0))
            window = _widen(i, clauses, words, figure, weight, level, unit, sims, added)
            if window is None:
                # Nothing of the question's wording, but the model finds the sentence close: a
                # paraphrase ("给老人做饭吃的地方" for 老年助餐点) is answered by meaning.
                text = sentence.strip()
                if not close or len(text) > MAX_CHARS:
                    continue
                window = Window(i, text, words.held(text), 0.0)
            if window.text in exclude:
                continue
            meaning = CLAUSE_DENSE * close * weight
            if figure and not asked.gives(window.text, level, unit):
                meaning *= FIGURELESS
            window = replace(window, sentence=sentence, score=window.score / total + meaning)
            if len(years) == 1 and "年均" in window.text and not asked.AVERAGE.search(query.search_text):
                window = replace(window, score=window.score * AVERAGE_PENALTY)
            # Only what can speak for the year asked about is a candidate at all.
            if not speaks_for(query, passages[i], window, years):
                continue
            if any(f"{y}年" in window.text for y in years):
                window = replace(window, score=window.score * (1 + YEAR_BONUS))
            if best is None or window.score > best.score:
                best = window
    return best



def _widen(
    passage: int,
    clauses: list[str],
    words: QuestionWords,
    figure: bool,
    prior: float,
    level: bool = False,
    unit: re.Pattern[str] | None = None,
    sims: dict[str, float] | None = None,
    added: bool = True,
) -> Window | None:
    """The best clause of a sentence, widened to neighbours that add question words. Of the clauses
    holding some of the question's words, the best holds most of their weight plus the model's
    similarity of the clause itself to the question (`CLAUSE_MEANING`): "市民的收入涨了多少" is about
    "城镇居民人均可支配收入增长5.4%", not "地方一般公共预算收入增长4.8%" before it, though both hold 收入."""
    if not clauses:
        return None
    sims = sims or {}
    credits = [words.credit(c) for c in clauses]

    def given(text: str) -> bool:
        """The figure asked for; in a unit asked without 新, not only a count of what was added."""
        return asked.gives(text, level, unit) and (added or unit is None or not asked.only_added(text, unit))

    gives = [given(text) for text in clauses]
    scores = [_score(words, c, figure, g) for c, g in zip(credits, gives, strict=True)]
    if max(scores) == 0:
        return None
    total = words.total or 1.0
    meant = [
        s / total + CLAUSE_MEANING * _closeness(sims.get(c.strip(), 0.0)) * (FIGURELESS if figure and not g else 1.0)
        if s > 0 else 0.0
        for s, c, g in zip(scores, clauses, gives, strict=True)
    ]
    b = max(range(len(clauses)), key=lambda i: meant[i])
    lo = hi = b
    got = dict(credits[b])
    while hi - lo + 1 < MAX_CLAUSES:
        options = []
        for j in (lo - 1, hi + 1):
            if 0 <= j < len(clauses):
                gain = sum(words.weights[t] * max(0.0, c - got.get(t, 0.0)) for t, c in credits[j].items())
                if gain > 0:
                    options.append((gain, j))
        if unit is None:
            # A name's digits ("5G建设三年行动计划") are no figure.
            bare = figure and not any(asked.gives(clauses[j], False) for j in range(lo, hi + 1))
            if bare and hi + 1 < len(clauses) and asked.gives(clauses[hi + 1], False):
                options.append((float("inf"), hi + 1))  # the figure asked for follows its subject
        elif not any(gives[lo : hi + 1]):
            # The figure in the unit asked is in a neighbour ("新建公办幼儿园10所，确保公立幼儿园…50%").
            # Past clauses with no figure between ("全年净增…42户，创近年新高，累计达到606户"), within the
            # clauses allowed; the first figure met is the one.
            figured = [j for j in range(len(clauses)) if asked.DIGIT.search(clauses[j])]
            after = next((j for j in figured if hi < j < lo + MAX_CLAUSES), None)
            before = next((j for j in reversed(figured) if hi - MAX_CLAUSES < j < lo), None)
            options.extend((float("inf"), j) for j in (after, before) if j is not None and gives[j])
        if not options:
            break
        _, j = max(options)
        if len("".join(clauses[min(lo, j) : max(hi, j) + 1])) > MAX_CHARS:
            break
        for k in range(min(lo, j), max(hi, j) + 1):
            for t, c in credits[k].items():
                got[t] = max(got.get(t, 0.0), c)
        lo, hi = min(lo, j), max(hi, j)
    text = "".join(clauses[lo : hi + 1])
    covered = frozenset(t for t, c in got.items() if c == 1.0)
    return Window(passage, text, covered, prior * _score(words, got, figure, given(text)))


def _closeness(similarity: float) -> float:
    """The model's similarity above `DENSE_FLOOR`, scaled to 0-1."""
    return max(0.0, (similarity - DENSE_FLOOR) / (1.0 - DENSE_FLOOR))


def enumeration(passage: Passage, window: Window) -> Window:
    """For a question asking for a list: the window's sentence whole, and the sentences after it that
    go on with the enumeration ("二是…"), or that it announces ("…：" / "…包括"), up to `LIST_CHARS`."""
    sentences = [s for s in SENTENCE.findall(passage.text) if s.strip()]
    at = next((i for i, s in enumerate(sentences) if s == window.sentence), None)
    if at is None:
        return window
    text = sentences[at].strip()
    for n, following in enumerate(sentences[at + 1 :]):
        # A sentence followed by the list's first item ("…六个新突破。一是…") announces it too.
        announced = text.rstrip("。；;").endswith(("：", ":")) or "包括" in text or (
            n == 0 and bool(_FIRST_ITEM.match(following.strip()))
        )
        if not (_GOES_ON.match(following.strip()) or announced) or len(text) + len(following) > LIST_CHARS:
            break
        text += following.strip()
    if len(text) > LIST_CHARS or len(text) <= len(window.text):
        return window
    return replace(window, text=text, sentence=window.sentence)


def _score(words: QuestionWords, credit: dict[str, float], figure: bool, gives: bool) -> float:
    base = words.score(credit)
    return base * FIGURELESS if figure and not gives else base


def speaks_for(query: Query, passage: Passage, window: Window, years: tuple[int, ...] | None = None) -> bool:
    """A question naming a year is answered only from a passage about that year: the 2017 report's
    失业率 is no answer to "2024年…失业率", nor the 2025 report's review of 2024 to a question on 2025."""
    if years is None:
        years = (window.year,) if window.year is not None else query.years
    text = window.sentence or window.text
    return not years or any(covers(passage, y, text, named=y in query.named_reports) for y in years)


def _about_period(passage: Passage, periods: tuple[tuple[int, int], ...]) -> bool:
    """Whether `passage` is about most of a period asked for: "2016-2020" and "十三五" are answered by the
    2021 report's review of those five years, not by the 2017 report's of 2012-2016 (one year shared)."""
    first, last = years_about(passage.kind, passage.section, passage.year, passage.text, passage.term)
    return any(2 * (min(last, end) - max(first, start) + 1) >= end - start + 1 for start, end in periods)


def covers(passage: Passage, year: int, text: str, *, named: bool = False) -> bool:
    """Whether `text` from `passage` can speak for `year`: it or its section names the year, or it is
    from the review part (or an
    untensed part) of the report delivered the year after, or the plan part of that year's own report.
    A glossary entry defines a term and speaks for no year unless it names one."""
    heading = passage.section.split(" › ", 1)[1:]  # the first element is the report's own label
    if str(year) in f"{' '.join(heading)}\n{text}":
        return True
    if named:
        return passage.year == year
    if passage.term:
        return False
    own = tense(passage)
    return (passage.year == year + 1 and own != "plan") or (passage.year == year and own != "review")
