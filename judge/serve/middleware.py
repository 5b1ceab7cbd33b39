"""ASGI middleware of the scoring service: Host header, bearer token, request body limit,
last-resort guard.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, so a streamed batch response is not
buffered and the body limit applies to the bytes as they arrive (a chunked upload has no
Content-Length to trust).
"""

from __future__ import annotations

import json
import logging
import secrets
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from judge.errors import ConfigError, redact

__all__ = ["AllowedHosts", "BearerAuth", "BodyLimit", "Guard", "check_token", "send_json"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("judge.serve")


async def send_json(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Answer a request with a JSON body from inside middleware."""
    payload = json.dumps(body).encode()
    start_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": payload})


def check_token(token: str) -> None:
    """Refuse a token no client could send, or that guards nothing: HTTP strips a header
    value's surrounding whitespace, so such a token never matches, and a blank one is none."""
    if not token.strip() or token != token.strip():
        raise ConfigError(
            "--token must be non-empty, without leading or trailing whitespace "
            f"(got {len(token)} characters)"
        )


class AllowedHosts:
    """Answers only requests whose Host header is one of `hosts` (judge.hosts.allowed_hosts):
    on loopback without a token, a web page the operator visits could otherwise rebind its
    name to 127.0.0.1 and spend the operator's key."""

    def __init__(self, app: ASGIApp, hosts: set[str]):
        self.app = app
        self._hosts = {h.lower().encode() for h in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == b"host"), None)
        if given is not None and given.lower() in self._hosts:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http":
            await send_json(send, 403, {"detail": "unknown Host header"})
        else:
            await send({"type": "websocket.close", "code": 1008})


class BearerAuth:
    """Every HTTP request but those to `open_paths` must carry `Authorization: Bearer TOKEN`."""

    def __init__(self, app: ASGIApp, token: str, open_paths: frozenset[str] = frozenset()):
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self._open = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._open:
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value
        # Constant time, so the token cannot be guessed byte by byte from response times.
        if secrets.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        await send_json(
            send,
            401,
            {"detail": "missing or wrong bearer token (Authorization: Bearer …)"},
            [(b"www-authenticate", b"Bearer")],
        )


class BodyLimit:
    """Reads each request body before the app sees it and answers 413 once it passes
    `max_body` bytes, whatever Content-Length said (or without one)."""

    def __init__(self, app: ASGIApp, max_body: int):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await self._too_large(send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its body: nobody to answer
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await self._too_large(send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, send: Send) -> None:
        detail = f"request body over {self.max_body} bytes (the server's --max-body)"
        await send_json(send, 413, {"detail": detail}, [(b"connection", b"close")])


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the buffered body once, then the client's own messages (a
    streaming response listens there for the client going away)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class Guard:
    """The outermost layer: an exception that escaped the app becomes a 500 without detail,
    and its traceback is logged with keys redacted (uvicorn would log it raw)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            # Deliberately broad: the server's last-resort handler. Whatever escaped the app
            # (a bug, by then: the routes answer every JudgeError themselves) is logged with
            # its whole traceback, keys redacted, and the client gets a bare 500.
            log.error("internal error on %s: %s", scope["path"], redact(traceback.format_exc()))
            if not started:
                await send_json(send, 500, {"detail": "internal error"})
