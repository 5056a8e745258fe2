"""Comparing the query encoders (`ZGQA_QUERY_ENCODER`) in one benchmark run, each in processes of its own.

A process that has imported torch once is no torch-free measurement, and its memory keeps what torch
mapped; so `zgqa bench qa` and `zgqa bench app` never switch encoders inside one process: every
measurement of an encoder runs in a child started with `ZGQA_QUERY_ENCODER` set (and every other
setting of the caller's environment kept). A child's wall time is taken from its start to its exit
and its peak memory from the child's own image while it runs (`/proc/<pid>/status` VmHWM). The table prints
every encoder beside the baseline, torch (the path before the ONNX export), with their ratios, and
judges the default encoder against the targets of issue #17.

Leaves out: what is measured inside a child (`benchmarks/qa.py`, `benchmarks/app.py`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from vectorstore.config import DEFAULT_QUERY_ENCODER, QUERY_ENCODERS

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "torch"  # what questions were embedded with before the ONNX export
JUDGED = DEFAULT_QUERY_ENCODER  # the encoder the targets are about: what users get
TORCH_MODULES = ("torch", "transformers", "sentence_transformers")

Value = float | str | None


def encoder_list(text: str) -> tuple[str, ...]:
    """`--encoders onnx,torch`: known names, each once, in the order given."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in QUERY_ENCODERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"encoders are a comma-separated list of {', '.join(QUERY_ENCODERS)}, not {text!r}"
        )
    return names


def environment(encoder: str) -> dict[str, str]:
    """This process's environment with `ZGQA_QUERY_ENCODER` set to `encoder`."""
    return {**os.environ, "ZGQA_QUERY_ENCODER": encoder}


def torch_loaded() -> list[str]:
    """Which of torch, transformers and sentence-transformers this process has imported."""
    return [m for m in TORCH_MODULES if m in sys.modules]


@dataclass(frozen=True)
class Finished:
    """A child process run to its end: its wall time, its own peak RSS, its exit status and error output."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    stderr: str


POLL_SECONDS = 0.01  # how often a child's peak memory is read while it runs


def run(command: Sequence[str], encoder: str, *, quiet: bool = True) -> Finished:
    """Run `command` with `ZGQA_QUERY_ENCODER=encoder` in the project folder, timed from start to exit.

    `quiet` discards its output (its error output is kept for a failure's message); otherwise both
    go to this process's own, so a child's progress bars show."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(command), cwd=ROOT, env=environment(encoder), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if quiet else None, stderr=err if quiet else None,
        )
        # subtle: the kernel's own accounts of a child's peak (wait4's ru_maxrss, RUSAGE_CHILDREN)
        # keep the peak of the image it replaced at exec, this process's copy: under pytest, 3.8 GB
        # for a child of 10 MB. The peak of the child's own image (VmHWM) is read while it runs.
        peak = 0.0
        while True:
            done, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if done:
                break
            peak = max(peak, _own_peak_mb(proc.pid, command))
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        err.seek(0)
        text = err.read().decode(errors="replace")
    return Finished(seconds, peak, proc.returncode, text)


def _own_peak_mb(pid: int, command: Sequence[str]) -> float:
    """The peak resident memory of `pid` once it runs `command` (0 before its exec, or once gone)."""
    try:
        # subtle: a script run by its shebang line (`zgqa`) shows as `python3 /path/zgqa ask …`.
        running = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        if running[-len(command) :] != [os.fsencode(c) for c in command]:
            return 0.0
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "")
    return int(line.split()[1]) / 1024 if line else 0.0  # in kB


def zgqa_command() -> list[str]:
    """The `zgqa` command of this environment, as a user runs it from a shell."""
    exe = Path(sys.executable).with_name("zgqa")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "import sys, qa.cli; sys.exit(qa.cli.main())"]


def process_memory_mb(pid: int) -> dict[str, float]:
    """A live process's resident memory now (`rss`) and at its peak so far (`peak`), from /proc."""
    fields = {"VmRSS": "rss", "VmHWM": "peak"}
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in fields:
                out[fields[name]] = int(value.split()[0]) / 1024  # kB
    return out


@dataclass(frozen=True)
class Row:
    """One measure across the encoders. `target` bounds the judged encoder's value (a ceiling, or a
    floor when `floor`), or its ratio to the baseline when `on_ratio`."""

    key: str  # its name in `--json`
    label: str
    values: Mapping[str, Value]
    fmt: str = "{:.2f}"
    target: float | None = None
    floor: bool = False
    on_ratio: bool = False

    def ratio(self, encoder: str) -> float | None:
        value, base = self.values.get(encoder), self.values.get(BASELINE)
        if isinstance(value, int | float) and isinstance(base, int | float) and base:
            return float(value) / float(base)
        return None

    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'>=' if self.floor else '<='} {self.target:g}{'x ' + BASELINE if self.on_ratio else ''}"

    def met(self) -> bool | None:
        """Whether the judged encoder meets the target; None when there is none or nothing to judge."""
        if self.target is None:
            return None
        value = self.ratio(JUDGED) if self.on_ratio else self.values.get(JUDGED)
        if not isinstance(value, int | float):
            return None
        return value >= self.target if self.floor else value <= self.target

    def cell(self, encoder: str) -> str:
        value = self.values.get(encoder)
        if value is None:
            return "-"
        return value if isinstance(value, str) else self.fmt.format(value)


def table(rows: Sequence[Row], encoders: Sequence[str]) -> str:
    """The rows as a plain-text table: a column per encoder, the ratio of each other encoder to the
    baseline (when it was measured), and the target with its verdict for the judged encoder."""
    others = [e for e in encoders if e != BASELINE] if BASELINE in encoders else []
    width = max(len(r.label) for r in rows) + 2
    head = f"{'measure':<{width}}" + "".join(f"{e:>11}" for e in encoders)
    head += "".join(f"{e + '/' + BASELINE:>17}" for e in others)
    judged = JUDGED in encoders
    if judged:
        head += f"{'target (' + JUDGED + ')':>20}"
    lines = [head, "-" * len(head)]
    for r in rows:
        line = f"{r.label:<{width}}" + "".join(f"{r.cell(e):>11}" for e in encoders)
        for e in others:
            ratio = r.ratio(e)
            line += f"{'-' if ratio is None else f'{ratio:.2f}x':>17}"
        if judged and r.target is not None:
            met = r.met()
            verdict = "" if met is None else " ok" if met else " MISSED"
            line += f"{r.target_text() + verdict:>20}"
        lines.append(line.rstrip())
    return "\n".join(lines)


def missed(rows: Sequence[Row]) -> list[str]:
    """The rows whose target the judged encoder misses."""
    return [r.label for r in rows if r.met() is False]


def numbers(rows: Sequence[Row], encoders: Sequence[str]) -> dict[str, dict[str, Value]]:
    """The rows for `--json`: per encoder the values, and the ratios to the baseline."""
    out: dict[str, dict[str, Value]] = {e: {r.key: r.values.get(e) for r in rows} for e in encoders}
    if BASELINE in encoders:
        for e in encoders:
            if e != BASELINE:
                out[f"{e}/{BASELINE}"] = {r.key: r.ratio(e) for r in rows if r.ratio(e) is not None}
    return out
