"""The chat in a real browser: `python app.py` on a free loopback port, driven by headless Debian
Chromium through Playwright. It asks what a person would ask and checks what they would see.

No browser is downloaded: Playwright is given Debian's `/usr/bin/chromium`, which `.ci/run`
installs. Without it this test fails, never skips: a UI nobody looked at is not tested.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# With test_app's tests over HTTP, in the one worker that starts the app (`app_url`) and the browser.
pytestmark = [pytest.mark.model, pytest.mark.xdist_group("app")]

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialing Google on a closed network.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Where the screenshots go: `ZGQA_SCREENSHOTS=docs pytest tests/test_browser.py` writes the README's.
# Read once here: every test runs with the ZGQA_* variables cleared (conftest).
SCREENSHOTS = os.environ.get("ZGQA_SCREENSHOTS")
INJECTION = "<img src=x onerror=alert(1)><script>alert(2)</script>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: `apt-get install chromium chromium-driver` (.ci/run installs it); "
        "the browser test does not download a browser"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def _opened(browser: Any, app_url: str) -> tuple[Any, Chat]:
    """A new page on the chat, ready for a question."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    chat = Chat(page)
    page.goto(app_url)
    page.wait_for_selector("#zgqa-question textarea")
    return page, chat


class Chat:
    """A person at the chat: types, presses Enter, waits for the answer to finish."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def ask(self, question: str) -> tuple[str, str]:
        """The answer's text and the sources panel's text, as shown."""
        before = self.page.locator("#zgqa-chat [data-testid='bot']").count()
        box = self.page.locator("#zgqa-question textarea")
        box.fill(question)
        box.press("Enter")
        # Done when the last yield has come: it brings this answer's sources to the panel (or the
        # answer is a failure, which has none). Streaming re-renders the messages until then, and a
        # click landing on a message while it is replaced does nothing (CI once lost a click so).
        self.page.wait_for_function(
            """([before, searching]) => {
                const bots = document.querySelectorAll("#zgqa-chat [data-testid='bot']");
                if (bots.length <= before || document.querySelector("#zgqa-chat .pending")) return false;
                const last = bots[bots.length - 1].innerText;
                const sources = document.querySelector(`#zgqa-sources #zgqa-answer-${before + 1}`);
                return !last.includes(searching) && (sources !== null || last.trim().startsWith("⚠️"));
            }""",
            arg=[before, "Searching the reports"],
            timeout=30_000,
        )
        self.page.wait_for_timeout(300)  # the chart and table that follow the answer
        answer = self.page.locator("#zgqa-chat [data-testid='bot']").last.inner_text()
        return answer, self.page.locator("#zgqa-sources").inner_text()


def test_a_person_asks_in_chinese_and_english_and_gets_cited_answers_refusals_and_no_injection(
    app_url: str, browser: Any, tmp_path: Path
) -> None:
    page, chat = _opened(browser, app_url)

    answer, sources = chat.ask("2024年自贡地区生产总值增长多少？")
    assert "7.1%" in answer and "[1]" in answer
    assert "2025年政府工作报告 › 2024年工作回顾" in sources
    assert "000_9a0a210a4c556ec2.txt: lines" in sources and "official report" in sources
    assert page.locator("#zgqa-sources mark").first.inner_text().find("7.1%") >= 0
    # [1] leads to its source
    page.locator("#zgqa-chat [data-testid='bot']").last.get_by_role("link", name="[1]").click()
    page.wait_for_function("() => location.hash === '#zgqa-src-1-1'")
    assert page.locator("#zgqa-src-1-1").is_visible()

    answer, sources = chat.ask("那2020年呢？")
    assert "理解为：2020年自贡地区生产总值增长多少？" in answer and "2021年政府工作报告" in sources

    answer, sources = chat.ask("What is Zigong's 2025 GDP target?")
    assert "According to the 2025 government work report" in answer and "2000亿元" in answer
    assert "lines" in sources
    # Three answers, each with its sources: the README's picture (ZGQA_SCREENSHOTS=docs writes it there).
    shot = Path(SCREENSHOTS or tmp_path) / "chat.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    answer, sources = chat.ask("2024年自贡市最低工资标准是多少？")
    assert answer.startswith("报告中未找到相关内容")
    assert "The reports do not contain this" in sources and "source file:" in sources

    answer, _ = chat.ask(INJECTION)
    assert answer.startswith(("报告中未找到相关内容", "The reports do not contain this"))  # no tag is a question
    user = page.locator("#zgqa-chat [data-testid='user']").last.inner_text()
    assert INJECTION in user  # shown as the characters typed
    assert page.locator("#zgqa-chat img[src='x'], #zgqa-sources img[src='x']").count() == 0
    assert chat.dialogs == []  # nothing ran

    # Emptying the chat with its own button forgets the conversation: no follow-up of a cleared chat.
    page.locator("#zgqa-chat button[aria-label='Clear']").click()
    page.wait_for_function("() => document.querySelectorAll(\"#zgqa-chat [data-testid='bot']\").length === 0")
    # The chat empties in the browser at once; the server's clear (panel and history) comes after.
    page.get_by_text("来源将显示在这里 · Sources appear here.").wait_for(timeout=10_000)
    answer, _ = chat.ask("那2020年呢？")
    assert "理解为" not in answer
    page.close()


def test_gdp_over_the_years_and_2024_targets_against_results_are_charted_with_their_sources(
    app_url: str, browser: Any, tmp_path: Path
) -> None:
    page, chat = _opened(browser, app_url)
    assert not page.locator("#zgqa-chart").is_visible()  # no chart before an answer about figures

    answer, _ = chat.ask("自贡历年GDP增速是多少？")
    for year, figure in (("2016年", "7.6%"), ("2020年", "3.9%"), ("2024年", "7.1%")):
        assert year in answer and figure in answer
    page.wait_for_function(
        "() => (document.querySelector('#zgqa-figures')?.innerText || '').includes('line 35')", timeout=10_000
    )
    page.wait_for_selector("#zgqa-chart svg, #zgqa-chart canvas", timeout=10_000)
    table = page.locator("#zgqa-figures").inner_text()
    for line in ("2016", "2020", "2024", "002_1cab8fd74a5b0016.txt: line 10", "000_9a0a210a4c556ec2.txt: line 35"):
        assert line in table
    with page.expect_download() as got:
        page.locator("#zgqa-csv").click()
    rows = Path(got.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("year,indicator") and any(r.startswith("2024,") and ",7.1," in r for r in rows)

    answer, _ = chat.ask("2024年的目标完成得怎么样？")
    assert "2024年目标" in answer and "2024年实际" in answer
    assert "超出目标" in answer or "未达到目标" in answer or "完成目标" in answer
    page.wait_for_function(
        "() => (document.querySelector('#zgqa-figures')?.innerText || '').includes('目标 target')", timeout=10_000
    )
    page.wait_for_selector("#zgqa-chart svg, #zgqa-chart canvas", timeout=10_000)
    table = page.locator("#zgqa-figures").inner_text()
    assert "目标 target" in table and "结果 result" in table and "003_80c5026a2abaecef.txt: line" in table
    shot = Path(SCREENSHOTS or tmp_path) / "figures.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # An answer about one figure hides the chart again.
    chat.ask("2024年自贡地区生产总值增长多少？")
    page.wait_for_function(
        "() => !document.querySelector('#zgqa-chart') || document.querySelector('#zgqa-chart').offsetParent === null",
        timeout=10_000,
    )
    page.close()


def test_an_older_answers_citation_still_opens_its_own_passage(app_url: str, browser: Any) -> None:
    page, chat = _opened(browser, app_url)
    chat.ask("2024年自贡地区生产总值增长多少？")
    chat.ask("那2020年呢？")
    _, sources = chat.ask("What is Zigong's 2025 GDP target?")
    assert "Sources of answer 3" in sources and "Sources of answer 1" in sources
    first = page.locator("#zgqa-chat [data-testid='bot']").first
    first.get_by_role("link", name="[1]").click()
    page.wait_for_function("() => location.hash === '#zgqa-src-1-1'")
    opened = page.locator("#zgqa-src-1-1")
    assert opened.is_visible()
    text = opened.inner_text()
    assert "000_9a0a210a4c556ec2.txt" in text and "7.1%" in text  # the first answer's passage, not the latest's
    assert any("7.1%" in marked for marked in opened.locator("mark").all_inner_texts())
    page.close()


def test_examples_ask_empty_questions_add_nothing_and_long_ones_are_never_cut(app_url: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url)
    page.wait_for_selector("#zgqa-question textarea")
    bots = "#zgqa-chat [data-testid='bot']"

    page.get_by_role("button", name="2024年自贡地区生产总值增长多少？").click()  # an example asks, not only fills
    page.wait_for_function(
        "(sel) => { const b = document.querySelectorAll(sel); return b.length === 1 && b[0].innerText.includes('7.1%'); }",
        arg=bots, timeout=30_000,
    )

    box = page.locator("#zgqa-question textarea")
    box.fill("")
    box.press("Enter")
    page.get_by_text("请先输入问题 · Type a question first.").first.wait_for(timeout=10_000)
    assert page.locator("#zgqa-chat [data-testid='user']").count() == 1  # no empty bubble

    long = "增长" * 300
    box.fill(long)
    assert box.input_value() == long  # the box keeps all 600 characters: nothing cut on paste
    box.press("Enter")
    page.wait_for_function(
        "(sel) => { const b = document.querySelectorAll(sel); return b.length === 2 && b[1].innerText.includes('600'); }",
        arg=bots, timeout=30_000,
    )
    said = page.locator(bots).last.inner_text()
    assert "问题有 600 个字，最多 500 个字" in said and "600 characters" in said
    page.wait_for_function("(n) => document.querySelector('#zgqa-question textarea').value.length === n", arg=600)
    page.close()


def test_typed_markup_stays_text_and_copying_an_answer_gives_plain_text_with_its_sources(
    app_url: str, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    chat = Chat(page)
    page.goto(app_url)
    page.wait_for_selector("#zgqa-question textarea")

    typed = "**bold** [link](http://x) www.example.com a@b.cn _it_ `code`"
    chat.ask(typed)
    user = page.locator("#zgqa-chat [data-testid='user']").last
    assert user.inner_text().strip() == typed  # as typed: no emphasis, no stray backslash
    assert user.locator("a").count() == 0  # and no link, not even to the bare addresses

    chat.ask("2024年自贡地区生产总值增长多少？")
    page.bring_to_front()  # the clipboard is only the focused page's
    page.locator("#zgqa-chat .message-buttons-left button[aria-label='Copy message']").last.click()
    copied = ""
    for _ in range(50):  # the button writes the Markdown at once, then the server's plain text replaces it
        copied = page.evaluate("navigator.clipboard.readText()")
        if "来源 · Sources" in copied:
            break
        page.wait_for_timeout(200)
    assert "\n\n来源 · Sources:\n" in copied, repr(copied)
    answer, sources = copied.split("\n\n来源 · Sources:\n")
    assert answer == "据2025年政府工作报告，全市地区生产总值增长7.1%。[1]"  # the [1] marker, no Markdown escapes
    assert sources.startswith("[1] ") and "000_9a0a210a4c556ec2.txt: line" in sources and "\\" not in copied
    context.close()


def test_on_a_phone_n_jumps_to_its_source_and_back_with_targets_a_finger_can_hit(
    app_url: str, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    chat = Chat(page)
    page.goto(app_url)
    page.wait_for_selector("#zgqa-question textarea")
    chat.ask("2024年自贡规模以上工业增加值增长多少？")
    answer = page.locator("#zgqa-chat [data-testid='bot']").last
    answer.scroll_into_view_if_needed()
    page.screenshot(path=str(Path(SCREENSHOTS or tmp_path) / "chat-phone.png"))
    link = answer.get_by_role("link", name="[1]")
    # Hovering previews the passage: its report, section and the words quoted.
    assert "2025年政府工作报告" in link.get_attribute("title") and "规模以上工业增加值增长15.3%" in link.get_attribute("title")
    box = link.bounding_box()
    assert box["width"] >= 32 and box["height"] >= 32

    def on_screen(locator: Any) -> bool:
        b = locator.bounding_box()
        return b is not None and b["y"] + b["height"] > 0 and b["y"] < 844

    link.click()
    page.wait_for_function("() => location.hash === '#zgqa-src-1-1'")
    source = page.locator("#zgqa-src-1-1")
    page.wait_for_timeout(300)
    assert on_screen(source)
    # The highlight is the clause quoted, not the whole sentence around it (which also gives 2.6% and 7.9%).
    assert source.locator("mark").all_inner_texts() == ["规模以上工业增加值增长15.3%、居全省第1位"]
    back = source.locator(".zgqa-back")
    assert back.bounding_box()["height"] >= 32
    back.click()
    page.wait_for_function("() => location.hash === '#zgqa-answer-1-text'")
    page.wait_for_timeout(300)
    assert on_screen(answer) and not on_screen(source)
    page.close()
