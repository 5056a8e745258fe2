"""The served chat app: cold start, and many users at once through the `ask` endpoint.

- Cold start: from starting `python app.py` (a new process, the index already built) to the first
  answer received by a `gradio_client` client; the median of `--starts` runs, split into "serving"
  (the port answers) and "first answer".
- Load: one app process; `--users` threads (default 20), each with its own `gradio_client.Client`,
  ask `--questions` questions each (default 10, cycled from the dev questions) at once. Counts
  errors and reports per-request latency p50/p95 and the throughput, beside the same questions
  asked by one user alone, in the same run.

Run: `zgqa bench app` (or `python -m benchmarks.app`). Exits 1 when a target is missed: a cold start
over `COLD_START_TARGET_S`, or any error under load.

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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEV = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "eval_qa_dev.jsonl"
APP = Path(__file__).resolve().parent.parent / "app.py"
COLD_START_TARGET_S = 10.0
DEFAULT_USERS = 20
DEFAULT_QUESTIONS = 10
DEFAULT_STARTS = 3
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
    """`python app.py` on a free loopback port, timed from the moment it is started."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, str(APP), "--port", str(self.port)],
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


def cold_start(question: str) -> tuple[float, float]:
    """Seconds from process start until it serves, and until the first answer arrives."""
    served = Served()
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


def main(argv: Sequence[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="zgqa bench app", description=doc.splitlines()[0])
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, help="concurrent users (default 20)")
    parser.add_argument("--questions", type=int, default=DEFAULT_QUESTIONS, help="questions per user (default 10)")
    parser.add_argument("--starts", type=int, default=DEFAULT_STARTS, help="cold starts timed (default 3)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args(argv)
    questions = _questions()

    print(f"cold start: {args.starts} x `python app.py` with the index built, until the first answer ...", flush=True)
    starts = [cold_start(questions[0]) for _ in range(args.starts)]
    serving = statistics.median(s for s, _ in starts)
    first = statistics.median(f for _, f in starts)

    print(f"load: {args.users} users x {args.questions} questions on one app process ...", flush=True)
    served = Served()
    try:
        single_client = served.client()
        for q in questions[: args.questions]:  # warm: the first answers of a process load what they need
            single_client.predict(q, api_name="/ask")
        alone: list[float] = []
        for q in questions[: args.questions]:
            t = time.perf_counter()
            single_client.predict(q, api_name="/ask")
            alone.append((time.perf_counter() - t) * 1000)
        latencies, errors, wall = load(served.url, args.users, questions, args.questions)
    finally:
        served.stop()

    n = len(latencies)
    numbers = {
        "cold_start_serving_s": round(serving, 2),
        "cold_start_first_answer_s": round(first, 2),
        "cold_start_runs_s": [round(f, 2) for _, f in starts],
        "alone_p50_ms": round(statistics.median(alone), 1),
        "alone_p95_ms": round(_pct(alone, 0.95), 1),
        "users": args.users,
        "requests": n,
        "errors": len(errors),
        "load_p50_ms": round(statistics.median(latencies), 1),
        "load_p95_ms": round(_pct(latencies, 0.95), 1),
        "throughput_rps": round(n / wall, 1),
        "cores": os.cpu_count(),
    }
    print()
    print(f"{'measure':<44}{'value':>12}{'target':>12}{'ratio':>9}")
    print("-" * 77)
    rows = [
        ("cold start, process start -> serving (s)", serving, None),
        ("cold start, process start -> first answer (s)", first, COLD_START_TARGET_S),
        ("one user alone, p50 (ms)", numbers["alone_p50_ms"], None),
        ("one user alone, p95 (ms)", numbers["alone_p95_ms"], None),
        (f"{args.users} users at once, p50 (ms)", numbers["load_p50_ms"], None),
        (f"{args.users} users at once, p95 (ms)", numbers["load_p95_ms"], None),
        ("throughput under load (answers/s)", numbers["throughput_rps"], None),
        (f"errors in {n} requests", len(errors), 0),
    ]
    for name, value, target in rows:
        ratio = f"{value / target:.2f}" if target else ""
        print(f"{name:<44}{value:>12.2f}{'' if target is None else target:>12}{ratio:>9}")
    print()
    print(f"under load / alone: p50 x{numbers['load_p50_ms'] / numbers['alone_p50_ms']:.1f}, "
          f"p95 x{numbers['load_p95_ms'] / numbers['alone_p95_ms']:.1f} "
          f"({args.users} users on {os.cpu_count()} cores share them)")
    for e in errors[:5]:
        print("error:", e)
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2), encoding="utf-8")
    missed = first > COLD_START_TARGET_S or errors
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
