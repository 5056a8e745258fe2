"""The extractive answerer over the bundled reports: quoted clauses with [n] markers, numbers checked
against the cited passage, comparisons per year, news flagged, and refusals that still cite."""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.documents import Document

from qa.answer import NOT_FOUND, Composer, numbers, verified
from qa.choosing import covers
from qa.question import understand
from qa.retrieval import to_document
from qa.types import Answer, Passage

_SENTENCES = re.compile(r"[^\[\]]+?\[(\d+)\]")


def _ask(index: Any, question: str, k: int = 5) -> Answer:
    query = understand(question)
    return Composer(index).compose(query, index.search(query, k=k))


def _sentences(answer: Answer) -> list[tuple[str, int]]:
    """The answer cut after each marker; the whole text must be such sentences and nothing else."""
    parts = [(m.group(0), int(m.group(1))) for m in _SENTENCES.finditer(answer.text)]
    assert "".join(p for p, _ in parts) == answer.text, answer.text
    return parts


def test_a_fact_is_quoted_with_its_report_and_marker(opened_index: Any) -> None:
    answer = _ask(opened_index, "2024年自贡落实减税降费及退税缓费一共多少钱？")
    assert answer.found
    assert answer.text == "据2025年政府工作报告，落实减税降费及退税缓费35亿元。[1]"
    [citation] = answer.citations
    assert citation.n == 1 and "落实减税降费及退税缓费35亿元" in citation.text
    assert citation.source.startswith("000_") and citation.line_start <= citation.line_end


def test_every_sentence_ends_with_a_marker_numbered_from_one(opened_index: Any) -> None:
    answer = _ask(opened_index, "自贡规模以上工业增加值增速2020年和2024年分别是多少？全省排名有什么变化？")
    parts = _sentences(answer)
    assert len(parts) == 2
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert {n for _, n in parts} == {c.n for c in answer.citations}
    # A comparison answers per year, each from the report that reviews it.
    assert parts[0][0].startswith("2020年：据2021年政府工作报告") and "5.1%" in parts[0][0]
    assert parts[1][0].startswith("2024年：据2025年政府工作报告") and "15.3%" in parts[1][0]


def test_every_number_is_in_the_passage_it_cites(opened_index: Any) -> None:
    questions = [
        "2024年自贡市属国企营收和资产总额分别增长了多少？",
        "2020年新冠疫情期间，自贡用了多少天实现确诊病例“清零”？",
        "“十四五”期间自贡城镇累计新增就业多少人？",
        "2017年自贡计划完成多少个贫困村摘帽、多少人脱贫？",
    ]
    for question in questions:
        answer = _ask(opened_index, question)
        assert answer.found, question
        for sentence, n in _sentences(answer):
            cited = answer.citations[n - 1]
            claimed = numbers(re.sub(r"\[\d+\]", "", sentence))
            assert claimed and claimed <= numbers(f"{cited.title}{cited.section}{cited.text}"), sentence


def test_an_answer_resting_on_the_news_article_says_so(opened_index: Any) -> None:
    answer = _ask(opened_index, "“十四五”期间自贡城镇累计新增就业多少人？")
    assert "新闻报道" in answer.text and "18.2万人" in answer.text
    assert answer.citations[0].kind == "news"


def test_a_glossary_question_gets_the_whole_entry(opened_index: Any) -> None:
    answer = _ask(opened_index, "“双百城市”的标准是什么？")
    assert "100平方公里" in answer.text and "100万" in answer.text
    assert answer.citations[0].section == "2021年政府工作报告 › 相关用语注释 › 15. 双百城市"


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ("眉山市2024年地区生产总值增长了多少？", "报告中没有提到“眉山市”"),  # a subject the reports never name
        ("2024年自贡城镇居民人均可支配收入是多少元？", ""),  # only a growth rate, no amount in 元
        ("2024年自贡高考本科上线率是多少？", ""),  # "再创历史新高": no figure
        ("2022年自贡地区生产总值是多少亿元？", ""),  # no report speaks for 2022
    ],
)
def test_what_the_reports_do_not_hold_is_refused_with_the_closest_passages(
    opened_index: Any, question: str, why: str
) -> None:
    answer = _ask(opened_index, question)
    assert not answer.found
    assert answer.text.startswith(NOT_FOUND) and why in answer.text
    assert 1 <= len(answer.citations) <= 3
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_the_number_check_reads_figures_as_the_evaluation_does() -> None:
    assert numbers("增长 3.9%，42 户，18。2万人，1458.44 亿元") == {"3.9", "42", "18.2", "1458.44"}
    passage = _passage("全市地区生产总值实现 1458.44 亿元，年均增长 7.3%")
    assert verified("据2021年政府工作报告，地区生产总值实现1458.44亿元。", passage)
    assert not verified("据2021年政府工作报告，地区生产总值实现1458.45亿元。", passage)
    assert not verified("2022年：地区生产总值实现1458.44亿元。", passage)  # a year label is a number too


def test_a_passage_speaks_for_the_year_its_report_reviews_or_plans() -> None:
    review = _passage("全年接待游客超1000万人次", section="2025年政府工作报告 › 2024年工作回顾", year=2025)
    plan = _passage("粮食产量保持在145.7万吨以上", section="2025年政府工作报告 › 2025年工作安排建议", year=2025)
    assert covers(review, 2024, review.text) and not covers(review, 2025, review.text)
    assert covers(plan, 2025, plan.text) and not covers(plan, 2024, plan.text)
    assert covers(review, 2025, "2025年1至11月增长15.4%")  # a clause naming the year speaks for it


def test_the_composer_is_a_runnable_step_after_the_retriever(opened_index: Any) -> None:
    question = "2024年“盐龙灯”精品景区全年接待了多少游客？"
    docs = [to_document(p) for p in opened_index.search(understand(question), k=3)]
    answer = Composer(opened_index).runnable().invoke({"input": question, "context": docs})
    assert isinstance(answer, Answer) and answer.found and "1000万人次" in answer.text
    empty = Composer(opened_index).runnable().invoke({"input": question, "context": list[Document]()})
    assert not empty.found and empty.citations == ()


def _passage(text: str, *, section: str = "2021年政府工作报告 › 一、2020年工作回顾及“十三五”主要成就", year: int = 2021) -> Passage:
    return Passage(
        id="x", source="001_test.txt", title=f"{year}年自贡市政府工作报告", year=year, kind="work_report",
        section=section, text=text, line_start=1, line_end=2, score=1.0,
    )


def test_the_answer_marks_the_sentences_it_quotes_in_each_cited_passage(opened_index: Any) -> None:
    answer = _ask(opened_index, "2024年自贡落实减税降费及退税缓费一共多少钱？")
    [citation] = answer.citations
    assert citation.support and all(s in citation.text for s in citation.support)
    assert any("35亿元" in s for s in citation.support)
    refused = _ask(opened_index, "2024年自贡市最低工资标准是多少？")
    assert not refused.found and all(c.support == () for c in refused.citations)


def test_an_english_question_gets_its_frame_in_english_and_its_quotation_in_chinese(opened_index: Any) -> None:
    chinese = understand("2024年自贡落实减税降费及退税缓费一共多少钱？")
    english = Composer(opened_index).compose(chinese, opened_index.search(chinese), language="en")
    assert english.text == "According to the 2025 government work report: “落实减税降费及退税缓费35亿元”.[1]"
    assert english.language == "en" and english.citations[0].support
    refused = Composer(opened_index).compose(understand("2024年自贡市最低工资标准是多少？"), [], language="en")
    assert refused.text.startswith("The reports do not contain this.") and not refused.found
    # A question naming no year is told the year the figure is about, inside the English frame.
    yearless = _ask(opened_index, "How much did Zigong's primary industry value added grow?")
    assert yearless.text == "According to the 2025 government work report, in 2024: “第一产业增加值增长2.6%”.[1]"


@pytest.mark.parametrize("question", ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>", "1", "2024"])
def test_a_question_of_bare_numbers_and_markup_names_nothing_and_is_refused(opened_index: Any, question: str) -> None:
    answer = _ask(opened_index, question)
    assert not answer.found and answer.citations  # still shows what is closest


def test_a_result_is_not_given_as_the_target_asked_for(opened_index: Any) -> None:
    # The reports hold 2024's GDP growth (7.1%, in the 2025 report's review) but no 2024 target.
    answer = _ask(opened_index, "2024年自贡地区生产总值的目标是多少？")
    assert not answer.found and "7.1%" not in answer.text
    target = _ask(opened_index, "2025年自贡地区生产总值的目标是多少？")
    assert target.found and "2000亿元" in target.text


def test_one_years_growth_is_not_answered_with_a_five_year_average(opened_index: Any) -> None:
    answer = _ask(opened_index, "What was Zigong's GDP growth in 2020?")
    assert answer.found and "3.9%" in answer.text and "年均" not in answer.text
    # 2016's own income growth is not in the reports; the 2011-2015 average (年均增长10.6%) is not it.
    refused = _ask(opened_index, "2016年自贡城镇居民人均可支配收入增长多少？")
    assert not refused.found and "10.6%" not in refused.text
    average = _ask(opened_index, "“十三五”期间自贡地区生产总值年均增长多少？")
    assert average.found and "年均增长7.3%" in average.text
    # "average annual" is 年均 however the words around it run (not 平均水平 + 全年).
    english = _ask(opened_index, "What was the average annual GDP growth during the 13th Five-Year Plan?")
    assert english.found and "年均增长7.3%" in english.text and "2021 government work report" in english.text


@pytest.mark.parametrize(
    "question",
    [
        # for 2024 the reports say how many were added (新增…34户), not how many there are
        "2024年底自贡规模以上工业企业有多少户？",
        "What was Zigong's population in 2024?",  # a quantity asked for in English; no clause gives it
    ],
)
def test_a_figure_of_another_kind_is_not_given_for_the_one_asked(opened_index: Any, question: str) -> None:
    assert not _ask(opened_index, question).found


def test_a_total_after_the_count_added_is_the_total_asked(opened_index: Any) -> None:
    # "全年净增规模以上工业企业42户，创近年新高，累计达到606户": the clause of additions leads to the total,
    # past the clause between; the question names no year, so the answer names it.
    answer = _ask(opened_index, "自贡规模以上工业企业有多少户？")
    assert answer.found and "606户" in answer.text and "2020年" in answer.text, answer.text


def test_a_question_about_what_was_added_gets_the_added_count(opened_index: Any) -> None:
    answer = _ask(opened_index, "2024年自贡新增规模以上工业企业多少户？")
    assert answer.found and "新增规模以上工业企业34户" in answer.text


def test_which_kinds_is_a_list_question_not_a_count(opened_index: Any) -> None:
    # "哪几类" asks which, not how many: the enumeration answers though it holds no digit.
    answer = _ask(opened_index, "2024年计划提出要培育一批哪几类县？")
    assert answer.found and "制造业先进县" in answer.text and "百亿主导产业县" in answer.text


def test_a_sentence_followed_by_the_first_item_announces_the_list() -> None:
    from qa.choosing import Window, enumeration

    text = "关键要推动实现两个新突破。一是在融入双城经济圈建设上取得新突破。二是在建设现代产业城市上取得新突破。另起一事。"
    passage = Passage("c1", "001.txt", "t", 2021, "work_report", "2021年政府工作报告", text, 1, 3, 1.0)
    first = "关键要推动实现两个新突破。"
    window = Window(passage=0, text=first, covered=frozenset({"新突破"}), score=1.0, sentence=first)
    listed = enumeration(passage, window).text
    assert "一是在融入双城经济圈" in listed and "二是在建设现代产业城市" in listed and "另起一事" not in listed


def test_a_year_is_no_figure_and_a_rise_is_no_level() -> None:
    from qa import asked
    from qa.choosing import Window

    def checks(question: str, clause: str) -> dict[str, bool]:
        passage = Passage("c1", "001.txt", "t", 2021, "work_report", "2021年政府工作报告 › 一、2020年工作回顾", clause, 1, 2, 1.0)
        window = Window(passage=0, text=clause, covered=frozenset(), score=1.0, sentence=clause)
        return asked.checks(understand(question), [passage], [window])

    # "刚刚过去的2020年" holds no figure of how much was given; a question asking when is answered by it.
    assert not checks("疫情那年自贡给创业的人发了多少补贴？", "刚刚过去的2020年，是极不平凡的一年。")["figure"]
    assert checks("自贡哪一年开始举办灯会？", "2020年，自贡灯会成功举办。")["figure"]
    # "提高50元/月" says by how much the standard rose, not what it is; asked how much it rose, it answers.
    rise = "城乡居民基本生活最低保障标准分别提高50元/月、40元/月。"
    assert not checks("自贡城乡居民最低生活保障标准是每月多少元？", rise)["unit"]
    assert checks("自贡城乡居民最低生活保障标准提高了多少元？", rise)["unit"]
    # "几个百分点" asks for a rate, not for a count of 个.
    assert checks("自贡2024年城镇居民收入增长几个百分点？", "城镇居民人均可支配收入增长5.4%，")["unit"]


def test_a_count_asked_with_another_measure_word_or_noun_is_given() -> None:
    from qa import asked
    from qa.choosing import Window

    def checks(question: str, clause: str) -> dict[str, bool]:
        passage = Passage("c1", "001.txt", "t", 2017, "work_report", "2017年政府工作报告 › 一、2016年工作回顾", clause, 1, 2, 1.0)
        window = Window(passage=0, text=clause, covered=frozenset(), score=1.0, sentence=clause)
        return asked.checks(understand(question), [passage], [window])

    # People and reports count things with different measure words: 座 and 个, 家 and 户.
    assert checks("2016年自贡关停了几座煤矿？", "8个煤矿实现关闭。")["unit"]
    assert checks("2016年自贡帮多少家停工的企业复产？", "促进莱美特镁业等25户停产半停产企业实现复产，")["unit"]
    # A unit that measures is not a measure word: 亩 is not 个.
    assert not checks("2017年自贡新种多少亩林子？", "新增限上服务业企业30户。")["unit"]
    # What is counted is the head of its phrase, after its modifiers, or a noun with the same head.
    assert checks("今年自贡准备新认定几所收费便宜的普惠幼儿园？", "新认定普惠性幼儿园9所，")["counted"]
    assert checks("疫情那年自贡一共卖出栏了多少头肥猪？", "生猪出栏178.2万头，")["counted"]
    # ... but 学校 is no 大学.
    assert not checks("自贡市有多少所大学？", "新（改扩）建学校、幼儿园50所，")["counted"]


@pytest.mark.parametrize(
    ("question", "items"),
    [
        # The announcing sentence ends one passage; "二是…" to "六是…" begin the passages after it.
        ("“十四五”规划纲要草案要求推动实现的六个新突破分别是什么？", ("一是", "二是", "四是", "六是")),
        # "…五个方面推动发展突破：" is its passage's last sentence; the items are sub-section headings.
        ("2017年政府工作报告说今后五年要在哪五个方面推动发展突破？", ("（一）大力推进产业现代化", "（五）大力推进服务均等化")),
    ],
)
def test_a_list_that_runs_on_past_its_passage_is_quoted_with_its_items_each_cited(
    opened_index: Any, question: str, items: tuple[str, ...]
) -> None:
    answer = _ask(opened_index, question)
    assert answer.found and all(item in answer.text for item in items), answer.text
    assert len(answer.citations) >= 3 and "[3]" in answer.text
