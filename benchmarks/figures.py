"""`zgqa bench figures`: precision and recall of the figures table against figures read by hand.

`tests/fixtures/figures_audit*.jsonl` list every figure of 62 whole lines of the five reports
(value, unit, year, kind, qualifier, indicator, line), read by helpers who never saw the extraction
code. Over exactly those lines:
- a row is correct when it has the file, line, value and unit of an audited figure and the same
  year, kind and qualifier, and one indicator is the other with words left out (`全市城镇化率` /
  `城镇化率`, `城镇累计新增就业` / `城镇就业`), the news article's read de-spun as the table holds it;
- recall is the share of audited figures with a correct row, precision the share of rows on the
  audited lines that are correct.
Targets (issue 16): precision >= 0.95, recall >= 0.9; the command exits 1 when either is missed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vectorstore.cleaning import despin
from vectorstore.figures import Figure

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
# Read by three helpers who never saw the extraction code, in this order; see the README for which
# were looked at while extraction was developed.
AUDITS = tuple(FIXTURES / f"figures_audit{part}.jsonl" for part in ("", "_holdout", "_final"))
PRECISION = 0.95
RECALL = 0.9


@dataclass
class Score:
    audited: int = 0
    found: int = 0  # audited figures with a correct row
    rows: int = 0  # rows on the audited lines
    correct: int = 0
    missed: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct / self.rows if self.rows else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.audited if self.audited else 0.0


def _bare(text: str) -> str:
    return "".join(ch for ch in text if ch not in ' “”"')


def _within(short: str, long: str) -> bool:
    """`short` is `long` with words left out (`城镇就业` in `城镇累计新增就业`)."""
    rest = iter(long)
    return bool(short) and all(ch in rest for ch in short)


def matches(row: Figure, audit: dict[str, object]) -> bool:
    # The table de-spins the news article's wording (`立异` -> `创新`); the audit quotes the raw file.
    wanted = str(audit["indicator"])
    if row.report.endswith("新闻报道"):
        wanted = despin(wanted)[0]
    indicator, wanted = _bare(row.indicator), _bare(wanted)
    return (
        row.source == audit["file"]
        and row.line == audit["line"]
        and float(row.number) == float(str(audit["value"]))
        and row.unit == audit["unit"]
        and row.year == str(audit["year"])
        and row.kind == audit["kind"]
        and row.qualifier == audit["qualifier"]
        and (_within(indicator, wanted) or _within(wanted, indicator))
    )


def score(rows: Sequence[Figure], audit: Sequence[dict[str, object]]) -> Score:
    lines = {(str(a["file"]), int(str(a["line"]))) for a in audit}
    on_lines = [r for r in rows if (r.source, r.line) in lines]
    result = Score(audited=len(audit), rows=len(on_lines))
    for a in audit:
        if any(matches(r, a) for r in on_lines):
            result.found += 1
        else:
            result.missed.append(
                f"{str(a['file'])[:3]}:{a['line']} {a['indicator']} {a['value']}{a['unit']} "
                f"{a['year']} {a['kind']} {a['qualifier'] or '-'}"
            )
    for r in on_lines:
        if any(matches(r, a) for a in audit):
            result.correct += 1
        else:
            result.wrong.append(
                f"{r.source[:3]}:{r.line} {r.indicator} {r.number}{r.unit} {r.year} {r.kind} {r.qualifier or '-'}"
            )
    return result


def load_audit(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zgqa bench figures", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--audit", type=Path, action="append", help="a file of hand-read figures (JSON lines); default: all three"
    )
    parser.add_argument("--show", action="store_true", help="list the missed and the wrong rows")
    args = parser.parse_args(argv)
    from vectorstore.store import open_store

    with open_store() as store:
        rows = store.figures or []
    print(f"figures table: {len(rows)} rows")
    print(f"{'audit':<36} {'figures':>7} {'lines':>5} {'precision':>15} {'recall':>15}")
    audits = {path.name: load_audit(path) for path in (args.audit or AUDITS)}
    if len(audits) > 1:
        audits["all"] = [row for name, audit in audits.items() for row in audit]
    result = Score()
    for name, audit in audits.items():
        result = score(rows, audit)
        lines = len({(a["file"], a["line"]) for a in audit})
        print(
            f"{name:<36} {result.audited:>7} {lines:>5} {result.precision:>7.3f} ({result.correct:>3}/{result.rows:<3})"
            f" {result.recall:>7.3f} ({result.found:>3}/{result.audited:<3})"
        )
        if args.show and name != "all":
            for line in result.missed:
                print("  missed:", line)
            for line in result.wrong:
                print("  wrong: ", line)
    print(f"targets: precision >= {PRECISION}, recall >= {RECALL} (on the last line)")
    return 0 if result.precision >= PRECISION and result.recall >= RECALL else 1


if __name__ == "__main__":
    raise SystemExit(main())
