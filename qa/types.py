"""The results `qa` returns: retrieved passages, citations and answers, each carrying what a reader
needs to check a claim against the source file (seed file name, section path, raw-file lines).

Leaves out: how they are found or composed (`qa.retrieval`, `qa.answer`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# `kind` as ingestion infers it; a news article is a secondary source and answers say so.
NEWS = "news"


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: its provenance, its text (cleaned, de-spun where needed) and its fused score."""

    id: str  # chunk id
    source: str  # seed file name
    title: str
    year: int | None  # the year of the report (delivered), not the year it reviews
    kind: str  # work_report, plan_report or news
    section: str  # `2025年政府工作报告 › 2024年工作回顾 › …`
    text: str
    line_start: int  # 1-based, inclusive, in the raw file
    line_end: int
    score: float  # reciprocal-rank fusion score with the question's priors; higher is better
    term: str | None = None  # set on a glossary entry: the term it defines
    locus: str = ""  # in a PDF, Word, Markdown or HTML file: `page 3, lines 4–9` (vectorstore Chunk.locus)

    @property
    def label(self) -> str:
        """The report as a reader names it: the first element of the section path (`2025年政府工作报告`)."""
        return self.section.split(" › ", 1)[0]


@dataclass(frozen=True)
class Citation:
    """Passage `[n]` of an answer."""

    n: int
    source: str
    title: str
    year: int | None
    kind: str
    section: str
    text: str
    line_start: int
    line_end: int
    # The words of `text` the answer quotes, its clauses (each an exact substring of it): what a
    # reader should check first. Empty for the closest passages of a refusal, which support nothing.
    support: tuple[str, ...] = ()
    locus: str = ""  # in a PDF, Word, Markdown or HTML file: `page 3, lines 4–9`

    @classmethod
    def of(cls, n: int, passage: Passage, support: tuple[str, ...] = ()) -> Citation:
        return cls(
            n=n,
            source=passage.source,
            title=passage.title,
            year=passage.year,
            kind=passage.kind,
            section=passage.section,
            text=passage.text,
            line_start=passage.line_start,
            line_end=passage.line_end,
            support=tuple(s for s in support if s and s in passage.text),
            locus=passage.locus,
        )

    @property
    def where(self) -> str:
        """`000_….txt: lines 12–14`, `report.pdf: page 3, lines 4–9`"""
        if self.locus:
            return f"{self.source}: {self.locus}"
        if self.line_start == self.line_end:
            return f"{self.source}: line {self.line_start}"
        return f"{self.source}: lines {self.line_start}–{self.line_end}"


@dataclass(frozen=True)
class Answer:
    """A short Chinese answer whose every sentence ends with `[n]`, or a refusal (`found=False`) that
    still lists the closest passages as its citations."""

    question: str
    text: str
    found: bool
    citations: tuple[Citation, ...]
    # The share (0-1) of the question's weighed words that the quoted clauses hold; the refusal
    # threshold is drawn on it (`qa.answer.COVERAGE_THRESHOLD`).
    coverage: float = 0.0
    # The question as answered when a follow-up was rewritten with the conversation ("那2020年呢？"
    # -> "2020年自贡地区生产总值增长多少？"); None when it was answered as asked.
    understood: str | None = None
    language: str = "zh"  # the language of the answer's own words; quotations stay in Chinese
    # Who wrote it: "extractive" (the default answerer) or the configured model ("openai:qwen2.5").
    generator: str = "extractive"
    # A model's sentences that verification removed, each with why ("6.5 not in the passages it cites").
    unverified: tuple[str, ...] = ()
    # What a reader should know about how this answer came to be (the model's answer could not be
    # verified, or the model was unavailable, so this is the extractive answer); "" when nothing.
    note: str = ""
    fell_back: bool = False  # a model was configured but this is the extractive answer
    draft: str = ""  # the model's text as it was generated, before verification
    # The rows of the figures table an answer about a trend or a target rests on (`qa.series.as_row`).
    figures: tuple[dict[str, Any], ...] = ()
    # The index generation it was read from (`$ZGQA_INDEX/generations/<name>`); "" for a server.
    generation: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "understood": self.understood,
            "language": self.language,
            "text": self.text,
            "found": self.found,
            "coverage": round(self.coverage, 3),
            "generator": self.generator,
            "note": self.note,
            "fell_back": self.fell_back,
            "unverified": list(self.unverified),
            "draft": self.draft,
            "citations": [{**asdict(c), "support": list(c.support)} for c in self.citations],
            "figures": [dict(f) for f in self.figures],
            "generation": self.generation,
        }


@dataclass(frozen=True)
class Source:
    """A report in the index, as a reader picks it in a filter."""

    source: str  # seed file name
    title: str
    year: int | None  # delivered
    kind: str
    label: str  # `2025年政府工作报告`: the first element of its chunks' section paths
