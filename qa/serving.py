"""What serving the chat needs beneath Gradio, against greedy, slow or guessing clients: ASGI
middleware that refuses a body over the limit (413) and uploads (404) and throttles failed logins
(429), uvicorn's h11 protocol with a header limit (431) and an idle timeout mid-request, and the
checks `app.py` makes before loading anything (the port is free, the host is loopback).

Leaves out: the chat itself (`app.py`), the limits' values from the environment (`ServeSettings`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from vectorstore.config import MAX_BODY, ServeSettings
from vectorstore.errors import ZgqaError

log = logging.getLogger("zgqa.app")

# A client whose last LOGIN_TRIES logins within LOGIN_WINDOW seconds failed waits out the window.
LOGIN_TRIES = 5
LOGIN_WINDOW = 60
# Request headers beyond this many bytes get 431 (a client silent mid-request: ServeSettings.idle_seconds).
MAX_HEADERS = 64 * 1024


class BodyLimit:
    """ASGI middleware: a request whose body is over `limit` bytes gets 413. A declared length is
    checked before anything is read; a body streamed without one is read up to the limit, then
    refused or handed on whole. Gradio's upload route gets 404: the app takes no files."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).rstrip("/").endswith("/upload"):
            await self._refuse(send, 404, "This app takes no uploads.")  # nothing of it needs a file
            return
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        if scope["type"] != "http" or b"transfer-encoding" not in headers:
            declared = headers.get(b"content-length", b"0")
            if not declared.isdigit() or int(declared) > self.limit:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)  # the server reads no more than the declared length
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await self._refuse(send)
                return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return dict(await receive())
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any, status: int = 413, message: str = "") -> None:
        text = (message or f"Request body over {self.limit} bytes.").encode()
        log.info("refused a request (%d): %s", status, text.decode())
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(text)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": text})


class LoginThrottle:
    """ASGI middleware: a client (by address) whose last `LOGIN_TRIES` logins within
    `LOGIN_WINDOW` seconds all failed gets 429 for the rest of that window, the right password
    included, so passwords cannot be guessed at the server's speed."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.failures: dict[str, list[float]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") != "/login":
            await self.app(scope, receive, send)
            return
        client = str((scope.get("client") or ("?",))[0])
        now = time.monotonic()
        recent = [t for t in self.failures.get(client, []) if now - t < LOGIN_WINDOW]
        if len(recent) >= LOGIN_TRIES:
            wait = int(LOGIN_WINDOW - (now - recent[0])) + 1
            log.info("refused a login from %s: %d failed within %d s", client, len(recent), LOGIN_WINDOW)
            text = f"Too many failed logins: try again in {wait} s.".encode()
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"retry-after", str(wait).encode()),
                       (b"content-length", str(len(text)).encode())]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": text})
            return

        async def watched(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 400:  # gradio's "Incorrect credentials."
                    self.failures[client] = [*recent, time.monotonic()][-LOGIN_TRIES:]
                    if len(self.failures) > 10_000:  # bounded: forget clients whose window has passed
                        stale = time.monotonic() - LOGIN_WINDOW
                        self.failures = {c: ts for c, ts in self.failures.items() if ts[-1] > stale}
                elif message["status"] < 400:
                    self.failures.pop(client, None)
            await send(message)

        await self.app(scope, receive, watched)


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with the limits a greedy or slow client needs: request headers over
    `MAX_HEADERS` get 431 (h11 stops buffering there and hints the status), and a client that sends
    nothing for `idle_seconds` in the middle of a request (headers or body unfinished) is dropped.
    A client waiting for its answer is not idle: the request is whole."""

    idle_seconds = ServeSettings.idle_seconds  # main() sets the served value

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._status = 400
        self._idle: asyncio.TimerHandle | None = None
        parse = self.conn.next_event

        def next_event() -> Any:
            try:
                event = parse()
            except h11.RemoteProtocolError as e:
                self._status = e.error_status_hint  # 431 for headers h11 stopped buffering
                raise
            if isinstance(event, h11.Request) and len(event.target) + sum(
                len(name) + len(value) + 4 for name, value in event.headers
            ) > MAX_HEADERS:  # whole, but over the limit: arrived in one piece
                self._status = 431
                raise h11.RemoteProtocolError("request headers too large", error_status_hint=431)
            return event

        self.conn.next_event = next_event  # type: ignore[method-assign]

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        self._watch()
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
        super().connection_lost(exc)

    def _watch(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = self.loop.call_later(self.idle_seconds, self._drop_if_idle)

    def _drop_if_idle(self) -> None:
        unfinished_head = self.cycle is None and bool(self.conn.trailing_data[0])
        unfinished_body = self.cycle is not None and self.cycle.more_body and not self.cycle.response_complete
        if unfinished_head or unfinished_body:
            log.info("dropped a client idle for %d s in the middle of a request", self.idle_seconds)
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        if self._status != 431:
            log.info("refused an invalid HTTP request")
            super().send_400_response(msg)
            return
        log.info("refused request headers over %d bytes", MAX_HEADERS)
        text = f"Request headers over {MAX_HEADERS} bytes.".encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
        for event in (h11.Response(status_code=431, headers=headers, reason=b"Request Header Fields Too Large"),
                      h11.Data(data=text), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()


def bindable(host: str, port: int) -> int:
    """`port` (a free one for 0) after checking that `host` resolves and the port is free there, so
    that a taken port is one line of error, not a traceback after the model has loaded."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise ZgqaError(f"Cannot resolve the host {host!r} ({e}): use an address such as 127.0.0.1.") from None
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(address)
        except OSError as e:
            raise ZgqaError(
                f"Cannot serve on {host}:{port} ({e.strerror or e}): the port is taken or not allowed; "
                "choose another with --port or ZGQA_PORT."
            ) from None
        return int(probe.getsockname()[1])


def loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False
