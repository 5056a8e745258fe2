"""What a report is: title, year, kind, date and whether it is a primary source, read from its text.

The front matter (title block before the salutation `各位代表：`, or before the date line of an
article) gives the title, the date and the meeting; when the text states no date, the year comes
from the report's own part headings (`2017年工作安排`). An optional `manifest.json` in the reports
folder overrides any field. A field neither the text nor the manifest gives stays empty, and
`basis` says so: nothing is guessed from file names.

Leaves out: cleaning of the body (cleaning.py) and the body's structure (sections.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vectorstore.errors import ManifestError

MANIFEST_NAME = "manifest.json"
KIND_LABELS = {
    "work_report": "政府工作报告",
    "plan_report": "国民经济和社会发展计划报告",
    "news": "新闻报道",
    "unknown": "文件",
}
# How far into a file the front matter may reach: the 000 web page has about 15 lines of chrome
# and title block before its salutation.
_FRONT_MATTER_LINES = 40
_SALUTATION = re.compile(r"^各位代表[：:！!，,]?$")
_DATE_CN = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MEETING = re.compile(r"第[一二三四五六七八九十]+届人民代表大会第[一二三四五六七八九十]+次会议")
_SPEAKER = re.compile(r"市长([\u4e00-\u9fff]{2,4})$")
# A government work report delivered in year Y reviews Y-1 and plans Y: its part headings say so.
_PLAN_HEADING = re.compile(r"^(\d{4})年工作安排")
_REVIEW_HEADING = re.compile(r"^(\d{4})年工作(?:回顾|总结)")
_FIELDS = ("title", "year", "kind", "date", "primary")


@dataclass(frozen=True)
class Metadata:
    """A report's descriptive fields; `basis` says for each field where it came from."""

    title: str
    year: int | None
    kind: str
    date: str | None
    primary: bool | None
    meeting: str | None = None
    speaker: str | None = None
    basis: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """The short name that roots every section path: `2025年政府工作报告`."""
        year = f"{self.year}年" if self.year else "年份不详"
        return year + KIND_LABELS.get(self.kind, KIND_LABELS["unknown"])


def body_start(texts: list[str]) -> int:
    """Index of the first body line: after the salutation, else after an article's date line."""
    nonblank = [i for i, t in enumerate(texts) if t][:_FRONT_MATTER_LINES]
    for i in nonblank:
        if _SALUTATION.match(texts[i]):
            return i + 1
    for i in nonblank[:5]:
        if _DATE_ISO.search(texts[i]) or _DATE_CN.search(texts[i]):
            return i + 1
    return 0


def infer(front: list[str], body: list[str]) -> Metadata:
    """Metadata from the cleaned front-matter lines and the body lines of one report."""
    basis: dict[str, str] = {}
    lines = [t for t in front if t]
    has_salutation = bool(lines) and bool(_SALUTATION.match(lines[-1]))
    title = _title(lines)
    basis["title"] = "text: front matter" if title else "not stated in the text"
    date, date_basis = _date(lines)
    if date:
        basis["date"] = date_basis
    else:
        basis["date"] = "not stated in the text"
    year, basis["year"] = _year(title, date, body)
    kind, basis["kind"] = _kind(title, lines, has_salutation)
    primary = {"work_report": True, "plan_report": True, "news": False}.get(kind)
    basis["primary"] = f"from kind {kind}" if primary is not None else "unknown: kind unknown"
    meeting = next((m.group(0) for t in lines if (m := _MEETING.search(t))), None)
    speaker = next((m.group(1) for t in lines if (m := _SPEAKER.search(t))), None)
    return Metadata(
        title=title or "",
        year=year,
        kind=kind,
        date=date,
        primary=primary,
        meeting=meeting,
        speaker=speaker,
        basis=tuple(basis.items()),
    )


def read_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """The optional manifest: `{"file name": {"date": "2017-01-10", ...}}`; empty when absent."""
    path = folder / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path} is not readable JSON ({exc}): fix it or remove it.") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ManifestError(f'{path} must map file names to objects, e.g. {{"a.txt": {{"year": 2017}}}}.')
    for name, fields in data.items():
        unknown = sorted(set(fields) - set(_FIELDS))
        if unknown:
            raise ManifestError(f"{path}: {name} has unknown fields {unknown}; allowed: {list(_FIELDS)}.")
        for field, value in fields.items():
            wrong = _wrong_value(field, value)
            if wrong:
                given = json.dumps(value, ensure_ascii=False)[:80]
                raise ManifestError(f"{path}: {name}: {field} must be {wrong}, not {given}.")
    return data


def _wrong_value(field: str, value: Any) -> str:
    """What a manifest field must be, when `value` is not that; "" when it is."""
    if field == "year":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1949 <= value <= 2100
        return "" if ok else "a whole number such as 2017"
    if field == "title":
        return "" if isinstance(value, str) and value.strip() else "a non-empty text"
    if field == "kind":
        return "" if value in KIND_LABELS else f"one of {', '.join(KIND_LABELS)}"
    if field == "date":
        ok = isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
        return "" if ok else "a date such as 2017-01-10"
    if field == "primary":
        return "" if isinstance(value, bool) else "true or false"
    return ""


def apply_manifest(meta: Metadata, overrides: dict[str, Any]) -> Metadata:
    """`meta` with the manifest's fields put over the inferred ones, and `basis` saying so."""
    if not overrides:
        return meta
    basis = dict(meta.basis)
    basis.update({field: "manifest" for field in overrides})
    return replace(meta, **overrides, basis=tuple(basis.items()))


def _title(lines: list[str]) -> str | None:
    # The most specific title-like line: web pages repeat the bare `政府工作报告` under a fuller one.
    reports = [t for t in lines if t.endswith("报告") and "](" not in t]
    if reports:
        return max(reports, key=len)
    plain = [t for t in lines if not _DATE_ISO.search(t) and not _DATE_CN.search(t)]
    return plain[0] if plain else None


def _date(lines: list[str]) -> tuple[str | None, str]:
    # Delivery at the congress beats a bare date line, which beats a web page's publication time.
    found: list[tuple[int, str, str]] = []
    for t in lines:
        m = _DATE_CN.search(t) or _DATE_ISO.search(t)
        if not m:
            continue
        y, mo, d = (int(g) for g in m.groups())
        iso = f"{y:04d}-{mo:02d}-{d:02d}"
        if "会议" in t:
            found.append((0, iso, f"text: delivered ({t})"))
        elif "发布" in t or "来源" in t:
            found.append((2, iso, f"text: published ({t})"))
        else:
            found.append((1, iso, f"text: dated ({t})"))
    if not found:
        return None, ""
    _, iso, basis = min(found, key=lambda f: f[0])
    return iso, basis


def _year(title: str | None, date: str | None, body: list[str]) -> tuple[int | None, str]:
    if date:
        return int(date[:4]), "from the date"
    years = [int(y) for y in re.findall(r"(\d{4})年", title or "")]
    if years:
        # A plan report's title names the past year and the planned one; it is delivered in the latter.
        return max(years), "text: title"
    for t in body:
        if m := _PLAN_HEADING.match(t):
            return int(m.group(1)), f"text: heading {t} (the plan year is the year delivered)"
        if m := _REVIEW_HEADING.match(t):
            return int(m.group(1)) + 1, f"text: heading {t} (a review is delivered the next year)"
    return None, "not stated in the text"


def _kind(title: str | None, lines: list[str], has_salutation: bool) -> tuple[str, str]:
    title = title or ""
    if "政府工作报告" in title:
        return "work_report", "text: title"
    if "计划" in title and "报告" in title:
        return "plan_report", "text: title"
    if not has_salutation and any("发布时间" in t or "来源" in t for t in lines):
        return "news", "text: a publication line and no salutation"
    return "unknown", "not stated in the text"
