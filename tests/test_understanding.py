"""How a question is understood before it is answered: relative years resolved against the latest
report, typos and homophones read as report words, both shown as `understood`; year-less questions
answered from the latest report with the year named; names the reports never mention refused."""

from __future__ import annotations

from typing import Any

import pytest

import qa
import qa.api
from qa import asked
from qa.matching import question_words
from qa.question import normalize, resolve_relative, understand
from qa.spelling import Speller
from vectorstore.config import Settings


def _answered_with(question: str, figure: str, settings: Settings) -> None:
    """`question` is answered, and its answer quotes `figure`."""
    answer = qa.ask(question, settings=settings)
    assert answer.found and figure in answer.text, answer.text


@pytest.mark.parametrize(
    ("asked", "understood"),
    [
        ("去年自贡地区生产总值增长多少？", "2024年自贡地区生产总值增长多少？"),
        ("今年的GDP目标是多少？", "2025年的GDP目标是多少？"),
        ("前年呢？", "2023年呢？"),
        ("How much did exports grow last year?", "How much did exports grow in 2024?"),
        ("What is the target for this year?", "What is the target for 2025?"),
        ("2024年自贡地区生产总值增长多少？", "2024年自贡地区生产总值增长多少？"),
    ],
)
def test_relative_years_mean_the_years_of_the_latest_report(asked: str, understood: str) -> None:
    assert resolve_relative(asked, 2025) == understood


def test_the_year_before_as_a_comparison_base_is_left_as_asked() -> None:
    # "比上年" is the year before the one asked about, not the year before the latest report.
    for question in ("2020年自贡社会消费品零售总额比上年下降了多少？", "2024年粮食产量较上年增加多少？"):
        assert resolve_relative(question, 2025) == question


@pytest.mark.parametrize(
    ("asked", "understood"),
    [
        ("疫情那年，自贡派了多少医护人员驰援武汉？", "2020年，自贡派了多少医护人员驰援武汉？"),
        ("新冠疫情暴发的那一年自贡GDP增长多少？", "2020年自贡GDP增长多少？"),
        ("“十四五”头一年，自贡打算新建几所公立幼儿园？", "2021年，自贡打算新建几所公立幼儿园？"),
        ("十三五收官之年自贡生猪出栏多少？", "2020年自贡生猪出栏多少？"),
        ("自贡疫情防控做了哪些工作？", "自贡疫情防控做了哪些工作？"),
        ("“十四五”时期自贡GDP年均增长多少？", "“十四五”时期自贡GDP年均增长多少？"),
    ],
)
def test_a_year_named_by_an_event_or_its_place_in_a_plan_is_that_year(asked: str, understood: str) -> None:
    assert resolve_relative(asked, 2025) == understood
    assert resolve_relative(asked, None) == understood


def test_without_a_report_relative_years_stay_as_asked() -> None:
    assert resolve_relative("去年增长多少？", None) == "去年增长多少？"


@pytest.fixture(scope="module")
def speller(opened_index: Any) -> Speller:
    return Speller(opened_index.vocabulary.words(), opened_index.vocabulary.text)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("自共市2024年GDP增长多少", "自贡市2024年GDP增长多少"),  # a homophone of the city's own name
        ("自贡去年新增国省级专精特心企业多少户", "自贡去年新增国省级专精特新企业多少户"),
        ("十四五规化纲要草案一共提出了多少项主要指标", "十四五规划纲要草案一共提出了多少项主要指标"),
        ("2016年自贡帮企业减轻负但多少亿元", "2016年自贡帮企业减轻负担多少亿元"),
    ],
)
def test_a_typo_is_read_as_the_report_word(speller: Speller, typed: str, meant: str) -> None:
    assert speller.correct(typed) == meant


@pytest.mark.parametrize(
    "question",
    [
        "内江市2024年地区生产总值增长了多少？",  # another city: a real name, not a slip
        "乐山市2024年接待游客多少万人次？",
        "三份报告里各是多少？",  # question wording (各是) is typed as meant
        "2024年自贡市民一共买了多少辆新能源车？",
        "去年自贡新开了多少个专门给老人做饭吃的地方？",  # paraphrase, not a typo
    ],
)
def test_words_typed_as_meant_are_left_alone(speller: Speller, question: str) -> None:
    assert speller.correct(question) == normalize(question)


@pytest.mark.model
def test_a_typo_in_the_city_name_is_answered_and_shown_as_understood(real_index: Settings) -> None:
    answer = qa.ask("自共市2024年GDP增长多少", settings=real_index)
    assert answer.found, answer.text
    assert "7.1%" in answer.text
    assert answer.understood is not None and "自贡市" in answer.understood


@pytest.mark.model
def test_last_year_is_the_latest_reports_review_year(real_index: Settings) -> None:
    answer = qa.ask("去年自贡地区生产总值增长多少？", settings=real_index)
    assert answer.understood == normalize("2024年自贡地区生产总值增长多少？")
    assert answer.found and "7.1%" in answer.text
    assert answer.citations[0].year == 2025


@pytest.mark.model
def test_a_year_less_question_is_answered_from_the_latest_report_naming_the_year(real_index: Settings) -> None:
    answer = qa.ask("自贡第一产业增加值增长了多少？", settings=real_index)
    assert answer.found, answer.text
    assert "2.6%" in answer.text and "2024年" in answer.text
    assert answer.citations[0].year == 2025


@pytest.mark.model
def test_an_enumeration_is_quoted_with_its_items(real_index: Settings) -> None:
    answer = qa.ask("2025年报告提出的四大产业技术创新行动分别是哪些？", settings=real_index)
    assert answer.found, answer.text
    items = ("先进装备", "新能源", "先进材料", "无人机及通航")
    assert sum(item in answer.text for item in items) >= 3, answer.text


@pytest.mark.model
def test_a_name_the_reports_never_mention_is_refused_and_named(real_index: Settings) -> None:
    answer = qa.ask("内江市2024年地区生产总值增长了多少？", settings=real_index)
    assert not answer.found
    assert "内江市" in answer.text


@pytest.mark.model
def test_a_word_the_reports_never_write_counts_through_its_synonyms(real_index: Settings) -> None:
    # 养老院 is nowhere in the reports; its synonym 敬老院 is, so it is no subject they lack.
    engine = qa.api._engine(real_index)
    words = question_words(understand("2025年自贡养老院的床位使用率要达到多少？"), engine.composer.index.vocabulary)
    assert "敬老院" in words.forms["养老院"] and "养老院" not in words.unknown()
    # 托儿所 is not either: the clause on 公办幼儿园 answers.
    answer = qa.ask("2021年自贡要新建多少所公办托儿所？", settings=real_index)
    assert answer.found, answer.text
    assert "10所" in answer.text and "幼儿园" in answer.text
    # A word whose synonym only asks ("打算" -> 计划) is not looked for in the clauses at all.
    words = question_words(understand("农村公路每年打算新改建多少公里？"), engine.composer.index.vocabulary)
    assert "打算" not in words.weights


@pytest.mark.model
def test_a_phrase_glued_to_an_asking_word_is_read_as_its_subject(real_index: Settings) -> None:
    # jieba's dictionary holds "哪些项目": it was a name the reports never mention, and refused so.
    engine = qa.api._engine(real_index)
    words = question_words(understand("2025年要推动哪些项目开工？"), engine.composer.index.vocabulary)
    assert "项目" in words.weights and not any(w.startswith("哪些") for w in words.weights)
    answer = qa.ask("2025年自贡建设氟硅化工基地，要推动哪些项目开工？", settings=real_index)
    assert "没有提到" not in answer.text, answer.text
    # An asking word of its own stays wording ("怎么样" is no "样").
    words = question_words(understand("自贡的空气质量怎么样？"), engine.composer.index.vocabulary)
    assert list(words.weights) == ["空气质量"]


@pytest.mark.model
def test_question_wording_is_not_taken_for_a_missing_subject(real_index: Settings) -> None:
    for question in ("自贡历年GDP增速是多少？", "2025年要做好哪几个方面的工作？"):
        answer = qa.ask(question, settings=real_index)
        for wording in ("历年", "哪几个"):
            assert f"没有提到“{wording}" not in answer.text, answer.text


def test_no_question_of_the_question_files_but_a_typo_is_rewritten(speller: Speller) -> None:
    import json

    from tests.conftest import FIXTURES

    for path in sorted(FIXTURES.glob("eval_qa_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["type"] != "typo":
                assert speller.correct(row["question"]) == normalize(row["question"]), (path.name, row["id"])


@pytest.mark.model
def test_a_period_is_answered_from_the_report_that_reviews_it(real_index: Settings) -> None:
    # The 2017 report's five years (2012-2016) share one year with 2016-2020: its 1633 km is not the
    # answer, the 2021 report's review of the five years is.
    for question in ("“十三五”期间自贡新改建了多少公里农村公路？", "2016至2020年自贡新改建了多少公里农村公路？"):
        answer = qa.ask(question, settings=real_index)
        assert answer.found and "3142" in answer.text and "1633" not in answer.text, answer.text
        assert answer.citations[0].year == 2021, answer.citations


def test_the_city_is_no_thing_a_count_asks_for() -> None:
    # "how many Zigong companies" counts companies: a clause need not name 自贡 to answer it.
    assert "自贡" not in asked.counted(understand("By 2020, how many Zigong companies were listed?"))
    assert asked.counted(understand("How many hospitals does Zigong have?")) == ("医院",)


@pytest.mark.parametrize(
    ("question", "new"),
    [
        ("去年自贡新开了多少个老年助餐点？", True),
        ("2025年自贡要新增多少户国家高新技术企业？", True),
        ("How many new companies did Zigong add?", True),
        # 新 inside a name asks for no addition: what there is, which "净增…28户" does not say.
        ("到2020年底，自贡的高新技术企业总共有多少户？", False),
        ("2024年自贡新能源汽车销量增长了多少？", False),
    ],
)
def test_a_count_of_what_was_added_is_told_from_a_count_of_what_there_is(question: str, new: bool) -> None:
    assert asked.asks_new(understand(question)) is new
    assert asked.ADDED.match("净增高新技术企业28户") and asked.ADDED.match("新培育企业31户")


@pytest.mark.model
def test_an_english_question_gets_its_figure_in_the_unit_it_names(real_index: Settings) -> None:
    # "年均增长7.8%" is no rainfall in millimetres; 3142公里 is a length in kilometres.
    assert not qa.ask("What is Zigong's average annual rainfall in millimetres?", settings=real_index).found
    _answered_with("Over 2016-2020, how many kilometres of rural roads did Zigong build or rebuild?", "3142公里", real_index)


@pytest.mark.model
def test_a_clause_restating_the_questions_figure_or_naming_no_place_asked_for_does_not_answer(
    real_index: Settings,
) -> None:
    # The question states 9 and asks how many of them are national: "新增…平台9个" restates it.
    assert not qa.ask("2024年自贡新增的9个省级以上创新平台里面，国家级的有几个？", settings=real_index).found
    # "成立盐帮菜海外推广基地" names no country; a clause naming places the question does not answers.
    assert not qa.ask("自贡成立的盐帮菜海外推广基地设在哪个国家？", settings=real_index).found
    _answered_with("2024年自贡在哪里举办了中国彩灯节？", "法国", real_index)


@pytest.mark.parametrize(
    ("question", "where"),
    [("设在哪个国家？", True), ("在哪里举办？", True), ("基地设在哪？", True), ("Which city hosts it?", True),
     ("Where will the base be set up?", True), ("要在哪五个方面推动发展突破？", False),
     ("Where did that rank in Sichuan?", False), ("How many shops are places where shoppers can return goods?", False)],
)
def test_a_question_asking_where_is_told_from_one_asking_which_or_where_a_figure_ranks(question: str, where: bool) -> None:
    assert bool(asked.WHERE.search(question)) is where


@pytest.mark.model
def test_how_long_and_how_big_ask_for_a_figure(real_index: Settings) -> None:
    # "多长" asks for a length: the clause is widened to the one holding it, not the pilot alone.
    _answered_with("2017年那份报告说，当年要在城市地下修多长的综合管道廊？", "5公里", real_index)
    # "总投资有多大" asks for an amount, which "…项目226个" (the question's own figure) does not give.
    assert not qa.ask("去年自贡新签的那226个亿元以上产业项目，加起来总投资有多大？", settings=real_index).found


@pytest.mark.model
def test_by_how_much_is_answered_by_a_change_not_a_level(real_index: Settings) -> None:
    # The 2021 report gives 2020's retail sales (583亿元) and their five-year average growth, not the
    # fall from 2019: a level is no answer to "下降了多少".
    assert not qa.ask("2020年自贡社会消费品零售总额比上年下降了多少？", settings=real_index).found
    _answered_with("2024年自贡社会消费品零售总额增长了多少？", "5.9%", real_index)
    # An addition is a change, and "增加了几家" counts additions: "新增…机构3家" answers it.
    _answered_with("2024年自贡增加了几家普惠托育机构？", "3家", real_index)


@pytest.mark.model
def test_the_clause_chosen_gives_the_figure_in_the_unit_asked(real_index: Settings) -> None:
    # "多少项" is answered by the clause counting 项 ("五大类28项主要指标"), not by the sentence that
    # holds more of the question's words and no figure in that unit ("锚定到2035年…").
    _answered_with("“十四五”规划纲要草案一共提出了多少项主要指标？", "28项", real_index)
    assert asked.unit_asked(understand("几所幼儿园")).search("新建公立幼儿园10个")  # measure words that count
    assert asked.unit_asked(understand("How many kilometres of roads?")).search("3142公里")
    assert asked.unit_asked(understand("自贡GDP增长多少？")) is None
    # "多长" asks for a length, in digits or in words; "10个城市公园" is none.
    length = asked.unit_asked(understand("复合绿道大约有多长？"))
    assert length is not None and length.search("近十公里的复合绿道") and not length.search("10个城市公园")
    _answered_with("釜溪河沿岸打造的复合绿道大约有多长？", "近十公里", real_index)


def test_a_placeholder_noun_after_a_modifier_names_nothing_counted() -> None:
    # "…的地方" stands for the thing its modifier describes (老年助餐点): no word of it must be quoted.
    assert asked.counted(understand("去年自贡新开了多少个专门给老人做饭吃的地方？")) == ()
    assert asked.counted(understand("自贡有多少项卡脖子的关键核心技术？")) == ("卡脖子", "关键", "核心技术")


@pytest.mark.model
@pytest.mark.parametrize(
    ("question", "figure"),
    [
        # The 2021 report gives 2020's GDP (1458.44亿元), not GDP per person: that total is no answer.
        pytest.param("2020年自贡人均地区生产总值是多少元？", None, id="per-person-not-a-total"),
        pytest.param("2016年自贡城乡居民人均可支配收入分别是多少元？", "28578元", id="per-person"),
        pytest.param("2016年自贡每百户城镇家庭拥有多少辆汽车？", "15辆", id="per-hundred-households"),
        # "确保公立幼儿园在园人数占比达到50%" holds more of the question's words; the count of 所 is the
        # clause before it, in the same sentence.
        pytest.param("2021年自贡打算新开几所公立的幼儿园？", "10所", id="unit-in-the-neighbouring-clause"),
    ],
)
def test_a_figure_is_given_per_head_and_in_the_unit_asked(real_index: Settings, question: str, figure: str | None) -> None:
    if figure is None:
        assert not qa.ask(question, settings=real_index).found
    else:
        _answered_with(question, figure, real_index)


@pytest.mark.model
def test_english_everyday_words_reach_the_reports_terms(real_index: Settings) -> None:
    # The glossary gives plain English for what the reports count ("elderly canteen" -> 老年助餐点,
    # "overseas lantern show" -> 境外灯展), so the clause holding it is found and answers.
    _answered_with("How many overseas lantern shows does Zigong plan to hold in 2025?", "110场次", real_index)
    _answered_with("How many elderly canteens did Zigong open in 2024?", "80个", real_index)
    # "earn" is what people say of income (收入, 可支配收入).
    _answered_with("How much did people in Zigong earn more in 2024?", "可支配收入增长5.4%", real_index)


@pytest.mark.model
def test_the_digits_of_a_name_are_no_figure(real_index: Settings) -> None:
    # "深入实施5G建设三年行动计划" gives no count; the clause after it does.
    _answered_with("How many 5G base stations was Zigong planning to build in 2021?", "1500个", real_index)


def test_a_sum_of_money_and_a_second_unit_asked_are_figures_in_those_units() -> None:
    money = asked.unit_asked(understand("How much investment is behind the Xiaoying-700 aircraft project?"))
    assert money is not None and money.search("总投资20亿元") and not money.search("产业项目226个")
    assert asked.unit_asked(understand("By how much did the money collected for the budget go up?")) is None
    second = asked.more_units(understand("2016年自贡帮多少家企业把到期的银行贷款续上了？一共续了多少钱？"))
    assert len(second) == 1 and second[0].search("续贷20多亿元") and not second[0].search("70多户企业")


def test_the_model_compares_the_question_said_without_the_city() -> None:
    # Nearly every question names the city and only some sentences do: the model is given the rest.
    assert understand("2024年自贡市民的收入涨了多少？").meaning_text == "2024年市民的收入涨了多少?"
    assert "Zigong" not in understand("What is Zigong's 2025 GDP target?").meaning_text
    assert understand("自贡").meaning_text == "自贡"  # nothing else to compare: the name stays
    # Lexical search still reads the whole question.
    assert "自贡" in understand("2024年自贡市民的收入涨了多少？").search_text


@pytest.mark.model
def test_the_clause_a_question_is_about_is_told_by_meaning_within_a_sentence(real_index: Settings) -> None:
    # "…地方一般公共预算收入增长4.8%，城镇居民人均可支配收入增长5.4%…": both clauses hold 收入 and a
    # rise; residents' income is what "市民的收入" means, the budget's revenue is another figure.
    answer = qa.ask("去年自贡市民的收入涨了多少？", settings=real_index)
    assert answer.found and "居民人均可支配收入" in answer.text and "4.8%" not in answer.text, answer.text


def test_the_years_of_a_span_are_no_words_of_its_subject() -> None:
    from qa.matching import question_words

    class Knows:
        def knows(self, word: str) -> bool:
            return True

        def weight(self, word: str) -> float:
            return 1.0

    words = question_words(understand("2016至2020年自贡新改建了多少公里农村公路？"), Knows())  # type: ignore[arg-type]
    assert "至" not in words.weights and "农村公路" in words.weights


@pytest.mark.model
def test_rises_alone_do_not_give_a_level_asked_in_no_unit(real_index: Settings) -> None:
    # "城乡居民基本生活最低保障标准分别提高50元/月、40元/月" says by how much, not what a standard is.
    assert not qa.ask("2024年自贡市最低工资标准是多少？", settings=real_index).found
    _answered_with("2016年自贡地区生产总值是多少？", "1230亿元", real_index)  # "实现1230亿元、增长7.6%"


@pytest.mark.model
def test_a_glossary_entry_says_what_a_term_means_not_how_much(real_index: Settings) -> None:
    # The 2025 report's note on 5G—A ("…提高空域安全性和管理效率的通信保障技术") holds no figure: it is no
    # answer to how much the efficiency rose, though it holds the question's words.
    answer = qa.ask("自贡弄了那个管低空飞行的5G-A平台以后，天上空域用起来效率提高了多少？", settings=real_index)
    assert not answer.found or "40%" in answer.text, answer.text
    _answered_with("“5G—A技术”是什么？", "通信保障技术", real_index)  # what it means, it does say


@pytest.mark.model
def test_english_words_only_the_dictionary_knows_are_something_to_look_for(real_index: Settings) -> None:
    # No glossary entry holds "elevators" or "residential": the dictionary's report words (电梯) are
    # what the question names, so it is no bare number and is answered. "will" asks for a plan.
    _answered_with("How many elevators will Zigong add to old residential buildings in 2025?", "210部", real_index)
    _answered_with("How many lifts were added to existing homes in 2024?", "150部", real_index)
    assert understand("How many elevators will Zigong add in 2025?").tense == "plan"


class _KnowsAll:
    """A vocabulary that knows every word and weighs each alike."""

    def knows(self, word: str) -> bool:
        return True

    def weight(self, word: str) -> float:
        return 1.0


def test_closed_word_classes_and_the_unit_asked_are_no_words_of_the_subject() -> None:
    words = question_words(understand("2024年自贡准备再多种多少亩油茶？干完的又有多少个？"), _KnowsAll())  # type: ignore[arg-type]
    # 再 and 又 (adverbs) say how it is asked; 亩, the unit of the count asked, is checked as a unit.
    assert not {"再", "又", "亩"} & set(words.weights) and "油茶" in words.weights


def test_what_a_count_names_is_found_by_the_word_it_starts_with() -> None:
    things = asked.counted(understand("2024年的计划里，自贡准备多种多少亩油茶树？"))
    assert "油茶" in things and asked.names("新增油茶3.1万亩", things)
    assert not asked.names("新建公办幼儿园10所", ("大学",))


def test_a_count_of_what_was_added_is_no_count_of_what_there_is() -> None:
    assert asked.asks_new(understand("2017年自贡打算新种多少亩林子？"))  # 新 and a verb
    assert not asked.asks_new(understand("2020年底自贡规模以上的工厂一共有多少家？"))
    # English asks for additions with "add" and "how many more", not only with "new".
    assert asked.asks_new(understand("How many more export companies does Zigong want to add in 2025?"))
    assert not asked.asks_new(understand("How many hospitals does Zigong have?"))
    unit = asked.unit_asked(understand("自贡规模以上工业企业有多少家？"))
    assert unit is not None
    assert asked.only_added("全年净增规模以上工业企业42户，", unit)
    assert not asked.only_added("全年净增规模以上工业企业42户，创近年新高，累计达到606户。", unit)
    assert asked.only_added("新登记各类经营主体2.2万户", unit)


@pytest.mark.model
def test_colloquial_changes_and_counts_are_answered_from_the_clause_that_states_them(real_index: Settings) -> None:
    # "涨了多少" asks for a change: a rise in per cent answers it, a sum in 亿元 does not.
    _answered_with("2024年自贡新能源汽车销量涨了多少？", "65.3%", real_index)
    # A count of additions in a list ("新增规模以上工业企业34户、…，新登记各类经营主体2.2万户") is no total.
    assert not qa.ask("2024年底自贡一共有多少户规模以上工业企业？", settings=real_index).found
