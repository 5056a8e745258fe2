"""Servers the tests and the reliability run start and talk to, all on loopback: the chat app as
`make run` starts it, a real Chroma server, an authenticating proxy in front of it, and a raw HTTP
request for what an HTTP client would not send.

Leaves out: timing the app's start (benchmarks/app.py `Served`).
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vectorstore.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_chroma(port: int, data: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """A real `chroma run` on loopback over the `data` folder, answering its heartbeat."""
    exe = Path(sys.executable).with_name("chroma")
    assert exe.exists(), f"the chroma server command is missing: {exe}"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(exe), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(data)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    _wait_serving(proc, f"http://127.0.0.1:{port}/api/v2/heartbeat", log_path, "chroma run", 60)
    return proc


def _wait_serving(proc: subprocess.Popen[bytes], url: str, log_path: Path, name: str, seconds: float) -> None:
    """Return once `url` answers (any HTTP status: a login page answers 401); stop `proc` and say why
    when it exits first or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                raise RuntimeError(f"{name} did not start:\n{log_path.read_text()}") from None
            time.sleep(0.2)


@contextlib.contextmanager
def token_proxy(upstream: int, token: str) -> Iterator[int]:
    """An authenticating reverse proxy on loopback in front of a Chroma server (whose own server has
    no auth): requests without `Authorization: Bearer <token>` get 401; yields its port."""

    class Forward(http.server.BaseHTTPRequestHandler):
        def _any(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {token}":
                self.send_error(401, "Unauthorized")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
            dropped = ("host", "authorization", "connection")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
            self.send_response(reply.status)
            for k, v in reply.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a server started here: politely, then for sure."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def post_status(url: str, body: bytes, *, chunked: bool) -> int:
    """POST `body` over a raw socket and read the status line, even if the server answers (and
    closes) before the body is all sent, as it should for one too large."""
    where = urlsplit(url)
    length = b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}".encode()
    head = b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += length + b"\r\n\r\n"
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    if chunked:
        pieces = [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces] + [b"0\r\n\r\n"]
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        try:
            sock.sendall(head)
            for piece in pieces:
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-way: the answer is already there to read
        status = sock.makefile("rb").readline()
    return int(status.split()[1])


def header_status(url: str, size: int, *, pieces: bool) -> int:
    """GET with a header of `size` bytes, sent whole or in 4 KB pieces: the status the server answers."""
    where = urlsplit(url)
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * size + b"\r\nConnection: close\r\n\r\n"
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        step = 4096 if pieces else len(head)
        try:
            for i in range(0, len(head), step):
                sock.sendall(head[i : i + step])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-way: the answer is already there to read
        status = sock.makefile("rb").readline()
    return int(status.split()[1]) if status else 0


def idle_drop(url: str, *, in_body: bool, wait: float = 120) -> float | None:
    """Seconds until the server drops a client that stops halfway through its headers (or, with
    `in_body`, through a declared body) and sends nothing more; None if it is kept `wait` seconds."""
    where = urlsplit(url)
    start = b"GET / HTTP/1.1\r\nHost: x\r\n"
    if in_body:
        start = b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        start += b'Content-Length: 100\r\n\r\n{"data"'
    with socket.create_connection((where.hostname, where.port), timeout=wait) as sock:
        sock.sendall(start)
        began = time.monotonic()
        try:
            while sock.recv(4096):  # an answer before the drop would be read here, then the close
                pass
        except TimeoutError:
            return None
        except ConnectionResetError:
            pass
        return time.monotonic() - began


def login_statuses(url: str, password: str, times: int) -> list[int]:
    """The statuses of `times` logins to the app as "ann" with `password` (gradio's /login form)."""
    statuses = []
    for _ in range(times):
        form = f"username=ann&password={password}".encode()
        request = urllib.request.Request(url.rstrip("/") + "/login", data=form, method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=30) as got:
                statuses.append(int(got.status))
        except urllib.error.HTTPError as exc:
            exc.close()
            statuses.append(exc.code)
    return statuses


def zgqa_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a `zgqa` or `app.py` process on `settings`, with no ZGQA_ or
    GRADIO_ setting of the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZGQA_", "GRADIO_"))}
    env |= {"ZGQA_SEEDS": str(settings.seeds), "ZGQA_INDEX": str(settings.index), "ZGQA_CACHE": str(settings.cache)}
    return env | (extra or {})


def start_app(
    settings: Settings, log_path: Path, extra: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`python app.py` as `make run` starts it (a process of its own), on `settings`' index, on a free
    loopback port, once it serves: the process and its URL (stop it with `stop`)."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port)],
            cwd=ROOT, env=zgqa_env(settings, extra), stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    _wait_serving(proc, url, log_path, "app.py", 120)
    return proc, url


@contextlib.contextmanager
def serve_app(settings: Settings, log_path: Path, extra: dict[str, str] | None = None) -> Iterator[str]:
    """The app (`start_app`) until the block ends: its URL."""
    proc, url = start_app(settings, log_path, extra)
    try:
        yield url
    finally:
        stop(proc)
