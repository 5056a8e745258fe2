"""Chunks: pieces of one section, cut at sentence ends, each with the raw lines it came from.

A section's lines are joined into paragraphs (a line that does not end a sentence runs on into
the next: hard-wrapped PDF lines and sentences cut by page breaks are rejoined), and LangChain's
RecursiveCharacterTextSplitter packs whole sentences into chunks of at most `CHUNK_SIZE`
characters. Every character keeps the raw line it came from, so `line_start`/`line_end` are exact.
Each glossary entry is a chunk of its own.

Leaves out: embedding and indexing (the index builds on these chunks).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from vectorstore.cleaning import despin
from vectorstore.sections import ENDS_SENTENCE, BodyLine, GlossaryEntry, Section

# Bump when chunk boundaries or texts change, so an index built by another chunker is refused.
CHUNKER_VERSION = "1"
# About 400 Chinese characters keeps a chunk to one topic and well inside the embedding model's
# 512 tokens (about 750 characters).
CHUNK_SIZE = 400
# A piece shorter than this says too little on its own; it joins a neighbour in its section.
MIN_CHUNK = 60
# A sentence longer than this is cut at `；` or `，` so that no chunk passes the model's window.
MAX_CHUNK = 600
SECTION_SEP = " › "
# Sentence ends, with any closing quote or bracket kept on the sentence they close.
_SENTENCE_END = r"[。！？!?][”’」』）)]*"
_SPLITTER = RecursiveCharacterTextSplitter(
    separators=["\n", _SENTENCE_END],
    is_separator_regex=True,
    keep_separator="end",
    chunk_size=CHUNK_SIZE,
    chunk_overlap=0,
    add_start_index=True,
)
_CLAUSE_SPLITTER = RecursiveCharacterTextSplitter(
    separators=["[；;]", "[，,]"],
    is_separator_regex=True,
    keep_separator="end",
    chunk_size=CHUNK_SIZE,
    chunk_overlap=0,
    add_start_index=True,
)


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage with everything needed to check it against the source file."""

    id: str
    source: str  # seed file name
    title: str
    year: int | None
    kind: str
    section: str  # `2025年政府工作报告 › 2024年工作回顾 › （一）巩固增强经济回升向好态势`
    text: str
    line_start: int  # 1-based, inclusive, in the raw file (for another format: in its extracted text)
    line_end: int
    footnotes: tuple[int, ...] = ()  # glossary numbers cited by footnote markers in the text
    term: str | None = None  # set on a glossary entry: the term it defines
    note: int | None = None  # set on a glossary entry: its number, which markers cite
    original_text: str | None = None  # the raw wording, where the text was de-spun
    # Its place in a file of another format than .txt, whose `line_*` count lines of the extracted
    # text: `page 3, lines 4–9` (PDF), `paragraphs 12–15` (Word), `lines 40–52` (Markdown, HTML).
    locus: str = ""

    @property
    def section_path(self) -> tuple[str, ...]:
        return tuple(self.section.split(SECTION_SEP))


@dataclass(frozen=True)
class ReportInfo:
    """The report fields every chunk carries."""

    source: str
    title: str
    year: int | None
    kind: str
    label: str
    rewritten: bool


def chunk_sections(info: ReportInfo, sections: list[Section], glossary: list[GlossaryEntry]) -> list[Chunk]:
    """All chunks of one report: its sections' text, then one chunk per glossary entry."""
    chunks: list[Chunk] = []
    for section in sections:
        text, owners = _join(section.lines)
        path = SECTION_SEP.join((info.label, *section.path))
        for start, end in _spans(text):
            lines = [line for line in owners[start:end] if line is not None]
            cited = sorted({n for line in lines for n in line.footnotes})
            chunks.append(_make(info, path, text[start:end], lines, footnotes=tuple(cited)))
    for entry in glossary:
        path = SECTION_SEP.join((info.label, entry.heading, f"{entry.number}. {entry.term}"))
        chunks.append(_make(info, path, entry.text, entry.lines, term=entry.term, note=entry.number))
    return chunks


def join_lines(texts: list[str]) -> str:
    """Cleaned lines joined as the chunker joins them, for re-deriving a chunk from its span."""
    return _join([BodyLine(0, t) for t in texts])[0]


def stable_id(source: str, section: str, text: str) -> str:
    """Same report, section and text, same id: across runs and machines."""
    return hashlib.sha256(f"{source}\x1f{section}\x1f{text}".encode()).hexdigest()[:20]


def _join(lines: list[BodyLine]) -> tuple[str, list[BodyLine | None]]:
    """The section text, paragraphs separated by newlines, and the line owning each character."""
    parts: list[str] = []
    owners: list[BodyLine | None] = []
    for line in lines:
        if parts:
            prev = parts[-1]
            if ENDS_SENTENCE.search(prev):
                sep = "\n"
            elif prev[-1:].isascii() and prev[-1:].isalnum() and line.text[:1].isascii() and line.text[:1].isalpha():
                sep = " "  # wrapped Latin words keep their space
            else:
                sep = ""  # a wrapped Chinese line or a sentence cut by a page break runs on
            parts.append(sep)
            owners.extend([None] * len(sep))
        parts.append(line.text)
        owners.extend([line] * len(line.text))
    return "".join(parts), owners


def _spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the chunks of one section's text."""
    spans: list[tuple[int, int]] = []
    for doc in _SPLITTER.create_documents([text]):
        start = doc.metadata["start_index"]
        if len(doc.page_content) <= MAX_CHUNK:
            spans.append((start, start + len(doc.page_content)))
            continue
        for part in _CLAUSE_SPLITTER.create_documents([doc.page_content]):
            s = start + part.metadata["start_index"]
            spans.append((s, s + len(part.page_content)))
    return _merge_short(spans)


def _merge_short(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join a piece under MIN_CHUNK to its neighbour (the previous one, or the next for the first)."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged:
            prev_start, prev_end = merged[-1]
            short = end - start < MIN_CHUNK or prev_end - prev_start < MIN_CHUNK
            if short and end - prev_start <= MAX_CHUNK:
                merged[-1] = (prev_start, end)
                continue
        merged.append((start, end))
    return merged


def _make(
    info: ReportInfo,
    section: str,
    text: str,
    lines: list[BodyLine],
    *,
    footnotes: tuple[int, ...] = (),
    term: str | None = None,
    note: int | None = None,
) -> Chunk:
    text = text.strip()
    original = None
    if info.rewritten:
        restored = despin(text)[0]
        original = text if restored != text else None
        text = restored
        section = despin(section)[0]
        term = despin(term)[0] if term else term
    numbers = [line.number for line in lines]
    return Chunk(
        id=stable_id(info.source, section, text),
        source=info.source,
        title=info.title,
        year=info.year,
        kind=info.kind,
        section=section,
        text=text,
        line_start=min(numbers),
        line_end=max(numbers),
        footnotes=footnotes,
        term=term,
        note=note,
        original_text=original,
    )

