"""Lists that run on past their passage: "…重点在五个方面推动发展突破：" ends one chunk and its items
("（一）大力推进产业现代化，…") begin the next ones. A list question quoting such a sentence gets the items
too, each passage they come from cited, each item compact: its first sentence, or for a long one its
first clause (the item's name; the rest elaborates it).

Leaves out: choosing the enumerating sentence and the items inside its own passage (`qa.answer`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from qa.retrieval import Index
from qa.types import Passage
from vectorstore.sentences import CLAUSE, SENTENCE

# An item of an enumeration: "二是…", "（三）…", "第四，…", "5.…".
_N = "[一二三四五六七八九十]+"
ITEM = re.compile(rf"^(?:{_N}是|（{_N}）|第{_N}[，、是]|\d+[.、](?!\d))")
# A sentence that says a list follows: it ends with a colon, says 包括, or counts its items ("六个新突破").
COUNTED = re.compile(r"([一二三四五六七八九十两]|\d+)(?:个|项|大|方面|件)")
ITEM_CHARS = 60  # an item's first sentence longer than this is quoted by its first clause
MAX_ITEMS = 10
MAX_PASSAGES = 12  # passages read past the quoted one for its items
_NUMERALS = {c: i for i, c in enumerate("一二三四五六七八九十", 1)} | {"两": 2}


def announces(text: str) -> bool:
    """Whether quoted text opens a list: it ends with a colon, names 包括, counts its items, or holds one."""
    stripped = text.rstrip("。；; \n")
    return stripped.endswith(("：", ":")) or "包括" in text or bool(COUNTED.search(text)) or any(
        ITEM.match(s.strip()) for s in SENTENCE.findall(text)
    )


def compact(sentence: str) -> str:
    sentence = sentence.strip()
    if len(sentence) <= ITEM_CHARS:
        return sentence
    first = CLAUSE.match(sentence)
    return first.group().rstrip("，,") if first else sentence[:ITEM_CHARS]


def items(text: str) -> list[str]:
    """The items of `text`, compact, in order."""
    return [compact(s) for s in SENTENCE.findall(text) if ITEM.match(s.strip())]


def runs_on(index: Index, passage: Passage, quoted: str) -> list[tuple[Passage, str]]:
    """The passages after `passage` in its report whose items continue the list `quoted` opens at the
    end of `passage`, each with its items joined; nothing when the list ends in it. An item is a
    sentence that starts one ("二是…") in the same section, or the heading of a sub-section ("（一）大力
    推进产业现代化，…"); a passage between items (the first item's elaboration) is passed over only while
    the items announced ("六个新突破") are not all there."""
    last = next((s.strip() for s in reversed(SENTENCE.findall(passage.text)) if s.strip()), "")
    if not last or not quoted.rstrip().endswith(last.rstrip()) or not announces(quoted):
        return []
    wanted = _count(quoted)
    limit = min(MAX_ITEMS, wanted or MAX_ITEMS)
    held = len(items(quoted))
    headings: set[str] = set()
    out: list[tuple[Passage, str]] = []
    after = [p for p in _after(r.passage for r in index.records_by_chunk.values())
             if p.source == passage.source and p.line_start > passage.line_end]
    for following in after[:MAX_PASSAGES]:
        if held >= limit:
            break
        if following.section == passage.section:
            found = items(following.text)
        elif following.section.startswith(passage.section + " › "):
            heading = following.section.removeprefix(passage.section + " › ").split(" › ")[0]
            found = [compact(heading)] if ITEM.match(heading) and heading not in headings else []
            headings.add(heading)
            if not found:
                continue  # another passage of a sub-section already quoted
        else:
            break  # the section ended
        if not found:
            if wanted is None:
                break
            continue
        found = found[: limit - held]
        out.append((following, "".join(found)))
        held += len(found)
    return out


def _after(passages: Iterable[Passage]) -> Sequence[Passage]:
    return sorted(passages, key=lambda p: (p.source, p.line_start))


def _count(text: str) -> int | None:
    """The number of items a sentence announces ("六个新突破" -> 6), if it says."""
    match = COUNTED.search(text)
    if match is None:
        return None
    number = match.group(1)
    return int(number) if number.isdigit() else _NUMERALS.get(number)
