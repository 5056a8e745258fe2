"""Faults during a build: the index a reader opens is the last complete one, whatever happened to the
build after it (here: SIGKILL halfway through writing the collection)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

import qa
from vectorstore import build, open_store
from vectorstore.config import Settings

pytestmark = pytest.mark.model

QUESTIONS = ["2024年自贡地区生产总值增长多少？", "What is Zigong's 2025 GDP target?", "2024年自贡市最低工资标准是多少？"]


def answers(settings: Settings) -> list[tuple[str, tuple[tuple[str, int, int], ...]]]:
    try:
        return [
            (a.text, tuple((c.source, c.line_start, c.line_end) for c in a.citations))
            for a in (qa.ask(q, settings=settings) for q in QUESTIONS)
        ]
    finally:
        qa.close()


def test_a_build_killed_halfway_leaves_the_previous_index_answering_exactly_as_before(
    real_index: Settings, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    shutil.copytree(real_index.index, index, symlinks=True, ignore=shutil.ignore_patterns("embedding-cache"))
    settings = replace(real_index, index=index)
    before = answers(settings)
    current = (index / "current").resolve()

    # Without the embedding cache every text is embedded again: a batch takes seconds, so the build is
    # surely writing when killed. The bar reaches 256 when the first 128 chunks are written.
    env = {**os.environ, "ZGQA_INDEX": str(index), "ZGQA_CACHE": str(settings.cache), "ZGQA_SEEDS": str(settings.seeds)}
    zgqa = Path(sys.executable).with_name("zgqa")
    proc = subprocess.Popen([str(zgqa), "build", "--rebuild"], stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    seen, deadline = b"", time.monotonic() + 300
    while not any(int(n) >= 256 for n in re.findall(rb"(\d+)/276", seen)):
        assert proc.poll() is None and time.monotonic() < deadline, seen.decode(errors="replace")[-500:]
        seen += os.read(proc.stderr.fileno(), 4096)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()

    assert (index / "current").resolve() == current
    assert [p.name.endswith(".building") for p in (index / "generations").iterdir()].count(True) == 1  # its copy
    with open_store(settings) as store:
        store.check()
    assert answers(settings) == before

    report = build(settings, progress=False)  # the next build sweeps the copy and completes
    assert report.chunks == 276
    assert not any(p.name.endswith(".building") for p in (index / "generations").iterdir())
    assert answers(settings) == before
