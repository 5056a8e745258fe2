"""The default answerer: offline and deterministic. From the retrieved passages it picks the clauses
that answer the question and quotes them, each sentence ending with its citation marker `[n]`.

How a clause is chosen: the question's words (`qa.matching`), weighed by how rare they are in the
reports, are looked for in every clause; a clause scores the share of that weight it holds, plus the
model's similarity of its sentence to the question (embedded at build time), times the retriever's
score of its passage (which carries the question's years, reports and tense). The best clause is
widened to its neighbours in the same sentence while they add words of the question, so an answer
keeps its subject ("“保交房”完成94.4%") and every figure asked for ("营收增长10.6%、资产总额增长9.3%").
A question in two parts gets a second clause when the first left a good share of it unanswered. A
comparison gets one clause per year it names, from the report most likely to hold that year. A
question about a target and its result gets the aim, then the result. A list question gets the
enumerating sentence whole. A question about what a term means gets the glossary entry whole.

What is checked by code before anything is said:
- every number in an answer sentence occurs, as a number, in the passage it cites (its text,
  section path or title), after the evaluation's normalization (`。` between digits is `.`);
  a sentence that fails is dropped;
- a question naming a year is answered only from a report about that year, or a passage naming it;
- the clauses must give what is asked (`qa.asked.checks`), and then the calibrated decision
  (`qa.calibration`, fit on data) must find the reports answer; otherwise the answer is a refusal
  (`found=False`) still citing the closest passages, naming any name of the question that the
  reports never mention.

Leaves out: generation by a language model (this runnable is the step one would replace), and
Chinese numerals in the number check (`第一`, `三`): only figures written in digits are checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from qa import asked, calibration, listing
from qa.matching import CLAUSE, QuestionWords, question_words
from qa.question import Query, understand
from qa.retrieval import Index, defines, from_document, tense
from qa.types import NEWS, Answer, Citation, Passage
from vectorstore.figures import years_about
from vectorstore.sentences import SENTENCE

NOT_FOUND = "报告中未找到相关内容。"
CLOSEST = "以下是最接近的段落，供参考。"
# The same words for an answer framed in English; the quotations themselves stay in Chinese, as
# translating them would put words in the reports' mouth that no check can verify.
NOT_FOUND_EN = "The reports do not contain this."
CLOSEST_EN = " The closest passages are listed for reference."
LANGUAGES = ("zh", "en")
_FIGURE_ONLY = re.compile(r"[\d.,%]+")
# The share of the question's weighed words a language model's kept sentences must hold whole
# (`qa.generation`). The extractive answer no longer draws a line on it: the calibrated decision
# weighs it with the rest (`qa.calibration`).
COVERAGE_THRESHOLD = 0.5
CLOSEST_SHOWN = 3
# A sentence of the answer holds at most this many clauses and characters, so it stays short.
MAX_CLAUSES = 4
MAX_CHARS = 160
# A second clause is added to a two-part question when the first left this share of the question's
# weight, and only if it holds that much itself: a stray word is no second answer.
SECOND_PART = 0.25
# A clause without any figure, for a question asking for one, counts this much: it can still win
# when nothing else holds the question's words, but not against a clause that gives a number.
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
# An enumeration ("有哪些", "哪几个方面", "what are the main …") is answered with the enumerating
# sentence whole, and the sentences that go on with it ("二是…", "（二）…"), up to this length.
_LIST = re.compile(
    r"哪些|哪几|分别是什么|哪[一二三四五六七八九十两]+[个项类种方大件条点]|包括什么|有什么|什么(?:措施|举措|项目|工作|产业|方面)|"
    r"\bwhat (?:are|were) (?:the|its|zigong's)?\s*(?:main|key|major)?\b|\bwhich\b.*\b(?:are|were)\b|\blist\b",
    re.IGNORECASE,
)
_GOES_ON = re.compile(r"^(?:[二三四五六七八九十]是|（[二三四五六七八九十]）|第[二三四五六七八九十]|[2-9][.、])")
_FIRST_ITEM = re.compile(r"^(?:一是|（一）|第一[，、是]|1[.、])")
LIST_CHARS = 300
_CJK = re.compile(r"[\u3400-\u9fff]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MARKER = re.compile(r"\[(\d+)\]")
# A year a sentence reports on: not a base it compares with ("比2010年翻一番", "2015年以来").
_YEAR = re.compile(r"(?<![比较于自从])((?:19|20)\d\d)年(?!以来|起|底前|前)")


@dataclass(frozen=True)
class _Window:
    passage: int  # index into the passages
    text: str
    covered: frozenset[str]  # question words it holds whole
    score: float
    year: int | None = None  # the year of a comparison it answers for
    sentence: str = ""  # the whole sentence it was cut from (which may name the year)


class Composer:
    """The answer step of the chain: `{"input": question, "context": [Document]}` -> `Answer`."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def __call__(self, inputs: dict[str, Any]) -> Answer:
        passages = [from_document(d) for d in inputs["context"] if isinstance(d, Document)]
        return self.compose(understand(str(inputs["input"])), passages, language=inputs.get("language"))

    def runnable(self) -> RunnableLambda[dict[str, Any], Answer]:
        return RunnableLambda(self.__call__, name="extractive_answer")

    def compose(self, query: Query, passages: Sequence[Passage], *, language: str | None = None) -> Answer:
        """The answer, its own words in `language` ("zh" or "en"; by default the question's)."""
        lang = language if language in LANGUAGES else query.lang
        words = question_words(query, self.index.vocabulary)
        # A bare number ("alert(1)" leaves only "1") names nothing to look for: any clause holding it
        # would "cover" the question whole.
        if not passages or not any(not _FIGURE_ONLY.fullmatch(t) for t in words.weights):
            return refusal(query.text, passages, language=lang)
        windows, features, names = self.assess(query, passages, words)
        coverage = features["coverage"]
        if not windows or not features["gives"] or not calibration.load().answers(features):
            why = ""
            if names:
                why = (
                    f" The reports never mention “{'”, “'.join(names)}”."
                    if lang == "en"
                    else f"报告中没有提到“{'”“'.join(names)}”。"
                )
            return refusal(query.text, passages, why, coverage=coverage, language=lang)
        if _LIST.search(query.normalized) and not query.is_comparison:
            passages, windows = self._run_on(passages, windows)
        cited: list[Passage] = []
        support: dict[str, list[str]] = {}
        sentences: list[tuple[str, Passage]] = []
        last_label = ""
        for window in windows:
            passage = passages[window.passage]
            sentence = _sentence(query, passage, window, name_report=passage.label != last_label, language=lang)
            if sentence is not None:
                sentences.append((sentence, passage))
                last_label = passage.label
                if passage not in cited:
                    cited.append(passage)
                support.setdefault(passage.id, [])
                # What is quoted, not the whole sentence it is cut from: what a reader checks first.
                quoted = window.text.rstrip("，；。、,; ")
                quoted = quoted if quoted and quoted in passage.text else window.sentence
                if quoted not in support[passage.id]:
                    support[passage.id].append(quoted)
        if not sentences:
            return refusal(query.text, passages, coverage=coverage, language=lang)
        text = (" " if lang == "en" else "").join(f"{s}[{cited.index(p) + 1}]" for s, p in sentences)
        citations = tuple(Citation.of(n, p, tuple(support[p.id])) for n, p in enumerate(cited, 1))
        return Answer(
            question=query.text, text=text, found=True, citations=citations, coverage=coverage, language=lang
        )

    def _run_on(self, passages: Sequence[Passage], windows: list[_Window]) -> tuple[list[Passage], list[_Window]]:
        """A list that runs on past the first window's passage: its items from the passages after it."""
        first = windows[0]
        more = listing.runs_on(self.index, passages[first.passage], first.text)
        extended = list(passages) + [p for p, _ in more]
        added = [
            _Window(passage=len(passages) + i, text=text, covered=frozenset(), score=0.0, sentence=text)
            for i, (_, text) in enumerate(more)
        ]
        return extended, [first, *added, *windows[1:]]

    def assess(
        self, query: Query, passages: Sequence[Passage], words: QuestionWords | None = None
    ) -> tuple[list[_Window], dict[str, float], list[str]]:
        """The clauses that would answer, the features the decision to answer is made on, and the
        names of the question the reports never mention."""
        words = words or question_words(query, self.index.vocabulary)
        names = words.unknown_names()
        # The dictionary's words for an English question help choose the clause; the decision weighs
        # the clause against the question's own words and glossary terms only.
        hinted = self.index.hinted(query)
        choosing = words if hinted is query else question_words(hinted, self.index.vocabulary)
        # A modifier the question says in words the dictionary gives ("rebuild" -> 改建) does not narrow
        # the thing it asks about into another one.
        words = replace(words, context=choosing.context)
        sims = self.index.similarities(hinted)
        windows = [
            w for w in self._choose(hinted, passages, choosing, sims) if _speaks_for(query, passages[w.passage], w)
        ]
        if windows and _LIST.search(query.normalized) and not query.is_comparison:
            windows = [_enumeration(passages[windows[0].passage], windows[0]), *windows[1:]]
        return windows, self.features(query, passages, words, windows, sims, names), names

    def features(
        self,
        query: Query,
        passages: Sequence[Passage],
        words: QuestionWords,
        windows: Sequence[_Window],
        sims: dict[str, float],
        names: Sequence[str],
    ) -> dict[str, float]:
        """What the decision to answer is made on (`qa.calibration.FEATURES`)."""
        covered = frozenset().union(*(w.covered for w in windows)) if windows else frozenset()
        dense = max((sims.get(w.sentence.strip(), 0.0) for w in windows), default=0.0)
        best = max(sims.values(), default=0.0)
        return {
            "coverage": sum(words.weights.get(t, 0.0) for t in covered) / words.total if words.total else 0.0,
            "dense": dense,
            "dense_margin": dense - best if windows else -1.0,
            "gives": float(bool(windows) and asked.gives_what_is_asked(query, passages, list(windows))),
            "unknown_name": float(bool(names)),
            "unknown_share": words.unknown_share(),
            "missing": asked.missing(words, windows),
            "english": float(query.lang == "en"),
            "tense_mismatch": float(
                bool(windows) and all(asked.mismatched(query, passages[w.passage], w) for w in windows)
            ),
            # How surely the retriever found what the clauses are quoted from: a paraphrase's passage is
            # ranked first by all three rankings more often than what an unanswerable question finds.
            "passage_score": max((passages[w.passage].score for w in windows), default=0.0),
        }

    # -- choosing ------------------------------------------------------------------------------

    def _choose(
        self, query: Query, passages: Sequence[Passage], words: QuestionWords, sims: dict[str, float] | None = None
    ) -> list[_Window]:
        sims = sims or {}
        figure = bool(asked.ASKS_FIGURE.search(query.normalized))
        if query.is_comparison:
            chosen: list[_Window] = []
            for year in query.years:
                best = self._for_year(query, passages, words, figure, year, frozenset(w.text for w in chosen), sims)
                if best is not None:
                    chosen.append(replace(best, year=year))
            return chosen
        if query.wants_result_too:
            # The aim first, then what came of it, each from a passage of its own tense.
            aim = self._best(query, passages, range(len(passages)), words, figure, frozenset(), query.years, sims)
            done = self._best(
                query.as_result(), passages, range(len(passages)), words, figure,
                frozenset([aim.text] if aim else []), query.years, sims,
            )
            return [w for w in (aim, done) if w is not None]
        definition = self._definition(query, passages, words)
        if definition is not None:
            return [definition]
        everywhere = range(len(passages))
        best = self._best(query, passages, everywhere, words, figure, frozenset(), query.years, sims)
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
            second = self._best(query, passages, everywhere, rest, figure, frozenset([best.text]), query.years, sims)
            if second is not None and sum(rest.weights[t] for t in second.covered) >= SECOND_PART * words.total:
                chosen.append(second)
        return chosen

    def _for_year(
        self,
        query: Query,
        passages: Sequence[Passage],
        words: QuestionWords,
        figure: bool,
        year: int,
        exclude: frozenset[str],
        sims: dict[str, float],
    ) -> _Window | None:
        """The best clause for one year of a comparison, from the report most likely to hold that year's
        figures, then the next likely one; never a clause already given for another year."""
        for report in query.report_years(year):
            among = [i for i, p in enumerate(passages) if p.year == report]
            best = self._best(query, passages, among, words, figure, exclude, (year,), sims)
            if best is not None:
                return best
        among = [i for i, p in enumerate(passages) if f"{year}年" in p.section]
        return self._best(query, passages, among, words, figure, exclude, (year,), sims)

    def _definition(self, query: Query, passages: Sequence[Passage], words: QuestionWords) -> _Window | None:
        """The glossary entry of the term the question asks about, whole: when it asks what a term
        means, or names a glossary term in quotation marks ("“三抓联动”抓的是哪三项？")."""
        for i, p in enumerate(passages[:2]):
            asks_term = query.wants_definition or (query.quoted and not asked.ASKS_FIGURE.search(query.normalized))
            if p.term and asks_term and defines(p.term, query):
                return _Window(i, p.text.strip(), words.held(p.text), 1.0, sentence=p.text)
        return None

    def _best(
        self,
        query: Query,
        passages: Sequence[Passage],
        among: Sequence[int],
        words: QuestionWords,
        figure: bool,
        exclude: frozenset[str],
        years: tuple[int, ...],
        sims: dict[str, float] | None = None,
    ) -> _Window | None:
        """The best clause window: the question's weighed words it holds (a share of their weight)
        plus the model's similarity of its sentence to the question, times the passage's prior."""
        sims = sims or {}
        total = words.total or 1.0
        best: _Window | None = None
        level = figure and not asked.RATE.search(query.normalized)
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
                named = set(_YEAR.findall(sentence))
                other = bool(years) and bool(named) and not named & {str(y) for y in years}
                weight = prior * (OTHER_YEAR if other else 1.0)
                close = _closeness(sims.get(sentence.strip(), 0.0))
                window = _widen(i, clauses, words, figure, weight, level)
                if window is None:
                    # Nothing of the question's wording, but the model finds the sentence close: a
                    # paraphrase ("给老人做饭吃的地方" for 老年助餐点) is answered by meaning.
                    text = sentence.strip()
                    if not close or len(text) > MAX_CHARS:
                        continue
                    window = _Window(i, text, words.held(text), 0.0)
                if window.text in exclude:
                    continue
                meaning = CLAUSE_DENSE * close * weight
                if figure and not asked.gives(window.text, level):
                    meaning *= FIGURELESS
                window = replace(window, sentence=sentence, score=window.score / total + meaning)
                if len(years) == 1 and "年均" in window.text and not asked.AVERAGE.search(query.search_text):
                    window = replace(window, score=window.score * AVERAGE_PENALTY)
                # Only what can speak for the year asked about is a candidate at all.
                if not _speaks_for(query, passages[i], window, years):
                    continue
                if any(f"{y}年" in window.text for y in years):
                    window = replace(window, score=window.score * (1 + YEAR_BONUS))
                if best is None or window.score > best.score:
                    best = window
        return best


def _widen(
    passage: int, clauses: list[str], words: QuestionWords, figure: bool, prior: float, level: bool = False
) -> _Window | None:
    """The best clause of a sentence, widened to neighbours that add question words."""
    if not clauses:
        return None
    credits = [words.credit(c) for c in clauses]
    scores = [_score(words, c, figure, asked.gives(text, level)) for c, text in zip(credits, clauses, strict=True)]
    b = max(range(len(clauses)), key=lambda i: scores[i])
    if scores[b] == 0:
        return None
    lo = hi = b
    got = dict(credits[b])
    while hi - lo + 1 < MAX_CLAUSES:
        options = []
        for j in (lo - 1, hi + 1):
            if 0 <= j < len(clauses):
                gain = sum(words.weights[t] * max(0.0, c - got.get(t, 0.0)) for t, c in credits[j].items())
                if gain > 0:
                    options.append((gain, j))
        bare = figure and not any(asked.DIGIT.search(clauses[j]) for j in range(lo, hi + 1))
        if bare and hi + 1 < len(clauses) and asked.DIGIT.search(clauses[hi + 1]):
            options.append((float("inf"), hi + 1))  # the figure asked for follows its subject
        if not options:
            break
        _, j = max(options)
        if len("".join(clauses[min(lo, j) : max(hi, j) + 1])) > MAX_CHARS:
            break
        lo, hi = min(lo, j), max(hi, j)
        for t, c in credits[j].items():
            got[t] = max(got.get(t, 0.0), c)
    text = "".join(clauses[lo : hi + 1])
    covered = frozenset(t for t, c in got.items() if c == 1.0)
    return _Window(passage, text, covered, prior * _score(words, got, figure, asked.gives(text, level)))


def _closeness(similarity: float) -> float:
    """The model's similarity above `DENSE_FLOOR`, scaled to 0-1."""
    return max(0.0, (similarity - DENSE_FLOOR) / (1.0 - DENSE_FLOOR))


def _enumeration(passage: Passage, window: _Window) -> _Window:
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


def _speaks_for(query: Query, passage: Passage, window: _Window, years: tuple[int, ...] | None = None) -> bool:
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


def _sentence(
    query: Query, passage: Passage, window: _Window, *, name_report: bool, language: str = "zh"
) -> str | None:
    """`据{report}，{clauses}。` (its marker follows), or None when a number in it is not in the passage.
    In English: `According to the 2025 government work report: “{clauses}”.`"""
    body = window.text.strip().rstrip("，,、；;：:。！？!?")
    if language == "en":
        sentence = f"According to {english_label(passage)}: “{body}”."
        year_label = f"{window.year}: "
    else:
        said = ""
        if name_report or query.is_comparison:
            # A news article is a secondary source; the reader must see that the figure rests on it.
            news = passage.kind == NEWS and "新闻" not in passage.label
            said = f"据新闻报道（{passage.label}），" if news else f"据{passage.label}，"
        sentence = f"{said}{body}。"
        year_label = f"{window.year}年："
    about = _about(passage) if not query.years and not query.periods else None
    if about is not None and window.year is None and not _YEAR.search(body):
        # A question naming no year gets the year the figure is about, from the report's own part
        # ("据2025年政府工作报告，2024年，…"): the latest figure is still one year's figure.
        if language == "en":  # "According to the 2025 government work report, in 2024: “…”."
            dated = sentence.replace(": “", f", in {about}: “", 1)
        else:
            dated = sentence.replace(body, f"{about}年，{body}", 1)
        sentence = dated if verified(dated, passage) else sentence
    if window.year is not None and not query.named_reports:
        labelled = f"{year_label}{sentence}"
        # The year label is a number like any other: it must be in the passage too.
        sentence = labelled if verified(labelled, passage) else sentence
    return sentence if verified(sentence, passage) else None


def _about(passage: Passage) -> int | None:
    """The year a report passage's figures are about: the year before for a review part, its own year
    for a plan part; None for a glossary entry, a news article or a part of neither kind."""
    if passage.year is None or passage.term or passage.kind == NEWS:
        return None
    own = tense(passage)
    if own == "review" and passage.kind != "plan_report":
        return passage.year - 1
    if own == "plan":
        return passage.year
    return None


def numbers(text: str) -> set[str]:
    """The figures written in digits, normalized as the evaluation reads them (`18。2` is `18.2`)."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"(?<=\d)\s+(?=[\d.。])|(?<=[.。])\s+(?=\d)", "", text)
    text = re.sub(r"(?<=\d)。(?=\d)", ".", text)
    return {_canonical(n) for n in _NUMBER.findall(text)}


def verified(sentence: str, passage: Passage) -> bool:
    """Every number of `sentence` (markers aside) occurs in the passage it cites."""
    claimed = numbers(_MARKER.sub("", sentence))
    return claimed <= numbers(f"{passage.title}\n{passage.section}\n{passage.text}")


def english_label(passage: Passage) -> str:
    """The report as an English sentence names it; a news article stays marked as secondary."""
    year = f"{passage.year} " if passage.year else ""
    if passage.kind == NEWS:
        return f"a {year}news report"
    if passage.kind == "plan_report":
        return f"the {year}economic and social development plan report"
    return f"the {year}government work report"


def refusal(
    question: str, passages: Sequence[Passage], why: str = "", *, coverage: float = 0.0, language: str = "zh"
) -> Answer:
    """"The reports do not contain it", why when known, and the closest passages as citations."""
    closest = tuple(Citation.of(n, p) for n, p in enumerate(passages[:CLOSEST_SHOWN], 1))
    if language == "en":
        text = NOT_FOUND_EN + why + (CLOSEST_EN if closest else "")
    else:
        text = NOT_FOUND + why + (CLOSEST if closest else "")
    return Answer(
        question=question, text=text, found=False, citations=closest, coverage=coverage, language=language
    )


def _canonical(number: str) -> str:
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number.lstrip("0") or "0"
