"""The heading hierarchy of a report, and its glossary parsed into one entry per term.

The reports number their structure in a few ways, ranked from outer to inner:
- part headings: a short line of its own with no punctuation (`2024年工作回顾`, `名词注解`);
- `一、…` sections;
- `第一，…` and `（一）…` subsections (after cleaning, `(一)` is written `（一）`).
A heading starts a line that follows a sentence end; its title runs to the first `。`, and what
follows on the line is body text (`（一）巩固增强经济回升向好态势。政策供给支撑有力。…`).
A paragraph addressing the delegates (`各位代表，…`) closes the numbered item before it.
A glossary part (`名词注解`, `相关用语注释`) holds entries `N.term：definition` numbered 1, 2, 3…:
only the next expected number starts an entry, so `3.5G—A技术` is entry 3, not 3.5.

Leaves out: chunk sizes (chunking.py) and cleaning (cleaning.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NUMERAL = "[一二三四五六七八九十]{1,3}"
_RANKED = (
    (re.compile(rf"^{_NUMERAL}、"), 2),
    (re.compile(rf"^第{_NUMERAL}[，、]"), 3),
    (re.compile(rf"^（{_NUMERAL}）"), 3),
)
_PART_RANK = 1
# A part heading is short and unpunctuated; 30 characters holds the longest in the reports
# (`2016年工作总结及本届政府工作回顾`) and no wrapped body line is that short and unpunctuated
# right after a sentence end.
_PART_MAX = 30
_PUNCT = re.compile(r"[，。；：！？、,.;:!?“”]")
_GLOSSARY = re.compile(r"^(?:名词注解|名词解释|名词注释|相关用语注释|用语注释|注释)$")
# The speaker turning to the delegates (`各位代表，…`, `各位代表！…`) mid-report.
_ADDRESS = re.compile(r"^各位代表[，,！!]")
# A line that ends a sentence or paragraph; a heading may only follow one.
ENDS_SENTENCE = re.compile(r"[。！？：；!?:;…][”’」』）)]*$")
# A heading wrapped onto a second line leaves a short unpunctuated tail (`第一，…常态化疫情` /
# `精准防控`); 12 characters is well under a wrapped body line (about 30).
_TAIL_MAX = 12


@dataclass(frozen=True)
class BodyLine:
    """A cleaned body line: its raw line number, text and the footnote numbers it cited."""

    number: int
    text: str
    footnotes: tuple[int, ...] = ()


@dataclass
class Section:
    """A section: its heading path (without the report label) and its body lines."""

    path: tuple[str, ...]
    lines: list[BodyLine] = field(default_factory=list)


@dataclass
class GlossaryEntry:
    """One glossary term: its number, the term, its full text and its lines."""

    number: int
    term: str
    heading: str
    lines: list[BodyLine] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(line.text for line in self.lines)


def parse(lines: list[BodyLine]) -> tuple[list[Section], list[GlossaryEntry]]:
    """Split body lines into sections by their headings, and the glossary into entries."""
    sections = [Section(())]
    glossary: list[GlossaryEntry] = []
    stack: list[tuple[int, str]] = []
    glossary_heading: str | None = None
    previous = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        text = line.text
        after_break = not previous or bool(ENDS_SENTENCE.search(previous))
        if after_break and _is_part(text, lines[i + 1 : i + 2]):
            stack = [(_PART_RANK, text)]
            glossary_heading = text if _GLOSSARY.match(text) else None
            sections.append(Section(tuple(t for _, t in stack)))
            previous, i = text, i + 1
            continue
        if glossary_heading is not None:
            entry = _glossary_start(text, len(glossary) + 1, previous)
            if entry:
                glossary.append(GlossaryEntry(len(glossary) + 1, entry[0], glossary_heading))
                text = entry[1]
            if glossary:
                glossary[-1].lines.append(BodyLine(line.number, text, line.footnotes))
            previous, i = line.text, i + 1
            continue
        rank = _rank(text) if after_break else None
        if rank is not None:
            title, body = _split_title(text)
            if "。" not in text and i + 1 < len(lines) and _is_tail(lines[i + 1].text):
                i += 1
                title += lines[i].text
            while stack and stack[-1][0] >= rank:
                stack.pop()
            stack.append((rank, title))
            sections.append(Section(tuple(t for _, t in stack)))
            if body:
                sections[-1].lines.append(BodyLine(line.number, body, line.footnotes))
            previous, i = lines[i].text, i + 1
            continue
        if after_break and _ADDRESS.match(text) and len(stack) > 1:
            # Turning to the delegates closes the numbered item: what follows (the five-year
            # review, the difficulties, the closing call) belongs to the enclosing part.
            stack = stack[:1]
            sections.append(Section(tuple(t for _, t in stack)))
        sections[-1].lines.append(line)
        previous, i = text, i + 1
    return [s for s in sections if s.lines], glossary


def _rank(text: str) -> int | None:
    return next((rank for pattern, rank in _RANKED if pattern.match(text)), None)


def _is_part(text: str, following: list[BodyLine]) -> bool:
    # A part heading has body after it; the report's closing line has none.
    return bool(following) and len(text) <= _PART_MAX and not _PUNCT.search(text) and _rank(text) is None


def _is_tail(text: str) -> bool:
    return len(text) <= _TAIL_MAX and not _PUNCT.search(text)


def _split_title(text: str) -> tuple[str, str]:
    title, _, body = text.partition("。")
    return title, body


def _glossary_start(text: str, expected: int, previous: str) -> tuple[str, str] | None:
    """`(term, line text without the number)` when `text` starts glossary entry `expected`."""
    m = re.match(rf"^{expected}\s*[.．、]\s*", text)
    if not m:
        return None
    rest = text[m.end() :]
    term, colon, _ = rest.partition("：")
    # A wrapped definition line can start with a number too; an entry start is either after a
    # sentence end or names its term before a colon within a short span.
    if not (ENDS_SENTENCE.search(previous) or (colon and len(term) <= 30)):
        return None
    return (term.strip() if colon else rest[:20]), rest
