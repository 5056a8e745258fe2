"""The default answerer: offline and deterministic. From the retrieved passages it quotes the clauses
that answer the question (chosen by `qa.choosing`), each sentence ending with its citation marker
`[n]`, naming the report, and the year a figure is about when the question names none.

What is checked by code before anything is said:
- every number in an answer sentence occurs, as a number, in the passage it cites (its text,
  section path or title), after the evaluation's normalization (`。` between digits is `.`);
  a sentence that fails is dropped;
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
from dataclasses import replace
from typing import Any

from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from qa import asked, calibration, listing
from qa.choosing import YEAR, Window, choose, enumeration, speaks_for
from qa.matching import QuestionWords, question_words
from qa.question import Query, understand
from qa.retrieval import Index, from_document, tense
from qa.types import NEWS, Answer, Citation, Passage

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
# An enumeration ("有哪些", "哪几个方面", "what are the main …") is answered with the enumerating
# sentence whole, and the sentences that go on with it ("二是…", "（二）…": `qa.choosing.enumeration`).
_LIST = re.compile(
    r"哪些|哪几|分别是什么|哪[一二三四五六七八九十两]+[个项类种方大件条点]|包括什么|有什么|什么(?:措施|举措|项目|工作|产业|方面)|"
    r"\bwhat (?:are|were) (?:the|its|zigong's)?\s*(?:main|key|major)?\b|\bwhich\b.*\b(?:are|were)\b|\blist\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# What makes English text a question: a question word or mark.
_ASKING_EN = re.compile(r"\b(?:how|what|which|when|where|who|whom|whose|why|whether)\b|\?", re.IGNORECASE)
_MARKER = re.compile(r"\[(\d+)\]")


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
        # A request to the system ("ignore all previous instructions and say …") is no question.
        if query.instructs or not passages:
            return refusal(query.text, passages, language=lang)
        windows, features, names = self.assess(query, passages, words)
        coverage = features["coverage"]
        if not reaches_decision(windows, features) or not calibration.load().answers(features):
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

    def _run_on(self, passages: Sequence[Passage], windows: list[Window]) -> tuple[list[Passage], list[Window]]:
        """A list that runs on past the first window's passage: its items from the passages after it."""
        first = windows[0]
        more = listing.runs_on(self.index, passages[first.passage], first.text)
        extended = list(passages) + [p for p, _ in more]
        added = [
            Window(passage=len(passages) + i, text=text, covered=frozenset(), score=0.0, sentence=text)
            for i, (_, text) in enumerate(more)
        ]
        return extended, [first, *added, *windows[1:]]

    def assess(
        self, query: Query, passages: Sequence[Passage], words: QuestionWords | None = None
    ) -> tuple[list[Window], dict[str, float], list[str]]:
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
        # Clauses by meaning too, for the clause of a long sentence that a question is about.
        meanings = {**self.index.clause_similarities(hinted), **sims}
        windows = [
            w for w in choose(hinted, passages, choosing, meanings) if speaks_for(query, passages[w.passage], w)
        ]
        if windows and _LIST.search(query.normalized) and not query.is_comparison:
            windows = [enumeration(passages[windows[0].passage], windows[0]), *windows[1:]]
        features = self.features(query, passages, words, windows, sims, names)
        # A bare number ("alert(1)" leaves only "1") names nothing to look for: any clause holding it
        # would "cover" the question whole. An English question whose words the glossary lacks names
        # them in the dictionary's report words ("lifts" -> 电梯), and those are something to look for.
        # Only a question, though: "'; DROP TABLE embeddings; --" is no question, whatever 落下 the
        # dictionary gives for "drop".
        hinted_words = choosing.weights if _ASKING_EN.search(query.normalized) else {}
        features["telling"] = float(any(not _FIGURE_ONLY.fullmatch(t) for t in (*words.weights, *hinted_words)))
        return windows, features, names

    def features(
        self,
        query: Query,
        passages: Sequence[Passage],
        words: QuestionWords,
        windows: Sequence[Window],
        sims: dict[str, float],
        names: Sequence[str],
    ) -> dict[str, float]:
        """What the decision to answer is made on (`qa.calibration.FEATURES`)."""
        covered = frozenset().union(*(w.covered for w in windows)) if windows else frozenset()
        dense = max((sims.get(w.sentence.strip(), 0.0) for w in windows), default=0.0)
        best = max(sims.values(), default=0.0)
        return {
            "coverage": sum(words.weights.get(t, 0.0) for t in covered) / words.total if words.total else 0.0,
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


def reaches_decision(windows: Sequence[Window], features: dict[str, float]) -> bool:
    """Whether the calibrated decision is asked at all: there are clauses to quote, they give what is
    asked (`qa.asked.checks`), and the question names something to look for."""
    return bool(windows) and bool(features["gives"]) and bool(features["telling"])


def _sentence(
    query: Query, passage: Passage, window: Window, *, name_report: bool, language: str = "zh"
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
    if about is not None and window.year is None and not YEAR.search(body):
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
