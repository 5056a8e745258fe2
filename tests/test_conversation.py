"""Follow-up questions in a chat made whole: another year, another indicator, both, a language switch;
and every message that is not one of those answered exactly as typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.conversation import Understood, understand_turn

GDP_ZH = "2024年自贡地区生产总值增长多少？"
GDP_EN = "What was Zigong's GDP growth in 2024?"
FOREST_ZH = "2024年自贡森林覆盖率是多少？"


@pytest.mark.parametrize(
    ("previous", "follow_up", "expected", "language"),
    [
        (GDP_ZH, "那2020年呢？", "2020年自贡地区生产总值增长多少？", "zh"),
        (GDP_ZH, "2020年呢", "2020年自贡地区生产总值增长多少？", "zh"),
        (GDP_ZH, "那么2023年呢?", "2023年自贡地区生产总值增长多少？", "zh"),
        (GDP_ZH, "2023呢？", "2023年自贡地区生产总值增长多少？", "zh"),
        (GDP_ZH, "2020年？", "2020年自贡地区生产总值增长多少？", "zh"),
        (GDP_EN, "What about 2020?", "What was Zigong's GDP growth in 2020?", "en"),
        (GDP_EN, "And in 2020?", "What was Zigong's GDP growth in 2020?", "en"),
        (GDP_EN, "how about 2023", "What was Zigong's GDP growth in 2023?", "en"),
        (GDP_EN, "In 2020?", "What was Zigong's GDP growth in 2020?", "en"),
        # Every occurrence of the year moves, wherever it stands.
        ("截至2025年底，自贡每千人口拥有3岁以下婴幼儿托位数是多少？", "那2023年呢？", "截至2023年底，自贡每千人口拥有3岁以下婴幼儿托位数是多少？", "zh"),
        ("2021年政府工作报告说自贡已连续多少个月未发生较大事故？", "那2017年呢", "2017年政府工作报告说自贡已连续多少个月未发生较大事故？", "zh"),
        # 2000亿元 is an amount, not a year: it stays.
        ("2025年自贡地区生产总值的目标是突破2000亿元吗？", "那2024年呢？", "2024年自贡地区生产总值的目标是突破2000亿元吗？", "zh"),
        # A comparison takes as many years as it had, in order.
        ("自贡规模以上工业增加值增速2020年和2024年分别是多少？", "那2021年和2023年呢？", "自贡规模以上工业增加值增速2021年和2023年分别是多少？", "zh"),
        # No year before: the new one is added where the language puts it.
        ("自贡市有多少所大学？", "那2020年呢？", "2020年自贡市有多少所大学？", "zh"),
        ("How many hospitals does Zigong have?", "What about 2020?", "How many hospitals does Zigong have in 2020?", "en"),
        # Traditional Chinese is read as Simplified; the rewrite is in Simplified.
        ("2024年自貢地區生產總值增長多少？", "那2020年呢？", "2020年自贡地区生产总值增长多少？", "zh"),
    ],
)
def test_another_year(previous: str, follow_up: str, expected: str, language: str) -> None:
    assert understand_turn(follow_up, [previous]) == Understood(expected, language, True)


@pytest.mark.parametrize(
    ("previous", "follow_up", "expected"),
    [
        # Year, place and predicate kept; the subject swapped.
        (GDP_ZH, "那规模以上工业增加值呢？", "2024年自贡规模以上工业增加值增长多少？"),
        (FOREST_ZH, "人口呢？", "2024年自贡人口是多少？"),
        (GDP_ZH, "那森林覆盖率呢", "2024年自贡森林覆盖率增长多少？"),
        (GDP_ZH, "再问一下人口呢", "2024年自贡人口增长多少？"),
        (GDP_ZH, "那请问人口呢？", "2024年自贡人口增长多少？"),
        (GDP_ZH, "那GDP呢？", "2024年自贡GDP增长多少？"),
        (GDP_ZH, "那自贡的人口呢？", "2024年自贡人口增长多少？"),  # the place is not doubled
        ("2025年自贡粮食产量的目标是多少？", "那生猪出栏呢？", "2025年自贡生猪出栏的目标是多少？"),
        ("2021年自贡地区生产总值的预期增长目标是多少？", "那人口呢？", "2021年自贡人口的预期增长目标是多少？"),
        ("2024年自贡新能源汽车销量增长了多少？", "家电销售额呢？", "2024年自贡家电销售额增长了多少？"),
        ("2024年自贡民生支出占一般公共预算支出的比重是多少？", "那教育支出呢？", "2024年自贡教育支出占一般公共预算支出的比重是多少？"),
        ("2024年自贡民营经济增加值增长多少？在全省排第几？", "那规模以上工业增加值呢？", "2024年自贡规模以上工业增加值增长多少？在全省排第几？"),
        ("“四重并举”是什么意思？", "那“三抓联动”呢？", "“三抓联动”是什么意思？"),
        # No predicate the split recognizes: the figure frame, with the year and place kept.
        ("2024年自贡新签约了多少个亿元以上产业项目？", "那工业项目呢？", "2024年自贡工业项目是多少？"),
        # A year inside the subject would be lost with it: the frame, with both years.
        ("自贡规模以上工业增加值增速2020年和2024年分别是多少？", "那人口呢？", "2020年和2024年自贡人口增长多少？"),
        # English frames: growth, figure, target, definition.
        (GDP_EN, "What about exports?", "How much did exports grow in 2024?"),
        ("What was Zigong's population in 2024?", "And the population?", "What was the population in 2024?"),
        ("What was Zigong's population in 2024?", "how about tourism revenue?", "What was tourism revenue in 2024?"),
        ("What is Zigong's 2025 GDP target?", "What about grain output?", "What is the 2025 target for grain output?"),
        ("How many hospitals does Zigong have?", "What about Zigong's schools?", "What is Zigong's schools?"),
    ],
)
def test_another_indicator(previous: str, follow_up: str, expected: str) -> None:
    result = understand_turn(follow_up, [previous])
    assert result.question == expected
    assert result.rewritten


@pytest.mark.parametrize(
    ("previous", "follow_up", "expected"),
    [
        (FOREST_ZH, "那2020年的人口呢？", "2020年自贡人口是多少？"),
        (GDP_ZH, "那2020年规模以上工业增加值呢", "2020年自贡规模以上工业增加值增长多少？"),
        ("What was Zigong's forest coverage rate in 2016?", "What about the population in 2020?", "What was the population in 2020?"),
        (GDP_EN, "What about 2020 exports?", "How much did exports grow in 2020?"),
        (GDP_EN, "And exports in 2020?", "How much did exports grow in 2020?"),
    ],
)
def test_another_year_and_indicator(previous: str, follow_up: str, expected: str) -> None:
    assert understand_turn(follow_up, [previous]).question == expected


@pytest.mark.parametrize(
    ("previous", "follow_up", "expected", "language"),
    [
        # The frame is in the follow-up's language; its subject stays as typed.
        (GDP_ZH, "What about exports?", "How much did exports grow in 2024?", "en"),
        (GDP_EN, "那人口呢？", "2024年人口增长多少？", "zh"),
        ("“四重并举”是什么意思？", "What about 三抓联动?", "What does 三抓联动 mean?", "en"),
        ("What is Zigong's 2025 GDP target?", "那粮食产量呢？", "2025年粮食产量的目标是多少？", "zh"),
        # Another year keeps the question's own wording; the answer follows the follow-up's language.
        (GDP_ZH, "What about 2020?", "2020年自贡地区生产总值增长多少？", "en"),
        (GDP_EN, "2020年呢？", "What was Zigong's GDP growth in 2020?", "zh"),
    ],
)
def test_a_follow_up_in_the_other_language(previous: str, follow_up: str, expected: str, language: str) -> None:
    assert understand_turn(follow_up, [previous]) == Understood(expected, language, True)


@pytest.mark.parametrize(
    ("switch", "language"),
    [
        ("English please", "en"),
        ("English, please.", "en"),
        ("in English", "en"),
        ("answer in English", "en"),
        ("Can you answer in English?", "en"),
        ("英文", "en"),
        ("用英文回答", "en"),
        ("请用英语", "en"),
        ("中文", "zh"),
        ("用中文", "zh"),
        ("请用中文回答", "zh"),
        ("Chinese please", "zh"),
        ("in Chinese", "zh"),
    ],
)
def test_a_language_switch_re_asks_the_last_question(switch: str, language: str) -> None:
    previous = GDP_EN if language == "zh" else GDP_ZH
    assert understand_turn(switch, [previous]) == Understood(previous, language, True)


def test_a_language_switch_re_asks_the_rewritten_question_not_the_typed_follow_up() -> None:
    result = understand_turn("English please", [GDP_ZH, "那2020年呢？"])
    assert result == Understood("2020年自贡地区生产总值增长多少？", "en", True)


@pytest.mark.parametrize(("switch", "language"), [("English please", "en"), ("用中文回答", "zh")])
def test_a_language_switch_without_history_is_answered_as_typed(switch: str, language: str) -> None:
    assert understand_turn(switch) == Understood(switch, language, False)


@pytest.mark.parametrize(
    "follow_up", ["那2020年呢？", "2023呢？", "那规模以上工业增加值呢？", "What about 2020?", "And the population?"]
)
def test_a_follow_up_without_history_is_answered_as_typed(follow_up: str) -> None:
    result = understand_turn(follow_up)
    assert result.question == follow_up
    assert not result.rewritten


@pytest.mark.parametrize(
    ("question", "language"),
    [
        # Its own subject and predicate, even with the words of a follow-up around them.
        ("2020年人口是多少？", "zh"),
        ("那2020年人口是多少呢？", "zh"),
        ("2024年自贡新能源汽车销量增长了多少？家电销售额呢？", "zh"),
        ("What was the population in 2020?", "en"),
        ("And what was the target for grain output?", "en"),
        # Too long to be a follow-up.
        ("那2020年自贡城镇居民人均可支配收入和农村居民人均可支配收入呢？", "zh"),
    ],
)
def test_a_full_question_is_answered_as_typed_in_its_own_language(question: str, language: str) -> None:
    assert understand_turn(question, [GDP_ZH]) == Understood(question, language, False)
    assert understand_turn(question, [GDP_EN]) == Understood(question, language, False)


def test_no_question_of_the_evaluation_files_is_taken_for_a_follow_up() -> None:
    # 94 real questions, several short and some with 呢 or a leading "And": a false follow-up would
    # silently answer another question than the one asked.
    questions = [
        json.loads(line)["question"]
        for path in sorted((Path(__file__).parent / "fixtures").glob("eval_qa_*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(questions) >= 90
    for previous in (GDP_ZH, GDP_EN):
        assert [q for q in questions if understand_turn(q, [previous]).question != q] == []


@pytest.mark.parametrize(
    "follow_up",
    [
        "那你呢？",
        "为什么呢？",
        "然后呢",
        "目标呢？",  # another predicate, not another subject
        "去年呢？",  # relative to what: today or the question's year?
        "What about last year?",
        "那2020年上半年呢？",
        "那内江市呢？",  # another place
        "那内江市的人口呢？",
        "And why?",
        "What about you?",
        "What about Zigong?",
        "What about growth?",
        "那2020年和2023年呢？",  # two years for one
    ],
)
def test_a_follow_up_that_cannot_be_rewritten_faithfully_is_answered_as_typed(follow_up: str) -> None:
    result = understand_turn(follow_up, [GDP_ZH])
    assert result.question == follow_up
    assert not result.rewritten


@pytest.mark.parametrize(
    ("previous", "follow_up"),
    [
        # One year after a comparison of two: which one it replaces would be a guess.
        ("自贡规模以上工业增加值增速2020年和2024年分别是多少？", "那2023年呢？"),
        # A span or a five-year plan cannot take a single year in front of it.
        ("2016-2020年累计完成投资多少？", "2024年呢？"),
        ("“十三五”期间自贡累计改造了多少户棚户区？", "2024年呢？"),
        ("What was Zigong's GDP at the end of the 13th Five-Year Plan?", "What about 2024?"),
        ("What was Zigong's GDP at the end of the 13th Five-Year Plan?", "What about exports?"),
    ],
)
def test_a_previous_question_whose_years_cannot_move_is_left_alone(previous: str, follow_up: str) -> None:
    result = understand_turn(follow_up, [previous])
    assert result.question == follow_up
    assert not result.rewritten


def test_a_period_question_keeps_its_period_when_the_subject_changes() -> None:
    result = understand_turn("那人口呢？", ["“十三五”期间自贡地区生产总值年均增长多少？"])
    assert result.question == "“十三五”期间自贡人口年均增长多少？"


def test_chain_year_after_indicator() -> None:
    history = [GDP_ZH, "那规模以上工业增加值呢？"]
    assert understand_turn("2020年呢？", history).question == "2020年自贡规模以上工业增加值增长多少？"


def test_chain_indicator_after_year_in_english() -> None:
    history = [GDP_EN, "What about 2020?"]
    assert understand_turn("And exports?", history).question == "How much did exports grow in 2020?"


def test_an_explicit_switch_persists_over_a_year_follow_up() -> None:
    history = [FOREST_ZH, "English please"]
    assert understand_turn("2020年呢？", history) == Understood("2020年自贡森林覆盖率是多少？", "en", True)
    history = [*history, "2020年呢？"]
    assert understand_turn("那人口呢？", history) == Understood("2020年自贡人口是多少？", "en", True)
    assert understand_turn("中文", history) == Understood("2020年自贡森林覆盖率是多少？", "zh", True)


def test_an_explicit_switch_ends_with_a_full_question_in_the_other_language() -> None:
    history = [FOREST_ZH, "English please"]
    assert understand_turn("What was the population in 2020?", history).language == "en"
    assert understand_turn("2020年人口是多少？", history).language == "zh"
    # ... and the language is then that question's own for the follow-ups after it.
    assert understand_turn("2023年呢？", [*history, "2020年人口是多少？"]).language == "zh"


def test_without_an_explicit_switch_a_follow_up_is_answered_in_its_own_language() -> None:
    assert understand_turn("What about 2020?", [GDP_ZH]).language == "en"
    # A bare year has no language of its own: the conversation's is kept.
    assert understand_turn("2020?", [GDP_EN]) == Understood("What was Zigong's GDP growth in 2020?", "en", True)
    assert understand_turn("2020", [GDP_ZH]) == Understood("2020年自贡地区生产总值增长多少？", "zh", True)


def test_a_switch_without_history_sets_the_language_for_what_follows() -> None:
    assert understand_turn("那2020年呢？", ["English please"]) == Understood("那2020年呢？", "en", False)
    assert understand_turn("人口呢", ["English please", "那2020年呢"]) == Understood("人口呢", "en", False)


def test_a_follow_up_left_as_typed_does_not_replace_the_context() -> None:
    history = [GDP_ZH, "那你呢？", "为什么呢？"]
    assert understand_turn("2020年呢？", history).question == "2020年自贡地区生产总值增长多少？"


def test_history_is_folded_turn_by_turn() -> None:
    # Each earlier follow-up is understood against the ones before it, not against the first question.
    history = [GDP_ZH, "那2020年呢？", "那人口呢？", "2023年呢？"]
    assert understand_turn("那森林覆盖率呢？", history).question == "2023年自贡森林覆盖率增长多少？"


def test_the_same_conversation_is_always_understood_the_same_way() -> None:
    history = [GDP_ZH, "English please", "那2020年呢？", "What about exports?", "in Chinese"]
    first = understand_turn("那人口呢？", history)
    understand_turn("What about 2016?", [GDP_EN])  # another conversation in between leaves no trace
    assert understand_turn("那人口呢？", tuple(history)) == first
    assert first == Understood("2020年人口增长多少？", "zh", True)
    assert history == [GDP_ZH, "English please", "那2020年呢？", "What about exports?", "in Chinese"]
