"""The evaluation harness: where quotes are in the raw files, how facts are matched, and the scores."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa.evaluation import evaluate, load_questions, normalize_fact, quote_lines
from tests.conftest import FIXTURES, SEEDS
from vectorstore import ZgqaError


@dataclass(frozen=True)
class _Hit:
    source: str
    line_start: int
    line_end: int


@dataclass(frozen=True)
class _Answer:
    text: str
    found: bool
    citations: tuple[_Hit, ...]


def test_a_quote_is_located_without_whitespace_and_across_line_breaks() -> None:
    lines = ["全市地区生产总值", "", "实现 1458.44 亿元，", "年均增长 7.3%"]
    assert quote_lines(lines, "实现1458.44亿元") == {3}
    assert quote_lines(lines, "生产总值实现 1458.44") == {1, 3}
    assert quote_lines(lines + lines, "年均增长7.3%") == {4, 8}  # a repeated report: every copy counts
    assert quote_lines(lines, "不在这里") == set()


def test_facts_are_read_as_the_question_file_says() -> None:
    assert normalize_fact("18。2万人") == normalize_fact("18.2 万人") == "18.2万人"
    assert normalize_fact("一年来。主要") == "一年来。主要"  # a full stop between words stays one


def test_every_development_question_locates_its_evidence() -> None:
    questions = load_questions(FIXTURES / "eval_qa_dev.jsonl", SEEDS)
    assert len(questions) == 36
    assert all(q.evidence for q in questions if q.answerable)
    assert all(lines for q in questions for _, lines in q.evidence)


def test_scores_follow_their_definitions(tmp_path: Path) -> None:
    source = "000_9a0a210a4c556ec2.txt"
    rows = [
        {"id": "a", "question": "qa", "type": "fact", "answer_facts": ["35亿元"],
         "evidence": [{"file": source, "quote": "落实减税降费及退税缓费35亿元"}]},
        {"id": "b", "question": "qb", "type": "fact", "answer_facts": ["10.6%", "9.3%"],
         "evidence": [{"file": source, "quote": "市属国企营收增长10.6%、资产总额增长9.3%"}]},
        {"id": "c", "question": "qc", "type": "unanswerable", "answer_facts": [], "evidence": []},
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    questions = load_questions(path, SEEDS)
    [a_line] = questions[0].evidence[0][1]
    [b_line] = questions[1].evidence[0][1]
    on_a, on_b, off = _Hit(source, a_line, a_line), _Hit(source, b_line - 1, b_line), _Hit(source, 1, 2)
    ranked = {"qa": [off, off, on_a], "qb": [on_b], "qc": [off]}
    answers = {
        "qa": _Answer("落实…35 亿元。[1]", True, (on_a,)),
        "qb": _Answer("营收增长10.6%。[1]", True, (off,)),  # one fact of two, citing the wrong lines
        "qc": _Answer("报告中未找到相关内容。", False, ()),
    }
    summary = evaluate(questions, lambda q: ranked[q], lambda q: answers[q]).summary()
    assert (summary["hit@1"], summary["hit@3"], summary["hit@5"]) == (0.5, 1.0, 1.0)
    assert summary["mrr"] == pytest.approx((1 / 3 + 1) / 2)
    assert summary["fact_recall"] == 0.5 and summary["citation_hit"] == 0.5
    assert summary["refusal_accuracy"] == 1.0 and summary["false_refusals"] == 0
    assert summary["by_type"]["fact"]["n"] == 2 and summary["by_type"]["unanswerable"]["refused"] == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not a question in the eval format"),
        ('{"id": "x", "question": "q", "evidence": [{"file": "nope.txt", "quote": "q"}]}', "nope.txt is not in"),
        ('{"id": "x", "question": "q", "evidence": [{"file": "000_9a0a210a4c556ec2.txt", "quote": "无此句子"}]}',
         "is not in 000_"),
        ('{"id": "x", "question": "  ", "answer_facts": ["7.1%"]}', "the question is empty"),
        ('{"id": "x", "question": "q", "evidence": [{"file": "/etc/hostname", "quote": "a"}]}', "/etc/hostname is not in"),
        ('{"id": "x", "question": "q", "evidence": [{"file": "../README.md", "quote": "zgqa"}]}', "README.md is not in"),
    ],
)
def test_a_bad_question_file_names_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ZgqaError, match=message) as info:
        load_questions(path, SEEDS)
    assert f"{path}:1" in str(info.value)


def test_a_missing_question_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ZgqaError, match="Cannot read the question file"):
        load_questions(tmp_path / "missing.jsonl", SEEDS)


def test_a_question_file_not_in_utf8_names_the_line_and_a_gbk_report_is_read_as_the_build_reads_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes('{"id": "a", "question": "q"}\n{"id": "b", "question": "地区生产总值"}\n'.encode("gbk"))
    with pytest.raises(ZgqaError, match=r"bad.jsonl:2: not UTF-8 .*save the question file as UTF-8"):
        load_questions(path, SEEDS)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    name = "000_9a0a210a4c556ec2.txt"
    (seeds / name).write_bytes((SEEDS / name).read_text(encoding="utf-8").encode("gb18030"))
    path.write_text(json.dumps({"id": "a", "question": "q", "evidence": [{"file": name, "quote": "全市地区生产总值增长7.1%"}]},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    [question] = load_questions(path, seeds)
    assert question.evidence and question.evidence[0][0] == name
