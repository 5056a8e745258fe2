"""Shared fixtures: the bundled reports, the development questions, and a clean environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vectorstore import Corpus, load

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ZGQA_* setting of the developer's shell leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("ZGQA_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load(SEEDS)


def eval_questions() -> list[dict[str, Any]]:
    with open(FIXTURES / "eval_qa_dev.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
