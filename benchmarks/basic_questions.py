"""Write `tests/fixtures/eval_qa_basic.jsonl`: the plainest question a user asks of each headline
figure the reports state, one indicator and one year ("2020年自贡地区生产总值增长多少？"), with the
figure as its answer.

The hand-written question files hold few such questions, and a decision fit on them refused 8 of
these 24 though the passage ranked first says the figure in the words asked. The questions come
from the figures table (`vectorstore.figures`): every result row of a single year whose canonical
indicator the report writes as such (not 农业 for 第一产业), a growth for a percentage of a
quantity, the figure itself for a level or a rate; news articles left out. The file is tuning data
(`zgqa bench calibrate` fits on it), generated, not written by a reader.

    python -m benchmarks.basic_questions [--out tests/fixtures/eval_qa_basic.jsonl]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LEVELS = ("亿元", "万人", "元", "%")


def questions(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One question per (year, indicator, kind of figure), in the table's order."""
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for row in rows:
        name = row["canonical"]
        if not name or row["kind"] != "result" or "-" in row["year"] or name not in row["quote"]:
            continue
        if row["report"].endswith("新闻报道"):
            continue
        if row["unit"] == "%" and not name.endswith("率"):
            question, fact = f"{row['year']}年自贡{name}增长多少？", f"{row['value']:g}%"
        elif row["unit"] in LEVELS:
            question, fact = f"{row['year']}年自贡{name}是多少？", f"{row['value']:g}{row['unit']}"
        else:
            continue
        if question in seen:
            continue
        seen.add(question)
        out.append({
            "id": f"b{len(out) + 1:03d}", "question": question, "lang": "zh", "type": "basic",
            "answer_facts": [fact], "evidence": [{"file": row["source"], "quote": row["quote"]}],
        })
    return out


def main(argv: Sequence[str] | None = None) -> int:
    import qa

    parser = argparse.ArgumentParser(prog="python -m benchmarks.basic_questions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/eval_qa_basic.jsonl"))
    args = parser.parse_args(argv)
    written = questions(qa.figures())
    args.out.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in written), encoding="utf-8")
    print(f"wrote {len(written)} questions to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
