"""Memory under bad requests: `python -m benchmarks.bad_requests [N]` starts the app as `make run`
does, sends N (default 1,000) `/ask` calls, each with a distinct bad `year` or a distinct 100 KB bad
`source`, and prints the app's resident memory before and after, and its log lines per refusal.

Issue 19 asked for less than 20 MB of growth over 1,000 such calls: the answer chains are cached per
(k, year, source), and before the values were checked against the index every bad value cached one.
Not part of `zgqa bench reliability` (the calls take about two minutes); its `hardening` rows check
that no chain is cached for a bad value.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.servers import start_app, stop

QUESTION = "2024年自贡地区生产总值增长多少？"
WARM = 50  # calls before the first reading: the process's own caches and allocator settle


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: Sequence[str] | None = None) -> int:
    from gradio_client import Client

    from vectorstore.config import Settings

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bad_requests", description=__doc__.split("\n\n")[0])
    parser.add_argument("calls", type=int, nargs="?", default=1000)
    args = parser.parse_args(argv)
    log_path = Path("/tmp") / f"zgqa-bad-requests-{time.time_ns()}.log"
    proc, url = start_app(Settings.from_env(), log_path)
    try:
        client = Client(url, verbose=False)
        for i in range(WARM):
            with contextlib.suppress(Exception):  # the refusals are what is sent
                client.predict(QUESTION, None, None if i % 2 else 2025, f"warm-{i}.txt", api_name="/ask")
        lines, before, refused = len(log_path.read_text().splitlines()), _rss_mb(proc.pid), 0
        start = time.monotonic()
        for i in range(args.calls):
            year, source = (None, f"{i}-" + "x" * 100_000 + ".txt") if i % 2 else (3000 + i, None)
            try:
                client.predict(QUESTION, None, year, source, api_name="/ask")
            except Exception:  # noqa: BLE001
                refused += 1
        after = _rss_mb(proc.pid)
        logged = len(log_path.read_text().splitlines()) - lines
        print(f"{args.calls} /ask calls with distinct bad year/source values in {time.monotonic() - start:.0f} s: "
              f"{refused} refused; app RSS {before:.0f} -> {after:.0f} MB ({after - before:+.1f} MB); "
              f"{logged} server log lines ({logged / max(refused, 1):.2f} per refusal)")
    finally:
        stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
