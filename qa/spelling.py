"""Typos and homophones: a question word that the reports never write is read as the report word
it most likely stands for, and the answer says how it was understood (`理解为`).

Chinese typing slips are mostly homophones picked from the input method's list (自共 for 自贡,
规化 for 规划, 科创代 for 科创贷) or one wrong character in a long term (市场主休 for 市场主体). So
a stretch of the question of 2 to 6 characters that occurs nowhere in the reports, and is no word of
general Chinese either (jieba's dictionary), is replaced by a report word with the same pinyin
(`pypinyin`, tones ignored), or, for 4 characters or more, by the one report word of its length that
differs from it in one character. Anything less certain (two candidates, a real word) is left as
typed: a wrong correction would answer another question.

Leaves out: English spelling (an English question reaches the reports through the glossary).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qa.question import normalize
from vectorstore.lexical import dictionary_frequency

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
SOUND_LENGTHS = (2, 3, 4, 5, 6)
SHAPE_MIN = 4
# Characters that ask or join ("各是多少", "多少辆", "成立的"): a stretch holding one is question
# wording typed as meant, never a slip inside a term.
_FUNCTION = frozenset("是的有了在和与及各每这那多少几哪什么吗呢把被给对为从到就都也还又")


class Speller:
    """The reports' words by sound and by shape, and the reports' text to tell what they never write."""

    def __init__(self, words: Iterable[str], text: str) -> None:
        self._words = words
        self._text = text
        self._by_sound: dict[tuple[str, ...], set[str]] = {}
        self._by_shape: dict[str, set[str]] = {}
        self._indexed = False

    def _index(self) -> None:
        """The words by sound and by shape, made at the first stretch the reports never write (0.7 s):
        most questions have none, and a one-shot `zgqa ask` should not pay for it."""
        if self._indexed:
            return
        from pypinyin import lazy_pinyin

        for word in self._words:
            if not _CJK_RUN.fullmatch(word) or len(word) > max(SOUND_LENGTHS):
                continue
            self._by_sound.setdefault(tuple(lazy_pinyin(word)), set()).add(word)
            if len(word) >= SHAPE_MIN:
                for i in range(len(word)):
                    self._by_shape.setdefault(f"{word[:i]}?{word[i + 1:]}", set()).add(word)
        self._indexed = True

    def correct(self, question: str) -> str:
        """`question` with each stretch the reports never write replaced by the word it stands for."""
        out = question = normalize(question)
        for run in _CJK_RUN.findall(question):
            out = out.replace(run, self._fix(run))
        return out

    def _fix(self, run: str) -> str:
        # Characters inside a word of general Chinese (内江市, 一共, 提出) are as meant: a slip makes a
        # stretch that is no word at all (自共, 专精特心).
        meant = [False] * len(run)
        at = 0
        for word in _cut(run):
            if len(word) >= 2 and dictionary_frequency(word):
                meant[at : at + len(word)] = [True] * len(word)
            at += len(word)
        i = 0
        fixed = ""
        while i < len(run):
            for n in sorted(SOUND_LENGTHS, reverse=True):
                piece = run[i : i + n]
                # Cheapest first: searching the reports' text is the costly test.
                if (
                    len(piece) < n
                    or any(meant[i : i + n])
                    or _FUNCTION.intersection(piece)
                    or dictionary_frequency(piece)
                    or piece in self._text
                ):
                    continue
                meant_word = self._match(piece)
                if meant_word is not None:
                    fixed += meant_word
                    i += n
                    break
            else:
                fixed += run[i]
                i += 1
        return fixed

    def _match(self, piece: str) -> str | None:
        # One character typed wrong, whether it sounds the same (自共) or looks alike in the term (主休).
        from pypinyin import lazy_pinyin

        self._index()
        same = {w for w in self._by_sound.get(tuple(lazy_pinyin(piece)), set()) if _differ(w, piece) == 1}
        if len(same) == 1:
            return next(iter(same))
        if len(piece) >= SHAPE_MIN:
            near = set().union(*(self._by_shape.get(f"{piece[:i]}?{piece[i + 1:]}", set()) for i in range(len(piece))))
            if len(near) == 1:
                return next(iter(near))
        return None


def _differ(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True)) if len(a) == len(b) else max(len(a), len(b))


def _cut(text: str) -> list[str]:
    from vectorstore.lexical import cut

    return cut(text)
