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

    @classmethod
    def of(cls, n: int, passage: Passage) -> Citation:
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
        )

    @property
    def where(self) -> str:
        """`000_….txt: lines 12–14`"""
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "found": self.found,
            "coverage": round(self.coverage, 3),
            "citations": [asdict(c) for c in self.citations],
        }
