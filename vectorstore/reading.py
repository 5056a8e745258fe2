"""Find the report files in a folder and read them to text lines, whatever their encoding or format.

UTF-8 (with or without BOM) and UTF-16 with a BOM are taken as they are; anything else is
identified by charset-normalizer, so a GB18030/GBK copy of a report reads to the same text. `.md`,
`.html`, `.pdf` and `.docx` files are read by formats.py into lines that remember their place in the
file. A file that is empty, binary or cannot be read is returned as `Skipped` with the reason, and
the other files are still read.

Leaves out: what the text means (metadata.py) and how it is repaired (cleaning.py).
"""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from vectorstore.errors import SeedsError
from vectorstore.formats import Origin, Unreadable, extract
from vectorstore.metadata import MANIFEST_NAME as MANIFEST

TEXT_SUFFIXES = (".txt",)
# Decoded like a .txt file first, then parsed.
MARKUP_SUFFIXES = (".md", ".html", ".htm")
BINARY_SUFFIXES = (".pdf", ".docx")
REPORT_SUFFIXES = TEXT_SUFFIXES + MARKUP_SUFFIXES + BINARY_SUFFIXES
# A decoded text with more control characters than this share is binary data that happened to
# decode (charset-normalizer accepts some binary as a legacy code page).
_MAX_CONTROL_SHARE = 0.01
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class RawReport:
    """A report file as read: its name, encoding and raw lines (line i is `lines[i - 1]`).

    For a `.txt` file the lines are the file's lines and `origins` is None; for another format they
    are the lines of its extracted text and `origins[i - 1]` is where line i sits in the file.
    """

    source: str
    path: Path
    encoding: str  # or the reader of another format: "pdf (pypdf)"
    lines: tuple[str, ...]
    origins: tuple[Origin, ...] | None = None


@dataclass(frozen=True)
class Skipped:
    """A file that was not ingested, and why."""

    source: str
    reason: str


def discover(folder: Path) -> list[Path]:
    """The report files directly inside `folder`, in name order."""
    if not folder.is_dir():
        raise SeedsError(f"No reports folder at {folder}: pass --seeds DIR or set ZGQA_SEEDS.")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in REPORT_SUFFIXES)


def shown_name(name: str) -> str:
    """A file name as it can be printed: bytes that were not UTF-8 shown as �."""
    return os.fsencode(name).decode("utf-8", "replace")


def others(folder: Path) -> list[Skipped]:
    """The files in `folder` that are not reports in a format read here (a `.doc`, a spreadsheet),
    each with what to do; the manifest and hidden files are left out."""
    kinds = ", ".join(REPORT_SUFFIXES)
    return [
        Skipped(shown_name(p.name), f"not a report format read here ({kinds}): save it as .docx, .pdf or .txt")
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix.lower() not in REPORT_SUFFIXES and p.name != MANIFEST and not p.name.startswith(".")
    ]


def read_folder(folder: Path) -> tuple[list[RawReport], list[Skipped]]:
    """Read every report file in `folder`; unreadable ones, and files of other formats, are skipped
    with their reason."""
    paths = discover(folder)
    reports: list[RawReport] = []
    skipped: list[Skipped] = others(folder)
    for path in paths:
        name = shown_name(path.name)
        if name != path.name:  # a GBK name from a Windows zip: ids and messages are UTF-8
            skipped.append(Skipped(name, "its file name is not valid UTF-8: rename the file"))
            continue
        if path.is_symlink():  # a link could lead anywhere on the machine (`ln -s /etc/shadow x.txt`)
            skipped.append(Skipped(name, "a symbolic link: copy the report into the folder itself"))
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:  # vanished or unreadable between listing and reading
            skipped.append(Skipped(path.name, f"cannot be read: {exc.strerror or exc}"))
            continue
        result = read(path, data)
        if isinstance(result, str):
            skipped.append(Skipped(path.name, result))
        else:
            reports.append(result)
    return reports, skipped


def read(path: Path, data: bytes) -> RawReport | str:
    """One file's bytes as a report's lines, or the reason it holds no readable text."""
    suffix = path.suffix.lower()
    text = None
    if suffix not in BINARY_SUFFIXES:
        result = decode(data)
        if isinstance(result, str):
            return result
        text, encoding = result
        if suffix in TEXT_SUFFIXES:
            return RawReport(path.name, path, encoding, tuple(_LINE_BREAK.split(text)))
        text = _LINE_BREAK.sub("\n", text)
    elif not data.strip():
        return "empty file"
    try:
        found = extract(path, data, text)
    except Unreadable as exc:
        return str(exc)
    return RawReport(path.name, path, found.reader, found.lines, found.origins)


def decode(data: bytes) -> tuple[str, str] | str:
    """The text and encoding of a file's bytes, or the reason it holds no readable text."""
    if not data.strip():
        return "empty file"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Windows tools save "Unicode" text as UTF-16 with a BOM; its NUL bytes are not binary.
        try:
            return _checked(data.decode("utf-16"), "utf-16")
        except UnicodeDecodeError:
            return "undecodable UTF-16 file"
    if b"\x00" in data:
        return "binary file (NUL bytes), not text"
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        mixed = _by_line(data)
        if mixed is not None:
            return _checked(*mixed)
        best = from_bytes(data).best()
        if best is None:
            return "undecodable file: no text encoding fits it"
        text, encoding = str(best), best.encoding
    return _checked(text, encoding)


def _by_line(data: bytes) -> tuple[str, str] | None:
    """A file pasted together from a UTF-8 text and a legacy one (GBK from an old Windows tool), line
    by line: a line of non-ASCII bytes that is valid UTF-8 is UTF-8 (another encoding's Chinese almost
    never is), the other lines are in the one encoding charset-normalizer finds for them. Read as one
    encoding, such a file was either refused or half of it read as gibberish. None when the file is
    not mixed, or its other lines fit no encoding."""
    lines = data.split(b"\n")
    utf8, legacy = False, []
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
            utf8 = utf8 or not line.isascii()
        except UnicodeDecodeError:
            legacy.append(i)
    if not utf8 or not legacy:
        return None
    best = from_bytes(b"\n".join(lines[i] for i in legacy)).best()
    if best is None:
        return None
    other = set(legacy)
    try:
        text = "\n".join(line.decode(best.encoding if i in other else "utf-8") for i, line in enumerate(lines))
    except (UnicodeDecodeError, LookupError):
        return None
    return text.lstrip("\ufeff"), f"utf-8 + {best.encoding}"


def _checked(text: str, encoding: str) -> tuple[str, str] | str:
    if len(_CONTROL.findall(text)) > _MAX_CONTROL_SHARE * len(text):
        return "binary file (control bytes), not text"
    return text.lstrip("\ufeff"), encoding
