"""The question's telling words, weighed by rarity, and where a piece of report text holds them.

Shared by retrieval (which reranks passages by their best sentence) and the answerer (which picks
clauses). Words are cut in jieba's precise mode, so 地区生产总值 counts once, not once more for each
word inside it; question phrasing is mapped to report phrasing ("排名" is written "居全省第1位");
words that only say what kind of question it is ("多少", "分别", "计划") are left out, since the
retriever already weighs years and targets.

Leaves out: ranking and answer composition themselves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache

from qa.question import Query
from vectorstore.lexical import tokenize, words

# Words every question here shares: they say nothing about which passage answers.
_QUESTION_WORDS = frozenset(
    "自贡 自贡市 全市 我市 多少 分别 哪些 哪个 什么 怎么 怎么样 如何 是否 一共 共 总共 具体 情况 "  # noqa: SIM905
    "年 年底 年末 截至 期间 当年 全年 今年 去年 提出 提到 报告 政府 工作 政府工作报告 说 "
    "了 吗 呢 个 之 其 这 那 有 是 为 中 达到 达 约 左右 几 变化 有什么 什么样 怎样 得 里 回顾 过去 "
    "计划 规划 目标 要 预计 哪 哪里 哪年 内容 主要 相关 关于 方面 "
    "what how much many which when did does do is are was were the of in and to for by its it's zigong".split()
)
# How questions say it -> how the reports say it.
_REPHRASE = {
    "增速": "增长", "增幅": "增长", "排名": "位", "排第几": "位", "第几": "位", "名次": "位", "第几位": "位",
    "多少钱": "元", "人数": "人", "比重": "占比", "比例": "占比",
}
# "三份", "两年", "几个": how many things the question asks about, not what about.
_COUNTING = re.compile(r"^[一二三四五六七八九十两几]+[份个年项次位条种家批]?$")
_YEAR_WORD = re.compile(r"^(?:19|20)\d\d$")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# A figure of an English question, not an ordinal ("13th") or part of a name ("PM2.5" aside).
_EN_FIGURE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
_CJK = re.compile(r"[\u3400-\u9fff]")
SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]*[”’」』）)]*")
CLAUSE = re.compile(r"[^，,：:]+[，,：:]?")


class Vocabulary:
    """How rare each word is in the reports (inverse document frequency over chunks)."""

    def __init__(self, documents: Iterable[tuple[str, list[str]]]) -> None:
        counts: dict[str, int] = {}
        texts: list[str] = []
        for text, tokens in documents:
            texts.append(text)
            for token in set(tokens):
                counts[token] = counts.get(token, 0) + 1
        self._n = len(texts)
        self._counts = counts
        self._texts = texts
        self._joined = "\n".join(texts)
        self._substring: dict[str, int] = {}

    def weight(self, word: str) -> float:
        """The word's idf; a word jieba never cut out of the reports but that occurs inside their
        text (`占比` in `占比达65%`) is counted by the chunks holding it as a string."""
        count = self._counts.get(word)
        if count is None:
            count = self._substring.get(word)
            if count is None:
                count = sum(1 for text in self._texts if word in text)
                self._substring[word] = count
        return math.log((self._n + 1) / (count + 0.5))

    def knows(self, word: str) -> bool:
        """Whether the reports hold `word` anywhere (as a word, or inside a longer one)."""
        return word in self._counts or word in self._joined

    def is_word(self, word: str) -> bool:
        return word in self._counts


def question_words(query: Query, vocabulary: Vocabulary) -> dict[str, float]:
    """The question's telling words with their weights; for an English question, its glossary terms."""
    source = " ".join(query.expansions) if query.lang == "en" else f"{query.normalized} {' '.join(query.expansions)}"
    found = [
        _REPHRASE.get(t, t)
        for t in words(source)
        if t not in _QUESTION_WORDS
        and not _YEAR_WORD.match(t)
        and not _COUNTING.match(t)
        and not (query.lang == "zh" and t.isascii() and t.isalpha())  # "GDP" in Chinese: its expansion counts
    ]
    if query.lang == "en":  # figures in an English question ("35.42%") still count
        found += [n for n in _EN_FIGURE.findall(query.normalized) if not _YEAR_WORD.match(n)]
    return {t: vocabulary.weight(t) for t in dict.fromkeys(found)}


def unknown_words(question: dict[str, float], vocabulary: Vocabulary) -> list[str]:
    """Chinese words of the question that the reports never use (another city, a statistic they do
    not publish): the reports cannot answer a question about those, however well the rest matches."""
    return [t for t in question if _CJK.search(t) and len(t) >= 2 and not vocabulary.knows(t)]


def held(text: str, question: dict[str, float], vocabulary: Vocabulary) -> frozenset[str]:
    """The question words `text` holds. Words of three or more characters, and words jieba never cuts
    out of the reports, match inside a longer word; other short words must be words of their own
    (外资 is not in 省外资金)."""
    tokens = _tokens(text)
    return frozenset(
        t for t in question if t in tokens or ((len(t) >= 3 or not vocabulary.is_word(t)) and t in text)
    )


def best_sentence(text: str, question: dict[str, float], vocabulary: Vocabulary) -> float:
    """The share of the question's weight held by the passage's best sentence (0 to 1)."""
    total = sum(question.values())
    if total == 0:
        return 0.0
    return max(
        (sum(question[t] for t in held(s, question, vocabulary)) for s in SENTENCE.findall(text)), default=0.0
    ) / total


@lru_cache(maxsize=65536)
def _tokens(text: str) -> frozenset[str]:
    return frozenset(tokenize(text))
