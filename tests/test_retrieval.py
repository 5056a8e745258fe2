"""Hybrid retrieval over the bundled reports (real BM25, fake dense model): ranking, filters,
comparisons, glossary entries, and the LangChain retriever around it."""

from __future__ import annotations

from typing import Any

import pytest

from qa.question import understand
from qa.retrieval import HybridRetriever, from_document
from vectorstore import ZgqaError
from vectorstore.figures import years_about


def test_k_passages_best_first_with_their_provenance(opened_index: Any) -> None:
    passages = opened_index.search(understand("2024年自贡落实减税降费及退税缓费一共多少钱？"), k=4)
    assert len(passages) == 4
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    best = passages[0]
    assert "减税降费" in best.text
    assert best.source.startswith("000_") and best.year == 2025 and best.kind == "work_report"
    assert best.section.startswith("2025年政府工作报告 › 2024年工作回顾")
    assert 1 <= best.line_start <= best.line_end


def test_the_year_asked_about_selects_the_report_that_reviews_it(opened_index: Any) -> None:
    # 城镇新增就业 is in every report; "2016年" means the 2017 report's review.
    best = opened_index.search(understand("2016年自贡城镇新增就业多少人？"), k=3)[0]
    assert best.year == 2017
    assert "就业" in best.text


def test_a_target_question_reaches_the_plan_part(opened_index: Any) -> None:
    passages = opened_index.search(understand("2025年自贡地方一般公共预算收入计划增长多少？"), k=3)
    assert any(p.section.startswith("2025年政府工作报告 › 2025年工作安排建议") for p in passages)


def test_filters_exclude_every_other_report(opened_index: Any) -> None:
    from vectorstore.figures import years_about

    query = understand("地区生产总值增长多少")
    about = [years_about(p.kind, p.section, p.year, p.text, p.term) for p in opened_index.search(query, k=5, year=2021)]
    assert about and all(first <= 2021 <= last for first, last in about)  # what the figures are about
    source = "003_80c5026a2abaecef.txt"
    assert {p.source for p in opened_index.search(query, k=5, source=source)} == {source}


def test_a_filter_matching_nothing_says_what_there_is(opened_index: Any) -> None:
    with pytest.raises(ZgqaError, match=r"No report passage about 2030: the reports speak of 2012–2025"):
        opened_index.search(understand("地区生产总值"), year=2030)
    with pytest.raises(ZgqaError, match="k must be at least 1"):
        opened_index.search(understand("地区生产总值"), k=0)


def test_a_comparison_brings_a_passage_for_every_year(opened_index: Any) -> None:
    passages = opened_index.search(understand("自贡规模以上工业增加值增速2020年和2024年分别是多少？"), k=4)
    years = {p.year for p in passages}
    assert {2021, 2025} <= years  # the reports reviewing 2020 and 2024


def test_a_definition_question_finds_the_glossary_entry(opened_index: Any) -> None:
    best = opened_index.search(understand("煤电机组“三改联动”是什么？"), k=3)[0]
    assert best.term == "“三改联动”"


def test_no_two_passages_say_the_same_thing(opened_index: Any) -> None:
    from qa.retrieval import NEAR_DUPLICATE, _overlap

    passages = opened_index.search(understand("过去五年地区生产总值年均增长"), k=10)
    grams = [opened_index.records_by_chunk[p.id].bigrams for p in passages]
    for i, a in enumerate(grams):
        for b in grams[i + 1 :]:
            assert _overlap(a, b) < NEAR_DUPLICATE


def test_the_langchain_retriever_returns_documents_carrying_passages(opened_index: Any) -> None:
    retriever = HybridRetriever(index=opened_index, k=2, year=2025)
    docs = retriever.invoke("2024年“盐龙灯”精品景区接待游客多少")
    assert len(docs) == 2
    passages = [from_document(d) for d in docs]
    assert all(years_about(p.kind, p.section, p.year, p.text, p.term)[1] >= 2025 for p in passages)
    assert docs[0].page_content == passages[0].text
