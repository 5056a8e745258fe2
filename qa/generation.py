"""Generative answers, for users who have a language model: the retrieval chain's answer step becomes
prompt -> model -> verification, and nothing the model says reaches the user unchecked.

The prompt (Chinese) numbers the retrieved passages and asks for a short answer in the question's
language with `[n]` after every claim, or exactly "报告中未找到相关内容" when the passages do not answer.

Verification, in code, sentence by sentence:
- markers outside `[1]`..`[k]` are removed;
- a sentence left without a citation is not an answer: it is removed;
- every number written in digits must occur in the passages the sentence cites (their text, section
  path or title), read as the extractive answerer reads them (`18。2` is `18.2`); a sentence with
  an invented or altered figure is removed;
- a Chinese sentence without any number must share at least `GROUNDED` of its character pairs with
  the passages it cites; an English one without a number cannot be checked this way and is kept
  on the strength of its citation;
- a sentence that says nothing to check is removed: a question, the question again, a passage
  heading of the prompt, a chat-template token, a scrap of English.
Removed sentences are not shown as part of the answer; `Answer.unverified` lists them. Faithful is
not yet relevant: what is kept, with the passage sentences it reproduces, must hold the question's
words as the extractive answer must (`qa.answer.COVERAGE_THRESHOLD`, and no subject the reports never
mention), or it is no answer (a small model copying a passage of its prompt). When nothing is left,
or nothing relevant (and the model did not say the reports lack the answer), the extractive answer
is given instead, and `Answer.note` says so. A model that cannot be reached also leads to the extractive
answer, with a note naming the error.

Leaves out: which model (`vectorstore.config.GeneratorSettings`), and retrieval (`qa.retrieval`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda

from qa.answer import COVERAGE_THRESHOLD, LANGUAGES, Composer, numbers, refusal
from qa.matching import question_words
from qa.question import Query, understand
from qa.retrieval import from_document
from qa.types import Answer, Citation, Passage
from vectorstore.config import GeneratorSettings
from vectorstore.errors import ZgqaError
from vectorstore.sentences import SENTENCE

log = logging.getLogger("zgqa.generation")

NOT_FOUND_PHRASE = "报告中未找到相关内容"
# A passage is cut to this many characters in the prompt, keeping small models' context (and the
# time to read it on a CPU) bounded; verification still reads the whole passage.
PROMPT_PASSAGE_CHARS = 900
# The share of a number-free Chinese sentence's character pairs that the passages it cites must hold.
GROUNDED = 0.6
# A Chinese sentence sharing this much of its character pairs with the question repeats it.
ECHO = 0.8
# An English sentence without figures needs this many words to say anything ("[/INST]" does not).
MIN_ENGLISH_WORDS = 3
# A passage sentence a claim reproduces this much of (its character pairs) backs the claim.
SUPPORTED = 0.5
# The context a local GGUF model is opened with: five cut passages and the answer fit.
LLAMA_CONTEXT = 8192

SYSTEM = """你是自贡市政府工作报告的问答助手，只能依据用户给出的编号段落回答，不得使用段落以外的知识。
规则：
1. 每一句陈述的末尾都要标注它所依据的段落编号，例如 [1]；依据多个段落时写 [1][2]。
2. 数字必须与段落中的写法完全一致，不要换算、四舍五入或推算。
3. 如果这些段落不能回答问题，只回答：报告中未找到相关内容。
4. 回答简短，最多三句话。"""

HUMAN = """段落：
{passages}

问题：{question}
{language_rule}"""

LANGUAGE_RULES = {
    "zh": "请用中文回答。",
    "en": "请用英文（English）回答，数字照段落原样写出，每句末尾仍标注 [n]。",
}

PROMPT = ChatPromptTemplate.from_messages([("system", SYSTEM), ("human", HUMAN)])

FALLBACK_NOTE = {
    "zh": "模型的回答无法与所引段落核实，以下为摘录式回答。",
    "en": "The model's answer could not be verified against the passages it cited; this is the extractive answer.",
}
OFF_TOPIC_NOTE = {
    "zh": "模型的回答未回答所问的问题，以下为摘录式回答。",
    "en": "The model's answer does not answer the question; this is the extractive answer.",
}
UNAVAILABLE_NOTE = {
    "zh": "语言模型不可用（{error}），以下为摘录式回答。",
    "en": "The language model is unavailable ({error}); this is the extractive answer.",
}

_BRACKETS = str.maketrans({"【": "[", "】": "]", "［": "[", "］": "]"})
# One marker, or a list in one pair of brackets: `[1]`, `[1, 2]`, `[1、3]`.
_MARKERS = re.compile(r"\[\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*\]")
# A sentence of the draft: up to its end mark (a `.` only when a space or the end follows, so `6.1`
# stays whole), with the markers that follow the end mark ("…6.1%。[1]") kept with it.
_DRAFT_SENTENCE = re.compile(
    r"[^。！？!?\n]+?(?:[。！？!?]+|\.(?=\s|$)|$)(?:\s*\[\s*\d+(?:\s*[,，、]\s*\d+)*\s*\])*", re.MULTILINE
)
# Chat-template tokens a model may print when its template is not the one it was trained with.
_SPECIAL = re.compile(r"\[/?INST\]|<</?SYS>>|<\|[^|<>]{1,40}\|>|</?s>|<(?:start|end)_of_turn>(?:model|user)?")
_DIGIT = re.compile(r"\d")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_THINKING = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_REFUSED = re.compile(rf"{NOT_FOUND_PHRASE}|not (?:found|contain|mention)|no (?:information|relevant)", re.IGNORECASE)
_SPACED_END = re.compile(r"\s+([。，；！？.,;!?])")
_YEARLIKE = re.compile(r"(?:19|20)\d\d")
_BARE = re.compile(r"[\s\W_]*", re.UNICODE)


@dataclass(frozen=True)
class Checked:
    """One sentence of the draft after verification."""

    text: str  # without its markers
    cites: tuple[int, ...]  # the passage numbers it cites, in range (1-based, as in the prompt)
    kept: bool
    why: str = ""  # why it was removed
    refusal: bool = False


def verify(draft: str, passages: Sequence[Passage], question: str = "") -> list[Checked]:
    """Every sentence of the model's draft, each kept or removed (with why), in order."""
    text = _SPECIAL.sub("", _THINKING.sub("", draft)).translate(_BRACKETS)
    headings = [heading(p) for p in passages]
    out: list[Checked] = []
    for m in _DRAFT_SENTENCE.finditer(text):
        sentence = m.group().strip()
        claim = _SPACED_END.sub(r"\1", _MARKERS.sub("", sentence)).strip()
        if not _BARE.sub("", claim):
            continue
        cited = [int(n) for group in _MARKERS.findall(sentence) for n in re.split(r"\s*[,，、]\s*", group)]
        cites = tuple(dict.fromkeys(n for n in cited if 1 <= n <= len(passages)))
        if _REFUSED.search(claim) and not numbers(claim):
            out.append(Checked(claim, cites, kept=False, why="says the passages do not answer", refusal=True))
            continue
        if not cites:
            why = "cites no passage" if not cited else f"cites passages that were not given ({_listed(cited)})"
            out.append(Checked(claim, (), kept=False, why=why))
            continue
        why = _not_a_claim(claim, question, headings)
        if why:
            out.append(Checked(claim, cites, kept=False, why=why))
            continue
        evidence = [passages[n - 1] for n in cites]
        held = set().union(*(numbers(f"{p.title}\n{p.section}\n{p.text}") for p in evidence))
        claimed = numbers(claim)
        if claimed - held:
            missing = ", ".join(sorted(claimed - held))
            out.append(Checked(claim, cites, kept=False, why=f"{missing} not in the passages it cites"))
            continue
        if not claimed and _CJK_RUN.search(claim) and grounding(claim, "\n".join(p.text for p in evidence)) < GROUNDED:
            out.append(Checked(claim, cites, kept=False, why="its words are not in the passages it cites"))
            continue
        out.append(Checked(claim, cites, kept=True))
    return out


def heading(p: Passage) -> str:
    """A passage's first line in the prompt: its section path and year."""
    return f"{p.section}（{p.year or '年份不详'}）"


def _not_a_claim(claim: str, question: str, headings: Sequence[str]) -> str:
    """Why a sentence says nothing to check (a question, the question again, a passage heading, a
    scrap of English), or "" for a claim."""
    bare = claim.rstrip("。.！!；;，, ")
    if claim.endswith(("？", "?")):
        return "asks instead of answering"
    # The question again: nothing in it the question had not (a figure is something).
    if question and numbers(bare) <= numbers(question) and (
        bare in question or (_CJK_RUN.search(bare) and grounding(bare, question) >= ECHO)
    ):
        return "repeats the question"
    if " › " in bare or any(bare in h for h in headings):
        return "repeats a passage heading"
    if not _CJK_RUN.search(bare) and not _DIGIT.search(bare) and len(_LATIN_WORD.findall(bare)) < MIN_ENGLISH_WORDS:
        return "too short to be a claim"
    return ""


def grounding(claim: str, text: str) -> float:
    """The share of the claim's Chinese character pairs found in `text`."""
    pairs = {run[i : i + 2] for run in _CJK_RUN.findall(claim) for i in range(len(run) - 1)}
    if not pairs:
        return 0.0
    return sum(1 for p in pairs if p in text) / len(pairs)


class Generator:
    """The answer step of the chain when a model is configured: `{"input", "context", "language"}`
    -> prompt -> model (streaming its tokens to the callbacks) -> verification -> `Answer`."""

    def __init__(self, model: Runnable[Any, Any], composer: Composer, name: str, *, serial: bool = False) -> None:
        self.composer = composer
        self.name = name
        # `model` streams its tokens to the callbacks (`chat_model` makes real models so).
        self.draft: Runnable[dict[str, Any], str] = PROMPT | model | StrOutputParser()
        # A model in this process (llama.cpp) has one context: one answer at a time. An endpoint
        # queues requests itself.
        self._turn = threading.Lock() if serial else contextlib.nullcontext()

    def runnable(self) -> RunnableLambda[dict[str, Any], Answer]:
        return RunnableLambda(self._answer, name="generated_answer")

    def _answer(self, inputs: dict[str, Any], config: Any) -> Answer:
        passages = [from_document(d) for d in inputs["context"] if isinstance(d, Document)]
        query = understand(str(inputs["input"]))
        lang = str(inputs.get("language")) if inputs.get("language") in LANGUAGES else query.lang
        if not passages:
            return replace(refusal(query.text, passages, language=lang), generator=self.name)
        prompt_inputs = {
            "passages": prompt_passages(passages),
            "question": query.text,
            "language_rule": LANGUAGE_RULES[lang],
        }
        try:
            with self._turn:
                draft = self.draft.invoke(prompt_inputs, config)
        except Exception as exc:  # the endpoint down, a timeout, a refused key: answer without it
            log.warning("the language model failed: %r", exc)
            error = f"{type(exc).__name__}: {str(exc)[:120]}"
            note = UNAVAILABLE_NOTE[lang].format(error=error)
            answer = self.composer.compose(query, passages, language=lang)
            return replace(answer, generator=self.name, note=note, fell_back=True)
        return self.verified(query, draft, passages, lang)

    def verified(self, query: Query, draft: str, passages: Sequence[Passage], lang: str) -> Answer:
        """The answer the draft supports: its kept sentences, with citations renumbered in order of
        first use; the model's refusal; or the extractive answer when nothing can be kept or what
        is kept does not answer the question."""
        question = query.text
        checked = verify(draft, passages, question)
        kept = [c for c in checked if c.kept]
        removed = tuple(f"{c.text} ({c.why})" for c in checked if not c.kept and not c.refusal)
        if not kept:
            if any(c.refusal for c in checked):
                answer = refusal(question, passages, language=lang)
                return replace(answer, generator=self.name, unverified=removed, draft=draft)
            answer = self.composer.compose(query, passages, language=lang)
            return replace(
                answer, generator=self.name, unverified=removed, note=FALLBACK_NOTE[lang], fell_back=True, draft=draft
            )
        order: list[int] = []
        for c in kept:
            order.extend(n for n in c.cites if n not in order)
        support = {n: _support(passages[n - 1], [c.text for c in kept if n in c.cites]) for n in order}
        # Faithful is not enough: quoting a passage that does not answer the question (a small
        # model copying its prompt) is no answer. The question's words must be in what is quoted,
        # as the extractive answerer requires of its own clauses.
        words = question_words(query, self.composer.index.vocabulary)
        quoted = "\n".join([*(c.text for c in kept), *(t for n in order for t in support[n])])
        coverage = sum(words.weights[w] for w in words.held(quoted)) / words.total if words.total else 0.0
        if words.unknown() or coverage < COVERAGE_THRESHOLD:
            why = f"does not answer the question: holds {coverage:.0%} of its words"
            off = tuple(f"{c.text} ({why})" for c in kept)
            answer = self.composer.compose(query, passages, language=lang)
            return replace(
                answer, generator=self.name, unverified=removed + off, note=OFF_TOPIC_NOTE[lang], fell_back=True,
                draft=draft,
            )
        sentences = []
        for c in kept:
            markers = "".join(f"[{order.index(n) + 1}]" for n in c.cites)
            sentences.append(_with_end(c.text, lang) + markers)
        citations = tuple(Citation.of(i, passages[n - 1], support[n]) for i, n in enumerate(order, 1))
        return Answer(
            question=question,
            text=(" " if lang == "en" else "").join(sentences),
            found=True,
            citations=citations,
            coverage=coverage,
            language=lang,
            generator=self.name,
            unverified=removed,
            draft=draft,
        )


def prompt_passages(passages: Sequence[Passage]) -> str:
    """The numbered passages as the prompt gives them: number, report and section, then the text."""
    parts = []
    for n, p in enumerate(passages, 1):
        text = p.text if len(p.text) <= PROMPT_PASSAGE_CHARS else p.text[:PROMPT_PASSAGE_CHARS] + "…"
        parts.append(f"[{n}] {heading(p)}\n{text}")
    return "\n\n".join(parts)


def chat_model(settings: GeneratorSettings) -> BaseChatModel:
    """The LangChain chat model the settings name, streaming (imported only when one is configured)."""
    if settings.kind == "openai":
        try:
            from langchain_openai import ChatOpenAI
        except ImportError:
            raise ZgqaError("The openai generator needs langchain-openai: pip install langchain-openai.") from None
        return ChatOpenAI(
            model=str(settings.model),
            base_url=settings.base_url,
            # A local server (llama.cpp, Ollama, vLLM) takes any key; the client insists on one.
            api_key=settings.api_key or "not-needed",  # type: ignore[arg-type]
            temperature=0,
            max_completion_tokens=settings.max_tokens,
            # ChatOpenAI sends only OpenAI's newer `max_completion_tokens`, which compatible servers
            # (llama.cpp's, vLLM's, DashScope's) may ignore and generate until their context is full.
            extra_body={"max_tokens": settings.max_tokens} if settings.base_url else None,
            timeout=settings.timeout,
            max_retries=1,
            streaming=True,  # tokens reach the callbacks (the UI) as they come
        )
    if settings.kind == "llama-cpp":
        try:
            # langchain-community is sunset (it warns on import) but still holds LangChain's only
            # in-process llama.cpp chat model; serving the GGUF with llama-cpp-python's own server and
            # using the openai generator is the way that does not depend on it.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "`langchain-community` is being sunset", DeprecationWarning)
                from langchain_community.chat_models import ChatLlamaCpp
        except ImportError:
            raise ZgqaError("The llama-cpp generator needs the llm extra: pip install -e '.[llm]'.") from None
        try:
            # (Typed here: where the extra is not installed, mypy sees ChatLlamaCpp as Any.)
            local: BaseChatModel = ChatLlamaCpp(
                model_path=str(settings.gguf),
                n_ctx=LLAMA_CONTEXT,
                temperature=0,
                max_tokens=settings.max_tokens,
                streaming=True,
                verbose=False,
                model_kwargs={"chat_format": settings.chat_format} if settings.chat_format else {},
            )
            return local
        except Exception as exc:  # llama.cpp cannot read the file, or llama-cpp-python is missing
            raise ZgqaError(f"Cannot open the GGUF model {settings.gguf}: {exc}") from exc
    raise ZgqaError("No generator is configured (ZGQA_GENERATOR=none).")


class TokenStream(BaseCallbackHandler):
    """Hands each token the model streams to `on_token` (the UI shows the draft as it grows)."""

    def __init__(self, on_token: Callable[[str], None]) -> None:
        self.on_token = on_token

    def on_llm_new_token(self, token: str | list[str | dict[str, Any]], **kwargs: Any) -> None:
        if isinstance(token, str) and token:  # (a list is a multimodal chunk: not text to show)
            self.on_token(token)


def _support(passage: Passage, claims: Sequence[str]) -> tuple[str, ...]:
    """The passage's sentences (clauses up to `；`) that back the claims: those a claim reproduces
    (`SUPPORTED` of their character pairs), or state one of its figures (years aside); else the one
    sharing most of a claim's words."""
    sentences = [s.strip() for s in SENTENCE.findall(passage.text) if s.strip()]
    chosen: list[str] = []
    for claim in claims:
        figures = {n for n in numbers(claim) if not _YEARLIKE.fullmatch(n)}
        backing = [s for s in sentences if grounding(s, claim) >= SUPPORTED or figures & numbers(s)]
        if not backing and sentences:
            backing = [max(sentences, key=lambda s: grounding(claim, s))]
        chosen.extend(s for s in backing if s not in chosen)
    return tuple(chosen)


def _with_end(text: str, lang: str) -> str:
    if text[-1:] in "。！？!?.":
        return text
    return text + ("." if lang == "en" else "。")


def _listed(numbers_: Sequence[int]) -> str:
    return ", ".join(f"[{n}]" for n in dict.fromkeys(numbers_))
