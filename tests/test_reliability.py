"""`zgqa bench reliability`: the command that tries every bad input, format, fault and hostile request
for real and prints the README's table of what happened."""

from __future__ import annotations

import pytest

from benchmarks.reliability import AREAS, Row, table
from qa.cli import main
from vectorstore.config import Settings


def test_a_table_cell_stays_one_line_and_shows_what_cannot_be_printed() -> None:
    row = Row("questions", "control characters: '\x00\x1b'", "a | b\nc", ok=False)
    assert table([row]).splitlines()[-1] == "| questions | control characters: '\\x00\\x1b' | a \\| b c | **no** |"


def test_an_unknown_area_is_refused_with_the_areas_there_are(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["bench", "reliability", "--only", "questions,weather"])
    assert stop.value.code == 2
    assert f"unknown area weather: choose from {', '.join(AREAS)}" in capsys.readouterr().err


# What the README says of each area's rows, word for word.
SAID = {
    "questions": ["(listener contacted: no)"],
    "reports": ["skipped: PDF without a text layer"],
    "formats": ["cited as `vehicles.pdf: page 1, line 7 – page 2, line 1`"],
    "faults": [
        "killed mid-build, leaving 1 unfinished copy; the index answers exactly as before",
        "the next build swept the copy and wrote 276 chunks, answering the same",
    ],
    "security": ["HTTP 413 / HTTP 413", "HTTP 404"],
    "hardening": ["0 answer chains cached for them", "next question, no restart"],
}


def test_every_area_has_what_the_readme_says_of_it() -> None:
    assert set(SAID) == set(AREAS)


# One test per area, each with `--only`: the areas share nothing but the bundled index, which each run
# builds into its own temporary folder, so they can run side by side (pytest -n).
@pytest.mark.model
@pytest.mark.server
@pytest.mark.parametrize("area", AREAS)
def test_every_scenario_is_tried_and_behaves_as_the_readme_says(
    real_index: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], area: str
) -> None:
    monkeypatch.setenv("ZGQA_CACHE", str(real_index.cache))
    monkeypatch.setenv("ZGQA_INDEX", str(real_index.index))  # its embedding cache: the reports are not embedded again
    assert main(["bench", "reliability", "--only", area]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| area")]
    assert rows and {row.split(" | ")[0][2:] for row in rows} == {area}
    assert all(row.endswith("| yes |") for row in rows), [r for r in rows if not r.endswith("| yes |")]
    for said in SAID[area]:
        assert said in out
    assert out.rstrip().endswith(f"{len(rows)} of {len(rows)} rows as expected.")
