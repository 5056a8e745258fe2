"""Line-level cleaning rules for the reports, one rule for each kind of damage their sources carry.

A `Profile` says which damage a report shows (measured on its text, never read from its file
name); `clean_line` then repairs one raw line under that profile, and `despin` undoes synonym
spinning on text already cleaned. Every rule is a pure function of its input, so a chunk's text
can always be re-derived from the raw lines it cites.

Leaves out: how lines join into paragraphs and sections (sections.py), and which lines are
front matter (metadata.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Characters of Chinese running text: ideographs, CJK and full-width punctuation, and the curly
# quotes and dashes Chinese typesetting uses. Spaces between two of them are layout, not content.
_WIDE = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef“”‘’—…·"
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

# Web pages scraped to Markdown keep the site's chrome as link-only lines: `[繁體](#)`, `[收藏](#)`.
_MD_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)")
# Site chrome that is plain text: record numbers, contact lines, share prompts, page meta.
_WEB_CHROME = re.compile(
    r"ICP备\d|公网安备|^网站标识码|^主办单位[：:]|^承办单位[：:]|^联系地址[：:]|^联系电话[：:]|^扫一扫|"
    r"浏览量[：:]|字号[：:]|^您当前的位置|^输入搜索关键词$|^相关信息$"
)
# A PDF page number left on its own line between wrapped lines (001 has `24`).
_PAGE_NUMBER = re.compile(r"^[-—\s]*\d{1,3}[-—\s]*$")
# Footnote markers: `^[1]` in the web page, `[1]` in the PDF; at most two digits, so a bracketed
# year such as `[2020]` is never taken for one.
FOOTNOTE = re.compile(r"\^?\[(\d{1,2})\]")
# A newspaper's continuation marker: `(上接06版)`, `（下转07版）`.
_CONTINUED = re.compile(r"[(（](?:上接|下转|接|转)第?\d{1,2}版[)）]")
# Words that genuinely contain 译; any other 译 in a page with a translate widget is its residue.
_YI_WORDS = ("翻译", "译文", "译者", "译制", "译名", "译本", "译员", "口译", "笔译", "音译", "意译", "编译", "直译")
_YI_STRAY = re.compile(r"(?:" + "|".join(_YI_WORDS) + r")|译")
# Half-width punctuation typed into Chinese text (newspaper and OCR copies): converted only when a
# Chinese character stands on one side, so `1,000` and `(a)` keep their ASCII forms.
_HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
_HALF_PUNCT = re.compile(rf"(?<=[{_CJK}“”])[,;:?!()]|[,;:?!()](?=[{_CJK}“”])")
# Spaces that PDF extraction and letter-spaced titles put between Chinese characters, and around
# numbers inside Chinese (`增长 3.9%`, `42 户`, `政 府 工 作 报 告`); spaces between Latin words stay.
_SPACE_AROUND = re.compile(
    rf"(?<=[{_WIDE}0-9A-Za-z.%])[ \t\u00a0\u3000]+(?=[{_WIDE}])|"
    rf"(?<=[{_WIDE}])[ \t\u00a0\u3000]+(?=[0-9A-Za-z])"
)
# `增长 3 .9 %` and `3 %`: spaces inside a number and before its percent sign.
_SPACE_IN_NUMBER = re.compile(r"(?<=\d)\s+(?=[.%‰])|(?<=\d\.)\s+(?=\d)")
# A `。` between digits is a decimal point (the rewritten article writes `4。02`), unless a year
# follows, which is a sentence ending in a number followed by one starting with `2024年`.
_DECIMAL = re.compile(r"(?<=\d)。(?=\d)(?!\d{4}年)")
_FULLWIDTH_ALNUM = str.maketrans(
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ％．",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz%.",
)
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
# Reports rewritten by a synonym spinner show its signature words at tens per 1,000 characters;
# the four official reports show none. 5 leaves a wide margin on both sides.
SPIN_RATE_THRESHOLD = 5.0


@dataclass(frozen=True)
class Profile:
    """Which kinds of damage one report shows, each measured on its raw text."""

    web_page: bool = False  # scraped web page: Markdown link lines from the site's chrome
    translate_widget: bool = False  # lines holding only `译`, left by the page's translate button
    rewritten: bool = False  # synonym-spun copy: signature words above SPIN_RATE_THRESHOLD
    spin_rate: float = 0.0  # signature words per 1,000 characters
    # A bare number on a line of its own is a page number left in text copied out of a PDF. Not in a
    # PDF, Word, HTML or Markdown file, whose reader knows the pages (and drops their numbers) or has
    # none: there it is text, such as `500` of `500强` split off by the PDF's text layer.
    stray_page_numbers: bool = True


@dataclass(frozen=True)
class CleanLine:
    """One raw line after cleaning: its text, the footnote numbers it cited, and what was repaired."""

    text: str
    noise: str | None = None  # why the whole line was dropped, if it was
    footnotes: tuple[int, ...] = ()
    repairs: tuple[tuple[str, int], ...] = ()


def detect_profile(lines: list[str]) -> Profile:
    """Measure the damage signals on a report's raw lines."""
    text = "\n".join(lines)
    link_lines = sum(1 for line in lines if is_link_line(line.strip()))
    yi_lines = sum(1 for line in lines if line.strip() == "译")
    rate = spin_rate(text)
    return Profile(
        web_page=link_lines >= 2,
        translate_widget=yi_lines >= 2,
        rewritten=rate >= SPIN_RATE_THRESHOLD,
        spin_rate=round(rate, 2),
    )


def spin_rate(text: str) -> float:
    """Signature words of the synonym spinner per 1,000 non-space characters."""
    size = len(re.sub(r"\s", "", text))
    if not size:
        return 0.0
    _, _, signature = _respin_table()
    hits = sum(1 for _ in signature.finditer(text))
    return 1000 * hits / size


def clean_line(raw: str, profile: Profile) -> CleanLine:
    """Repair one raw line; an empty `text` with a `noise` reason means the line is dropped whole."""
    repairs: Counter[str] = Counter()
    line = _INVISIBLE.sub("", raw).translate(_FULLWIDTH_ALNUM).strip()
    if not line:
        return CleanLine("")
    noise = _noise_reason(line, profile)
    if noise:
        return CleanLine("", noise=noise)
    footnotes = tuple(int(n) for n in FOOTNOTE.findall(line))
    if footnotes:
        line = FOOTNOTE.sub("", line)
        repairs["footnote markers removed"] += len(footnotes)
    if profile.translate_widget:
        stray = sum(1 for m in _YI_STRAY.finditer(line) if m.group(0) == "译")
        if stray:
            line = _YI_STRAY.sub(lambda m: "" if m.group(0) == "译" else m.group(0), line)
            repairs["stray 译 removed"] += stray
    line, n = _CONTINUED.subn("", line)
    repairs["continuation markers removed"] += n
    line, n = _HALF_PUNCT.subn(lambda m: _HALF_TO_FULL[m.group(0)], line)
    repairs["half-width punctuation made full-width"] += n
    spaced = line
    line = _SPACE_IN_NUMBER.sub("", _SPACE_AROUND.sub("", line))
    line = re.sub(r"\s{2,}", " ", line).strip()
    if line != spaced:
        repairs["lines with spaces removed around numbers or Chinese"] += 1
    line, n = _DECIMAL.subn(".", line)
    repairs["decimal 。 read as ."] += n
    if not line:
        # A marker alone on a line (PDF layout) still cites its term: the caller attaches it.
        return CleanLine("", noise="only footnote markers" if footnotes else "only residue", footnotes=footnotes)
    return CleanLine(line, footnotes=footnotes, repairs=tuple((k, v) for k, v in repairs.items() if v))


def despin(text: str) -> tuple[str, int]:
    """Undo synonym spinning with the substitution table; returns the text and the swaps made."""
    table, pattern, _ = _respin_table()
    count = 0

    def swap(m: re.Match[str]) -> str:
        nonlocal count
        original = table[m.group(0)]
        count += original != m.group(0)
        return original

    return pattern.sub(swap, text), count


def is_link_line(line: str) -> bool:
    """A line that is nothing but Markdown links and separators: site navigation."""
    if not _MD_LINK.search(line):
        return False
    rest = _MD_LINK.sub("", line)
    return not re.sub(r"[\s|｜【】\[\]()（）·:：]", "", rest) or len(rest) <= 4


def _noise_reason(line: str, profile: Profile) -> str | None:
    if is_link_line(line):
        return "web navigation"
    if profile.web_page and _WEB_CHROME.search(line):
        return "web page footer"
    if profile.translate_widget and line == "译":
        return "stray 译"
    if profile.stray_page_numbers and _PAGE_NUMBER.match(line):
        return "page number"
    return None


@cache
def _respin_table() -> tuple[dict[str, str], re.Pattern[str], re.Pattern[str]]:
    """The substitution table, a pattern for all its rows and one for its signature rows."""
    table: dict[str, str] = {}
    signature: list[str] = []
    text = resources.files("vectorstore").joinpath("data/respin.tsv").read_text(encoding="utf-8")
    for row in text.splitlines():
        if not row.strip() or row.startswith("#"):
            continue
        spun, original, *flag = row.split("\t")
        table[spun] = original
        if flag == ["sig"]:
            signature.append(spun)
    return table, _alternation(table), _alternation(signature)


def _alternation(words: Iterable[str]) -> re.Pattern[str]:
    # Longest first: the regex engine takes the first alternative that matches at a position.
    return re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))
