"""From a folder of raw report files to cleaned, de-duplicated reports and their chunks.

Per file: decode (reading.py), measure its damage (cleaning.Profile), clean every line, cut the
front matter and a web page's footer, drop blocks the file repeats (002 holds its report eight
times), and read its metadata. Across files: a report whose cleaned text another file already
holds is ingested once, with a warning naming both files.

Leaves out: embeddings and the index.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from vectorstore import metadata
from vectorstore.chunking import Chunk, ReportInfo, chunk_sections
from vectorstore.cleaning import CleanLine, Profile, clean_line, despin, detect_profile
from vectorstore.errors import SeedsError
from vectorstore.formats import Origin, describe
from vectorstore.reading import REPORT_SUFFIXES, RawReport, Skipped, read_folder
from vectorstore.sections import BodyLine, parse

# A run of this many consecutive non-blank lines seen before in the same file is a repeated copy;
# three keeps short legitimate repeats (a heading, a `译`) from counting.
_REPEAT_WINDOW = 3


@dataclass(frozen=True)
class Report:
    """One cleaned report: metadata, body lines with raw line numbers, and what cleaning did."""

    source: str
    encoding: str
    meta: metadata.Metadata
    profile: Profile
    lines: tuple[BodyLine, ...]
    raw_lines: tuple[str, ...]
    repairs: tuple[tuple[str, int], ...]
    duplicates: tuple[str, ...] = ()  # other files holding the same report, not ingested
    origins: tuple[Origin, ...] | None = None  # a document's place of each raw line (reading.RawReport)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(line.text for line in self.lines).encode()).hexdigest()

    def chunks(self) -> list[Chunk]:
        """This report's chunks, computed once."""
        return list(self._chunks)

    @cached_property
    def _chunks(self) -> tuple[Chunk, ...]:
        # cached_property writes the instance __dict__ directly, so it works on a frozen dataclass.
        sections, glossary = parse(list(self.lines))
        info = ReportInfo(
            source=self.source,
            title=despin(self.meta.title)[0] if self.profile.rewritten else self.meta.title,
            year=self.meta.year,
            kind=self.meta.kind,
            label=self.meta.label,
            rewritten=self.profile.rewritten,
        )
        chunks = chunk_sections(info, sections, glossary)
        if self.origins is None:
            return tuple(chunks)
        origins = self.origins
        return tuple(replace(c, locus=describe(origins[c.line_start - 1 : c.line_end])) for c in chunks)

    def clean_span(self, line_start: int, line_end: int) -> list[str]:
        """The raw lines `line_start..line_end` cleaned by this report's rules (for checking chunks)."""
        return [clean_line(raw, self.profile).text for raw in self.raw_lines[line_start - 1 : line_end]]


@dataclass
class Corpus:
    """Everything read from one folder: reports, skipped files and cross-file duplicates."""

    reports: list[Report] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def chunks(self) -> list[Chunk]:
        """All chunks, in report order; a text already chunked in the same section is not repeated."""
        seen: set[str] = set()
        out: list[Chunk] = []
        for report in self.reports:
            for chunk in report.chunks():
                if chunk.id not in seen:
                    seen.add(chunk.id)
                    out.append(chunk)
        return out


def load(folder: Path) -> Corpus:
    """Read, clean and de-duplicate every report in `folder`."""
    raws, skipped = read_folder(folder)
    manifest = metadata.read_manifest(folder)
    corpus = Corpus(skipped=list(skipped))
    by_fingerprint: dict[str, int] = {}
    for raw in raws:
        report = build_report(raw, manifest.get(raw.source, {}))
        if not report.lines:
            corpus.skipped.append(Skipped(raw.source, "no report text after cleaning"))
            continue
        first = by_fingerprint.get(report.fingerprint)
        if first is not None:
            kept = corpus.reports[first]
            corpus.reports[first] = replace(kept, duplicates=(*kept.duplicates, raw.source))
            corpus.warnings.append(
                f"{raw.source} holds the same report as {kept.source}: ingested once, as {kept.source}."
            )
            continue
        by_fingerprint[report.fingerprint] = len(corpus.reports)
        corpus.reports.append(report)
        if report.meta.year is None and report.meta.kind == "unknown":
            corpus.warnings.append(
                f"{raw.source} shows no title, year or kind of report: indexed as {report.meta.label}; "
                f'name them in {metadata.MANIFEST_NAME} ({{"{raw.source}": {{"year": 2025, "kind": "work_report"}}}}).'
            )
    if not corpus.reports:
        kinds = ", ".join(REPORT_SUFFIXES)
        raise SeedsError(f"No usable report in {folder}: add reports there ({kinds}; see README).")
    return corpus


def build_report(raw: RawReport, overrides: dict[str, object] | None = None) -> Report:
    """Clean one decoded file into a report."""
    raw_lines = list(raw.lines)
    profile = detect_profile(raw_lines)
    if raw.origins is not None:
        profile = replace(profile, stray_page_numbers=False)
    cleaned = [clean_line(line, profile) for line in raw_lines]
    texts = [c.text for c in cleaned]
    start = metadata.body_start(texts)
    end = _footer_start(cleaned, start) if profile.web_page else len(cleaned)
    repeated = _repeated_lines(raw_lines, 0, len(raw_lines))
    repairs: Counter[str] = Counter()
    body: list[BodyLine] = []
    for i in range(start, end):
        c = cleaned[i]
        if i in repeated:
            continue
        if c.noise:
            repairs[f"{c.noise} lines dropped"] += 1
        for name, n in c.repairs:
            repairs[name] += n
        if c.text:
            body.append(BodyLine(i + 1, c.text, c.footnotes))
        elif c.footnotes and body:
            # A marker on a line of its own cites the term just before it.
            body[-1] = replace(body[-1], footnotes=body[-1].footnotes + c.footnotes)
    repairs["front matter lines"] = sum(1 for t in texts[:start] if t)
    repairs["web page footer lines dropped"] = sum(1 for c in cleaned[end:] if c.text or c.noise)
    if repeated:
        repairs["repeated lines dropped"] = sum(1 for i in repeated if raw_lines[i].strip())
    if profile.rewritten:
        repairs["spun words restored"] = despin("".join(line.text for line in body))[1]
    meta = metadata.infer(texts[:start], [line.text for line in body])
    meta = metadata.apply_manifest(meta, dict(overrides or {}))
    return Report(
        source=raw.source,
        encoding=raw.encoding,
        meta=meta,
        profile=profile,
        lines=tuple(body),
        raw_lines=tuple(raw_lines),
        repairs=tuple((k, v) for k, v in sorted(repairs.items()) if v),
        origins=raw.origins,
    )


def _footer_start(cleaned: list[CleanLine], start: int) -> int:
    # On a scraped page the article ends where the site's navigation resumes.
    for i in range(start, len(cleaned)):
        if cleaned[i].noise == "web navigation":
            return i
    return len(cleaned)


def _repeated_lines(raw_lines: list[str], start: int, end: int) -> set[int]:
    """Indices of lines inside runs of the file that repeat an earlier run of the same file."""
    idx = [i for i in range(start, end) if raw_lines[i].strip()]
    keys = [raw_lines[i].strip() for i in idx]
    first_seen: dict[tuple[str, ...], int] = {}
    repeated: set[int] = set()
    k = 0
    while k + _REPEAT_WINDOW <= len(keys):
        window = tuple(keys[k : k + _REPEAT_WINDOW])
        j = first_seen.setdefault(window, k)
        if j == k:
            k += 1
            continue
        # Extend the match as far as the copy goes, and drop it whole.
        n = 0
        while k + n < len(keys) and j + n < k and keys[j + n] == keys[k + n]:
            n += 1
        for m in range(k, k + n):
            repeated.add(idx[m])
        # Blank lines inside a dropped run go with it.
        if n:
            repeated.update(range(idx[k], idx[k + n - 1] + 1))
        k += max(n, 1)
    return repeated
