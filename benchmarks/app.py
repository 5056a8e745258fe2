"""The served chat app: cold start, and many users at once through the `ask` endpoint, per query encoder.

Every measurement is taken for each query encoder (`--encoders`, default onnx and torch), each app
process started with `ZGQA_QUERY_ENCODER` set (`benchmarks/encoders.py`), and printed in one table
with the ratios to torch:
- Cold start: from starting `python app.py` (a new process, the index already built) to the first
  answer received by a `gradio_client` client; the median of `--starts` runs per encoder, the
  encoders taking turns, split into "serving" (the port answers) and "first answer".
- Load: one app process per encoder; `--users` threads (default 20), each with its own
  `gradio_client.Client`, ask `--questions` questions each (default 10, cycled from the dev
  questions) at once. Counts errors and reports per-request latency p50/p95 and the throughput,
  beside the same questions asked by one user alone, in the same process; then the process's
  resident memory (after 20 warm-up and alone answers and the 200 at once, by default) and its peak.

Run: `zgqa bench app` (or `python -m benchmarks.app`). Exits 1 when the default encoder misses a
target of issue #17 (cold start, memory after the load, throughput against torch's), or on any error
under load.

Leaves out: the browser (rendering time is not the server's), and building the index (`zgqa build`
must have run on `$ZGQA_INDEX`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.encoders import JUDGED, Row, encoder_list, environment, missed, numbers, process_memory_mb, table

DEV = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "eval_qa_dev.jsonl"
APP = Path(__file__).resolve().parent.parent / "app.py"
DEFAULT_ENCODERS = ("onnx", "torch")
DEFAULT_USERS = 20
DEFAULT_QUESTIONS = 10
DEFAULT_STARTS = 5
# Targets of issue #17 for the default encoder; the throughput one is a ratio to torch's in the same run.
COLD_START_TARGET_S = 5.0
RSS_TARGET_MB = 600.0
THROUGHPUT_TARGET = 2.0
START_TIMEOUT_S = 120.0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _questions() -> list[str]:
    with open(DEV, encoding="utf-8") as f:
        return [json.loads(line)["question"] for line in f if line.strip()]


class Served:
    """`python app.py` on a free loopback port with `encoder` embedding questions, timed from the
    moment it is started."""

    def __init__(self, encoder: str = JUDGED) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, str(APP), "--port", str(self.port)],
            env=environment(encoder),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def client(self) -> Any:
        """A client, as soon as the app serves (polling, like a user pressing reload)."""
        from gradio_client import Client

        deadline = self.started + START_TIMEOUT_S
        while True:
            try:
                return Client(self.url, verbose=False)
            except Exception:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                    raise SystemExit(f"app.py exited with {self.proc.returncode}:\n{err[-2000:]}") from None
                if time.perf_counter() > deadline:
                    raise SystemExit(f"app.py did not serve within {START_TIMEOUT_S:.0f} s") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cold_start(question: str, encoder: str = JUDGED) -> tuple[float, float]:
    """Seconds from process start until it serves, and until the first answer arrives."""
    served = Served(encoder)
    try:
        client = served.client()
        serving = time.perf_counter() - served.started
        answer = client.predict(question, api_name="/ask")
        first = time.perf_counter() - served.started
        if not answer.get("text"):
            raise SystemExit(f"the first answer is empty: {answer!r}")
        return serving, first
    finally:
        served.stop()


def load(url: str, users: int, questions: Sequence[str], per_user: int) -> tuple[list[float], list[str], float]:
    """Latencies (ms) of every request, the errors, and the wall time (s) of `users` at once."""
    from gradio_client import Client

    clients = [Client(url, verbose=False) for _ in range(users)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    go = threading.Barrier(users + 1)

    def user(i: int) -> None:
        go.wait()
        for j in range(per_user):
            q = questions[(i * per_user + j) % len(questions)]
            t = time.perf_counter()
            try:
                got = clients[i].predict(q, api_name="/ask")
                ok = isinstance(got, dict) and "citations" in got
            except Exception as e:  # every failure counts; the benchmark reports them all
                ok, got = False, f"{type(e).__name__}: {e}"
            ms = (time.perf_counter() - t) * 1000
            with lock:
                latencies.append(ms)
                if not ok:
                    errors.append(f"user {i} question {j}: {got!r}"[:300])

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    go.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - t0


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Loaded:
    """One encoder's app process under load: latencies alone and at once, errors, throughput, memory."""

    alone: list[float]  # ms
    latencies: list[float]  # ms, every request of the users at once
    errors: list[str]
    wall: float  # s, the users at once
    rss_mb: float  # after every answer
    peak_rss_mb: float


def load_app(encoder: str, questions: Sequence[str], users: int, per_user: int) -> Loaded:
    """An app process with `encoder`: warmed, one user alone, then `users` at once; its memory after."""
    served = Served(encoder)
    try:
        single_client = served.client()
        for q in questions[:per_user]:  # warm: the first answers of a process load what they need
            single_client.predict(q, api_name="/ask")
        alone: list[float] = []
        for q in questions[:per_user]:
            t = time.perf_counter()
            single_client.predict(q, api_name="/ask")
            alone.append((time.perf_counter() - t) * 1000)
        latencies, errors, wall = load(served.url, users, questions, per_user)
        memory = process_memory_mb(served.proc.pid)
    finally:
        served.stop()
    return Loaded(alone, latencies, errors, wall, memory["rss"], memory["peak"])


def main(argv: Sequence[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="zgqa bench app", description=doc.splitlines()[0])
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, help="concurrent users (default 20)")
    parser.add_argument("--questions", type=int, default=DEFAULT_QUESTIONS, help="questions per user (default 10)")
    parser.add_argument("--starts", type=int, default=DEFAULT_STARTS,
                        help=f"cold starts timed per encoder (default {DEFAULT_STARTS})")
    parser.add_argument("--encoders", type=encoder_list, default=DEFAULT_ENCODERS,
                        help=f"query encoders compared, each in app processes of its own "
                             f"(default {','.join(DEFAULT_ENCODERS)})")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args(argv)
    if min(args.users, args.questions, args.starts) < 1:
        parser.error("--users, --questions and --starts must be at least 1")
    questions = _questions()
    encoders: tuple[str, ...] = args.encoders

    print(f"cold start: {args.starts} x `python app.py` per encoder ({', '.join(encoders)}, in turns) with the "
          "index built, until the first answer ...", flush=True)
    starts: dict[str, list[tuple[float, float]]] = {e: [] for e in encoders}
    for _ in range(args.starts):  # in turns, so that the machine's other load falls on every encoder alike
        for e in encoders:
            starts[e].append(cold_start(questions[0], e))
    loaded: dict[str, Loaded] = {}
    for e in encoders:
        print(f"load, {e}: {args.users} users x {args.questions} questions on one app process ...", flush=True)
        loaded[e] = load_app(e, questions, args.users, args.questions)

    n = args.users * args.questions
    answers = n + 2 * min(args.questions, len(questions))

    def each(value: Callable[[Loaded], float]) -> dict[str, float | str | None]:
        return {e: value(m) for e, m in loaded.items()}

    rows = [
        Row("cold_start_serving_s", f"cold start -> serving, median of {args.starts} (s)",
            {e: statistics.median(s for s, _ in runs) for e, runs in starts.items()}),
        Row("cold_start_first_answer_s", f"cold start -> first answer, median of {args.starts} (s)",
            {e: statistics.median(f for _, f in runs) for e, runs in starts.items()}, target=COLD_START_TARGET_S),
        Row("alone_p50_ms", "one user alone, p50 (ms)", each(lambda m: statistics.median(m.alone)), "{:.0f}"),
        Row("alone_p95_ms", "one user alone, p95 (ms)", each(lambda m: _pct(m.alone, 0.95)), "{:.0f}"),
        Row("load_p50_ms", f"{args.users} users at once, p50 (ms)", each(lambda m: statistics.median(m.latencies)),
            "{:.0f}"),
        Row("load_p95_ms", f"{args.users} users at once, p95 (ms)", each(lambda m: _pct(m.latencies, 0.95)), "{:.0f}"),
        Row("throughput_rps", "throughput under load (answers/s)", each(lambda m: len(m.latencies) / m.wall),
            "{:.1f}", THROUGHPUT_TARGET, floor=True, on_ratio=True),
        Row("errors", f"errors in {n} requests", each(lambda m: len(m.errors)), "{:.0f}", 0),
        Row("rss_after_load_mb", f"app RSS after {answers} answers (MB)", each(lambda m: m.rss_mb), "{:.0f}",
            RSS_TARGET_MB),
        Row("peak_rss_mb", "app peak RSS (MB)", each(lambda m: m.peak_rss_mb), "{:.0f}"),
    ]
    print()
    print(f"query encoders, each in app processes of its own (ZGQA_QUERY_ENCODER); {os.cpu_count()} cores")
    print(table(rows, encoders))
    for e, m in loaded.items():
        for error in m.errors[:5]:
            print(f"error ({e}):", error)
    failed = missed(rows)
    erred = [e for e, m in loaded.items() if m.errors]
    if args.json:
        out = {"encoders": numbers(rows, encoders),
               "cold_start_runs_s": {e: [round(f, 2) for _, f in runs] for e, runs in starts.items()},
               "users": args.users, "requests": n, "answers_before_rss": answers, "cores": os.cpu_count(),
               "missed": failed, "errors_in": erred}
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 1 if failed or erred else 0


if __name__ == "__main__":
    sys.exit(main())
