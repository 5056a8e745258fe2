"""Reading folders: encodings, bad files, duplicates, the manifest, and the `zgqa` commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.cli import main
from tests.conftest import SEEDS
from vectorstore import ManifestError, SeedsError, load

REPORT = "003_80c5026a2abaecef.txt"


def folder_with(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "seeds"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(SEEDS / name, folder / name)
    return folder


def chunk_view(folder: Path) -> list[tuple[str, str, int, int, str]]:
    return [(c.source, c.section, c.line_start, c.line_end, c.text) for c in load(folder).chunks()]


@pytest.mark.parametrize(
    ("encoding", "newline"), [("gbk", "\n"), ("gb18030", "\n"), ("utf-8-sig", "\n"), ("utf-16", "\n"), ("utf-8", "\r\n")]
)
def test_a_report_in_another_encoding_gives_the_same_chunks(tmp_path: Path, encoding: str, newline: str) -> None:
    utf8 = folder_with(tmp_path / "a", "000_9a0a210a4c556ec2.txt")
    other = tmp_path / "b"
    other.mkdir()
    text = (SEEDS / "000_9a0a210a4c556ec2.txt").read_text(encoding="utf-8")
    (other / "000_9a0a210a4c556ec2.txt").write_bytes(text.replace("\n", newline).encode(encoding))
    assert chunk_view(other) == chunk_view(utf8)


def test_a_report_pasted_together_from_utf8_and_gbk_is_read_whole_not_called_binary(tmp_path: Path) -> None:
    utf8 = folder_with(tmp_path / "a", "000_9a0a210a4c556ec2.txt")
    mixed = tmp_path / "b"
    mixed.mkdir()
    lines = (SEEDS / "000_9a0a210a4c556ec2.txt").read_text(encoding="utf-8").split("\n")
    half = len(lines) // 2
    data = "\n".join(lines[:half]).encode("utf-8") + b"\n" + "\n".join(lines[half:]).encode("gbk")
    (mixed / "000_9a0a210a4c556ec2.txt").write_bytes(data)
    corpus = load(mixed)
    assert not corpus.skipped and [r.encoding for r in corpus.reports] == ["utf-8 + gb18030"]
    assert chunk_view(mixed) == chunk_view(utf8)


def test_empty_and_binary_files_are_reported_and_the_rest_ingested(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, REPORT)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text("\n  \n", encoding="utf-8")
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    corpus = load(folder)
    assert [r.source for r in corpus.reports] == [REPORT]
    reasons = {s.source: s.reason for s in corpus.skipped}
    assert set(reasons) == {"empty.txt", "blank.txt", "image.txt"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["image.txt"]


def test_files_of_other_formats_are_reported_with_what_to_do_and_the_rest_ingested(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, REPORT)
    (folder / "budget.xlsx").write_bytes(b"PK\x03\x04")
    (folder / "2016 report.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / ".DS_Store").write_bytes(b"\x00\x00")
    (folder / "manifest.json").write_text("{}", encoding="utf-8")
    corpus = load(folder)
    assert [r.source for r in corpus.reports] == [REPORT]
    assert [s.source for s in corpus.skipped] == ["2016 report.doc", "budget.xlsx"]
    assert all("save it as .docx, .pdf or .txt" in s.reason for s in corpus.skipped)


def test_a_report_that_vanishes_while_the_folder_is_read_is_reported_and_the_rest_ingested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vectorstore import reading

    folder = folder_with(tmp_path, REPORT, "000_9a0a210a4c556ec2.txt")
    listed = reading.discover(folder)
    (folder / "000_9a0a210a4c556ec2.txt").unlink()  # gone after the folder was listed, before it is read
    monkeypatch.setattr(reading, "discover", lambda _: listed)
    corpus = load(folder)
    assert [r.source for r in corpus.reports] == [REPORT]
    assert [(s.source, s.reason) for s in corpus.skipped] == [
        ("000_9a0a210a4c556ec2.txt", "cannot be read: No such file or directory")
    ]


def test_a_report_present_under_two_names_is_ingested_once_with_a_warning(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, REPORT)
    text = (SEEDS / REPORT).read_text(encoding="utf-8")
    (folder / "copy_of_plan.txt").write_bytes(text.encode("gbk"))
    corpus = load(folder)
    assert [r.source for r in corpus.reports] == [REPORT]
    assert corpus.reports[0].duplicates == ("copy_of_plan.txt",)
    assert len(corpus.warnings) == 1 and REPORT in corpus.warnings[0] and "copy_of_plan.txt" in corpus.warnings[0]
    assert len({c.text for c in corpus.chunks()}) == len(corpus.chunks())


def test_a_folder_without_reports_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SeedsError, match="No reports folder"):
        load(tmp_path / "missing")
    (tmp_path / "only_empty").mkdir()
    (tmp_path / "only_empty" / "a.txt").write_bytes(b"")
    with pytest.raises(SeedsError, match="No usable report"):
        load(tmp_path / "only_empty")


def test_the_manifest_overrides_fields_and_says_so(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "002_1cab8fd74a5b0016.txt")
    (folder / "manifest.json").write_text(
        json.dumps({"002_1cab8fd74a5b0016.txt": {"date": "2017-01-10", "title": "2017年自贡市政府工作报告"}}),
        encoding="utf-8",
    )
    (report,) = load(folder).reports
    assert (report.meta.date, report.meta.title, report.meta.year) == ("2017-01-10", "2017年自贡市政府工作报告", 2017)
    assert dict(report.meta.basis)["date"] == "manifest"


def test_a_bad_manifest_names_the_problem(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, REPORT)
    (folder / "manifest.json").write_text('{"003.txt": {"colour": "red"}}', encoding="utf-8")
    with pytest.raises(ManifestError, match="colour"):
        load(folder)


def test_a_wrapped_pdf_style_report_is_parsed_into_sections(tmp_path: Path) -> None:
    folder = tmp_path / "pdf"
    folder.mkdir()
    lines = [
        "2021年某市政府工作报告",
        "2021 年 2月 5 日",
        "各位代表：",
        "一、2020 年工作回顾",
        "全年地区生产总值增长 3.9%、高于全省 0.1 个百分点，规模",
        "以上工业增加值增长 5.1%。",
        "第一，坚持“外防输入、内防反弹”，慎终如始抓好常态化疫情",
        "精准防控",
        "织密织牢防控网络。压紧压实属地、部门、单位和个人“四方责任”[3]。",
        "24",
        "相关用语注释",
        "1.六稳：指稳就业、稳金融、稳外贸、稳外资、稳投资、稳预",
        "期。",
    ]
    (folder / "r.txt").write_text("\n\n".join(lines), encoding="utf-8")
    chunks = load(folder).chunks()
    by_section = {c.section: c for c in chunks}
    review = by_section["2021年政府工作报告 › 一、2020年工作回顾"]
    assert review.text == "全年地区生产总值增长3.9%、高于全省0.1个百分点，规模以上工业增加值增长5.1%。"
    assert (review.line_start, review.line_end) == (9, 11)
    task = by_section["2021年政府工作报告 › 一、2020年工作回顾 › 第一，坚持“外防输入、内防反弹”，慎终如始抓好常态化疫情精准防控"]
    assert task.footnotes == (3,) and "[3]" not in task.text
    term = by_section["2021年政府工作报告 › 相关用语注释 › 1. 六稳"]
    assert (term.term, term.note, term.line_start, term.line_end) == ("六稳", 1, 23, 25)


def test_an_overlong_sentence_is_cut_at_clauses_to_fit_the_model_window(tmp_path: Path) -> None:
    from vectorstore.chunking import MAX_CHUNK

    folder = tmp_path / "long"
    folder.mkdir()
    sentence = "".join(f"推进第{i}批重点项目建设，完成投资{i}.5亿元；" for i in range(60)) + "全面完成任务。"
    (folder / "r.txt").write_text(f"2021年某市政府工作报告\n各位代表：\n{sentence}\n", encoding="utf-8")
    chunks = load(folder).chunks()
    assert len(chunks) > 1 and all(len(c.text) <= MAX_CHUNK for c in chunks)
    assert all(c.text.endswith(("；", "。")) for c in chunks), "cuts fall at clause ends"
    assert "".join(c.text for c in chunks) == sentence


def test_zgqa_reports_and_chunks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reports", "--seeds", str(SEEDS)]) == 0
    out = capsys.readouterr().out
    assert "2025-02-20" in out and "no date in text" in out and "secondary" in out
    assert main(["chunks", "--json", "--seeds", str(SEEDS)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == len(load(SEEDS).chunks())
    assert {"id", "source", "title", "year", "kind", "section", "text", "line_start", "line_end"} <= set(rows[0])


def test_zgqa_reports_a_missing_folder_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chunks", "--seeds", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("zgqa: No reports folder") and "Traceback" not in err


def test_zgqa_reads_the_folder_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ZGQA_SEEDS", str(folder_with(tmp_path, REPORT)))
    assert main(["reports"]) == 0
    assert capsys.readouterr().out.startswith(REPORT)
