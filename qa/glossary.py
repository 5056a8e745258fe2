"""The bilingual glossary: English phrases of government-report vocabulary -> the Chinese terms the
reports use, shipped as `qa/data/glossary.tsv` (`english phrase<TAB>中文|中文`, `#` comments).

An English question is matched phrase by phrase, longest first, so "industrial value added above
designated size" wins over "value added"; the last word may carry a plural `s`/`es` and any word a
possessive `'s`. What comes back are Chinese search terms for both the lexical and the dense query.

Leaves out: translating answers (answers quote the Chinese reports verbatim).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


@dataclass(frozen=True)
class Glossary:
    entries: dict[tuple[str, ...], tuple[str, ...]]  # English words -> Chinese terms
    longest: int  # words in the longest phrase

    def expand(self, text: str) -> list[str]:
        """The Chinese terms of every glossary phrase in `text`, in order of appearance, each once."""
        found: list[str] = []
        for terms in self.groups(text):
            found.extend(t for t in terms if t not in found)
        return found

    def groups(self, text: str) -> list[tuple[str, ...]]:
        """For each glossary phrase in `text`, its Chinese terms: alternatives for one idea."""
        found: list[tuple[str, ...]] = []
        for terms in self._read(text)[0]:
            if terms not in found:
                found.append(terms)
        return found

    def uncovered(self, text: str) -> list[list[str]]:
        """The runs of words of `text` that no glossary phrase covers, in order."""
        return self._read(text)[1]

    def _read(self, text: str) -> tuple[list[tuple[str, ...]], list[list[str]]]:
        words = [_base(w) for w in _WORD.findall(text.lower())]
        found: list[tuple[str, ...]] = []
        runs: list[list[str]] = [[]]
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                terms = self._lookup(tuple(words[i : i + n]))
                if terms:
                    found.append(terms)
                    runs.append([])
                    i += n
                    break
            else:
                runs[-1].append(words[i])
                i += 1
        return found, [run for run in runs if run]

    def _lookup(self, phrase: tuple[str, ...]) -> tuple[str, ...] | None:
        hit = self.entries.get(phrase)
        if hit is None:
            last = phrase[-1]
            for stem in (last[:-2] if last.endswith("es") else None, last[:-1] if last.endswith("s") else None):
                if stem:
                    hit = self.entries.get((*phrase[:-1], stem))
                    if hit is not None:
                        break
        return hit


def _base(word: str) -> str:
    return word[:-2] if word.endswith("'s") else word


def parse(text: str) -> Glossary:
    """Read the TSV; a malformed line is an error in shipped data, so it fails loudly."""
    entries: dict[tuple[str, ...], tuple[str, ...]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        english, sep, chinese = line.partition("\t")
        terms = tuple(t.strip() for t in chinese.split("|") if t.strip())
        words = tuple(_base(w) for w in _WORD.findall(english.lower()))
        if not sep or not terms or not words:
            raise ValueError(f"glossary line {number} is not `english<TAB>中文|中文`: {line!r}")
        entries[words] = terms
    return Glossary(entries, max((len(w) for w in entries), default=1))


@lru_cache(maxsize=1)
def load() -> Glossary:
    return parse(resources.files("qa").joinpath("data/glossary.tsv").read_text(encoding="utf-8"))
