"""The chat handlers of `app.py`, in process: what the chat and the sources panel show for an answer,
a follow-up, a refusal, an injection attempt and an error; and the `ask` endpoint over
`gradio_client`, which must return what `zgqa ask --json` prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import app
import qa
from benchmarks.servers import post_status
from qa.types import Answer, Citation
from vectorstore.config import ServeSettings, Settings
from vectorstore.errors import ZgqaError

INJECTION = "<img src=x onerror=alert(1)> <script>alert(2)</script>"


_ANCHOR = re.compile(r'<span id="zgqa-answer-\d+-text"></span>')
_HOVER = re.compile(r' "[^"]*"\)')


def _citation(n: int, text: str, support: tuple[str, ...] = ()) -> Citation:
    return Citation(
        n=n,
        source="000_9a0a210a4c556ec2.txt",
        title="自贡市人民政府2025年政府工作报告",
        year=2025,
        kind="work_report",
        section="2025年政府工作报告 › 2024年工作回顾",
        text=text,
        line_start=33,
        line_end=37,
        support=support,
    )


# -- rendering, no model -------------------------------------------------------------------------


def test_text_from_users_and_reports_is_shown_as_characters_not_markup() -> None:
    shown = app.as_text(INJECTION + " **bold** [link](javascript:alert(3)) `code` $$x$$")
    assert "<" not in shown and ">" not in shown  # no tag survives
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in shown
    # Markdown syntax is escaped, so it renders as the characters typed
    assert "\\*\\*bold\\*\\*" in shown and "\\[link\\]\\(javascript:alert\\(3\\)\\)" in shown
    assert "\\`code\\`" in shown and "\\$\\$x\\$\\$" in shown


def test_copying_gives_plain_text_an_answer_with_its_sources_a_question_as_typed() -> None:
    import gradio as gr

    answer = Answer(question="q", text="据2025年政府工作报告，全市地区生产总值增长7.1%。[1]", found=True,
                    citations=(_citation(1, "x"),), understood="2024年自贡地区生产总值增长多少？")
    plain = app.plain_copy(answer)
    assert plain == (
        "理解为：2024年自贡地区生产总值增长多少？\n据2025年政府工作报告，全市地区生产总值增长7.1%。[1]\n\n来源 · Sources:\n"
        "[1] 自贡市人民政府2025年政府工作报告 › 2025年政府工作报告 › 2024年工作回顾, 000_9a0a210a4c556ec2.txt: lines 33–37"
    )
    shown = app.answer_pieces(answer)[-1]
    copies = [[shown, plain]]
    assert app.copied(copies, gr.CopyData(None, {"value": shown})) == plain
    typed = "**bold** [link](http://x) a@b.cn <b>"
    assert app.copied(copies, gr.CopyData(None, {"value": app.as_text(typed)})) == typed


def test_each_marker_links_to_its_source_and_the_answer_grows_a_sentence_at_a_time() -> None:
    answer = Answer(
        question="q",
        text="据2025年政府工作报告，全市地区生产总值增长7.1%。[1]据2021年政府工作报告，增长4.0%。[2]",
        found=True,
        citations=(_citation(1, "x"), _citation(2, "y")),
        understood="2020年自贡地区生产总值增长多少？",
    )
    raw = app.answer_pieces(answer)
    assert raw[0].startswith('<span id="zgqa-answer-1-text"></span>')  # where the sources' back links lead
    # Hovering [1] previews the quoted words of its passage, with the report and section.
    assert '(#zgqa-src-1-1 "自贡市人民政府2025年政府工作报告 › 2025年政府工作报告 › 2024年工作回顾：x")' in raw[0]
    grown = [shown(piece) for piece in raw]
    assert len(grown) == 2 and grown[1].startswith(grown[0])
    assert grown[0].startswith("*理解为：2020年自贡地区生产总值增长多少？*")
    assert "[\\[1\\]](#zgqa-src-1-1)" in grown[0] and "[\\[2\\]](#zgqa-src-1-2)" in grown[1]
    english = Answer(question="q", text="The reports do not contain this.", found=False, citations=(), language="en",
                     understood="What was GDP in 2020?")
    assert [shown(p) for p in app.answer_pieces(english)] == [
        "*Understood as: What was GDP in 2020?*\n\nThe reports do not contain this."
    ]


def test_the_sources_panel_shows_provenance_and_marks_the_supporting_sentence() -> None:
    text = "过去一年，经济回升向好。全市地区生产总值增长7.1%，居全省第2位；<b>不是标签</b>。"
    panel = app.sources_html(
        Answer("q", "…[1]", True, (_citation(1, text, ("全市地区生产总值增长7.1%，居全省第2位；<b>不是标签</b>。",)),))
    )
    assert 'id="zgqa-src-1-1"' in panel
    assert "自贡市人民政府2025年政府工作报告" in panel and "2025" in panel and "official report" in panel
    assert "章节 Section: 2025年政府工作报告 › 2024年工作回顾" in panel
    assert "source file: <code>000_9a0a210a4c556ec2.txt: lines 33–37</code>" in panel
    assert "过去一年，经济回升向好。<mark>全市地区生产总值增长7.1%，居全省第2位；&lt;b&gt;不是标签&lt;/b&gt;。</mark>" in panel
    assert "<b>不是标签" not in panel


def test_a_refusal_says_so_in_the_panel_and_still_lists_the_closest_passages() -> None:
    panel = app.sources_html(Answer("q", "报告中未找到相关内容。", False, (_citation(1, "a"), _citation(2, "b"))))
    assert "报告中未找到相关内容" in panel and panel.count('class="zgqa-source"') == 2
    assert "<mark>" not in panel  # the closest passages support nothing


def test_serving_is_loopback_without_login_unless_configured() -> None:
    assert ServeSettings.from_env({}) == ServeSettings("127.0.0.1", 7860, None, None)
    assert ServeSettings.from_env({}).auth is None
    s = ServeSettings.from_env({"ZGQA_USER": "ann", "ZGQA_PASSWORD": "pw", "ZGQA_PORT": "8080"})
    assert s.auth == ("ann", "pw") and s.port == 8080 and "pw" not in repr(s)
    with pytest.raises(ZgqaError, match="both ZGQA_USER and ZGQA_PASSWORD"):
        ServeSettings.from_env({"ZGQA_USER": "ann"})
    with pytest.raises(ZgqaError, match="port number"):
        ServeSettings.from_env({"ZGQA_PORT": "99999"})
    assert ServeSettings.from_env({}).idle_seconds == 30 and ServeSettings.from_env({"ZGQA_IDLE_SECONDS": "5"}).idle_seconds == 5
    with pytest.raises(ZgqaError, match="ZGQA_IDLE_SECONDS must be a whole number of seconds"):
        ServeSettings.from_env({"ZGQA_IDLE_SECONDS": "0"})


# -- the handlers over the real index ------------------------------------------------------------


@pytest.fixture
def served(real_index: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The app's settings (read from the environment, as `python app.py` reads them) on the real index."""
    monkeypatch.setenv("ZGQA_SEEDS", str(real_index.seeds))
    monkeypatch.setenv("ZGQA_INDEX", str(real_index.index))
    monkeypatch.setenv("ZGQA_CACHE", str(real_index.cache))
    yield real_index
    qa.close()


def _turn(
    message: str, chat: list[dict[str, Any]] | None = None, questions: list[str] | None = None, year: str = "", source: str = ""
) -> list[tuple[list[dict[str, Any]], str, list[str], str]]:
    """The chat as read, the panel, the questions and the box after each step of one question."""
    steps = app.respond(message, chat or [], questions or [], year, source)
    return [([{**m, "content": shown(m["content"])} for m in c], panel, q, box) for c, panel, q, box, *_ in steps]


def shown(content: str) -> str:
    """A chat message as read: without the empty anchor its sources' "back" links return to, and
    without the hover previews of its links (`test_each_marker_…` checks both)."""
    return _HOVER.sub(")", _ANCHOR.sub("", content))


@pytest.mark.model
def test_a_question_is_answered_progressively_with_its_sources(served: Settings) -> None:
    steps = _turn("2024年自贡地区生产总值增长多少？")
    first_chat, first_panel, _, _ = steps[0]
    assert first_chat[-1]["content"] == app.SEARCHING and "Sources appear here" in first_panel
    chat, panel, questions, box = steps[-1]
    assert chat[0] == {"role": "user", "content": "2024年自贡地区生产总值增长多少？"}
    assert "7.1%" in chat[-1]["content"] and "(#zgqa-src-1-1)" in chat[-1]["content"]
    assert "2024年工作回顾" in panel and "000_9a0a210a4c556ec2.txt: lines" in panel and "<mark>" in panel
    assert questions == ["2024年自贡地区生产总值增长多少？"] and box == ""


@pytest.mark.model
def test_follow_ups_use_the_conversation_and_say_how_they_were_understood(served: Settings) -> None:
    chat, _, questions, _ = _turn("2024年自贡地区生产总值增长多少？")[-1]
    chat, panel, questions, _ = _turn("那2020年呢？", chat, questions)[-1]
    said = chat[-1]["content"]
    assert said.startswith("*理解为：2020年自贡地区生产总值增长多少？*")
    assert "2021年政府工作报告" in panel  # the 2020 figures are told in the 2021 report
    chat, _, questions, _ = _turn("English please", chat, questions)[-1]
    assert chat[-1]["content"].startswith("*Understood as: ") and "According to the 2021 government work report" in chat[-1]["content"]
    assert len(questions) == 3 and len(chat) == 6


@pytest.mark.model
def test_a_question_in_an_emptied_chat_starts_a_new_conversation_even_before_the_clear_lands(served: Settings) -> None:
    *_, (_, _, questions, _, _, groups, _) = app.respond("2024年自贡地区生产总值增长多少？", [], [], "", "")
    # The browser empties the chat at once; the server's clear of the history and the panel may come later.
    *_, (chat, panel, questions, _, _, groups, copies) = app.respond("那2020年呢？", [], questions, "", "", groups, [["x", "y"]])
    assert not chat[-1]["content"].startswith("*理解为")  # not a follow-up of a conversation the user cleared
    assert questions == ["那2020年呢？"] and len(groups) == 1 and len(copies) == 1
    assert "zgqa-answer-1" in panel and "zgqa-answer-2" not in panel


@pytest.mark.model
def test_an_unanswerable_question_is_refused_with_the_closest_passages(served: Settings) -> None:
    chat, panel, _, _ = _turn("2024年自贡市最低工资标准是多少？")[-1]
    assert chat[-1]["content"].startswith("报告中未找到相关内容")
    assert "报告中未找到相关内容 · The reports do not contain this" in panel and 'class="zgqa-source"' in panel


@pytest.mark.model
def test_an_injection_attempt_is_shown_as_text_everywhere(served: Settings) -> None:
    chat, panel, _, _ = _turn(INJECTION)[-1]
    assert "<img" not in chat[0]["content"] and "&lt;img src=x onerror=alert\\(1\\)&gt;" in chat[0]["content"]
    assert "<img" not in chat[-1]["content"] and "<script" not in chat[-1]["content"]
    assert "<img" not in panel and "<script" not in panel


@pytest.mark.model
def test_errors_are_chat_messages_and_the_filters_apply(served: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    chat, _, questions, box = _turn("   ")[-1]
    assert chat == [] and questions == []  # no empty bubble; a notice in both languages instead
    long = "增长" * 300
    chat, _, questions, box = _turn(long)[-1]
    assert chat[-1]["content"].startswith("⚠️ 问题有 600 个字，最多 500 个字") and "600 characters" in chat[-1]["content"]
    assert box == long and questions == []  # kept whole, never cut
    chat, panel, _, _ = _turn("地区生产总值增长多少？", year="2017")[-1]
    assert "2017" in panel and "2025年政府工作报告" not in panel
    # The filter is the year the figures are about: 2024's are in the 2025 report.
    chat, panel, _, _ = _turn("地区生产总值增长多少？", year="2024")[-1]
    assert "7.1%" in chat[-1]["content"] and "2025年政府工作报告" in panel
    chat, _, _, _ = _turn("2024年自贡市最低工资标准是多少？", year="2024")[-1]
    assert chat[-1]["content"].startswith("报告中未找到相关内容") and "filter" in chat[-1]["content"]
    chat, panel, _, _ = _turn("地区生产总值增长多少？", source="003_80c5026a2abaecef.txt")[-1]
    assert panel.count("003_80c5026a2abaecef.txt") == panel.count('class="zgqa-source"') > 0

    def broken(*args: Any, **kwargs: Any) -> Answer:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(qa, "ask", broken)
    chat, _, _, box = _turn("2024年自贡地区生产总值增长多少？")[-1]
    assert "Something went wrong" in chat[-1]["content"] and "disk on fire" not in chat[-1]["content"]
    assert "Traceback" not in chat[-1]["content"] and box == "2024年自贡地区生产总值增长多少？"  # kept to retry


@pytest.mark.model
@pytest.mark.xdist_group("app")  # the worker serving `app_url` (test_browser)
def test_the_ask_endpoint_returns_what_zgqa_ask_json_prints(app_url: str, served: Settings) -> None:
    from gradio_client import Client

    question = "What is Zigong's 2025 GDP target?"
    cli = subprocess.run(
        [str(Path(sys.executable).with_name("zgqa")), "ask", question, "--json"],
        capture_output=True, text=True, check=True, timeout=120,
    )
    client = Client(app_url, verbose=False)
    got = client.predict(question, api_name="/ask")
    assert got == json.loads(cli.stdout)
    assert got["found"] and got["citations"][0]["line_start"] > 0
    follow = client.predict("那2020年呢？", ["2024年自贡地区生产总值增长多少？"], api_name="/ask")
    assert follow["understood"] == "2020年自贡地区生产总值增长多少？" and follow["found"]
    with pytest.raises(Exception, match="No report passage about 2030"):
        client.predict("GDP?", None, 2030, api_name="/ask")


def test_without_an_index_the_app_says_what_to_run_instead_of_serving(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ZGQA_INDEX": str(tmp_path / "none"), "ZGQA_CACHE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "app.py", "--port", "1"], cwd=Path(app.__file__).parent, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "zgqa build" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.model
def test_with_a_login_configured_nothing_is_served_without_it(real_index: Settings, tmp_path: Path) -> None:
    from gradio_client import Client

    from benchmarks.servers import login_statuses, serve_app

    with serve_app(real_index, tmp_path / "app.log", {"ZGQA_USER": "ann", "ZGQA_PASSWORD": "s3cret"}) as url:
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a ValueError or an httpx error by version
            Client(url, verbose=False)
        answer = Client(url, auth=("ann", "s3cret"), verbose=False).predict("2024年自贡地区生产总值增长多少？", api_name="/ask")
        assert "7.1%" in answer["text"]
        # Guessing is throttled: after 5 failed logins in a minute, even the right password waits.
        assert login_statuses(url, "guess", 6) == [400] * 5 + [429]
        assert login_statuses(url, "s3cret", 1) == [429]
    said = (tmp_path / "app.log").read_text(errors="replace")
    assert said.count("refused a login from 127.0.0.1: 5 failed within 60 s") == 2 and "Traceback" not in said


@pytest.mark.model
@pytest.mark.parametrize("example", app.EXAMPLES)
def test_every_example_question_offered_is_answered(served: Settings, example: str) -> None:
    chat, panel, _, _ = _turn(example)[-1]
    assert "[\\[1\\]](#zgqa-src-1-1)" in chat[-1]["content"], chat[-1]["content"]
    assert "The reports do not contain this" not in panel


@pytest.mark.model
def test_a_models_answer_streams_as_a_draft_then_shows_verified_with_what_was_removed(
    served: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    import qa.generation

    question = "2024年自贡地区生产总值增长多少？"
    passages = qa.retrieve(question, settings=served)
    n = next(i for i, p in enumerate(passages, 1) if "地区生产总值增长7.1%" in p.text)
    draft = f"2024年全市地区生产总值增长7.1%[{n}]。同期财政收入增长99.9%[{n}]。"
    model = FakeListChatModel(responses=[draft], sleep=0.02)  # a token every 20 ms, as a model types
    monkeypatch.setattr(qa.generation, "chat_model", lambda settings: model.bind(stream=True))
    monkeypatch.setenv("ZGQA_GENERATOR", "openai")
    monkeypatch.setenv("ZGQA_LLM_MODEL", "scripted-app")
    steps = _turn(question)
    drafts = [chat[-1]["content"] for chat, *_ in steps if chat[-1]["content"].startswith(app.DRAFTING)]
    assert len(drafts) >= 2 and "99.9%" in drafts[-1]  # the unverified draft is shown growing, marked so
    chat, panel, _, _ = steps[-1]
    said = chat[-1]["content"]
    assert said.startswith("2024年全市地区生产总值增长7.1%。[\\[1\\]](#zgqa-src-1-1)")
    removed = app.as_text("同期财政收入增长99.9%。 (99.9 not in the passages it cites)")
    assert f"{app.REMOVED}\n- ~~{removed}~~" in said
    assert panel.count('class="zgqa-source"') == 1 and "<mark>" in panel


@pytest.mark.model
@pytest.mark.xdist_group("app")  # the worker serving `app_url` (test_browser)
def test_a_request_body_over_the_limit_is_refused_before_it_is_read(app_url: str) -> None:
    import urllib.request

    big = b'{"data": ["' + b"x" * (app.MAX_BODY + 1) + b'"]}'
    assert post_status(app_url, big, chunked=False) == 413
    assert post_status(app_url, big, chunked=True) == 413  # no length declared: counted as it comes
    assert post_status(app_url, b'{"data": []}', chunked=False) != 413  # a small one is let through
    with urllib.request.urlopen(app_url, timeout=30) as page:  # and the app still serves
        assert page.status == 200


@pytest.mark.model
@pytest.mark.xdist_group("app")  # the worker serving `app_url` (test_browser)
def test_the_upload_route_is_closed_since_the_app_takes_no_files(app_url: str) -> None:
    import urllib.error
    import urllib.request

    body = b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nhello\r\n--x--\r\n'
    request = urllib.request.Request(
        app_url.rstrip("/") + "/gradio_api/upload",
        data=body,
        method="POST",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    refused.value.close()
    assert refused.value.code == 404


def test_start_up_errors_are_one_line_each_before_anything_loads() -> None:
    import socket

    root = Path(app.__file__).resolve().parent

    def start(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "app.py", *args], capture_output=True, text=True, cwd=root, timeout=120)

    done = start("--port", "99999")
    assert done.returncode == 2 and "--port must be from 0 to 65535" in done.stderr and "Traceback" not in done.stderr
    done = start("--host", "no-such-host.invalid")
    assert done.returncode == 2 and "Cannot resolve the host" in done.stderr and "Traceback" not in done.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = start("--port", str(port))
    assert done.returncode == 2 and f"Cannot serve on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr and "Opening the index" not in done.stdout


@pytest.mark.model
def test_a_rejected_api_call_logs_one_line_not_a_traceback(served: Settings, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    import gradio as gr

    with caplog.at_level(logging.INFO, logger="zgqa.app"), pytest.raises(gr.Error) as rejected:
        app.ask("   ")
    assert rejected.value.print_exception is False  # Gradio prints no traceback for it
    said = [r.getMessage() for r in caplog.records if r.name == "zgqa.app"]
    assert len(said) == 1 and said[0].startswith("rejected an ask: The question is empty")
