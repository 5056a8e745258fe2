"""Generative answers: the settings that select a model, the verification of what a model says, and
the whole chain with LangChain's fake chat models scripted to answer well, cite the wrong passage,
invent a figure, refuse, or fail. (The real model served on loopback: tests/test_llm.py.)"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

import qa
import qa.generation
from qa.generation import FALLBACK_NOTE, NOT_FOUND_PHRASE, OFF_TOPIC_NOTE, UNAVAILABLE_NOTE, prompt_passages, verify
from qa.types import Passage
from tests.conftest import free_port
from vectorstore.config import GeneratorSettings, Settings
from vectorstore.errors import ZgqaError

GDP = "2024年，全市地区生产总值增长6.1%，增速居全省第5位。"
INCOME = "城镇居民人均可支配收入增长4.5%，达到46001元。"
PASSAGES = [
    Passage("a", "a.txt", "2025年政府工作报告", 2025, "work_report", "2025年政府工作报告 › 2024年工作回顾", GDP, 10, 12, 1.0),
    Passage("b", "a.txt", "2025年政府工作报告", 2025, "work_report", "2025年政府工作报告 › 民生", INCOME, 20, 20, 0.5),
]


# -- settings ------------------------------------------------------------------------------------


def test_the_extractive_answerer_is_the_default() -> None:
    settings = GeneratorSettings.from_env({})
    assert not settings.enabled
    assert settings.name == "extractive"


def test_an_openai_compatible_endpoint_is_read_from_the_environment() -> None:
    env = {"ZGQA_GENERATOR": "openai", "ZGQA_LLM_MODEL": "qwen2.5:7b",
           "ZGQA_LLM_BASE_URL": "http://127.0.0.1:11434/v1", "OPENAI_API_KEY": "sk-test"}
    settings = GeneratorSettings.from_env(env)
    assert (settings.kind, settings.model, settings.base_url) == ("openai", "qwen2.5:7b", "http://127.0.0.1:11434/v1")
    assert settings.api_key == "sk-test"
    assert "sk-test" not in repr(settings)  # a key is never printed with the settings
    assert settings.name == "openai:qwen2.5:7b"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"ZGQA_GENERATOR": "gpt"}, "one of none, openai, llama-cpp"),
        ({"ZGQA_GENERATOR": "openai"}, "ZGQA_LLM_MODEL"),
        ({"ZGQA_GENERATOR": "llama-cpp"}, "ZGQA_LLM_GGUF"),
        ({"ZGQA_GENERATOR": "llama-cpp", "ZGQA_LLM_GGUF": "/nonexistent/model.gguf"}, "is not a file"),
        ({"ZGQA_LLM_MAX_TOKENS": "many"}, "whole number"),
        ({"ZGQA_LLM_TIMEOUT": "soon"}, "number of seconds"),
    ],
)
def test_a_wrong_generator_setting_is_a_clear_error(env: dict[str, str], says: str) -> None:
    with pytest.raises(ZgqaError, match=re.escape(says)):
        GeneratorSettings.from_env(env)


def test_a_configured_but_unavailable_library_is_a_clear_error(tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"not a model")
    with pytest.raises(ZgqaError, match="GGUF|llm extra"):
        qa.generation.chat_model(GeneratorSettings(kind="llama-cpp", gguf=gguf))


# -- verification (no model needed) ---------------------------------------------------------------


def test_a_sentence_citing_the_passage_that_holds_its_figures_is_kept() -> None:
    [checked] = verify("2024年自贡地区生产总值增长6.1%[1]。", PASSAGES)
    assert checked.kept and checked.cites == (1,)


def test_a_citation_outside_the_passages_is_removed_and_the_rest_checked() -> None:
    [checked] = verify("地区生产总值增长6.1%[1][7]。", PASSAGES)
    assert checked.kept and checked.cites == (1,)
    [alone] = verify("地区生产总值增长6.1%[3]。", PASSAGES)
    assert not alone.kept and "[3]" in alone.why


def test_a_figure_cited_to_the_wrong_passage_is_caught() -> None:
    [checked] = verify("地区生产总值增长6.1%[2]。", PASSAGES)  # 6.1 is in passage 1, not 2
    assert not checked.kept and checked.why == "6.1 not in the passages it cites"


def test_an_invented_figure_is_caught() -> None:
    [checked] = verify("2024年自贡地区生产总值增长6.5%[1]。", PASSAGES)
    assert not checked.kept and "6.5" in checked.why


def test_a_sentence_without_a_citation_is_removed() -> None:
    [checked] = verify("自贡经济持续向好。", PASSAGES)
    assert not checked.kept and checked.why == "cites no passage"


def test_a_number_free_chinese_sentence_must_be_worded_from_its_passage() -> None:
    [made_up] = verify("自贡成为全国经济总量第一的城市[1]。", PASSAGES)
    assert not made_up.kept and "words" in made_up.why
    [faithful] = verify("增速居全省第5位[1]。", PASSAGES)
    assert faithful.kept


@pytest.mark.parametrize(
    ("draft", "why"),
    [
        ("2024年自贡地区生产总值增长多少？[1]", "asks instead of answering"),
        ("2024年自贡地区生产总值增长。[1]", "repeats the question"),
        ("2025年政府工作报告 › 2024年工作回顾（2025）。[1]", "repeats a passage heading"),
        ("Zigong [1].", "too short to be a claim"),
    ],
)
def test_what_a_small_model_echoes_from_its_prompt_is_no_claim(draft: str, why: str) -> None:
    """Each passes the figure check (2024 and 2025 are in the passage), and says nothing."""
    [checked] = verify(draft, PASSAGES, "2024年自贡地区生产总值增长多少？")
    assert not checked.kept and checked.why == why


def test_an_answer_may_use_the_questions_words_when_it_adds_the_figure() -> None:
    [checked] = verify("2024年自贡地区生产总值增长6.1%[1]。", PASSAGES, "2024年自贡地区生产总值增长多少？")
    assert checked.kept


def test_chat_template_tokens_are_not_sentences() -> None:
    assert verify("[/INST]。[2]<end_of_turn>", PASSAGES) == []


def test_marker_variants_and_thinking_are_read() -> None:
    draft = "<think>让我想想，也许是9.9%</think>地区生产总值增长6.1%【1】。人均可支配收入达到46001元[1, 2]。"
    checked = verify(draft, PASSAGES)
    assert [c.kept for c in checked] == [True, True]
    assert checked[1].cites == (1, 2)


def test_markers_after_the_end_mark_belong_to_their_sentence() -> None:
    checked = verify("GDP grew 6.1%. [1] Urban income reached 46001 yuan. [2]", PASSAGES)
    assert [(c.kept, c.cites) for c in checked] == [(True, (1,)), (True, (2,))]


def test_the_model_saying_the_reports_lack_it_is_a_refusal() -> None:
    [checked] = verify(NOT_FOUND_PHRASE + "。", PASSAGES)
    assert checked.refusal and not checked.kept


def test_the_prompt_numbers_every_passage_with_its_report_and_section() -> None:
    text = prompt_passages(PASSAGES)
    assert text.startswith("[1] 2025年政府工作报告 › 2024年工作回顾（2025）\n" + GDP)
    assert "\n\n[2] 2025年政府工作报告 › 民生（2025）\n" in text


# -- the whole chain, with scripted models on the real index ------------------------------------

_names = itertools.count()


def scripted(monkeypatch: pytest.MonkeyPatch, *responses: str, **options: Any) -> GeneratorSettings:
    """Settings naming a fresh fake model that answers `responses` in turn."""
    model = FakeListChatModel(responses=list(responses), **options)
    # The real models are made with streaming=True, a field the fake has not; `stream=True` per call
    # takes the same path (its tokens go to the callbacks one by one).
    monkeypatch.setattr(qa.generation, "chat_model", lambda settings: model.bind(stream=True))
    return GeneratorSettings(kind="openai", model=f"scripted-{next(_names)}")


QUESTION = "2024年自贡地区生产总值增长多少？"


def evidence(settings: Settings) -> tuple[int, str, int]:
    """Which retrieved passage states 2024's GDP growth, its sentence, and a passage that does not."""
    passages = qa.retrieve(QUESTION, settings=settings)
    for n, p in enumerate(passages, 1):
        m = re.search(r"[^。]*地区生产总值[^。]*增长[\d.]+%[^。]*。", p.text)
        if m and p.year == 2025:
            other = next(i for i, q in enumerate(passages, 1) if not set(re.findall(r"\d+\.\d+", m[0])) <= set(re.findall(r"\d+\.\d+", q.text)))
            return n, m[0], other
    raise AssertionError("no retrieved passage states the 2024 growth")


@pytest.mark.model
def test_a_good_generated_answer_is_returned_with_its_citation(real_index: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    n, sentence, _ = evidence(real_index)
    generator = scripted(monkeypatch, f"{sentence[:-1]}[{n}]。")
    tokens: list[str] = []
    answer = qa.ask(QUESTION, settings=real_index, generator=generator, on_token=tokens.append)
    assert answer.found and not answer.fell_back and answer.unverified == ()
    assert answer.generator == generator.name
    assert answer.text == f"{sentence}[1]"  # renumbered: the only passage cited is [1]
    assert answer.citations[0].line_start <= answer.citations[0].line_end
    support = answer.citations[0].support
    assert support and all(s.rstrip("。；") in sentence for s in support)  # the sentences it reproduces
    assert "".join(tokens) == answer.draft  # the draft streamed token by token


@pytest.mark.model
def test_a_wrong_citation_number_falls_back_to_the_extractive_answer(
    real_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, sentence, other = evidence(real_index)
    answer = qa.ask(QUESTION, settings=real_index, generator=scripted(monkeypatch, f"{sentence}[{other}]"))
    assert answer.fell_back and answer.note == FALLBACK_NOTE["zh"]
    assert answer.unverified and "not in the passages it cites" in answer.unverified[0]
    extractive = qa.ask(QUESTION, settings=real_index, generator=GeneratorSettings())
    assert (answer.text, answer.citations) == (extractive.text, extractive.citations)


@pytest.mark.model
def test_an_invented_figure_is_dropped_and_the_verified_sentence_kept(
    real_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    n, sentence, _ = evidence(real_index)
    draft = f"{sentence[:-1]}[{n}]。预计2025年将增长12.3%[{n}]。"
    answer = qa.ask(QUESTION, settings=real_index, generator=scripted(monkeypatch, draft))
    assert answer.found and not answer.fell_back
    assert "12.3" not in answer.text and sentence[:-1] in answer.text
    assert len(answer.unverified) == 1 and "12.3 not in the passages it cites" in answer.unverified[0]


@pytest.mark.model
def test_only_invented_figures_fall_back_saying_so(real_index: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = qa.ask(QUESTION, settings=real_index, generator=scripted(monkeypatch, "增长了8.8%[1]。"))
    assert answer.fell_back and answer.found and "8.8" not in answer.text
    assert answer.as_dict()["note"] == FALLBACK_NOTE["zh"]


@pytest.mark.model
@pytest.mark.parametrize(("question", "found"), [(QUESTION, True), ("2024年自贡市最低工资标准是多少？", False)])
def test_a_faithful_quote_that_does_not_answer_is_no_answer(
    real_index: Settings, monkeypatch: pytest.MonkeyPatch, question: str, found: bool
) -> None:
    """A small model copying a passage of its prompt passes every figure check, and answers nothing."""
    passages = qa.retrieve(question, settings=real_index)
    n, quote = next(
        (i, s) for i, p in enumerate(passages, 1) for s in re.findall(r"[^。；]{12,}。", p.text)
        if "地区生产总值" not in s and "工资" not in s
    )
    answer = qa.ask(question, settings=real_index, generator=scripted(monkeypatch, f"{quote}[{n}]"))
    assert answer.fell_back and answer.note == OFF_TOPIC_NOTE["zh"]
    assert len(answer.unverified) == 1
    assert answer.unverified[0].startswith(f"{quote} (does not answer the question: holds ")
    assert answer.found is found and quote not in answer.text


@pytest.mark.model
def test_the_models_refusal_is_a_refusal_with_the_closest_passages(
    real_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = qa.ask("2024年自贡的养老金替代率是多少？", settings=real_index,
                    generator=scripted(monkeypatch, "报告中未找到相关内容。"))
    assert not answer.found and answer.text.startswith("报告中未找到相关内容")
    assert answer.citations and not answer.fell_back


@pytest.mark.model
def test_an_unreachable_model_gives_the_extractive_answer_and_says_why(
    real_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = scripted(monkeypatch, "增长6.1%[1]。", error_on_chunk_number=0)
    answer = qa.ask(QUESTION, settings=real_index, generator=generator)
    assert answer.fell_back and answer.found
    assert answer.note.startswith(UNAVAILABLE_NOTE["zh"].split("（")[0])
    assert "FakeListChatModelError" in answer.note


@pytest.mark.model
def test_an_english_question_gets_an_english_generated_answer(
    real_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "How much did Zigong's GDP grow in 2024?"
    passages = qa.retrieve(question, settings=real_index)
    # The model cites the passage that states 2024's growth: the 2025 report's review (a five-year
    # review's "年均增长7.3%", also retrieved, is no figure for 2024, and verification drops it).
    n, figure = next(
        (i, m[0]) for i, p in enumerate(passages, 1)
        if p.year == 2025 and (m := re.search(r"(?<=地区生产总值)[^。]*?增长([\d.]+%)", p.text))
    )
    growth = re.search(r"[\d.]+%", figure)
    assert growth
    draft = f"Zigong's GDP grew by {growth[0]} in 2024 [{n}]."
    answer = qa.ask(question, settings=real_index, generator=scripted(monkeypatch, draft))
    assert answer.language == "en" and answer.text == f"Zigong's GDP grew by {growth[0]} in 2024.[1]"


@pytest.mark.model
def test_an_endpoint_that_does_not_answer_gives_the_extractive_answer_and_says_so(real_index: Settings) -> None:
    closed = GeneratorSettings(kind="openai", model="any", base_url=f"http://127.0.0.1:{free_port()}/v1", timeout=5)
    answer = qa.ask(QUESTION, settings=real_index, generator=closed)
    assert answer.fell_back and answer.found and "7.1%" in answer.text
    assert answer.note.startswith("语言模型不可用（") and "ConnectionError" in answer.note


@pytest.mark.model
def test_the_command_line_says_who_wrote_the_answer_and_what_was_removed(
    real_index: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from qa.cli import main

    n, sentence, _ = evidence(real_index)
    generator = scripted(monkeypatch, f"{sentence[:-1]}[{n}]。增长了8.8%[{n}]。")
    for name, value in [("ZGQA_GENERATOR", "openai"), ("ZGQA_LLM_MODEL", generator.model or ""),
                        ("ZGQA_INDEX", str(real_index.index)), ("ZGQA_CACHE", str(real_index.cache))]:
        monkeypatch.setenv(name, value)
    assert main(["ask", QUESTION]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{sentence}[1]"
    assert out[1] == f"(written by {generator.name}; every figure checked against the passages it cites)"
    assert out[2] == "  removed, unverified: 增长了8.8%。 (8.8 not in the passages it cites)"
