"""Follow-up questions in a chat, made whole: "那2020年呢？" after "2024年自贡地区生产总值增长多少？"
becomes "2020年自贡地区生产总值增长多少？", and "English please" re-asks the last question with an
English frame for the answer.

`understand_turn(question, history)` folds over the user's earlier questions (as typed, oldest first):
each is understood against the ones before it, so the context is the last *effective* question and
the current language. It is pure and rule-based: the same turns always give the same question.

What it recognizes, and nothing else (a false follow-up silently changes what the user asked, which
is worse than answering a short question as typed):
- a language switch ("English please", "用中文回答"): the last effective question, in that language;
- a follow-up naming another year ("那2020年呢？", "What about 2020?"): the year(s) replaced;
- a follow-up naming another indicator ("那人口呢？", "And exports?"), maybe with a year ("那2020年的
  人口呢？"): a Chinese question keeps its year, place and predicate with the subject swapped; otherwise
  the question is built from a frame (target, growth, definition or figure) in the follow-up's language.

Language: a full question's is its own. An explicit switch persists over follow-ups (a "2020年呢" after
"English please" is still answered in English) until the user asks a full question, which sets it again.

Leaves out (the follow-up is answered as typed): another place (那内江市呢？), a new predicate on the
same subject (目标呢？), one year after a comparison of several, and a new subject in a frame after a
period question (“十三五”期间…). Relative years (去年呢？) are resolved by `qa.api` against the latest
report before a turn reaches this module. Not done at all: translating a question (a frame is in the
follow-up's language, its subject as typed), and telling small talk ("谢谢") from a question: it
becomes the context like any full question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from qa.question import YEAR, normalize, understand


@dataclass(frozen=True)
class Understood:
    """What a chat turn asks, once the conversation before it is taken into account."""

    question: str  # the question to answer (the asked one when it is not a follow-up)
    language: str  # "zh" or "en": the language the answer should be framed in
    rewritten: bool  # True when `question` differs from what the user typed (show "理解为：…")


# A follow-up body longer than this is a question of its own: the longest indicator names in the
# reports ("城镇居民人均可支配收入", 11 characters) fit with a year and 的 to spare.
MAX_ZH_BODY = 20
MAX_EN_WORDS = 8

# Numbers written like years that the rewrite cannot move: a span (2016-2020年), any 年 number the
# year pattern refuses (2050年), relative years. Replacing around them would make nonsense.
_UNMOVABLE = re.compile(
    r"(?:19|20)\d\d\s*年?\s*(?:[-—–~～到至]|to)\s*(?:19|20)\d\d|今年|去年|明年|前年|后年|上年度"
    r"|\b(?:this|last|next|previous) year\b",
    re.IGNORECASE,
)
_YEARISH = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*年")
_PLACE = re.compile(r"自贡市?|全市")
# Another city, county or district at the start of a follow-up (内江市的人口, 高新区): a place switch,
# which is not handled. Two or three characters before 市 keep 城市, 地区 and 全市 out.
_OTHER_PLACE = re.compile(r"^[\u4e00-\u9fff]{2,3}[市县区省州]")
_GROWTH = re.compile(r"增长|增速|增幅|\b(?:grow|grew|grown|growth|increase[sd]?|rise|rose|risen)\b", re.IGNORECASE)

# --- language switches -------------------------------------------------------------------------------
# Whole-message patterns only: "用英文回答2024年GDP增长多少" is a question, not a switch.
_SWITCH_ZH = re.compile(
    r"^(?:请|麻烦|麻烦你|能否|能不能|可以|可不可以)?你?再?(?:用|以|说|讲|换成|换用|改用|切换到|切换成|翻译成)?"
    r"(?P<lang>英文|英语|中文|汉语|普通话)"
    r"来?(?:回答|回复|作答|答复|说|讲|解释|显示)?(?:一下|一遍)?(?:吗|吧|呢|好吗|可以吗|行吗)?$"
)
_SWITCH_EN = re.compile(
    r"^(?:(?:ok|okay|now|please|pls)\s+)*(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?)?"
    r"(?:(?:answer|reply|respond|speak|write|explain|say|repeat|translate|switch|change)"
    r"(?:\s+(?:it|that|this|back))?\s+)?(?:(?:in|into|to)\s+)?(?P<lang>english|chinese|mandarin)"
    r"(?:\s+(?:please|pls|instead|now))*$"
)
_SWITCH_LANG = {"英文": "en", "英语": "en", "english": "en", "中文": "zh", "汉语": "zh", "普通话": "zh"}

# --- follow-ups --------------------------------------------------------------------------------------
# Longest openers first: alternation takes the first that lets the whole pattern match, so 那请问 must
# be tried before 那, or 请问 would become part of the subject.
_ZH_FOLLOW = re.compile(r"^(?:那再问一下|那请问|再问一下|那么|还有|请问|那)?[,\s]*(?P<body>[^?!。,]+?)\s*呢\s*[?!]*$")
_BARE_YEAR = re.compile(r"^(?:那么|那)?\s*(?P<body>(?:19[89]|20[0-4])\d\s*(?P<nian>年)?)\s*\?*$")
_EN_FOLLOW = re.compile(
    r"^(?:(?:and\s+)?(?:what|how)\s+about|what\s+of|and)\s+(?P<body>.+?)\s*[?.!]*$|^(?P<year>(?:in|for)\s+(?:19|20)\d\d)\s*\?*$",
    re.IGNORECASE,
)
_ZH_ASKING = re.compile(r"多少|什么|哪|几|吗|怎么|如何|为何|怎样|是否|有没有|谁|吧")
# Bodies that are shaped like a follow-up but name no indicator: pronouns, "and then", a predicate
# without a subject (目标呢？ asks for another predicate), or a part of a year.
_ZH_VAGUE = re.compile(
    r"^(?:[你我他她它咱您]们?|[这那][个些里样]?|好的?|嗯|哦|噢|行|对|谢谢|然后|之后|后来|接下来|其他|其它|别的|另外|还有"
    r"|以后|以前|之前|现在|当时|具体|详细|原因|出处|增长|增速|增幅|目标|预期目标|排名|名次|位次|情况|变化|比重|占比"
    r"|上半年|下半年|全年|年底|年末|[一二三四1-4]季度|前三季度|\d{1,2}月份?)$"
)
_EN_ASKING = re.compile(
    r"\b(?:what|how|why|who|whom|which|when|where|is|are|was|were|do|does|did|can|could|would|should|will|has|have|had)\b"
)
# As for 你呢 and 目标呢: pronouns anywhere, and words that are whole follow-ups without naming an indicator.
_EN_VAGUE = re.compile(
    r"\b(?:you|your|i|me|my|we|us|it|its|that|this|these|those|they|them|he|she|then|else|next|more|so|now|last"
    r"|previous|other|others)\b"
)
_EN_NO_SUBJECT = re.compile(r"zigong(?: city)?|years?|growth(?: rate)?|targets?|goals?|rank(?:ing)?|changes?|total|why")

# --- the parts of a Chinese question -----------------------------------------------------------------
# What comes before the subject: years, periods, months, 截至, the place, 的 and commas, in any order
# ("截至2025年底，自贡…", "自贡2016年、2020年和2024年的…"). 到 and 和 count only before a year: 到位的资金
# and 和谐 start subjects.
_ZH_LEAD = re.compile(
    r"(?:\s+|截至|截止|(?:到|[、,和与及至])(?=\s*(?:19|20)\d\d)|(?:19|20)\d\d(?:\s*年)?(?:底|末)?"
    r"|\d{1,2}(?:[-至到~]\d{1,2})?月份?|上半年|下半年|前三季度|[一二三四]季度|全年"
    r"|“?十[二三四五]五”?(?:期间|末|时期|以来)?|(?:计划|规划)中|自贡市?|全市|的|,)*"
)
_ZH_UNIT = r"(?:[万亿千百]?(?:美元|元|人次|人|户|个|家|所|辆|吨|天|列|套|件|亩|项|公里|平方米)|个百分点|%)?"
# The trailing question phrase. Anchored at the end and found leftmost, so the longest phrase wins
# (的预期增长目标是多少 over 是多少) and a subject word that merely contains 达 or 有 is never cut: the
# whole rest of the clause must be predicate. A clause that ends otherwise (多少个亿元以上产业项目)
# has no predicate found, and the frame is used instead.
_ZH_PREDICATE = re.compile(
    "(?:"
    + "|".join(
        (
            # 的目标是多少, 的预期增长目标是多少, 目标是什么
            r"的?(?:预期|计划|主要)?(?:增长|增速)?目标(?:分别|各)?(?:是|为)?(?:多少|什么)" + _ZH_UNIT,
            # 增长多少, 实际增长了多少, 增速是多少, 下降了多少
            r"的?(?:实际|同比|比上年|年均)?(?:增长|增速|增幅|下降|提高|提升|减少)了?(?:分别|各)?(?:是|为|有|达到)?"
            r"(?:多少|几个百分点)" + _ZH_UNIT,
            # 占一般公共预算支出的比重是多少: the share belongs to the predicate, so 那教育支出呢 keeps it
            r"的?占[^,?]{1,16}?的?(?:比重|比例)(?:是|为)?多少",
            # 在全省排第几, 排名第几
            r"(?:在全省|在全国|全省|全国)?(?:排名|排|居|位居|位列)第?几(?:位|名)?",
            # 是多少, 是多少元, 达到多少, 多少人次
            r"(?:分别|各)?(?:是|为|有|达到|达|实现|完成)?了?(?:多少|几)" + _ZH_UNIT,
            # what a term means
            r"是什么意思|什么意思|指的是什么|(?:具体)?指什么|是什么",
            r"(?:具体)?(?:指|是|有|包括)哪些[\u4e00-\u9fff]{0,3}|是哪[一二三四五六七八九十几]?[\u4e00-\u9fff]{0,3}",
        )
    )
    + ")$"
)


@dataclass(frozen=True)
class _FollowUp:
    years: tuple[int, ...]
    subject: str
    lang: str | None  # the language it is written in; None for a bare year such as "2020?"
    vague: bool = False  # shaped like a follow-up, but nothing in it can be rewritten


@dataclass(frozen=True)
class _Context:
    question: str | None = None  # the last effective question
    language: str | None = None
    explicit: bool = False  # the language was asked for, not just the one questions were typed in


def understand_turn(question: str, history: Sequence[str] = ()) -> Understood:
    """The question to answer for `question`, given the user's earlier questions (oldest first, as typed)."""
    context = _Context()
    for earlier in history:
        context = _step(earlier, context)[1]
    return _step(question, context)[0]


def _step(question: str, context: _Context) -> tuple[Understood, _Context]:
    text = normalize(question)
    if not text:
        return Understood(question, context.language or "zh", False), context

    switch = _language_switch(text)
    if switch is not None:
        if context.question is None:
            return Understood(question, switch, False), replace(context, language=switch, explicit=True)
        previous = context.question
        return Understood(previous, switch, previous != question), replace(context, language=switch, explicit=True)

    follow = _follow_up(text)
    if follow is None:
        # A full question: its own language, which ends an explicit switch to the other one.
        lang = understand(text).lang
        explicit = context.explicit and lang == context.language
        return Understood(question, lang, False), _Context(question, lang, explicit)

    if context.explicit and context.language:
        lang = context.language
    else:
        lang = follow.lang or context.language or understand(text).lang
    rewritten = None if follow.vague or context.question is None else _resolve(context.question, follow)
    if rewritten is None:
        # Answered as typed; the context stays, so a later "2020年呢" still refers to the last real question.
        return Understood(question, lang, False), replace(context, language=lang)
    return Understood(rewritten, lang, rewritten != question), replace(context, question=rewritten, language=lang)


def _language_switch(text: str) -> str | None:
    bare = " ".join(text.lower().replace(",", " ").split()).strip(" ?.!。")
    match = _SWITCH_ZH.match(bare) or _SWITCH_EN.match(bare)
    if match is None:
        return None
    return _SWITCH_LANG.get(match.group("lang"), "zh")


def _years(text: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(y) for y in YEAR.findall(text)))


def _follow_up(text: str) -> _FollowUp | None:
    """The follow-up `text` is, or None when it is a question of its own."""
    bare = _BARE_YEAR.match(text)
    if bare:
        return _FollowUp(_years(bare.group("body")), "", "zh" if bare.group("nian") else None)
    zh = _ZH_FOLLOW.match(text)
    if zh:
        return _zh_follow_up(zh.group("body").strip())
    en = _EN_FOLLOW.match(text)
    if en:
        return _en_follow_up((en.group("body") or en.group("year")).strip())
    return None


def _zh_follow_up(body: str) -> _FollowUp | None:
    if len(body) > MAX_ZH_BODY:
        return None
    if _ZH_ASKING.search(body):
        # "那2020年人口是多少呢？" has its own subject and predicate: a full question. "为什么呢？" has
        # neither, and must not become the context a later follow-up is rewritten against.
        _, subject, _ = _split_zh(body)
        return None if subject else _FollowUp((), "", "zh", vague=True)
    # What is left once the years (and the 和 joining them) are gone is the subject.
    subject = re.sub(r"(?:19|20)\d\d\s*年?", " ", body).strip(" 的和与及、,")
    subject = re.sub(r"^(?:自贡市?|全市)", "", subject).strip(" 的")
    years = _years(body)
    if not (years or subject) or _UNMOVABLE.search(body) or _ZH_VAGUE.match(subject) or _OTHER_PLACE.match(subject):
        return _FollowUp((), "", "zh", vague=True)
    return _FollowUp(years, subject, "zh")


def _en_follow_up(body: str) -> _FollowUp | None:
    words = re.findall(r"[A-Za-z]+", body.lower())
    if len(words) > MAX_EN_WORDS:
        return None
    if _EN_ASKING.search(" ".join(words)):
        # "And what was the target?" is a question; "And why?" is only a reaction to the last answer.
        return None if len(words) >= 4 else _FollowUp((), "", "en", vague=True)
    subject = re.sub(
        r"\b(?:(?:in|for|during|of)\s+)?(?:the\s+year\s+)?(?:19|20)\d\d(?:'s)?\b", " ", body, flags=re.IGNORECASE
    )
    subject = " ".join(subject.split()).strip(" ,;:")
    bare = re.sub(r"^(?:the\s+)?(?:zigong's\s+)?", "", subject.lower())
    years = _years(body)
    if not (years or subject) or _UNMOVABLE.search(body) or _EN_VAGUE.search(bare) or _EN_NO_SUBJECT.fullmatch(bare):
        return _FollowUp((), "", "en", vague=True)
    return _FollowUp(years, subject, "en")


def _split_zh(clause: str) -> tuple[str, str, str]:
    """A Chinese clause as (lead, subject, predicate); subject and predicate are "" when no predicate
    is found. The place (自贡) stays in the lead, so a swapped subject keeps it."""
    lead = _ZH_LEAD.match(clause)
    end = lead.end() if lead else 0
    rest = clause[end:]
    predicate = _ZH_PREDICATE.search(rest)
    if predicate is None:
        return clause[:end], "", ""
    subject = rest[: predicate.start()].strip(" 的")
    if not subject or YEAR.search(subject):
        # "增速2020年和2024年分别是多少": a year inside the subject would be swapped away with it.
        return clause[:end], "", ""
    return clause[:end], subject, rest[predicate.start() :]


def _resolve(previous: str, follow: _FollowUp) -> str | None:
    """The previous effective question with the follow-up's year and subject, or None when it cannot be
    rewritten faithfully."""
    base = normalize(previous)
    query = understand(base)
    old_years = _years(base)
    if follow.years and (_UNMOVABLE.search(base) or query.periods or set(_yearish(base)) - set(old_years)):
        return None
    if not follow.subject:
        return _finish(_switch_years(base, query.lang, old_years, follow.years), query.lang)

    frame_lang = follow.lang or query.lang
    if frame_lang == "zh" and query.lang == "zh":
        clause, tail = _first_clause(base)
        lead, subject, predicate = _split_zh(clause)
        if subject:
            swapped = f"{lead}{follow.subject}{predicate}{tail}"
            return _finish(_switch_years(swapped, "zh", old_years, follow.years), "zh")
    # No predicate to keep (or another language): a frame, which can state plain years only; a span or
    # a five-year plan of the previous question would be silently dropped.
    if _UNMOVABLE.search(base) or query.periods:
        return None
    years = follow.years or old_years
    if query.wants_target:
        kind = "target"
    elif _GROWTH.search(base):
        kind = "growth"
    elif query.wants_definition:
        kind = "definition"
    else:
        kind = "figure"
    if frame_lang == "en":
        return _en_frame(kind, follow.subject, years)
    place = _PLACE.search(_split_zh(_first_clause(base)[0])[0]) if query.lang == "zh" else None
    return _finish(_zh_frame(kind, follow.subject, years, place.group() if place else ""), "zh")


def _yearish(text: str) -> list[int]:
    return [int(y) for y in _YEARISH.findall(text)]


def _first_clause(text: str) -> tuple[str, str]:
    """("2024年…增长多少", "?在全省排第几?"): a two-part question keeps its second part."""
    match = re.match(r"([^?!。]*)(.*)", text)
    assert match is not None  # the pattern matches any string
    return match.group(1).strip(), match.group(2)


def _switch_years(text: str, lang: str, old: tuple[int, ...], new: tuple[int, ...]) -> str | None:
    if not new:
        return text
    if not old:
        if lang == "zh":
            return f"{_zh_years(new)}{text}"
        stem = text.rstrip()
        return f"{stem[:-1].rstrip()} in {_en_years(new)}?" if stem.endswith("?") else f"{stem} in {_en_years(new)}"
    if len(old) != len(new):
        # "2023年呢" after "2020年和2024年分别是多少": which one it replaces is a guess.
        return None
    # One pass with a mapping, so swapping 2020 and 2024 cannot turn both into the same year.
    mapping = {str(o): str(n) for o, n in zip(old, new, strict=True)}
    return YEAR.sub(lambda m: mapping.get(m.group(1), m.group(1)), text)


_FULL_WIDTH = str.maketrans("?,!:;", "？，！：；")


def _finish(text: str | None, lang: str) -> str | None:
    """Chinese punctuation back where normalization made it half-width, and a question mark at the end."""
    if text is None:
        return None
    text = text.strip()
    if lang == "zh":
        text = text.translate(_FULL_WIDTH)
        return text if text.endswith(("？", "。", "！")) else f"{text}？"
    return text if text.endswith(("?", ".", "!")) else f"{text}?"


def _zh_years(years: tuple[int, ...]) -> str:
    named = [f"{y}年" for y in years]
    return named[0] if len(named) == 1 else f"{'、'.join(named[:-1])}和{named[-1]}"


def _en_years(years: tuple[int, ...]) -> str:
    named = [str(y) for y in years]
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"


def _en_frame(kind: str, subject: str, years: tuple[int, ...]) -> str:
    when = _en_years(years) if years else ""
    if kind == "target":
        return f"What is the {when} target for {subject}?" if when else f"What is the target for {subject}?"
    if kind == "growth":
        return f"How much did {subject} grow in {when}?" if when else f"How much did {subject} grow?"
    if kind == "definition":
        return f"What does {subject} mean?"
    # Without a year the question is about the present: "What was exports?" would read as a past figure.
    return f"What was {subject} in {when}?" if when else f"What is {subject}?"


def _zh_frame(kind: str, subject: str, years: tuple[int, ...], place: str) -> str:
    when = _zh_years(years) if years else ""
    if kind == "target":
        return f"{when}{place}{subject}的目标是多少？"
    if kind == "growth":
        return f"{when}{place}{subject}增长多少？"
    if kind == "definition":
        return f"{subject}是什么意思？"
    return f"{when}{place}{subject}是多少？"
