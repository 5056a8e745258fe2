"""Scoring a question file (the format of `../shared/eval_qa_dev.jsonl`) against any retriever and
answerer: hit@1/3/5 and MRR, fact recall, citation hit, refusals, a per-type table, latency.

A passage or citation is on target when it comes from the evidence's file and its line span holds
the raw line of an evidence quote (all lines, for a quote found more than once or across lines).
Facts are matched as the question file says: whitespace removed, `。` between digits read as `.`.

Leaves out: producing the answers (any `retrieve`/`ask` pair can be scored, which is how the
benchmarks score the peer pipelines with the same harness).
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vectorstore.errors import ZgqaError
from vectorstore.reading import decode

KS = (1, 3, 5)
UNANSWERABLE = "unanswerable"
_KEYS = ("hit@1", "hit@3", "hit@5", "mrr", "fact_recall", "citation_hit")
_HEADS = ("hit@1", "hit@3", "hit@5", "MRR", "facts", "cited")


class Located(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def line_start(self) -> int: ...
    @property
    def line_end(self) -> int: ...


class Answered(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def found(self) -> bool: ...
    @property
    def citations(self) -> Sequence[Located]: ...


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    type: str
    lang: str
    answer_facts: tuple[str, ...]
    evidence: tuple[tuple[str, frozenset[int]], ...]  # (file, raw lines holding the quote)

    @property
    def answerable(self) -> bool:
        return self.type != UNANSWERABLE


@dataclass
class Outcome:
    id: str
    type: str
    rank: int | None  # 1-based rank of the first passage on target, None if none in the k
    facts: bool | None  # None for an unanswerable question
    cited: bool | None
    found: bool | None  # None when only retrieval was scored
    seconds: float
    answer: str = ""
    coverage: float | None = None  # the answerer's evidence measure, where it reports one
    # For a generated answer: the model's sentences verification removed, and whether the extractive
    # answer had to stand in. None when the answerer is not a model.
    unverified: int | None = None
    fell_back: bool | None = None


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"questions": len(self.outcomes), **_scores(self.outcomes)}
        out["by_type"] = {t: _scores([o for o in self.outcomes if o.type == t]) for t in _types(self.outcomes)}
        times = sorted(o.seconds for o in self.outcomes)
        if times:
            out["latency_ms"] = {"p50": 1000 * _percentile(times, 50), "p95": 1000 * _percentile(times, 95)}
        return out

    def table(self) -> str:
        """The summary as a plain-text table, one row per question type and one for all."""
        head = f"{'type':<14}{'n':>4}" + "".join(f"{h:>8}" for h in _HEADS) + f"{'refused':>9}"
        rows = [head, "-" * len(head)]
        summary = self.summary()
        for name, scores in [*summary["by_type"].items(), ("all", summary)]:
            rows.append(
                f"{name:<14}{scores['n']:>4}"
                + "".join(_cell(scores.get(key)) for key in _KEYS)
                + f"{scores['refused']:>9}"
            )
        lat = summary.get("latency_ms")
        if lat:
            rows.append(f"latency per question: p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms")
        rows.append(
            f"unanswerable refused: {summary['refusal_accuracy_text']}; false refusals: {summary['false_refusals']}"
        )
        if "unverified_sentences" in summary:
            rows.append(
                f"generated: {summary['unverified_sentences']} sentences removed as unverified "
                f"(in {summary['answers_with_unverified']} answers); "
                f"{summary['fallbacks']} answers fell back to the extractive answer"
            )
        return "\n".join(rows)


def load_questions(path: Path, seeds: Path) -> list[Question]:
    """Read the question file and locate every evidence quote's raw lines in the seed files."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ZgqaError(f"Cannot read the question file {path}: {exc.strerror}.") from exc
    except UnicodeDecodeError as exc:
        row = path.read_bytes()[: exc.start].count(b"\n") + 1
        byte = exc.object[exc.start]
        raise ZgqaError(f"{path}:{row}: not UTF-8 (byte {byte:#04x}): save the question file as UTF-8.") from None
    folder = seeds.resolve()
    raw: dict[str, list[str]] = {}
    questions = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            evidence = []
            for item in row.get("evidence", []):
                name = str(item["file"])
                if name not in raw:
                    file = (seeds / name).resolve()
                    if file.parent != folder or not file.is_file():  # no path out of the reports folder
                        raise ZgqaError(f"{path}:{number}: evidence file {name} is not in {seeds}.")
                    text = decode(file.read_bytes())  # as the reports are read: GBK too
                    if isinstance(text, str):
                        raise ZgqaError(f"{path}:{number}: evidence file {name} cannot be read: {text}.")
                    raw[name] = text[0].splitlines()
                found = quote_lines(raw[name], str(item["quote"]))
                if not found:
                    raise ZgqaError(f"{path}:{number}: the quote {item['quote']!r} is not in {name}.")
                evidence.append((name, frozenset(found)))
            if not str(row["question"]).strip():
                raise ZgqaError(f"{path}:{number}: the question is empty.")
            questions.append(
                Question(
                    id=str(row["id"]),
                    question=str(row["question"]),
                    type=str(row.get("type", "")),
                    lang=str(row.get("lang", "")),
                    answer_facts=tuple(str(f) for f in row.get("answer_facts", [])),
                    evidence=tuple(evidence),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ZgqaError(f"{path}:{number}: not a question in the eval format ({exc!r}).") from exc
    if not questions:
        raise ZgqaError(f"{path} holds no questions.")
    return questions


def quote_lines(lines: list[str], quote: str) -> set[int]:
    """1-based lines holding `quote`, compared without whitespace; a quote running over a line
    break holds every line it touches."""
    target = _squash(quote)
    if not target:
        return set()
    text = ""
    owner: list[int] = []
    for number, line in enumerate(lines, 1):
        squashed = _squash(line)
        text += squashed
        owner.extend([number] * len(squashed))
    found: set[int] = set()
    start = text.find(target)
    while start != -1:
        found.update(owner[start : start + len(target)])
        start = text.find(target, start + 1)
    return found


def normalize_fact(text: str) -> str:
    """Whitespace removed, `。` between digits read as a decimal point, as the question file defines."""
    return re.sub(r"(?<=\d)。(?=\d)", ".", _squash(text))


def on_target(item: Located, question: Question) -> bool:
    return any(
        item.source == name and any(item.line_start <= n <= item.line_end for n in lines)
        for name, lines in question.evidence
    )


def evaluate(
    questions: Sequence[Question],
    retrieve: Callable[[str], Sequence[Located]],
    ask: Callable[[str], Answered] | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Score each question; `retrieve` returns the ranked passages (the first 5 count), `ask` the answer."""
    report = Report()
    for i, q in enumerate(questions, 1):
        start = time.perf_counter()
        passages = list(retrieve(q.question))[: max(KS)]
        seconds = time.perf_counter() - start
        answer = None
        if ask is not None:  # the answer's own time, retrieval included, is the latency a user sees
            start = time.perf_counter()
            answer = ask(q.question)
            seconds = time.perf_counter() - start
        rank = next((r for r, p in enumerate(passages, 1) if on_target(p, q)), None)
        facts = cited = found = None
        if answer is not None:
            found = answer.found
            if q.answerable:
                text = normalize_fact(answer.text)
                facts = found and all(normalize_fact(f) in text for f in q.answer_facts)
                cited = found and any(on_target(c, q) for c in answer.citations)
        generated = answer is not None and getattr(answer, "generator", "extractive") != "extractive"
        report.outcomes.append(
            Outcome(
                q.id, q.type, rank if q.answerable else None, facts, cited, found, seconds,
                answer.text if answer is not None else "", getattr(answer, "coverage", None),
                len(getattr(answer, "unverified", ())) if generated else None,
                bool(getattr(answer, "fell_back", False)) if generated else None,
            )
        )
        if progress is not None:
            progress(i, len(questions))
    return report


def _scores(outcomes: list[Outcome]) -> dict[str, Any]:
    answerable = [o for o in outcomes if o.type != UNANSWERABLE]
    unanswerable = [o for o in outcomes if o.type == UNANSWERABLE]
    out: dict[str, Any] = {"n": len(outcomes)}
    if answerable:
        for k in KS:
            out[f"hit@{k}"] = _mean(o.rank is not None and o.rank <= k for o in answerable)
        out["mrr"] = _mean(1 / o.rank if o.rank else 0.0 for o in answerable)
        scored = [o for o in answerable if o.facts is not None]
        if scored:
            out["fact_recall"] = _mean(bool(o.facts) for o in scored)
            out["citation_hit"] = _mean(bool(o.cited) for o in scored)
    asked = [o for o in outcomes if o.found is not None]
    refused_ok = sum(1 for o in unanswerable if o.found is False)
    out["refused"] = sum(1 for o in asked if o.found is False)
    out["false_refusals"] = sum(1 for o in answerable if o.found is False)
    out["refusal_accuracy"] = refused_ok / len(unanswerable) if unanswerable and asked else None
    out["refusal_accuracy_text"] = f"{refused_ok}/{len(unanswerable)}" if asked else "n/a"
    generated = [o for o in outcomes if o.unverified is not None]
    if generated:
        out["unverified_sentences"] = sum(o.unverified or 0 for o in generated)
        out["answers_with_unverified"] = sum(1 for o in generated if o.unverified)
        out["fallbacks"] = sum(1 for o in generated if o.fell_back)
    return out


def _types(outcomes: list[Outcome]) -> list[str]:
    seen: list[str] = []
    for o in outcomes:
        if o.type not in seen:
            seen.append(o.type)
    return seen


def _mean(values: Any) -> float:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else 0.0


def _percentile(sorted_values: list[float], pct: float) -> float:
    if len(sorted_values) == 1:
        return sorted_values[0]
    return statistics.quantiles(sorted_values, n=100, method="inclusive")[int(pct) - 1]


def _cell(value: float | None) -> str:
    return f"{value:>8.2f}" if isinstance(value, float) else f"{'-':>8}"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)
