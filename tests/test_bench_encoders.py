"""The encoder comparison of `zgqa bench qa` and `zgqa bench app`: each child measured on its own, and
the table's ratios and verdicts (the benchmarks themselves take minutes and are not run here)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from benchmarks.encoders import Row, encoder_list, missed, numbers, run, table


def test_a_child_runs_with_its_encoder_and_its_own_peak_memory() -> None:
    big = ("import os, sys, time; b = bytearray(150 << 20); time.sleep(0.3); "
           "sys.exit(0 if os.environ['ZGQA_QUERY_ENCODER'] == 'torch' else 3)")
    done = run([sys.executable, "-c", big], "torch")
    assert done.returncode == 0 and done.peak_rss_mb >= 150 and done.seconds > 0
    # The next child's peak is its own, not the largest of every child waited for so far.
    small = run([sys.executable, "-c", "import sys; sys.stderr.write('no'); sys.exit(2)"], "onnx")
    assert small.returncode == 2 and small.peak_rss_mb < 100 and small.stderr == "no"


def test_a_script_run_by_its_shebang_line_has_its_peak_memory_read(tmp_path: Path) -> None:
    # As `zgqa` is: the kernel runs `python3 /path/zgqa ask …`, the command `zgqa ask …`.
    script = tmp_path / "script"
    script.write_text(f"#!{sys.executable}\nimport time; b = bytearray(150 << 20); time.sleep(0.3)\n")
    script.chmod(0o755)
    done = run([str(script), "ask"], "onnx")
    assert done.returncode == 0 and done.peak_rss_mb >= 150


def test_the_table_gives_ratios_to_torch_and_judges_the_default_encoder() -> None:
    rows = [
        Row("s", "one-shot (s)", {"onnx": 2.0, "torch": 8.0}, target=2.5),
        Row("mb", "RSS (MB)", {"onnx": 700.0, "torch": 1000.0}, "{:.0f}", target=600),
        Row("rps", "throughput", {"onnx": 30.0, "torch": 12.0}, "{:.1f}", target=2.0, floor=True, on_ratio=True),
        Row("torch", "torch imported", {"onnx": "no", "torch": "yes"}),
    ]
    text = table(rows, ["onnx", "torch"])
    assert "onnx/torch" in text and "0.25x" in text and "2.50x" in text
    assert "<= 2.5 ok" in text and "<= 600 MISSED" in text and ">= 2x torch ok" in text
    assert missed(rows) == ["RSS (MB)"]
    got = numbers(rows, ["onnx", "torch"])
    assert got["onnx"]["torch"] == "no" and got["onnx/torch"] == {"s": 0.25, "mb": 0.7, "rps": 2.5}
    # Without torch measured there is no ratio to print, and a ratio target is not judged.
    assert "/torch" not in table(rows, ["onnx"]) and missed([rows[2]]) == []


def test_encoders_are_named_from_the_setting_s_choices() -> None:
    assert encoder_list("onnx, torch,onnx") == ("onnx", "torch")
    with pytest.raises(argparse.ArgumentTypeError):
        encoder_list("onnx,cuda")
