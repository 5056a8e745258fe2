"""The QA benchmark's peer chunking: each tutorial chunk is judged on the raw lines it really spans."""

from __future__ import annotations

import re

from benchmarks.qa import peer_chunks
from tests.conftest import SEEDS


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_peer_chunk_spans_exactly_the_raw_lines_holding_its_text() -> None:
    chunks = peer_chunks(SEEDS)
    raw = {path.name: path.read_text(encoding="utf-8").splitlines() for path in SEEDS.glob("*.txt")}
    assert set(raw) == {c.source for c in chunks}
    for c in chunks:
        lines = raw[c.source][c.line_start - 1 : c.line_end]
        assert 1 <= c.line_start <= c.line_end <= len(raw[c.source])
        text, span = _squash(c.text), _squash("".join(lines))
        at = span.find(text)
        assert at != -1, (c.source, c.line_start, c.line_end, c.text[:40])
        # No wider than needed either: the chunk begins on its first line and ends on its last, so a
        # peer is never credited with an evidence line it does not hold.
        assert at < len(_squash(lines[0])), (c.source, c.line_start, c.text[:40])
        assert at + len(text) > len(span) - len(_squash(lines[-1])), (c.source, c.line_end, c.text[-40:])
