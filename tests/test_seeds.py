"""The five bundled reports, ingested: metadata, cleanliness, structure and exact provenance."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.conftest import SEEDS, eval_questions
from vectorstore import Chunk, Corpus
from vectorstore.chunking import MAX_CHUNK, SECTION_SEP, join_lines
from vectorstore.cleaning import clean_line, despin

W = re.compile(r"\s+")


def squeeze(text: str) -> str:
    return W.sub("", text)


def report_chunks(corpus: Corpus, prefix: str) -> list[Chunk]:
    return [c for c in corpus.chunks() if c.source.startswith(prefix)]


@pytest.mark.parametrize(
    ("prefix", "year", "kind", "date", "primary"),
    [
        ("000", 2025, "work_report", "2025-02-20", True),
        ("001", 2021, "work_report", "2021-02-05", True),
        ("002", 2017, "work_report", None, True),
        ("003", 2024, "plan_report", "2024-02-29", True),
        ("004", 2026, "news", "2026-01-02", False),
    ],
)
def test_metadata_is_read_from_the_text(
    corpus: Corpus, prefix: str, year: int, kind: str, date: str | None, primary: bool
) -> None:
    (report,) = [r for r in corpus.reports if r.source.startswith(prefix)]
    assert (report.meta.year, report.meta.kind, report.meta.date, report.meta.primary) == (year, kind, date, primary)
    assert report.meta.title


def test_the_2017_report_says_its_date_is_not_in_the_text(corpus: Corpus) -> None:
    (report,) = [r for r in corpus.reports if r.source.startswith("002")]
    basis = dict(report.meta.basis)
    assert basis["date"] == "not stated in the text"
    assert "2016年工作总结" in basis["year"]


def test_damage_is_detected_in_the_files_that_have_it_and_no_others(corpus: Corpus) -> None:
    profiles = {r.source[:3]: r.profile for r in corpus.reports}
    assert [k for k, p in profiles.items() if p.web_page] == ["000"]
    assert [k for k, p in profiles.items() if p.translate_widget] == ["000"]
    assert [k for k, p in profiles.items() if p.rewritten] == ["004"]


def test_every_seed_is_ingested_and_nothing_skipped(corpus: Corpus) -> None:
    assert len(corpus.reports) == 5 and not corpus.skipped and not corpus.warnings


def test_no_chunk_carries_web_chrome_stray_yi_or_footnote_markers(corpus: Corpus) -> None:
    for chunk in corpus.chunks():
        for bad in ("](", "ICP备", "网站标识码", "公网安备", "扫一扫", "浏览量", "输入搜索关键词"):
            assert bad not in chunk.text, (chunk.id, bad)
        assert not re.search(r"\^?\[\d{1,2}\]", chunk.text), chunk.id
        if chunk.source.startswith("000"):
            assert "译" not in chunk.text, chunk.id


def test_the_rewritten_article_reads_in_original_wording(corpus: Corpus) -> None:
    chunks = report_chunks(corpus, "004")
    text = "".join(c.text for c in chunks)
    raw = (SEEDS / "004_5674408eb07718c4.txt").read_text(encoding="utf-8")
    for spun, original in (("扶植", "建设"), ("成长", "发展"), ("平易近", "民")):
        assert spun in raw and spun not in text and original in text
    assert "4.02个" in text and "4。02" not in text
    assert all(c.original_text for c in chunks), "the raw wording stays available"
    assert "扶植" in "".join(c.original_text or "" for c in chunks)


def test_answers_resting_on_the_article_can_tell_it_is_secondary(corpus: Corpus) -> None:
    (report,) = [r for r in corpus.reports if r.source.startswith("004")]
    assert report.meta.kind == "news" and report.meta.primary is False


def test_the_eightfold_2017_report_is_one_report_without_repeated_text(corpus: Corpus) -> None:
    chunks = report_chunks(corpus, "002")
    texts = [c.text for c in chunks]
    assert len(texts) == len(set(texts))
    assert max(c.line_end for c in chunks) <= 88, "everything comes from the first copy"
    assert sum("刘永湘" in c.text for c in chunks) == 0, "the repeated title blocks are gone"


def test_no_two_chunks_share_a_text_or_an_id(corpus: Corpus) -> None:
    chunks = corpus.chunks()
    assert len({c.id for c in chunks}) == len(chunks)
    assert len({c.text for c in chunks}) == len(chunks)


def test_chunks_are_sized_and_ids_are_stable(corpus: Corpus) -> None:
    from vectorstore import load

    chunks = corpus.chunks()
    assert all(0 < len(c.text) <= MAX_CHUNK for c in chunks)
    assert [c.id for c in load(SEEDS).chunks()] == [c.id for c in chunks]


def test_every_chunk_text_lies_in_the_raw_lines_it_cites(corpus: Corpus) -> None:
    for report in corpus.reports:
        for chunk in report.chunks():
            span = join_lines([t for t in report.clean_span(chunk.line_start, chunk.line_end) if t])
            if report.profile.rewritten:
                span = despin(span)[0]
            assert squeeze(chunk.text) in squeeze(span), (chunk.source, chunk.line_start, chunk.line_end)
            # The span is tight: its first and last lines contribute to the chunk.
            first, last = (report.clean_span(n, n)[0] for n in (chunk.line_start, chunk.line_end))
            assert first and last


@pytest.mark.parametrize("question", eval_questions(), ids=lambda q: q["id"])
def test_every_evidence_quote_sits_in_a_chunk_spanning_its_raw_line(corpus: Corpus, question: dict) -> None:
    for evidence in question["evidence"]:
        (report,) = [r for r in corpus.reports if r.source == evidence["file"]]
        quote = evidence["quote"]
        numbers = [i + 1 for i, line in enumerate(report.raw_lines) if quote in line]
        assert numbers, f"quote not in raw file: {quote}"
        cleaned = join_lines([t for t in (report.clean_span(numbers[0], numbers[0])) if t])
        # The quote cut out of its cleaned line: clean the quote by the same rules.
        clean_quote = squeeze(clean_line(quote, report.profile).text)
        if report.profile.rewritten:
            clean_quote = squeeze(despin(clean_quote)[0])
            cleaned = despin(cleaned)[0]
        assert clean_quote in squeeze(cleaned)
        holders = [
            c
            for c in report.chunks()
            if c.line_start <= numbers[0] <= c.line_end and clean_quote in squeeze(c.text)
        ]
        assert holders, f"{question['id']}: no chunk holds {clean_quote!r} at line {numbers[0]}"


@pytest.mark.parametrize(("prefix", "count", "heading"), [("000", 28, "名词注解"), ("001", 26, "相关用语注释")])
def test_glossary_terms_are_chunks_linked_to_their_markers(
    corpus: Corpus, prefix: str, count: int, heading: str
) -> None:
    chunks = report_chunks(corpus, prefix)
    terms = [c for c in chunks if c.term is not None]
    assert [c.note for c in terms] == list(range(1, count + 1))
    assert all(c.section_path[1] == heading and c.text.startswith(c.term or "?") for c in terms)
    cited = Counter(n for c in chunks if c.term is None for n in c.footnotes)
    assert set(cited) == set(range(1, count + 1)), "every term is cited by a marker in the text"
    for term in terms:
        citing = [c for c in chunks if term.note in c.footnotes]
        core = re.sub(r"[“”\s]", "", term.term or "")[:2]
        assert any(core in re.sub(r"[“”\s]", "", c.text) for c in citing), term.term


def test_numbered_glossary_terms_that_start_with_digits_keep_them(corpus: Corpus) -> None:
    terms = {c.note: c.term for c in report_chunks(corpus, "000") if c.term}
    assert terms[3] == "5G—A技术"
    assert terms[8] is not None and terms[8].startswith("4大片区中心水厂")
    assert terms[20] == "4大类15个细分领域"


@pytest.mark.parametrize(
    "path",
    [
        "2025年政府工作报告 › 2024年工作回顾 › （一）巩固增强经济回升向好态势",
        "2025年政府工作报告 › 2025年工作安排建议 › （七）全力防范化解风险，以高水平安全保障高质量发展",
        "2025年政府工作报告 › 加强政府自身建设",
        "2021年政府工作报告 › 一、2020年工作回顾及“十三五”主要成就",
        "2021年政府工作报告 › 三、2021年主要工作安排 › 第一，坚持“外防输入、内防反弹”，慎终如始抓好常态化疫情精准防控",
        "2017年政府工作报告 › 今后五年工作总体要求和主要任务 › （一）大力推进产业现代化，打造结构合理、优势明显的产业体系",
        "2017年政府工作报告 › 2017年工作安排 › 七、着力转作风提效能，建设人民满意政府",
        "2024年国民经济和社会发展计划报告 › （三）深化融合发展，促进城乡共同繁荣",
    ],
)
def test_sections_follow_the_reports_headings(corpus: Corpus, path: str) -> None:
    assert path.split(" › ") == path.split(SECTION_SEP)
    assert any(c.section == path for c in corpus.chunks())


@pytest.mark.parametrize(
    ("opening", "section"),
    [
        ("各位代表，经过全市上下一年来的艰苦努力", "2017年政府工作报告 › 2016年工作总结及本届政府工作回顾"),
        ("各位代表！志不求易者成", "2025年政府工作报告 › 2024年工作回顾"),
        ("各位代表！新阶段新征程", "2021年政府工作报告 › 三、2021年主要工作安排"),
    ],
)
def test_addressing_the_delegates_closes_the_numbered_item(corpus: Corpus, opening: str, section: str) -> None:
    (chunk,) = [c for c in corpus.chunks() if opening in c.text]
    assert chunk.section == section


def test_sentences_cut_by_page_breaks_and_hard_wraps_are_rejoined(corpus: Corpus) -> None:
    text = "".join(c.text for c in corpus.chunks())
    assert "西部科学城自贡科创园" in text  # 000: a page break cut the word
    assert "全年地区生产总值增长3.9%、高于全省0.1个百分点" in text  # 001: hard wraps and spaces
    assert "国家文化出口基地“一总部多园区”格局初步形成" in text  # 001: a marker alone on a line
