"""`ask` and `retrieve`: the Python entry points. The first call opens the index (and loads the
model) once per settings; later calls, from any thread, reuse them.

The answer chain is LangChain's retrieval chain (`retrieval_chain`, its steps run in the asking
thread): the hybrid retriever, then the extractive composer as the combining step, or, when a
language model is configured (`ZGQA_GENERATOR`), prompt -> model -> verification (`qa.generation`)
in its place, retrieval untouched.

Leaves out: building the index (`zgqa build`, `vectorstore.build`) and the UI.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from qa import series
from qa.answer import Composer
from qa.conversation import understand_turn
from qa.question import normalize, resolve_relative, understand
from qa.retrieval import DEFAULT_K, HybridRetriever, Index
from qa.spelling import Speller
from qa.types import NEWS, Answer, Passage, Source
from vectorstore.config import GeneratorSettings, Settings
from vectorstore.errors import ZgqaError
from vectorstore.generations import current_root
from vectorstore.store import open_store

# Longer than any real question (the longest development question has 111 characters) and short
# enough that one request cannot make tokenizing and embedding slow for everyone else.
MAX_QUESTION = 500
MAX_K = 50
# Only the latest turns can shape a follow-up; a longer history is cut, not refused.
MAX_HISTORY = 20
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


class QuestionError(ZgqaError):
    """A question (or option) that cannot be asked: empty, too long, or an impossible k."""


@dataclass
class _Engine:
    index: Index
    composer: Composer
    chains: dict[tuple[int, int | None, str | None, GeneratorSettings], Any] = field(default_factory=dict)
    generators: dict[GeneratorSettings, Any] = field(default_factory=dict)
    _speller: Speller | None = None

    def chain(self, k: int, year: int | None, source: str | None, generator: GeneratorSettings) -> Any:
        key = (k, year, source, generator)
        with _lock:
            if key not in self.chains:
                retriever = HybridRetriever(index=self.index, k=k, year=year, source=source)
                step = self.generator(generator).runnable() if generator.enabled else self.composer.runnable()
                self.chains[key] = retrieval_chain(retriever, step)
            return self.chains[key]

    def rewrite(self, question: str) -> str:
        """The question as it will be answered: relative years as the years they mean, typos and
        homophones as the report words they stand for."""
        return self.speller.correct(resolve_relative(question, self.latest))

    @property
    def speller(self) -> Speller:
        """Typos and homophones read as the report words they stand for, built once per index."""
        if self._speller is None:
            self._speller = Speller(self.index.vocabulary.words(), self.index.vocabulary.text)
        return self._speller

    @property
    def generation(self) -> str:
        """The index generation answers are read from (`generations/<time>`), "" for a server."""
        root = self.index.store.root
        return root.name if root.parent.name == "generations" else ""

    @property
    def latest(self) -> int | None:
        """The year the latest report in the index was delivered (news articles are not reports)."""
        return max((s.year for s in self.index.sources if s.year is not None and s.kind != NEWS), default=None)

    def generator(self, settings: GeneratorSettings) -> Any:
        """The model step for these settings, opened once (a local GGUF model loads once)."""
        if settings not in self.generators:
            from qa.generation import Generator, chat_model

            model = chat_model(settings)
            serial = settings.kind == "llama-cpp"
            self.generators[settings] = Generator(model, self.composer, settings.name, serial=serial)
        return self.generators[settings]


_engines: dict[Settings, _Engine] = {}
_retired: dict[Settings, _Engine] = {}  # the engine a rebuild replaced, closed at the next switch
_lock = threading.Lock()


def ask(
    question: str,
    *,
    k: int = DEFAULT_K,
    year: int | None = None,
    source: str | None = None,
    history: Sequence[str] | None = None,
    settings: Settings | None = None,
    generator: GeneratorSettings | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """A short cited answer, or a refusal listing the closest passages.

    `year` keeps only passages whose figures are about that year (a report reviews the year before
    it and plans its own; a question naming no year is read as naming it); `source` only that seed
    file. `history` is the user's earlier questions of the conversation, oldest first, as typed: a
    follow-up ("那2020年呢？", "What about exports?", "English please") is rewritten with it,
    deterministically, and the answer's `understood` says how.

    `generator` (default: from the environment, `ZGQA_GENERATOR`) picks who writes the answer: the
    extractive answerer, or a language model whose answer is verified before it is returned; its
    tokens are handed to `on_token` as they are generated (the draft, not yet verified).
    """
    question = _checked(question, k)
    past = _history(history)
    engine = _engine(settings)
    _check_filters(engine, year, source)  # before anything is cached under them
    asked = engine.rewrite(question)
    earlier = tuple(engine.rewrite(h) for h in past)
    turn = understand_turn(asked, earlier)
    query = understand(turn.question)
    if year is not None and not query.years:
        # The filter says which year the figures are about; the question is read as naming it.
        named = f"In {year}, {turn.question}" if query.lang == "en" else f"{year}年{turn.question}"
        turn = replace(turn, question=named, rewritten=True)
    generator = generator or GeneratorSettings.from_env()
    if year is None and source is None:
        # Trends and targets against results are read from the figures table, not composed.
        figures = series.answer(query, engine.index, turn.language or query.lang)
        if figures is not None:
            rewritten = turn.rewritten or (turn.question != question and turn.question != normalize(question))
            understood = turn.question if rewritten else None
            return replace(figures, question=question, understood=understood, generation=engine.generation)
    chain = engine.chain(k, year, source, generator)
    config: dict[str, Any] = {}
    if on_token is not None and generator.enabled:
        from qa.generation import TokenStream

        config["callbacks"] = [TokenStream(on_token)]
    # A filter that matches no report raises ZgqaError from inside the chain, with what there is.
    result = chain.invoke({"input": turn.question, "language": turn.language}, config)
    answer = result["answer"]
    assert isinstance(answer, Answer)
    # Simplified characters alone are no rewriting to show; a resolved year or a corrected typo is.
    rewritten = turn.rewritten or (turn.question != question and turn.question != normalize(question))
    return replace(
        answer, question=question, understood=turn.question if rewritten else None, generation=engine.generation
    )


def years(*, settings: Settings | None = None) -> list[int]:
    """The years the reports' figures are about: what the year filter offers."""
    return _engine(settings).index.years_covered()


def sources(*, settings: Settings | None = None) -> tuple[Source, ...]:
    """The reports in the index, by year: what a year or report filter offers."""
    return _engine(settings).index.sources


def retrieve(
    question: str,
    *,
    k: int = DEFAULT_K,
    year: int | None = None,
    source: str | None = None,
    settings: Settings | None = None,
) -> list[Passage]:
    """The k best passages for the question, best first, with their fused scores."""
    question = _checked(question, k)
    engine = _engine(settings)
    _check_filters(engine, year, source)
    asked = engine.rewrite(question)
    return engine.index.search(understand(asked), k=k, year=year, source=source)


def figures(indicator: str | None = None, *, settings: Settings | None = None) -> list[dict[str, Any]]:
    """The figures table's rows whose indicator holds `indicator` (every row when None), each with
    its report, file and line: `qa.figures("地区生产总值")`."""
    table = _engine(settings).index.store.figures or []
    return [series.as_row(r) for r in series.rows_for(indicator, table)]


def close() -> None:
    """Forget the opened indexes (after a rebuild, or to release the folder)."""
    with _lock:
        for engine in (*_engines.values(), *_retired.values()):
            engine.index.store.close()
        _engines.clear()
        _retired.clear()


def retrieval_chain(retriever: Runnable[str, list[Any]], step: Runnable[dict[str, Any], Any]) -> Runnable[Any, Any]:
    """LangChain's `create_retrieval_chain`, its steps run one after the other in the asking thread:
    `{"input", ...}` in, the same with `"context"` (the retriever's documents) and `"answer"` (the
    step's) out. Its `RunnablePassthrough.assign` runs each step in a thread pool made anew for every
    call: two pools and two threads per question, about 10 ms of a warm question's 30 on 2 cores, and
    the more threads the more users ask at once. Callbacks (tokens streamed by a model) reach both
    steps through the config as before."""

    def run(inputs: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        with_context = {**inputs, "context": retriever.invoke(inputs["input"], config)}
        return {**with_context, "answer": step.invoke(with_context, config)}

    return RunnableLambda(run, name="retrieval_chain")


def _engine(settings: Settings | None) -> _Engine:
    """The opened index for these settings: opened once, and opened anew when a build has published
    another generation since (an app that runs for days answers from the reports as built now)."""
    settings = settings or Settings.from_env()
    with _lock:
        engine = _engines.get(settings)
        if engine is not None and not settings.chroma_host and current_root(settings) != engine.index.store.root:
            # Questions still being answered from the old generation finish there; it is closed at
            # the next switch (and a build keeps it on disk while this process reads it).
            old = _retired.pop(settings, None)
            if old is not None:
                old.index.store.close()
            _retired[settings] = engine
            engine = None
        if engine is None:
            _single_threaded_blas()
            store = open_store(settings)
            try:
                index = Index(store)
            except BaseException:
                store.close()
                raise
            engine = _Engine(index, Composer(index))
            _engines[settings] = engine
        return engine


@functools.cache
def _single_threaded_blas() -> None:
    """Keep NumPy's BLAS (OpenBLAS) to one thread in a process that answers questions, from before its
    first similarity on. A question multiplies a vector by a few thousand sentence vectors (30 us on one
    thread), and OpenBLAS's second thread then spins waiting for work: on 2 busy cores a warm question
    took 40 ms of CPU instead of 16. One thread also makes the similarities the same on any number of
    cores (OpenBLAS splits a product differently per thread count, in the last bits). Process-wide:
    answering is parallel across questions, never within one."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def _check_filters(engine: _Engine, year: Any, source: Any) -> None:
    """A year filter is a whole number and a source a file name, each of a report in the index."""
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise QuestionError(f"year is a whole number such as 2025, not {type(year).__name__}.")
    if source is not None and not isinstance(source, str):
        raise QuestionError(f"source is a report's file name, not {type(source).__name__}.")
    engine.index.check_filters(year, source)


def _history(history: Sequence[str] | None) -> tuple[str, ...]:
    if history is None:
        return ()
    # A generator would be read once and lost; a number or a mapping is no list of questions.
    if not isinstance(history, (list, tuple)) or not all(isinstance(h, str) for h in history):
        raise QuestionError("history is the list of earlier questions, each a text.")
    turns = [" ".join(visible(h).split())[:MAX_QUESTION] for h in history]
    return tuple(t for t in turns if t)[-MAX_HISTORY:]


def visible(text: str) -> str:
    """`text` without terminal colour codes, control characters and invisible format characters
    (zero-width spaces, direction marks): what a pasted question means is what it shows."""
    text = _ANSI.sub("", text)
    return "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))


def _checked(question: Any, k: int) -> str:
    if not isinstance(question, str):
        raise QuestionError(f"A question is text, not {type(question).__name__}.")
    text = " ".join(visible(question).split())
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: bytes that were not UTF-8, or a broken JSON escape
        raise QuestionError("The question holds characters that are not valid text (not UTF-8).") from None
    if not text:
        raise QuestionError("The question is empty: ask about a figure, a target or a term in the reports.")
    if len(text) > MAX_QUESTION:
        raise QuestionError(f"The question has {len(text)} characters; ask in at most {MAX_QUESTION}.")
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise QuestionError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}.")
    return text
