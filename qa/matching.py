"""The question's telling words, weighed by rarity, and how much of them a piece of report text holds.

Shared by retrieval (which reranks passages by their best sentence) and the answerer (which picks
clauses). Words are cut in jieba's precise mode, so 地区生产总值 counts once, not once more for each
word inside it. A word may have several forms that count as it: the Chinese terms one English
glossary phrase stands for ("rank" -> 位|居全省|位次), or report wording for question wording
("增速" -> 增长), and for a word the reports never write, its synonyms that they do (`qa.synonyms`:
医生 -> 医师). A long word the reports word differently (粮食产量 / 粮食总产) earns part of its
weight through the shorter words inside it. Words that only say what kind of question it is
("多少", "分别", "计划") are left out: the retriever already weighs years and targets.

Leaves out: ranking and answer composition themselves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from qa import glossary, synonyms
from qa.question import Query, spans_as_years
from vectorstore.lexical import cut, dictionary_frequency, tagged_words, tokenize, words
from vectorstore.sentences import SENTENCE

# Words questions use to ask, not to say what about.
QUESTION_WORDS = frozenset(
    "自贡 自贡市 全市 我市 多少 分别 哪些 哪个 什么 怎么 怎么样 如何 是否 一共 共 总共 具体 情况 "  # noqa: SIM905
    "年 年底 年末 截至 期间 当年 全年 今年 去年 提出 提到 报告 政府 工作 政府工作报告 说 "
    "了 吗 呢 个 之 其 这 那 有 是 为 中 达到 达 约 左右 几 变化 有什么 什么样 怎样 得 里 回顾 过去 "
    "计划 规划 目标 要 预计 哪 哪里 哪年 内容 主要 相关 关于 方面 意思 含义 意味着 指 指的是 代表 包括 "
    "包含 各 各是 各自 分别为 请问 介绍 一下 排 排在 位列 末 初 底 最新 最近 目前 现在 当前 如今 "
    "多长 多久 多远 多高 多重 多大 多快 大约 大概 大致 差不多 "
    "what how much many which when did does do is are was were the of in and to for by its it's zigong latest "
    "current currently now".split()
)
# How questions say it -> the forms the reports use.
_REPHRASE: dict[str, tuple[str, ...]] = {
    "增速": ("增速", "增长"), "增幅": ("增幅", "增长"), "排名": ("位", "位次"), "排第几": ("位", "位次"),
    "第几": ("位", "位次"), "名次": ("位", "位次"), "第几位": ("位", "位次"), "多少钱": ("元",),
    "人数": ("人",), "比重": ("比重", "占比"), "比例": ("比例", "占比"), "占比": ("占比", "比重"),
    "规上": ("规上", "规模以上"), "规模以上": ("规模以上", "规上"),
}
# "游客量", "企业数": a thing the reports name, counted; the thing itself is the word to look for.
_COUNT_SUFFIX = ("数量", "总量", "总数", "人数", "量", "数")
# "三份", "两年", "哪三项": how many things the question asks about, not what about.
_COUNTING = re.compile(r"^[哪一二三四五六七八九十两几]+[份个年项次位条种家批大类所座户件名场点]?$")
_ASKING = re.compile(r"^(?:哪些|哪个|哪几|什么|多少|怎样|怎么)(?=.)")
_YEAR_WORD = re.compile(r"^(?:19|20)\d\d$")
# A figure of an English question, not an ordinal ("13th").
_EN_FIGURE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
_CJK = re.compile(r"[\u3400-\u9fff]+")
# A word this common in general Chinese (jieba's dictionary counts) is a way of asking ("意思",
# "排名"), not a subject the reports could lack; below it, a word the reports never use (内江市 10,
# 最低工资 3, 房价 655) is a subject they do not cover.
COMMON_WORD = 1000
# The share of a word's weight that the shorter words inside it can earn when it is missing whole.
PART_CREDIT = 0.5
# A word held only as part of another thing ("脱贫人口" for "人口") counts this much.
OTHER_THING = 0.4
# Words that place a figure without changing what it measures ("全市地区生产总值", "新增城镇就业").
_GENERIC = frozenset(
    "全市 全省 全国 全年 累计 新增 城镇 主要 当年 年均 实现 完成 达到 其中 以上 持续 不断 进一步".split()  # noqa: SIM905
)
# jieba's tags of closed word classes: adverbs, prepositions, conjunctions, particles, pronouns,
# modal particles, interjections ("又", "给", "或者", "咋样", "都"). They say how a thing is asked about,
# never which thing: reports write them rarely, so their rarity would weigh like a subject's.
_FUNCTION_TAGS = frozenset("dpcurye")
# jieba's tags of names: place, organisation, person, other proper noun.
_NAME_TAGS = frozenset({"ns", "nt", "nr", "nz"})


class Vocabulary:
    """How rare each word is in the reports (inverse document frequency over chunks)."""

    def __init__(self, texts: Sequence[str], counts: Mapping[str, int]) -> None:
        """`texts`: every chunk as it is searched; `counts`: for each token, the chunks holding it."""
        self._n = len(texts)
        self._counts = dict(counts)
        self._texts = list(texts)
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
        if word in self._counts:
            return True
        # subtle: a word inside the text has each of its character pairs there, so a word with one
        # pair the reports never write is not there: the reversed dictionary asks about 108,560
        # headwords, and searching the whole text for each took 6.5 s of the first English question.
        if any(word[i : i + 2] not in self._pairs for i in range(len(word) - 1)):
            return False
        return word in self._joined

    @cached_property
    def _pairs(self) -> frozenset[str]:
        """Every pair of adjacent characters in the reports' text."""
        text = self._joined
        return frozenset(text[i : i + 2] for i in range(len(text) - 1))

    @property
    def text(self) -> str:
        """Every chunk as it is searched, one after the other."""
        return self._joined

    def words(self) -> list[str]:
        """Every word jieba cut out of the reports."""
        return list(self._counts)

    def is_word(self, word: str) -> bool:
        return word in self._counts


@dataclass(frozen=True)
class QuestionWords:
    weights: dict[str, float]  # word -> weight
    forms: dict[str, tuple[str, ...]]  # word -> the strings that count as it
    parts: dict[str, tuple[str, ...]]  # long word -> shorter words inside it
    vocabulary: Vocabulary
    context: str = ""  # the question and its Chinese terms, for telling a word's modifiers apart
    english: bool = False

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def credit(self, text: str, *, modifiers: bool = True) -> dict[str, float]:
        """For each word, how much of it `text` holds: 1 for a form of it, a part for words inside it.
        `modifiers=False` skips telling 绿化覆盖率 from 森林覆盖率 (tagging is the slow part; ranking
        does without it, choosing the answer does not)."""
        tokens = _tokens(text)
        out: dict[str, float] = {}
        for word, forms in self.forms.items():
            if any(self._holds(text, tokens, form) for form in forms):
                narrowed = modifiers and self._modified_otherwise(text, forms)
                out[word] = OTHER_THING if narrowed else 1.0
            elif self.parts.get(word):
                parts = self.parts[word]
                got = sum(self.vocabulary.weight(p) for p in parts if self._holds(text, tokens, p))
                if got:
                    out[word] = PART_CREDIT * got / sum(self.vocabulary.weight(p) for p in parts)
        return out

    def held(self, text: str) -> frozenset[str]:
        """The words `text` holds whole (in one of their forms)."""
        return frozenset(w for w, c in self.credit(text).items() if c == 1.0)

    def score(self, credit: dict[str, float]) -> float:
        return sum(self.weights[w] * c for w, c in credit.items())

    def unknown(self) -> list[str]:
        """Words of the question the reports never use, nor any of their forms (a specific word:
        jieba's dictionary frequency below `COMMON_WORD`). Most are only wording ("干完", "几座"); see
        `unknown_names` for the ones that decide."""
        return [
            w
            for w, forms in self.forms.items()
            if _CJK.search(w)
            and len(w) >= 2
            and not any(self.vocabulary.knows(f) for f in forms)
            and 0 < dictionary_frequency(w) < COMMON_WORD
        ]

    def unknown_names(self) -> list[str]:
        """Names in the question (places, organisations, people, proper nouns: jieba's ns/nt/nr/nz)
        that the reports never mention: another city, a company they do not name. Unlike wording,
        a name cannot be said otherwise, so its absence means the reports do not cover the question."""
        tags = dict(_tagged(self.context))
        return [w for w in self.unknown() if tags.get(w, "")[:2] in _NAME_TAGS]

    def unknown_share(self) -> float:
        """The share of the question's weight held by words the reports never use."""
        total = self.total
        return sum(self.weights[w] for w in self.unknown()) / total if total else 0.0

    def _modified_otherwise(self, text: str, forms: tuple[str, ...]) -> bool:
        """Whether every occurrence of the word in `text` is narrowed by a word the question does not
        use: 绿化覆盖率 is not the 森林覆盖率 asked about, nor 脱贫人口 the population."""
        cut = _tagged(text)
        seen = False
        for i, (token, _) in enumerate(cut):
            if token not in forms:
                continue
            seen = True
            before, tag = cut[i - 1] if i else ("", "")
            # A noun in front names another thing (绿化覆盖率); a verb usually acts on this one
            # (促进消费), except for an English question, whose few Chinese terms say exactly what it is.
            narrowing = tag[:1] == "n" or tag == "j" or (self.english and tag[:1] == "v")
            if not (narrowing and len(before) >= 2 and _CJK.fullmatch(before) and before not in self.context
                    and before not in QUESTION_WORDS and before not in _GENERIC):
                return False
        return seen

    def _holds(self, text: str, tokens: frozenset[str], form: str) -> bool:
        # Words of three or more characters, and words jieba never cuts out of the reports, match
        # inside a longer word; other short words must be words of their own (外资 is not in 省外资金).
        return form in tokens or ((len(form) >= 3 or not self.vocabulary.is_word(form)) and form in text)


def question_words(query: Query, vocabulary: Vocabulary) -> QuestionWords:
    """The question's telling words; for an English question, one word per glossary phrase."""
    forms: dict[str, tuple[str, ...]] = {}
    if query.lang == "en":
        for group in query.groups:
            key = group[0]
            if key not in QUESTION_WORDS and key not in forms:
                forms[key] = tuple(t for t in group if t not in QUESTION_WORDS) or group
        for figure in _EN_FIGURE.findall(query.normalized):  # figures in an English question still count
            if not _YEAR_WORD.match(figure):
                forms.setdefault(figure, (figure,))
    else:
        function = {w for w, tag in _tagged(query.normalized) if tag[:1] in _FUNCTION_TAGS}
        # The measure word of the count asked ("多少亩", "多少户") is checked as its unit
        # (`qa.asked.unit_asked`), not looked for as a word: reports glue it to figures ("3.1万亩").
        pieces = cut(query.normalized)
        measures = {b for a, b in zip(pieces, pieces[1:], strict=False) if a in ("多少", "几") and len(b) == 1}
        for word in words(spans_as_years(query.normalized)):
            if word in function or word in measures:
                continue
            # jieba's dictionary holds phrases glued to an asking word ("哪些项目", "哪些地方"): the
            # asking word is wording, what follows it a word of the question.
            if word not in QUESTION_WORDS and word not in _REPHRASE:
                word = _ASKING.sub("", word) or word
            if word in QUESTION_WORDS or _YEAR_WORD.match(word) or _COUNTING.match(word):
                continue
            if word.isascii():
                # "GDP" in a Chinese question stands for its glossary terms (地区生产总值), and for
                # itself where the reports write it so too ("万元GDP综合能耗"); "PM2.5", which has no
                # entry, stands for itself; a Latin word neither knows ("percent") for nothing.
                groups = glossary.load().groups(word)[:1]
                for group in groups:
                    forms.setdefault(group[0], (*group, word) if vocabulary.knows(word) else group)
                if groups or not vocabulary.knows(word):
                    continue
            if not vocabulary.knows(word):
                stem = next((word[: -len(x)] for x in _COUNT_SUFFIX if word.endswith(x) and len(word) > len(x) + 1), "")
                if stem and vocabulary.knows(stem):
                    word = stem
            own = _REPHRASE.get(word, (word,))
            if not vocabulary.knows(word):
                # A word the reports never write counts in the words they write for it (护士 -> 护理);
                # one that means a way of asking ("打算" -> 计划) only says what kind of question it is.
                alike = synonyms.of(word, vocabulary)
                if any(s in QUESTION_WORDS for s in alike):
                    continue
                own = (*own, *(s for s in alike if s not in own))
            forms.setdefault(word, own)
    # A word is as telling as the commonest way the reports write it.
    weights = {w: min(vocabulary.weight(f) for f in fs) for w, fs in forms.items()}
    parts = {
        w: tuple(p for p in tokenize(w) if p != w and len(p) >= 2)
        for w in forms
        if len(w) >= 4 and _CJK.search(w)
    }
    context = f"{query.normalized} {' '.join(query.expansions)}"
    return QuestionWords(
        weights, forms, {w: p for w, p in parts.items() if p}, vocabulary, context, query.lang == "en"
    )


def best_sentence(text: str, question: QuestionWords) -> float:
    """The share of the question's weight held by the passage's best sentence (0 to 1)."""
    total = question.total
    if total == 0:
        return 0.0
    sentences = SENTENCE.findall(text)
    return max((question.score(question.credit(s, modifiers=False)) for s in sentences), default=0.0) / total


@lru_cache(maxsize=65536)
def _tokens(text: str) -> frozenset[str]:
    return frozenset(tokenize(text))


@lru_cache(maxsize=65536)
def _tagged(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(tagged_words(text))
