"""Answer quality against the pipelines a user would otherwise build, and the warm latency of `qa.ask`.

All three systems are scored in one run by the same harness (`qa.evaluation.evaluate`) on the same questions:
- this project: `qa.retrieve` for the ranking, `qa.ask` for the answer;
- the LangChain tutorial pipeline: the raw seed files as they are (no cleaning, no de-duplication),
  `RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50, add_start_index=True)`, the same
  embedding model, an in-memory `Chroma`, `similarity_search(question, k=5)`;
- BM25 alone (bm25s over the project's jieba tokens) over those same chunks, top 5.
Each peer chunk carries its seed file and raw-file line span (from `start_index`), so the harness judges
it exactly as it judges our passages.

Run: `zgqa bench qa` (or `python -m benchmarks.qa`); `--questions FILE` scores another question file,
`--repeat N` sets the timed `qa.ask` calls per question, `--json FILE` also writes the numbers.

Leaves out: answers for the peers (they only retrieve, so their rows hold retrieval metrics alone) and
building the index (`zgqa build` must have run on `$ZGQA_INDEX`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from qa.evaluation import KS, UNANSWERABLE, Question, Report, evaluate, load_questions
from vectorstore.config import Settings
from vectorstore.errors import ZgqaError

DEFAULT_QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "eval_qa_dev.jsonl"
DEFAULT_REPEAT = 5
# The LangChain RAG tutorial's splitter settings, kept as the tutorial has them.
CHUNK_SIZE = 500
CHUNK_OVERLAP = 50
K = max(KS)  # every system returns as many passages as the harness scores
# Warm latency targets for `qa.ask`: an answer that feels instant in the chat UI, with a tail that stays so.
P50_TARGET_MS = 50.0
P95_TARGET_MS = 150.0
# Texts per model call while embedding the peer chunks; only sets how often progress is shown.
PROGRESS_BATCH = 64
CROSSLINGUAL = "crosslingual"
OURS, TUTORIAL, BM25 = "this project", "LangChain tutorial", "BM25 alone"


@dataclass(frozen=True)
class PeerChunk:
    """A chunk of a raw seed file as the tutorial splitter cuts it, with the raw lines it spans."""

    source: str  # seed file name
    line_start: int  # 1-based, inclusive, in the raw file
    line_end: int
    text: str


def peer_chunks(seeds: Path) -> list[PeerChunk]:
    """The seed files read as they are and split the tutorial's way, each chunk located in its raw file."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)
    files = sorted(seeds.glob("*.txt"))
    if not files:
        raise ZgqaError(f"No report files in {seeds}: set ZGQA_SEEDS to the folder of the reports.")
    chunks = []
    for file in files:
        raw = file.read_text(encoding="utf-8")  # what LangChain's TextLoader does, without its full-path source
        for doc in splitter.split_documents([Document(page_content=raw, metadata={"source": file.name})]):
            start = int(doc.metadata["start_index"])
            # subtle: the splitter finds start_index by searching for the chunk text; a miss (-1) or a
            # match elsewhere would judge the peer on the wrong lines, so refuse rather than score it.
            if raw[start : start + len(doc.page_content)] != doc.page_content:
                raise ZgqaError(f"{file.name}: the splitter's start_index {start} does not point at its chunk.")
            first = raw.count("\n", 0, start) + 1
            chunks.append(PeerChunk(file.name, first, first + doc.page_content.count("\n"), doc.page_content))
    return chunks


class _Progress(Embeddings):
    """The model's embeddings, called in slices so that embedding the peer chunks shows its progress."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        from tqdm import tqdm

        unique = list(dict.fromkeys(texts))  # the 2017 report is repeated 8 times: embed each text once
        vectors: dict[str, list[float]] = {}
        with tqdm(total=len(unique), desc="embedding the tutorial's chunks", unit="chunk", file=sys.stderr) as bar:
            for i in range(0, len(unique), PROGRESS_BATCH):
                part = unique[i : i + PROGRESS_BATCH]
                vectors.update(zip(part, self.inner.embed_documents(part), strict=True))
                bar.update(len(part))
        return [vectors[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def tutorial_retriever(chunks: Sequence[PeerChunk], embeddings: Embeddings) -> Callable[[str], list[PeerChunk]]:
    """The tutorial's vector store: every chunk into an in-memory Chroma, `similarity_search(question, k=5)`."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma

    docs = [Document(page_content=c.text, metadata={"n": i}) for i, c in enumerate(chunks)]
    store = Chroma.from_documents(
        docs,
        embedding=_Progress(embeddings),
        collection_name="tutorial",
        client_settings=ChromaSettings(anonymized_telemetry=False),  # telemetry would try to reach the internet
    )

    def retrieve(question: str) -> list[PeerChunk]:
        return [chunks[int(doc.metadata["n"])] for doc in store.similarity_search(question, k=K)]

    return retrieve


def bm25_retriever(chunks: Sequence[PeerChunk]) -> Callable[[str], list[PeerChunk]]:
    """bm25s with its defaults over the project's jieba tokens of the same chunks, top 5."""
    import bm25s

    from vectorstore.lexical import tokenize

    index = bm25s.BM25()
    index.index([tokenize(c.text) for c in chunks], show_progress=False)

    def retrieve(question: str) -> list[PeerChunk]:
        tokens = tokenize(question)
        if not tokens:
            return []
        docs, _ = index.retrieve([tokens], k=K, show_progress=False, n_threads=1)
        return [chunks[int(i)] for i in docs[0]]

    return retrieve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zgqa bench qa", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS,
                        help="question file in the eval format (default: the development questions)")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                        help=f"timed qa.ask calls per question after the warm-up (default {DEFAULT_REPEAT})")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    import qa

    t0 = time.perf_counter()
    settings = Settings.from_env()
    questions = load_questions(args.questions, settings.seeds)
    reports: dict[str, Report] = {}
    # Our system first, alone in the process, so its latency and memory are its own.
    reports[OURS] = evaluate(questions, qa.retrieve, qa.ask, progress=_bar(f"{OURS}: ask"))  # doubles as the warm-up
    times = _warm_latency(questions, qa.ask, args.repeat)
    ours_rss = _peak_rss_mb()

    from vectorstore.embeddings import ModelEmbeddings

    chunks = peer_chunks(settings.seeds)
    tutorial = tutorial_retriever(chunks, ModelEmbeddings(settings.model, settings.cache))
    reports[TUTORIAL] = evaluate(questions, tutorial, progress=_bar(f"{TUTORIAL}: retrieve"))
    reports[BM25] = evaluate(questions, bm25_retriever(chunks), progress=_bar(f"{BM25}: retrieve"))
    seconds = time.perf_counter() - t0

    summaries = {name: report.summary() for name, report in reports.items()}
    p50, p95 = statistics.median(times), _p95(times)
    ok = p50 < P50_TARGET_MS and p95 < P95_TARGET_MS
    print(f"{len(questions)} questions from {args.questions}; {len(chunks)} tutorial chunks "
          f"({CHUNK_SIZE}/{CHUNK_OVERLAP} characters) over the raw seeds; k = {K} for every system\n")
    _print_systems(summaries)
    print()
    _print_types(questions, reports)
    print()
    print(f"{OURS}, answers by type (facts and citations need an answer; the peers only retrieve):")
    print(reports[OURS].table())
    print()
    ratios = _print_ratios(summaries)
    print()
    print(f"warm qa.ask latency ({args.repeat} x {len(questions)} calls after one warm-up call per question): "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms  target p50 < {P50_TARGET_MS:.0f} ms, p95 < {P95_TARGET_MS:.0f} ms"
          f"{' ok' if ok else ' MISSED'}")
    total_rss = _peak_rss_mb()
    print(f"peak RSS: {ours_rss:.0f} MB after this project's runs; {total_rss:.0f} MB for the whole benchmark "
          "(the peers load a second copy of the model and their own Chroma)")
    print(f"run time {seconds:.0f} s on {os.cpu_count()} cores")
    if args.json:
        numbers = {"questions": str(args.questions), "peer_chunks": len(chunks), "systems": summaries,
                   "ratios": ratios, "ask_warm_ms": {"p50": p50, "p95": p95, "calls": len(times)},
                   "peak_rss_mb": {"ours": ours_rss, "all": total_rss}, "seconds": seconds}
        args.json.write_text(json.dumps(numbers, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0 if ok else 1


def _warm_latency(questions: Sequence[Question], ask: Callable[[str], object], repeat: int) -> list[float]:
    from tqdm import tqdm

    times = []
    with tqdm(total=repeat * len(questions), desc=f"{OURS}: timed asks", file=sys.stderr) as bar:
        for _ in range(repeat):
            for q in questions:
                start = time.perf_counter()
                ask(q.question)
                times.append((time.perf_counter() - start) * 1000)
                bar.update(1)
    return times


def _print_systems(summaries: dict[str, dict[str, Any]]) -> None:
    keys = ("hit@1", "hit@3", "hit@5", "mrr", "fact_recall", "citation_hit")
    head = f"{'system':<22}" + "".join(f"{h:>8}" for h in ("hit@1", "hit@3", "hit@5", "MRR", "facts", "cited")) \
        + f"{'unanswerable refused':>22}{'false refusals':>16}"
    print(head)
    print("-" * len(head))
    for name, s in summaries.items():
        asked = s["refusal_accuracy_text"] != "n/a"  # a peer only retrieves: it never answers, so never refuses
        print(f"{name:<22}" + "".join(_cell(s.get(key)) for key in keys)
              + f"{s['refusal_accuracy_text'] if asked else '-':>22}{s['false_refusals'] if asked else '-':>16}")


def _print_types(questions: Sequence[Question], reports: dict[str, Report]) -> None:
    """hit@5 per question type, with the counts behind it (the English questions find Chinese text or not)."""
    names = list(reports)
    width = max(len(n) for n in names) + 2
    head = f"{'hit@5 by type':<14}{'n':>4}" + "".join(f"{n:>{width}}" for n in names)
    print(head)
    print("-" * len(head))
    types = list(dict.fromkeys(q.type for q in questions))
    for t in types:
        if t == UNANSWERABLE:
            continue  # nothing to find; refusals are in the table above
        row = f"{t:<14}{sum(q.type == t for q in questions):>4}"
        for n in names:
            hits, total = _found(reports[n], t)
            row += f"{f'{hits / total:.2f} ({hits}/{total})':>{width}}"
        print(row)
    if CROSSLINGUAL in types:
        found = ", ".join(f"{n} {'/'.join(map(str, _found(reports[n], CROSSLINGUAL)))}" for n in names)
        print(f"English (crosslingual) questions with the evidence in the top {K}: {found}")


def _print_ratios(summaries: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    ours = summaries[OURS]
    ratios: dict[str, dict[str, float | None]] = {}
    for peer in (TUTORIAL, BM25):
        ratios[peer] = {
            key: (ours[key] / summaries[peer][key] if summaries[peer].get(key) else None) for key in ("hit@5", "mrr")
        }
        text = ", ".join(f"{key} {_ratio(value)}" for key, value in ratios[peer].items())
        print(f"ours / {peer}: {text}")
    return ratios


def _found(report: Report, type_: str) -> tuple[int, int]:
    outcomes = [o for o in report.outcomes if o.type == type_]
    return sum(1 for o in outcomes if o.rank is not None and o.rank <= K), len(outcomes)


def _bar(label: str) -> Callable[[int, int], None]:
    from tqdm import tqdm

    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=label, file=sys.stderr)
        bar.update(1)
        if done == total:
            bar.close()

    return update


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]  # nearest rank: 95% of the calls were this fast


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _cell(value: float | None) -> str:
    return f"{value:>8.2f}" if isinstance(value, float) else f"{'-':>8}"


def _ratio(value: float | None) -> str:
    return "n/a (peer scored 0)" if value is None else f"{value:.2f}x"


if __name__ == "__main__":
    sys.exit(main())
