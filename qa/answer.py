"""The default answerer: offline and deterministic. From the retrieved passages it picks the clauses
that answer the question and quotes them, each sentence ending with its citation marker `[n]`.

How a clause is chosen: the question's words (jieba search-mode tokens, or for an English question
the Chinese terms of the glossary) are weighed by how rare they are in the reports (inverse
document frequency), and a clause scores the weight of the words it holds. The best clause is
widened to its neighbours in the same sentence while they add words of the question, so an answer
keeps its subject ("“保交房”完成94.4%") and every figure asked for ("营收增长10.6%、资产总额增长9.3%").
A question with two parts gets a second clause for the words the first left out. A comparison gets
one clause per year it names, from the reports of that year.

What is checked by code: every number in an answer sentence must occur, as a number, in the
passage it cites (its text, section path or title, after the same normalization as the
evaluation: whitespace removed, `。` between digits read as `.`); a sentence that fails is dropped.
When too little of the question is covered, the answer is a refusal (`found=False`) that still
cites the closest passages. `COVERAGE_THRESHOLD` says how that line was drawn.

Leaves out: generation by a language model (this runnable is the part that one would replace),
Chinese numerals in the number check (`第一`, `三`): only figures written in digits are checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from qa.matching import CLAUSE, SENTENCE, Vocabulary, held, question_words, unknown_words
from qa.question import Query, understand
from qa.retrieval import Index, from_document, tense
from qa.types import NEWS, Answer, Citation, Passage

NOT_FOUND = "报告中未找到相关内容。"
CLOSEST = "以下是最接近的段落，供参考。"
# The share of the question's weighed words that the chosen clauses must hold. Calibrated on the
# development questions (`zgqa eval tests/fixtures/eval_qa_dev.jsonl`, README "Refusal threshold"):
# answered questions cover at least 0.56, the unanswerable ones at most 0.42; the line sits
# between them, nearer the unanswerable side since a wrong refusal costs less than a wrong figure.
COVERAGE_THRESHOLD = 0.5
# Refusals list this many of the closest passages.
CLOSEST_SHOWN = 3
# A sentence of the answer holds at most this many clauses and characters, so it stays short.
MAX_CLAUSES = 4
MAX_CHARS = 160
# A second clause is added for a two-part question when the words the first left out weigh this
# much of the question.
SECOND_PART = 0.25
# A clause without any figure, for a question asking for one, counts this much: it can still win
# when nothing else holds the question's words, but not against a clause that gives a number.
FIGURELESS = 0.5
# A clause that names a year the question asks about ("2025年1至11月") counts this much more.
YEAR_BONUS = 0.3
# A target's clause for a question about results (or the reverse) counts this much: "截至2025年底
# 累计建成了多少" is not answered by the 2025 plan's "建成…10个以上".
TENSE_PENALTY = 0.5
# Later passages count less: the retriever's order already weighs years, reports and glossary.
RANK_DECAY = 0.1

_ASKS_FIGURE = re.compile(
    r"多少|几|比例|比重|占比|率|增长|增速|规模|排名|第几|总额|总量|金额|数量|人数|户数|"
    r"\b(?:how many|how much|how fast|what share|what percentage|percent|rate|growth|grow|rank|number|amount)\b",
    re.IGNORECASE,
)
_TWO_PARTS = re.compile(r"分别|以及|和|与|及|并且|[？?].+[？?]|\band\b|\bboth\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DIGIT = re.compile(r"\d")
_MARKER = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class _Window:
    passage: int  # index into the passages
    text: str
    covered: frozenset[str]  # question words it holds
    score: float
    year: int | None = None  # the year of a comparison it answers for


class Composer:
    """The answer step of the chain: `{"input": question, "context": [Document]}` -> `Answer`."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def __call__(self, inputs: dict[str, Any]) -> Answer:
        question = str(inputs["input"])
        passages = [from_document(d) for d in inputs["context"] if isinstance(d, Document)]
        return self.compose(understand(question), passages)

    def runnable(self) -> RunnableLambda[dict[str, Any], Answer]:
        return RunnableLambda(self.__call__, name="extractive_answer")

    def compose(self, query: Query, passages: Sequence[Passage]) -> Answer:
        vocabulary = self.index.vocabulary
        words = question_words(query, vocabulary)
        total = sum(words.values())
        if not passages or total == 0 or unknown_words(words, vocabulary):
            return refusal(query.text, passages)
        figure = bool(_ASKS_FIGURE.search(query.normalized))
        windows = self._choose(query, passages, words, figure)
        covered = frozenset().union(*(w.covered for w in windows)) if windows else frozenset()
        coverage = sum(words[t] for t in covered) / total
        if not windows or coverage < COVERAGE_THRESHOLD:
            return refusal(query.text, passages)
        cited: list[Passage] = []
        sentences: list[str] = []
        last_label = ""
        for window in windows:
            passage = passages[window.passage]
            if passage not in cited:
                cited.append(passage)
            sentence = self._sentence(
                query, passage, window, cited.index(passage) + 1, name_report=passage.label != last_label
            )
            if sentence is not None:
                sentences.append(sentence)
                last_label = passage.label
        kept = [s for s in sentences if s]
        if not kept:
            return refusal(query.text, passages)
        used = sorted({int(m[1:-1]) for s in kept for m in _MARKER.findall(s)})
        renumber = {old: new for new, old in enumerate(used, 1)}
        text = "".join(_MARKER.sub(lambda m: f"[{renumber[int(m.group()[1:-1])]}]", s) for s in kept)
        citations = tuple(Citation.of(renumber[old], cited[old - 1]) for old in used)
        return Answer(question=query.text, text=text, found=True, citations=citations)

    # -- choosing ------------------------------------------------------------------------------

    def _choose(
        self, query: Query, passages: Sequence[Passage], words: dict[str, float], figure: bool
    ) -> list[_Window]:
        if query.is_comparison:
            chosen: list[_Window] = []
            for year in query.years:
                best = self._for_year(query, passages, words, figure, year, frozenset(w.text for w in chosen))
                if best is not None:
                    chosen.append(replace(best, year=year))
            return chosen
        definition = self._definition(query, passages, words)
        if definition is not None:
            return [definition]
        best = self._best(passages, range(len(passages)), words, figure, frozenset(), query.years, query.tense)
        if best is None:
            return []
        chosen = [best]
        left = {t: w for t, w in words.items() if t not in best.covered}
        if _TWO_PARTS.search(query.normalized) and sum(left.values()) >= SECOND_PART * sum(words.values()):
            second = self._best(
                passages, range(len(passages)), left, figure, frozenset([best.text]), query.years, query.tense
            )
            if second is not None and second.covered:
                chosen.append(second)
        return chosen

    def _for_year(
        self, query: Query, passages: Sequence[Passage], words: dict[str, float], figure: bool, year: int,
        exclude: frozenset[str],
    ) -> _Window | None:
        """The best clause for one year of a comparison, from the report most likely to hold that year's
        figures, then the next likely one; never a clause already given for another year."""
        for report in query.report_years(year):
            among = [i for i, p in enumerate(passages) if p.year == report]
            best = self._best(passages, among, words, figure, exclude, (year,))
            if best is not None:
                return best
        among = [i for i, p in enumerate(passages) if f"{year}年" in p.section]
        return self._best(passages, among, words, figure, exclude, (year,))

    def _definition(self, query: Query, passages: Sequence[Passage], words: dict[str, float]) -> _Window | None:
        """A question about what a term means is answered by its glossary entry, whole."""
        if not query.wants_definition:
            return None
        for i, p in enumerate(passages[:2]):
            if p.term:
                covered = held(p.text, words, self.index.vocabulary)
                if covered:
                    return _Window(i, p.text.strip(), covered, 1.0)
        return None

    def _best(
        self,
        passages: Sequence[Passage],
        among: Any,
        words: dict[str, float],
        figure: bool,
        exclude: frozenset[str],
        years: tuple[int, ...] = (),
        tense_of_query: str | None = None,
    ) -> _Window | None:
        best: _Window | None = None
        top = max((passages[i].score for i in among), default=0.0)
        for i in among:
            # The retriever's score carries the question's years and reports; a passage it ranks
            # lower needs more of the question's words to win.
            prior = passages[i].score / top if top > 0 else 1.0 / (1.0 + RANK_DECAY * i)
            if tense_of_query is not None and tense(passages[i]) not in (None, tense_of_query):
                prior *= TENSE_PENALTY
            for sentence in SENTENCE.findall(passages[i].text):
                clauses = [c for c in CLAUSE.findall(sentence) if c.strip()]
                window = _widen(i, clauses, words, figure, prior, self.index.vocabulary)
                if window is not None and any(f"{y}年" in window.text for y in years):
                    window = replace(window, score=window.score * (1 + YEAR_BONUS))
                if window is not None and window.text not in exclude and (best is None or window.score > best.score):
                    best = window
        return best

    # -- writing -------------------------------------------------------------------------------

    def _sentence(self, query: Query, passage: Passage, window: _Window, n: int, *, name_report: bool) -> str | None:
        """`据{report}，{clauses}。[n]`, or None when a number in it is not in the passage."""
        body = window.text.strip().rstrip("，,、；;：:。！？!?")
        said = ""
        if name_report or query.is_comparison:
            # A news article is a secondary source; the reader must see that the figure rests on it.
            news = passage.kind == NEWS and "新闻" not in passage.label
            said = f"据新闻报道（{passage.label}），" if news else f"据{passage.label}，"
        sentence = f"{said}{body}。[{n}]"
        if window.year is not None and not query.named_reports:
            labelled = f"{window.year}年：{sentence}"
            # The year label is a number like any other: it must be in the passage too.
            sentence = labelled if verified(labelled, passage) else sentence
        return sentence if verified(sentence, passage) else None


def _widen(
    passage: int, clauses: list[str], words: dict[str, float], figure: bool, decay: float, vocabulary: Vocabulary
) -> _Window | None:
    """The best clause of a sentence, widened to neighbours that add question words."""
    if not clauses:
        return None
    holds = [held(c, words, vocabulary) for c in clauses]
    scores = [_score(h, words, figure, bool(_DIGIT.search(c))) for c, h in zip(clauses, holds, strict=True)]
    b = max(range(len(clauses)), key=lambda i: scores[i])
    if scores[b] == 0:
        return None
    lo = hi = b
    covered = set(holds[b])
    while hi - lo + 1 < MAX_CLAUSES:
        options = []
        for j in (lo - 1, hi + 1):
            if 0 <= j < len(clauses) and holds[j] - covered:
                options.append((sum(words[t] for t in holds[j] - covered), j))
        bare = figure and not any(_DIGIT.search(clauses[j]) for j in range(lo, hi + 1))
        if bare and hi + 1 < len(clauses) and _DIGIT.search(clauses[hi + 1]):
            options.append((float("inf"), hi + 1))  # the figure asked for follows its subject
        if not options:
            break
        _, j = max(options)
        if len("".join(clauses[min(lo, j) : max(hi, j) + 1])) > MAX_CHARS:
            break
        lo, hi = min(lo, j), max(hi, j)
        covered |= holds[j]
    text = "".join(clauses[lo : hi + 1])
    score = _score(frozenset(covered), words, figure, bool(_DIGIT.search(text)))
    return _Window(passage, text, frozenset(covered), decay * score)


def _score(covered: frozenset[str], words: dict[str, float], figure: bool, has_figure: bool) -> float:
    base = sum(words[t] for t in covered)
    return base * FIGURELESS if figure and not has_figure else base


def numbers(text: str) -> set[str]:
    """The figures written in digits, normalized as the evaluation reads them (`18。2` is `18.2`)."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"(?<=\d)\s+(?=[\d.。])|(?<=[.。])\s+(?=\d)", "", text)
    text = re.sub(r"(?<=\d)。(?=\d)", ".", text)
    return {_canonical(n) for n in _NUMBER.findall(text)}


def verified(sentence: str, passage: Passage) -> bool:
    """Every number of `sentence` (its marker aside) occurs in the passage it cites."""
    claimed = numbers(_MARKER.sub("", sentence))
    return claimed <= numbers(f"{passage.title}\n{passage.section}\n{passage.text}")


def refusal(question: str, passages: Sequence[Passage]) -> Answer:
    closest = tuple(Citation.of(n, p) for n, p in enumerate(passages[:CLOSEST_SHOWN], 1))
    text = NOT_FOUND + (CLOSEST if closest else "")
    return Answer(question=question, text=text, found=False, citations=closest)


def _canonical(number: str) -> str:
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number.lstrip("0") or "0"


def composer(index: Index) -> Callable[[dict[str, Any]], Answer]:
    return Composer(index)
