"""What a question asks for, and whether the chosen clauses give it: a figure, in the unit asked,
an aim for a target, one year's figure rather than an average, what a "how many" counts, a year for
"when"; and the two signs that clauses answer another question (a result quoted for an aim, or the
question's weightiest word missing). `qa.answer` chooses clauses; these say whether they answer.

Leaves out: choosing clauses (`qa.answer`) and the decision to answer (`qa.calibration`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from qa import glossary
from qa.matching import QUESTION_WORDS, QuestionWords
from qa.question import Query
from qa.retrieval import tense
from qa.types import Passage
from vectorstore.lexical import dictionary_frequency, tagged_words
from vectorstore.sentences import CLAUSE


class Quoted(Protocol):
    """A chosen window of clauses (`qa.answer`): the passage it is from, its text and its sentence."""

    @property
    def passage(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def sentence(self) -> str: ...


# Words by which a sentence of a review states an aim rather than a result ("目标任务全面完成" is
# about the target too, and may answer it).
AIMED = re.compile(r"目标|预期|计划|力争|左右|以上|确保|任务")
# A clause counting what was added ("新增规模以上工业企业34户", "全年新培育…企业31户", "净增高新技术企业28户"),
# not what there is.
ADDED = re.compile(
    r"(?:全年|当年|今年|\d{4}年)?(?:累计)?(?:净增|新(?:增|建|引进|培育|签约|开工|认定|招引|入规|投产|落地|登记|注册))"
)
# A figure stating a change ("提高50元/月", "增加3万人"), and a question asking for one.
_CHANGE = "提高|增加|增长|上涨|提升|下降|降低|减少|增收|减轻"
CHANGED = re.compile(rf"(?:{_CHANGE})了?")
# Figures stated as a change ("提高50元/月", "分别提高50元/月、40元/月", "增长5.4%"), the verb right before them.
_RISE = re.compile(rf"(?:{_CHANGE})了?\s*(?:约|近|超|超过)?\d[\d.,]*(?:[^\d，；。、]{{0,6}}[、和]\s*\d[\d.,]*)*")
CHANGE_ASKED = re.compile(
    rf"{_CHANGE}|涨|降|多了|少了|变化|\b(?:increase|rise|rose|grow|grew|fall|fell|drop|cut|more|less|change)|"
    r"\b(?:go|goes|went|gone|going) (?:up|down)\b",
    re.IGNORECASE,
)
# A question asking by how much something changed ("下降了多少", "多了几家", "by how much"), and a clause
# stating a change (not a level: "社会消费品零售总额583亿元" says not how much it fell).
BY_HOW_MUCH = re.compile(rf"(?:{_CHANGE}|上升|涨|降|多|少)了?(?:多少|几)|\bby how much\b", re.IGNORECASE)
STATES_CHANGE = re.compile(rf"{_CHANGE}|%|百分点|倍|翻|{ADDED.pattern}")  # an addition ("新增3家") is one
# 新 and an everyday verb, as people say "newly done" ("新种", "新盖", "新开"), whatever jieba tags the pair.
_NEWLY = re.compile(r"新[种栽植盖修建开办设招引买装添挂评签上]")
NEW = re.compile(r"\bnew(?:ly)?\b|\badd(?:s|ed|ing)?\b|\bhow many more\b", re.IGNORECASE)
# "增加了几家", "多了几家": a count of what was added, as "新增" is.
ADDING = re.compile(r"增加|增添|多了|多出")
GROWTH_ASKED = re.compile(r"增长|增速|增幅|\bgr[oe]w|\bgrowth|\bincrease|\brise|\brose", re.IGNORECASE)
AVERAGE = re.compile(r"年均|平均|\baverage|\bper year|\bannual(?:ly)?\b|\beach year", re.IGNORECASE)
ASKS_FIGURE = re.compile(
    r"多少|多(?:大|高|长|远|久|快|重|宽|深)|(?<!哪)几|比例|比重|占比|率|增长|增速|规模|排名|第几|总额|总量|金额|数量|人数|户数|哪一年|哪年|何时|什么时候|"
    r"\b(?:how many|how much|how fast|what share|what percentage|percent|rate|growth|grow|rank|number|amount|"
    r"when|which year)\b|"
    # "What was Zigong's population?" asks for a figure as surely as "多少": English names the quantity.
    r"\bwhat (?:was|is|were|are)\b.*\b(?:population|gdp|output|revenue|income|investment|expenditure|spending|"
    r"volume|total|value|size|level|ratio|proportion|share|coverage)\b",
    re.IGNORECASE,
)
# A question about a rate of change or a share; any other figure question asks how much there is.
RATE = re.compile(
    r"增长|增速|增幅|下降|降低|提高|提升|涨|降|上升|增加|减少|多了|少了|率|比重|占比|比例|百分|排名|第几|排|位|"
    r"\b(?:growth|grow|grew|rate|percent|percentage|share|increase|decrease|rise|rose|fell|fall|rank|fast)\b",
    re.IGNORECASE,
)
# A figure in a unit other than a percentage ("1458.44亿元", "3812户"), not "3.9%" or "0.1个百分点".
LEVEL = re.compile(r"\d[\d.]*\s*(?!个百分点)[万亿千百]?[\u4e00-\u9fff]")
# A figure in words ("居全省第二", "三个", "近十公里"); in digits, it is a `_NUMBER`.
IN_WORDS = re.compile(
    r"第[一二三四五六七八九十]+|[一二三四五六七八九十两]+(?:[个户家所项倍成位]|[百千万]?(?:公里|千米|米|吨))"
)
# The unit a question asks its figure in: "多少元", "多少万人", "几个" (not "几个百分点", a rate; not
# "哪几个", "第几个").
UNIT = re.compile(
    r"(?:多少|(?<![哪第])几)[亿万千百]?(钱|元|户|人次|人|个(?!百分点)|家|所|辆|天|吨|亩|列|件|套|岁|公里|平方公里|项|座|条|名|台|头|倍|次|"
    r"间|张|场|批|千瓦|立方米)"
)
# A sum of money asked for without its unit: "how much investment", "投资是多少", "花了多少".
MONEY = re.compile(
    r"\bhow much (?:[a-z-]+ ){0,2}?(?:money|investment|funding|funds|spending|revenue|income|capital|subsidies|"
    r"subsidy|cost|budget)\b|(?:投资|资金|经费|金额|花了|花费|补助|补贴|营收)(?:总额|额)?(?:是|为|有|达到|一共|总共)?多少"
    r"(?![\u4e00-\u9fff])",
    re.IGNORECASE,
)
# "多长", "多远", "多久", "多重": a length, a time or a weight, in any unit of it ("5公里", "近十公里").
DIMENSION = re.compile(r"多(长时间|久|长|远|高|重)")
_DIMENSIONS = {"长时间": "小时|分钟|天|日|周|个月|月|年", "久": "小时|分钟|天|日|周|个月|月|年", "长": "公里|千米|米",
               "远": "公里|千米|米", "高": "米", "重": "吨|公斤|千克"}
# The unit an English question asks its figure in ("how many kilometres", "in millimetres"), and how
# the reports write it.
EN_UNIT = re.compile(
    r"\b(?:how many|in)\s+(kilomet(?:re|er)s|millimet(?:re|er)s|square met(?:re|er)s|cubic met(?:re|er)s|"
    r"met(?:re|er)s|tonnes|tons|hectares|mu|yuan|kilowatts)\b",
    re.IGNORECASE,
)
_EN_UNITS = {
    "kilomet": "公里|千米", "millimet": "毫米", "square met": "平方米", "cubic met": "立方米", "met": "米",
    "tonnes": "吨", "tons": "吨", "hectares": "公顷", "mu": "亩", "yuan": "元", "kilowatts": "千瓦",
}
# Measure words that count things, places and bodies, which people and reports choose differently
# ("几座煤矿" / "8个煤矿", "多少家企业" / "25户企业"): in a count asked with one, a figure counted with
# another answers it, and what is counted is checked by `counted`. Not units that measure (元, 亩, 公里)
# nor measure words bound to one kind of thing (辆, 列, 头, 人).
CLASSIFIERS = "个座所家户处项间"
# Nouns that stand in for a thing the question describes instead of naming it ("…的地方", "…的东西").
LIGHT_NOUNS = frozenset({"地方", "东西", "事情", "事儿", "地儿", "去处", "玩意"})
HOW_MANY = re.compile(r"\bhow many ([a-z-]+(?: [a-z-]+)?)", re.IGNORECASE)
DIGIT = re.compile(r"\d")
# A quantity: not the digits of a name or model ("小鹰—700", "5G", "PM2.5").
_NUMBER = re.compile(r"(?<![A-Za-z\d.—–-])\d+(?:\.\d+)?(?![A-Za-z\d])")
HAN = re.compile(r"[\u4e00-\u9fff]")
PAUSE = re.compile(r"[，,。？?！!；;：:、]")
YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?:年|-|—|–|至|到)")
# A question asking where ("在哪个区县举办", "设在哪个国家", "which city"), not where a figure ranks.
WHERE = re.compile(
    r"哪里|哪儿|在哪(?=[？?，,。！!]|$)|哪(?:个|些)(?:国家|城市|区县|区|县|省|市|地方|镇|乡)|"
    r"\bwhere (?:is|was|are|were|will|did|does|do|has|have)\b(?!.*\b(?:stand|stands|rank|ranks|ranked)\b)|"
    r"\bwhich (?:country|countries|city|cities|district|county|province)\b",
    re.IGNORECASE,
)
# A figure per person or per household ("人均地区生产总值", "每百户", "per capita"), asked and stated: a
# total ("地区生产总值实现1458.44亿元") does not answer it.
PER_HEAD = re.compile(
    r"人均|户均|每人|每户|每百|每千|每万|"
    r"\bper (?:capita|person|head|household|resident)\b|\bevery (?:hundred|thousand)\b",
    re.IGNORECASE,
)
PER_HEAD_STATED = re.compile(r"人均|户均|每人|每户|每百|每千|每万")
WHEN = re.compile(r"哪一年|哪年|何时|什么时候|\bwhen\b|\bwhich year\b|\bwhat year\b", re.IGNORECASE)
def missing(words: QuestionWords, windows: Sequence[Quoted]) -> float:
    """The weightiest word of the question that the reports use but the chosen clauses lack, as a share
    of the question's weight: "第二产业" asked, "第一产业" quoted. (A word the reports never use is
    wording, counted by `unknown_share`.)"""
    held = frozenset().union(*(words.held(w.text) for w in windows)) if windows else frozenset()
    unknown = set(words.unknown())
    lacking = [w for w in words.weights if w not in held and w not in unknown and words.vocabulary.knows(w)]
    return max((words.weights[w] for w in lacking), default=0.0) / words.total if words.total else 0.0


def mismatched(query: Query, passage: Passage, window: Quoted) -> bool:
    """Whether the clause answers another tense than the question's: an aim ("力争…以上", a plan part)
    for a question about results, or a result for a question about a target."""
    aimed = tense(passage) == "plan" or bool(AIMED.search(window.sentence or window.text))
    if query.tense == "plan":
        return not aimed
    return query.tense == "review" and aimed and tense(passage) == "plan"


def gives(text: str, level: bool, unit: re.Pattern[str] | None = None) -> bool:
    """Whether `text` holds the kind of figure asked for: any number, or for a question asking how
    much there is (not how fast it grew) a number in a unit other than a percentage; for a question
    naming its unit (`unit_asked`), a number in that unit."""
    if unit is not None:
        return bool(unit.search(text))
    return bool(LEVEL.search(text) if level else _NUMBER.search(text))


def _money(query: Query) -> bool:
    """Whether the question asks for a sum of money without naming its unit ("how much investment",
    "投资是多少", "花了多少"), not by how much one changed: the figure is in 元 (亿元, 万元, 美元)."""
    asks_change = BY_HOW_MUCH.search(query.normalized) or GROWTH_ASKED.search(query.normalized)
    return bool(MONEY.search(query.normalized)) and not asks_change


def unit_asked(query: Query) -> re.Pattern[str] | None:
    """A figure in the unit the question asks for ("多少亩" -> "2万亩"; "几所" -> "10所" or "10个", the
    measure words that count being interchangeable; "how many kilometres" -> "3142公里"), or None
    when it names none."""
    if _money(query):
        return _amount("元")
    if query.lang == "en":
        english = EN_UNIT.search(query.normalized)
        if english is None:
            return None
        asked_unit = english.group(1).lower()
        return _amount(f"(?:{next(v for k, v in _EN_UNITS.items() if asked_unit.startswith(k))})")
    unit = UNIT.search(query.normalized)
    if unit is None:
        dimension = DIMENSION.search(query.normalized)
        return _amount(f"(?:{_DIMENSIONS[dimension.group(1)]})", words=True) if dimension else None
    return _in_unit(unit.group(1))


def _in_unit(asked: str) -> re.Pattern[str]:
    wanted = "元" if asked == "钱" else asked
    return _amount(f"[{CLASSIFIERS}]" if wanted in CLASSIFIERS else wanted)


def more_units(query: Query) -> list[re.Pattern[str]]:
    """The figures a question asks for in other units after its first ("多少家企业…？一共续了多少钱？"
    asks a count and a sum): each must be given too."""
    if query.lang == "en":
        return []
    asked = [m.group(1) for m in UNIT.finditer(query.normalized)]
    first = _in_unit(asked[0]).pattern if asked else ""
    return [p for p in dict.fromkeys(_in_unit(a) for a in asked[1:]) if p.pattern != first]


def gives_what_is_asked(query: Query, passages: Sequence[Passage], windows: list[Quoted]) -> bool:
    """Whether every check of `checks` holds."""
    return all(checks(query, passages, windows).values())


def checks(query: Query, passages: Sequence[Passage], windows: list[Quoted]) -> dict[str, bool]:
    """What the clauses give against what is asked, check by check (each a feature of the decision):
    - figure: a question asking for a figure gets one ("本科上线率…再创历史新高" says not how much);
    - unit: in the unit asked ("增长5.4%" is not "多少元", nor "年均增长7.8%" rainfall "in millimetres";
      "新增…34户" not how many there are);
    - aim: a target asked for is an aim, not a year's result ("增长7.1%" is no 2024 target);
    - single_year: one year's growth is not the average over five ("年均增长10.6%" for 2016);
    - counted: what "多少所大学" counts is in a clause with a figure;
    - when: "哪一年" gets a year, in the sentence or the heading it sits under;
    - where: "在哪个区县" gets a place the question does not name;
    - change: "下降了多少" gets a change ("下降3.2%", "提高50元"), not a level;
    - new_figure: the clauses state a figure the question does not ("那9个平台里国家级的有几个");
    - per_head: "人均…多少元" gets a figure per person, not the total ("地区生产总值实现1458.44亿元")."""
    ok = dict.fromkeys(
        ("figure", "unit", "aim", "single_year", "counted", "when", "where", "new_figure", "change", "per_head"),
        True,
    )
    if not windows:
        return dict.fromkeys(ok, False)
    if all(passages[w.passage].term for w in windows) and (
        query.wants_definition or not ASKS_FIGURE.search(query.normalized)
    ):
        return ok  # a definition answers in words, but not how much ("…效率提高了多少")
    text = "".join(w.text for w in windows)
    # A year ("刚刚过去的2020年，是极不平凡的一年") is no figure, unless the question asks when.
    figures = text if WHEN.search(query.normalized) else YEAR.sub("", text)
    # The digits of a name are no figure ("深入实施5G建设三年行动计划" says not how many base stations).
    given = _NUMBER.search(figures) or IN_WORDS.search(figures)
    ok["figure"] = not (ASKS_FIGURE.search(query.normalized) and not given)
    # "新增的9个…平台里面，国家级的有几个？" is not answered by "新增…平台9个": a figure asked for is one
    # the question does not already state.
    stated = set(_NUMBER.findall(YEAR.sub("", query.normalized)))
    quoted = set(_NUMBER.findall(figures))
    ok["new_figure"] = not (ASKS_FIGURE.search(query.normalized) and stated and quoted and quoted <= stated)
    if WHEN.search(query.normalized):
        context = "".join(w.sentence + passages[w.passage].section.split(" › ", 1)[-1] for w in windows)
        ok["when"] = bool(re.search(r"(?:19|20)\d\d", context))
    ok["change"] = not (BY_HOW_MUCH.search(query.normalized) and not STATES_CHANGE.search(text))
    ok["per_head"] = not (
        ASKS_FIGURE.search(query.normalized) and PER_HEAD.search(query.normalized) and not PER_HEAD_STATED.search(text)
    )
    if WHERE.search(query.normalized):
        # A place the question does not name itself: "成立盐帮菜海外推广基地" says not in which country.
        ok["where"] = any(
            tag == "ns" and len(word) >= 2 and word not in query.normalized for word, tag in tagged_words(text)
        )
    amount = unit_asked(query)
    if amount is None and ASKS_FIGURE.search(query.normalized) and not RATE.search(query.normalized):
        # A level asked in no unit ("最低工资标准是多少？") is not given by rises alone ("…标准分别提高
        # 50元/月、40元/月"), as "标准是多少元" is not (below).
        rises = _RISE.search(figures) is not None and not _NUMBER.search(_RISE.sub("", figures))
        asks_change = CHANGE_ASKED.search(query.search_text) or BY_HOW_MUCH.search(query.normalized)
        ok["change"] = ok["change"] and (bool(asks_change) or not rises)
    if amount is not None and query.lang == "en":
        ok["unit"] = bool(amount.search(text))
    elif amount is not None:
        counts = [seg for seg in re.split(r"[，；。]", text) if amount.search(seg)]
        ok["unit"] = bool(counts) and (asks_new(query) or not only_added(text, amount))
        # "提高50元" says by how much a standard rose, not what it is ("标准是多少元").
        if not CHANGE_ASKED.search(query.search_text):
            change = re.compile(rf"{CHANGED.pattern}\s*{amount.pattern}")
            ok["unit"] = ok["unit"] and not all(change.search(seg) for seg in counts)
        ok["unit"] = ok["unit"] and all(more.search(text) for more in more_units(query))
    ok["aim"] = not query.wants_target or any(
        tense(passages[w.passage]) != "review" or bool(AIMED.search(w.sentence or w.text)) for w in windows
    )
    ok["single_year"] = not (
        len(query.years) == 1
        and GROWTH_ASKED.search(query.search_text)
        and not AVERAGE.search(query.search_text)
        and all("年均" in w.text for w in windows)
    )
    things = counted(query)
    ok["counted"] = not things or any(
        DIGIT.search(c) and names(c, things) for w in windows for c in CLAUSE.findall(w.text)
    )
    return ok


def _amount(unit: str, words: bool = False) -> re.Pattern[str]:
    """A figure in `unit` (a pattern): "1.8亿元", "140多户", "20多亿元", "3142 公里"; with `words`, also in Chinese
    numerals ("近十公里": for units that measure, where "一个" would be no figure)."""
    number = r"(?:\d[\d.,]*|[一二三四五六七八九十两][一二三四五六七八九十百千万两]*)" if words else r"\d[\d.,]*"
    return re.compile(rf"{number}\s*[余多]?\s*[万亿千百]*\s*[余多]?\s*{unit}")


def only_added(text: str, unit: re.Pattern[str]) -> bool:
    """Whether every figure of `text` in `unit` counts what was added ("全年净增…企业42户"), which says not
    how many there are ("…累计达到606户" does)."""
    counts = [seg for seg in re.split(r"[，；。]", text) if unit.search(seg)]
    return bool(counts) and all(ADDED.match(seg.strip()) for seg in counts)


def asks_new(query: Query) -> bool:
    """Whether the question counts what was added ("新开了多少个", "增加了几家", "how many new"), not
    what there is: 新 as a word or an adding verb, not inside a name (高新技术企业, 新能源汽车)."""
    if NEW.search(query.normalized) or ADDING.search(query.normalized):
        return True
    return any(
        word == "新" or ADDED.fullmatch(word) is not None or (word.startswith("新") and tag.startswith("v"))
        or _NEWLY.match(word) is not None
        for word, tag in tagged_words(query.search_text)
    )


def names(clause: str, things: tuple[str, ...]) -> bool:
    """Whether `clause` names one of `things`: the word itself, or in Chinese a noun with the same head
    character, the one that says what a compound is ("肥猪" / "生猪", "公立幼儿园" / "普惠幼儿园"; not
    "大学" / "学校")."""
    if any(form in clause for form in things):
        return True
    heads = {form[-1] for form in things if HAN.fullmatch(form[-1])}
    return bool(heads) and any(
        tag.startswith("n") and len(word) >= 2 and word[-1] in heads for word, tag in tagged_words(clause)
    )


def counted(query: Query) -> tuple[str, ...]:
    """The forms of what a "how many" question counts, when the question names it right after the
    unit ("多少所大学"; "how many hospitals" -> 医院); otherwise nothing, and nothing is checked."""
    if query.lang == "en":
        match = HOW_MANY.search(query.normalized)
        # "how many Zigong companies" counts companies: the city's name is no thing counted.
        forms = glossary.load().expand(match.group(1)) if match else []
        return tuple(f for f in forms if f not in QUESTION_WORDS)
    unit = UNIT.search(query.normalized)
    if unit is None:
        return ()
    phrase = PAUSE.split(query.normalized[unit.end() :], maxsplit=1)[0]
    # The nouns straight after the unit ("多少所大学") or after a 的 that ends a modifier
    # ("多少项卡脖子的关键核心技术"), two characters or more; none, and nothing is checked:
    # "多少天实现…" counts days.
    found: list[str] = []
    starts = [0] + [m.end() for m in re.finditer("的", phrase)]
    for start in starts:
        head: list[str] = []
        for word, tag in tagged_words(phrase[start:]):
            if not tag.startswith("n"):
                break
            if len(word) >= 2:
                head.append(word)
        found.extend(head)
    # "多少个专门给老人做饭吃的地方": a placeholder noun after the modifier names no thing; the modifier
    # says what is counted, in words of its own.
    if len(starts) > 1 and head and head[0] in LIGHT_NOUNS:
        return ()
    # A word of three characters is named by the word it starts with: "油茶树" by the reports' 油茶,
    # "老人家" by 老人 (老年人).
    inside = [w[:2] for w in found if len(w) == 3 and dictionary_frequency(w[:2]) > 0 and w[:2] not in QUESTION_WORDS]
    return tuple(dict.fromkeys([*found, *inside]))
