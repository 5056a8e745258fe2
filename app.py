"""The Gradio chat around `qa`: ask in Chinese or English, read the answer with its numbered
citations, and check each one in the sources panel (report, year, kind, section path, source file
and lines, the passage with the quoted sentence highlighted).

`python app.py` (or `make run`, which first builds what is missing) serves it on
http://127.0.0.1:7860: loopback only unless `ZGQA_HOST` says otherwise, a login when `ZGQA_USER`
and `ZGQA_PASSWORD` are set, never a public share link. The endpoint `ask` returns the JSON of
`zgqa ask --json` to `gradio_client`.

Everything shown that comes from a report or a user is escaped and displayed as text: the chat
renders Markdown, so both HTML and Markdown syntax are neutralized before our own links are added.

Leaves out: answering (`qa`), building the index (`zgqa build`).
"""

from __future__ import annotations

import argparse
import html
import logging
import queue
import re
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import gradio as gr
import uvicorn
from fastapi import FastAPI
from starlette.middleware import Middleware

import qa
from qa.api import MAX_QUESTION
from qa.serving import MAX_HEADERS, BodyLimit, GuardedH11, LoginThrottle, bindable, loopback
from qa.types import NEWS
from vectorstore.config import MAX_BODY, ServeSettings

log = logging.getLogger("zgqa.app")

EXAMPLES = [
    "2024年自贡地区生产总值增长多少？",
    "What is Zigong's 2025 GDP target?",
    "2024年自贡“12345”热线满意率是多少？",
    "How many tourists did Zigong receive in 2024?",
]
ALL = ""  # the filter value meaning "no filter"
SEARCHING = "正在检索报告… · Searching the reports…"
EMPTY_QUESTION = "请先输入问题 · Type a question first."
TOO_LONG = (
    "问题有 {n} 个字，最多 {limit} 个字，请缩短后再问 · The question has {n} characters; shorten it to at most {limit}."
)
DRAFTING = "*模型生成中，尚未核实 · The model is writing; not yet verified:*\n\n"
REMOVED = "已删除无法核实的句子 · Removed, could not be verified:"
FAILED = "⚠️ 内部错误，已记录。· Something went wrong; it has been logged."
KINDS = {"work_report": "政府工作报告 · official report", "plan_report": "计划报告 · official report"}
NEWS_KIND = "新闻报道 · news article (secondary source)"
KIND_NAMES = {
    "result": "结果 result",
    "target": "目标 target",
    "average": "年均 average",
    "rank": "排名 rank",
    "share": "占比 share",
}
# The longest quotation a hover preview shows.
PREVIEW = 160
# CSV files of answers' figures kept for download at once (older ones are deleted as new ones come).
KEPT_CSV = 64
# One request holds a core for ~50 ms; a few at once keep the queue short without thrashing 2 cores.
CONCURRENCY = 4

CSS = """
.zgqa-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 12px; margin: 8px 0; }
.zgqa-source:target { outline: 3px solid var(--color-accent); }
.zgqa-meta { font-size: 0.9em; color: var(--body-text-color-subdued); margin: 2px 0; }
.zgqa-passage { white-space: pre-wrap; margin-top: 6px; }
.zgqa-passage mark { background: #fde68a; color: inherit; }
.zgqa-sources-head { font-weight: 600; margin: 12px 0 4px; }
.zgqa-refusal { font-weight: 600; color: #b45309; margin-bottom: 6px; }
.zgqa-back { display: inline-block; margin-top: 6px; font-size: 0.9em; }
/* On a phone a finger needs a target of at least 32 px: the [n] links and the way back. */
@media (max-width: 640px) {
  #zgqa-chat a[href^="#zgqa-src-"], .zgqa-back {
    display: inline-block; min-width: 32px; min-height: 32px; line-height: 32px; text-align: center;
  }
}
"""

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-!|~$])")
_MARKER = re.compile(r"\[(\d+)\]")
_WWW = re.compile(r"(www)\.", re.IGNORECASE)
_ESCAPED = re.compile(r"\\" + _MARKDOWN.pattern)  # what `as_text` escaped, to undo it


def as_text(text: str) -> str:
    """`text` for a Markdown message, shown character for character: no tag, link or emphasis in it
    does anything. (`&` first, so the entities that follow stay entities.) The chat's Markdown also
    links bare addresses (`http://x`, `www.x.com`, `a@b.cn`), whatever escapes precede them: the
    `:` of `://`, `@` and the dot after `www` are written as entities, shown but not linked."""
    escaped = _MARKDOWN.sub(r"\\\1", html.escape(text, quote=False))
    return _WWW.sub(r"\1&#46;", escaped.replace("://", "&#58;//").replace("@", "&#64;"))


def answer_pieces(answer: qa.Answer, turn: int = 1) -> list[str]:
    """The chat message of an answer as it grows, one cited sentence at a time: "理解为：…" for a
    rewritten follow-up, then the answer with each `[n]` a link to source n of this answer (the
    `turn`-th of the conversation) in the panel."""
    head = ""
    if answer.understood:
        said = "Understood as: " if answer.language == "en" else "理解为："
        head = f"*{said}{as_text(answer.understood)}*\n\n"
    if answer.note:
        head += f"*{as_text(answer.note)}*\n\n"
    # An empty anchor the sources' "back" links return to (ids survive the chat's sanitizing).
    head = f'<span id="zgqa-answer-{turn}-text"></span>' + head
    shown, at, grown = head, 0, []
    previews = {c.n: preview(c) for c in answer.citations}
    for m in _MARKER.finditer(answer.text):
        hover = f' "{previews[int(m[1])]}"' if int(m[1]) in previews else ""
        shown += as_text(answer.text[at : m.start()]) + f"[\\[{m[1]}\\]](#zgqa-src-{turn}-{m[1]}{hover})"
        grown.append(shown)
        at = m.end()
    if at < len(answer.text) or not grown:
        grown.append(shown + as_text(answer.text[at:]))
    if answer.unverified:
        removed = "".join(f"\n- ~~{as_text(r)}~~" for r in answer.unverified)
        grown.append(f"{grown[-1]}\n\n{REMOVED}{removed}")
    return grown


def preview(citation: qa.Citation) -> str:
    """What hovering `[n]` shows (the link's title): the report, the section and what is quoted, as
    a Markdown link title (quotes and backslashes as entities, one line)."""
    said = citation.support[0] if citation.support else citation.text
    said = said if len(said) <= PREVIEW else said[: PREVIEW - 1] + "…"
    text = " ".join(f"{citation.title} › {citation.section}：{said}".split())
    return html.escape(text, quote=True).replace("\\", "&#92;")


EMPTY_PANEL = '<div class="zgqa-meta">来源将显示在这里 · Sources appear here.</div>'


def sources_html(answer: qa.Answer | None, turn: int = 1) -> str:
    """The sources of one answer (the `turn`-th of the conversation): a heading, then for each
    citation its provenance and passage, quoted sentences marked. Ids carry the turn, so an older
    answer's [n] still leads to its own source n."""
    if answer is None:
        return EMPTY_PANEL
    parts = [f'<div class="zgqa-sources-head">回答 {turn} 的来源 · Sources of answer {turn}</div>']
    if not answer.found:
        parts.append(
            '<div class="zgqa-refusal">报告中未找到相关内容 · The reports do not contain this. '
            "最接近的段落 · Closest passages:</div>"
        )
    for c in answer.citations:
        kind = NEWS_KIND if c.kind == NEWS else KINDS.get(c.kind, c.kind)
        parts.append(
            f'<section class="zgqa-source" id="zgqa-src-{turn}-{c.n}">'
            f"<div><b>[{c.n}]</b> {html.escape(c.title)}</div>"
            f'<div class="zgqa-meta">{c.year or "?"} · {html.escape(kind)}</div>'
            f'<div class="zgqa-meta">章节 Section: {html.escape(c.section)}</div>'
            f'<div class="zgqa-meta">source file: <code>{html.escape(c.where)}</code></div>'
            f'<div class="zgqa-passage">{highlighted(c.text, c.support)}</div>'
            f'<a class="zgqa-back" href="#zgqa-answer-{turn}-text">↩ 回到回答 {turn} · Back to answer {turn}</a>'
            "</section>"
        )
    return f'<div class="zgqa-answer-sources" id="zgqa-answer-{turn}">' + "\n".join(parts) + "</div>"


def panel_html(groups: list[str]) -> str:
    """The sources panel: every answer's sources, the newest first."""
    return "\n".join(reversed(groups)) if groups else EMPTY_PANEL


def highlighted(text: str, support: Sequence[str]) -> str:
    """`text` escaped, with each supporting sentence (a substring of it) inside `<mark>`."""
    spans = sorted((i, i + len(s)) for s in support if s and (i := text.find(s)) >= 0)
    out, at = [], 0
    for start, end in spans:
        if start < at:
            continue
        out.append(html.escape(text[at:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def plain_copy(answer: qa.Answer) -> str:
    """What copying an answer gives: its text as shown, `[n]` markers kept, then its sources, one line
    each (report › section, file: lines). Plain text: no Markdown, no escapes."""
    english = answer.language == "en"
    lines = [f"{'Understood as: ' if english else '理解为：'}{answer.understood}"] if answer.understood else []
    lines += [answer.note] if answer.note else []
    lines.append(answer.text)
    if answer.unverified:
        lines += ["", REMOVED, *(f"- {r}" for r in answer.unverified)]
    if answer.citations:
        lines += ["", "来源 · Sources:" if answer.found else "最接近的段落 · Closest passages:"]
        lines += [f"[{c.n}] {c.title} › {c.section}, {c.where}" for c in answer.citations]
    return "\n".join(lines)


def _content(message: dict[str, Any]) -> str:
    """A message's text, whether gradio hands it as a string or as a list of parts."""
    content = message.get("content")
    if isinstance(content, list):  # gradio's normalized form: a list of parts
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def copied(copies: list[list[str]], data: gr.CopyData) -> str:
    """The plain text for the chat's copy button: an answer's `plain_copy`, or any other message
    (a question, a notice) with the Markdown escapes of `as_text` undone."""
    value = _content({"content": data.value})
    for shown, plain in copies:
        if shown == value:
            return plain
    return html.unescape(_ESCAPED.sub(r"\1", value))


Turn = tuple[list[dict[str, Any]], str, list[str], str, list[dict[str, Any]], list[str], list[list[str]]]


def respond(
    message: str,
    chat: list[dict[str, Any]],
    questions: list[str],
    year: str,
    source: str,
    groups: list[str] | None = None,
    copies: list[list[str]] | None = None,
) -> Iterator[Turn]:
    """The chat handler: shows the question, then the answer a sentence at a time, then its sources
    (added to the panel above those of earlier answers, `groups`) and the rows of the figures table
    it rests on (for the chart and the table); `copies` gets the answer's message with what copying
    it gives (`plain_copy`). Every failure ends as a message in the chat."""
    groups = list(groups or [])
    copies = list(copies or [])
    if not chat:  # a new conversation, even if a clear sent a moment earlier has not reset the state yet
        questions, groups, copies = [], [], []
    if not " ".join(message.split()):  # nothing asked: no empty bubble, a notice in both languages
        with warnings.catch_warnings():  # outside a request (a direct call) it is a Python warning
            warnings.simplefilter("ignore")
            gr.Warning(EMPTY_QUESTION)
        yield chat, panel_html(groups), questions, "", [], groups, copies
        return
    turn = 1 + sum(1 for m in chat if m.get("role") == "assistant")
    chat = [*chat, {"role": "user", "content": as_text(message)}, {"role": "assistant", "content": SEARCHING}]
    panel = panel_html(groups)
    yield chat, panel, questions, "", [], groups, copies
    length = len(" ".join(message.split()))
    if length > MAX_QUESTION:  # said, never cut: the whole question stays in the box to shorten
        said = "⚠️ " + as_text(TOO_LONG.format(n=length, limit=MAX_QUESTION))
        chat = [*chat[:-1], {"role": "assistant", "content": said}]
        yield chat, panel, questions, message, [], groups, copies
        return
    try:
        for step in asking(message, history=questions, year=int(year) if year else None, source=source or None):
            if isinstance(step, str):  # a model's draft, growing as it streams
                chat = [*chat[:-1], {"role": "assistant", "content": DRAFTING + as_text(step)}]
                yield chat, panel, questions, "", [], groups, copies
            else:
                answer = step
    except qa.ZgqaError as e:
        chat = [*chat[:-1], {"role": "assistant", "content": f"⚠️ {as_text(str(e))}"}]
        yield chat, panel, questions, message, [], groups, copies
        return
    except Exception:
        log.exception("answering %r failed", message)
        chat = [*chat[:-1], {"role": "assistant", "content": FAILED}]
        yield chat, panel, questions, message, [], groups, copies
        return
    questions = [*questions, message]
    if not answer.found and (year or source):  # a refusal under a filter says the filter is on
        on = "，".join(x for x in (f"年份 {year}" if year else "", f"报告 {source}" if source else "") if x)
        answer = replace(answer, text=f"{answer.text}（已按{on}筛选 · a filter is on: {year or source}）")
    for shown in answer_pieces(answer, turn):
        chat = [*chat[:-1], {"role": "assistant", "content": shown}]  # a new list: each step is its own
        yield chat, panel, questions, "", [], groups, copies
    groups = [*groups, sources_html(answer, turn)]
    copies = [*copies, [shown, plain_copy(answer)]]
    yield chat, panel_html(groups), questions, "", list(answer.figures), groups, copies


def figures_view(rows: list[dict[str, Any]]) -> tuple[Any, Any, Any]:
    """The chart, the table and the CSV download of an answer's figures; all hidden when it has none.
    The chart shows the rows in the unit most of them share (percentages and 亿元 share no axis)."""
    import pandas as pd

    if not rows:
        hidden = gr.update(visible=False, value=None)
        return hidden, hidden, gr.update(visible=False, value=None)
    units = [r["unit"] for r in rows]
    unit = max(set(units), key=units.count)
    charted = [r for r in rows if r["unit"] == unit]
    # Over the years: a bar a year. One year's targets against results: a pair of bars an indicator.
    by_year = len({r["year"] for r in charted}) > 1
    x = "年份 year" if by_year else "指标 indicator"
    chart = pd.DataFrame(
        {
            x: [str(r["year"] if by_year else r["indicator"]) for r in charted],
            unit: [float(r["value"]) for r in charted],
            "系列 series": [
                f"{r['indicator']} · {KIND_NAMES.get(str(r['kind']), r['kind'])}"
                if by_year
                else KIND_NAMES.get(str(r["kind"]), r["kind"])
                for r in charted
            ],
        }
    )
    table = pd.DataFrame(
        {
            "[n]": [f"[{r.get('citation', '')}]" for r in rows],
            "年份 year": [str(r["year"]) for r in rows],
            "指标 indicator": [r["indicator"] for r in rows],
            "数值 value": [
                f"{r['value']:g}{r['unit']}{r['qualifier'] if r['qualifier'] in ('以上', '左右', '余') else ''}"
                for r in rows
            ],
            "类型 kind": [KIND_NAMES.get(str(r["kind"]), r["kind"]) for r in rows],
            "出处 source": [f"{r['report']} · {r['source']}: line {r['line']}" for r in rows],
            "原文 quote": [r["quote"] for r in rows],
        }
    )
    plot = gr.update(visible=True, value=chart, x=x, y=unit, color="系列 series", sort="x" if by_year else None)
    return plot, gr.update(visible=True, value=table), gr.update(visible=True, value=_csv(rows))


def _csv(rows: list[dict[str, Any]]) -> str:
    """The rows as a CSV file for the download button, named by its content (the same answer, the same
    file), in a folder of this app that keeps only the latest few."""
    import hashlib
    import tempfile
    from pathlib import Path

    from qa.series import csv_text

    data = csv_text(rows).encode("utf-8-sig")  # the BOM lets spreadsheet programs read the Chinese
    folder = Path(tempfile.gettempdir()) / "zgqa-figures"
    folder.mkdir(exist_ok=True)
    path = folder / f"figures-{hashlib.sha256(data).hexdigest()[:12]}.csv"
    path.write_bytes(data)
    for old in sorted(folder.glob("figures-*.csv"), key=lambda p: p.stat().st_mtime)[:-KEPT_CSV]:
        old.unlink(missing_ok=True)
    return str(path)


def asking(question: str, **options: Any) -> Iterator[str | qa.Answer]:
    """`qa.ask` in a worker thread: the model's draft as it grows (when a model writes the answers),
    then the verified `Answer`. Its errors are raised here."""
    tokens: queue.Queue[str | None] = queue.Queue()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["answer"] = qa.ask(question, on_token=tokens.put, **options)
        except BaseException as e:  # handed to the generator's caller
            outcome["error"] = e
        finally:
            tokens.put(None)

    threading.Thread(target=work, name="zgqa-ask", daemon=True).start()
    draft = ""
    while (token := tokens.get()) is not None:
        draft += token
        while not tokens.empty():  # whatever else has arrived meanwhile, in one update
            more = tokens.get_nowait()
            if more is None:
                tokens.put(None)
                break
            draft += more
        yield draft
    if "error" in outcome:
        raise outcome["error"]
    yield outcome["answer"]


def ask(
    question: str, history: list[str] | None = None, year: int | None = None, source: str | None = None
) -> dict[str, Any]:
    """The answer as `zgqa ask --json` prints it. `history`: the earlier questions, oldest first."""
    try:
        return qa.ask(question, history=history, year=year, source=source).as_dict()
    except qa.ZgqaError as e:
        log.info("rejected an ask: %s", str(e)[:200])  # one line, not Gradio's traceback
        raise gr.Error(str(e), print_exception=False) from None


def clear() -> Turn:
    return [], EMPTY_PANEL, [], "", [], [], []


def build_app() -> gr.Blocks:
    reports = qa.sources()
    years = qa.years()
    demo: gr.Blocks
    # Gradio's cache (the CSV files handed to the download button) is swept hourly of files over an hour old.
    with gr.Blocks(
        title="自贡政府工作报告问答 · Zigong report QA", analytics_enabled=False, delete_cache=(3600, 3600)
    ) as demo:
        gr.Markdown(
            "## 自贡政府工作报告问答 · Zigong report QA\n"
            "用中文或英文提问；每句回答都标注出处，点 [n] 查看原文。"
            " Ask in Chinese or English; every sentence cites its passage — click [n] to see it."
        )
        questions = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="对话 · Chat",
                    height=480,
                    latex_delimiters=[],
                    feedback_options=None,
                    buttons=["copy"],
                    elem_id="zgqa-chat",
                )
                # No max_length: the box would cut a pasted question silently; the answer says it is too long.
                box = gr.Textbox(
                    label=f"问题（最多 {MAX_QUESTION} 字）· Question (at most {MAX_QUESTION} characters)",
                    placeholder="例如：2024年自贡地区生产总值增长多少？ / e.g. What is Zigong's 2025 GDP target?",
                    elem_id="zgqa-question",
                )
                with gr.Row():
                    send = gr.Button("提问 · Ask", variant="primary", elem_id="zgqa-send")
                    reset = gr.Button("新对话 · New chat")
                gr.Markdown("示例（点击即提问）· Examples (click to ask)")
                with gr.Row():
                    examples = [gr.Button(q, size="sm", elem_classes=["zgqa-example"]) for q in EXAMPLES]
            with gr.Column(scale=2):
                year = gr.Dropdown(
                    [("全部年份 · All years", ALL), *((str(y), str(y)) for y in reversed(years))],
                    value=ALL,
                    label="数字所属年份（报告回顾上一年、安排当年）· Year the figures are about "
                    "(a report reviews the year before it and plans its own)",
                    elem_id="zgqa-year",
                )
                report = gr.Dropdown(
                    [("全部报告 · All reports", ALL), *((f"{r.label}（{r.source}）", r.source) for r in reports)],
                    value=ALL,
                    label="报告 · Report",
                )
                panel = gr.HTML(sources_html(None), label="来源 · Sources", elem_id="zgqa-sources")
        with gr.Row():
            plot = gr.BarPlot(label="数字 · Figures", visible=False, elem_id="zgqa-chart", height=280)
        table = gr.Dataframe(
            label="数字及出处 · Figures and sources",
            visible=False,
            interactive=False,
            wrap=True,
            elem_id="zgqa-figures",
        )
        download = gr.DownloadButton("下载 CSV · Download CSV", visible=False, elem_id="zgqa-csv", size="sm")
        figures = gr.State([])
        groups = gr.State([])  # the sources of every answer so far, oldest first
        copies = gr.State([])  # what copying each answer gives, oldest first
        inputs = [box, chat, questions, year, report, groups, copies]
        outputs = [chat, panel, questions, box, figures, groups, copies]
        # The copy button puts the message's Markdown on the clipboard; this replaces it with plain text.
        clipboard = gr.Textbox(visible=False, elem_id="zgqa-clipboard")
        chat.copy(copied, copies, clipboard, api_visibility="private").then(
            None, clipboard, None, js="(text) => { if (text) navigator.clipboard.writeText(text); }"
        )
        shown = [plot, table, download]
        for event in (box.submit, send.click):
            event(
                respond,
                inputs,
                outputs,
                api_visibility="undocumented",
                concurrency_limit=CONCURRENCY,
                concurrency_id="qa",
            ).then(figures_view, figures, shown, api_visibility="private")
        for button, example in zip(examples, EXAMPLES, strict=True):
            button.click(lambda q=example: q, None, box, api_visibility="private").then(
                respond, inputs, outputs, api_visibility="private", concurrency_limit=CONCURRENCY, concurrency_id="qa"
            ).then(figures_view, figures, shown, api_visibility="private")
        reset.click(clear, None, outputs, api_visibility="private").then(
            figures_view, figures, shown, api_visibility="private"
        )
        # The chat's own trash button empties the chat; the follow-up history must go with it.
        chat.clear(clear, None, outputs, api_visibility="private").then(
            figures_view, figures, shown, api_visibility="private"
        )
        # gradio re-exports `api` without listing it in `__all__`.
        gr.api(ask, api_name="ask", concurrency_limit=CONCURRENCY, concurrency_id="qa")  # type: ignore[attr-defined]
    return demo


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="Serve the Zigong report QA chat.")
    parser.add_argument("--host", help="address to bind (default: $ZGQA_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $ZGQA_PORT or 7860; 0: any free port)")
    args = parser.parse_args(argv)
    if args.port is not None and not 0 <= args.port <= 65535:
        parser.error(f"--port must be from 0 to 65535, not {args.port}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # gradio's own start-up requests
    # GuardedH11 says in one line what it refused; uvicorn's own line for it would be a second.
    logging.getLogger("uvicorn.error").addFilter(lambda r: r.getMessage() != "Invalid HTTP request received.")
    try:
        serve = ServeSettings.from_env()
        host = args.host or serve.host
        port = bindable(host, args.port if args.port is not None else serve.port)
        if not loopback(host) and not serve.auth:
            print(f"warning: serving on {host} without a login: anyone who can reach it can ask "
                  "(set ZGQA_USER and ZGQA_PASSWORD).", file=sys.stderr, flush=True)
        print("Opening the index and loading the model ...", flush=True)
        qa.retrieve("自贡")  # open the index and load the model now, not on the first question
        demo = build_app()
    except qa.ZgqaError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"Serving the chat on http://{host}:{port}/" + (" (login required)" if serve.auth else ""), flush=True)
    # Mounted and served by our own uvicorn server (gradio's `launch` offers no say in its protocol):
    # the h11 protocol with header, idle and body limits; never a public share link.
    server = FastAPI(middleware=[Middleware(LoginThrottle), Middleware(BodyLimit, limit=MAX_BODY)])
    gr.mount_gradio_app(
        server,
        demo.queue(default_concurrency_limit=CONCURRENCY),
        path="",
        server_name=host,
        server_port=port,
        auth=serve.auth,
        auth_message="自贡报告问答 · Zigong report QA" if serve.auth else None,
        ssr_mode=False,
        css=CSS,
        show_error=False,
        footer_links=["api"],
        max_file_size=MAX_BODY,  # the app takes no files; nothing larger is stored either
    )
    GuardedH11.idle_seconds = serve.idle_seconds
    config = uvicorn.Config(
        server, host=host, port=port, http=GuardedH11, h11_max_incomplete_event_size=MAX_HEADERS,
        timeout_keep_alive=5, log_level="warning",
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
