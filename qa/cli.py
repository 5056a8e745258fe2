"""The `zgqa` command line: `zgqa reports` and `zgqa chunks [--json]` over the reports folder.

Errors the project raises on purpose are shown as one line and exit status 1, never a traceback.

Leaves out: the logic itself, which lives in `vectorstore` (and later `qa`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from vectorstore import Corpus, ZgqaError, load
from vectorstore.config import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        corpus = load(args.seeds or Settings.from_env().seeds)
        for warning in corpus.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for skipped in corpus.skipped:
            print(f"skipped {skipped.source}: {skipped.reason}", file=sys.stderr)
        if args.command == "reports":
            _print_reports(corpus, as_json=args.json)
        else:
            _print_chunks(corpus, as_json=args.json)
    except ZgqaError as exc:
        print(f"zgqa: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `zgqa chunks | head`: the reader left, nothing is wrong; silence stdout's final flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zgqa", description="Question answering over the Zigong reports.")
    sub = parser.add_subparsers(dest="command")
    for name, help_text in (
        ("reports", "one line per report: metadata and what cleaning removed or repaired"),
        ("chunks", "every chunk with its section and raw-file lines"),
    ):
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument("--seeds", type=Path, help="folder of report files (default: $ZGQA_SEEDS or seeds/)")
        cmd.add_argument("--json", action="store_true", help="JSON lines with all fields")
    return parser


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
            print(f"[{chunk.id}] {chunk.source}:{chunk.line_start}-{chunk.line_end}  {chunk.section}")
            print(f"    {chunk.text}\n")


if __name__ == "__main__":
    sys.exit(main())
