"""Run the scoring service on uvicorn: in the foreground for `judge serve`, or on a
background thread (`running`) for tests, benchmarks and notebooks.

The service binds 127.0.0.1 unless told otherwise, and refuses any other address without a
token: medical cases and a paid judge must not be open to the network by accident. On
loopback it answers only this machine's names as Host (judge.hosts.allowed_hosts).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from judge.errors import ConfigError, redact
from judge.hosts import allowed_hosts, bind_address, is_loopback, listen, url_host
from judge.judging.engine import CompleteFn
from judge.options import RunOptions
from judge.serve.app import DEFAULT_MAX_BODY, create_app
from judge.serve.middleware import check_token

# is_loopback: judge.hosts.is_loopback, re-exported (an import path of this module).
__all__ = ["check_exposure", "is_loopback", "running", "serve"]

_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "judge.serve", "")


def check_exposure(host: str, token: str | None) -> None:
    """Refuse a non-loopback address without a token, and a token no client could send."""
    if token is not None:
        check_token(token)
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"--host {host} is reachable from other machines: give --token (or set "
            "JUDGE_SERVE_TOKEN) so that every request must carry it"
        )


def serve(
    options: RunOptions,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    rubrics: Sequence[str | Path] = (),
    complete: CompleteFn | None = None,
    log_level: str = "info",
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM)."""
    check_exposure(host, token)
    sock = listen(host, port)  # an address in use is a ConfigError, before the app starts
    try:
        # On loopback, only this machine's names as Host (DNS rebinding), at the port bound.
        hosts = allowed_hosts(host, sock.getsockname()[1])
        app = create_app(
            options, complete, rubrics=rubrics, token=token, max_body=max_body, hosts=hosts
        )
    except BaseException:
        sock.close()
        raise
    config = uvicorn.Config(
        app,
        host=bind_address(host),
        port=port,
        log_level=log_level,
        lifespan="on",
        server_header=False,
    )
    # After Config, which (re)configures uvicorn's loggers. Libraries' own loggers (instructor
    # logs each failed call with the provider's message) reach a redacting root handler
    # rather than logging's last-resort one, which prints raw.
    _redact_logs(root_handler=True)
    try:
        _Server(config, f"http://{url_host(host)}:{sock.getsockname()[1]}").run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def running(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `app` on a background thread for the length of the block; yields its base URL
    (a free port unless `port` is given). Startup errors are raised here."""
    config = uvicorn.Config(
        app, host=bind_address(host), port=port, log_level="warning", lifespan="on"
    )
    _redact_logs()
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="judge-serve", daemon=True)
    thread.start()
    # The app's lifespan opens the judges (and imports litellm): slow on a loaded machine.
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the scoring service did not start (see the log above)")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{url_host(host)}:{bound}"
    finally:
        server.should_exit = True
        thread.join(30)


class _Server(uvicorn.Server):
    """uvicorn says where it listens only when it binds the socket itself: this says it the
    same way once started (the line a harness reads the port from with --port 0)."""

    def __init__(self, config: uvicorn.Config, url: str):
        super().__init__(config)
        self._url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            log = logging.getLogger("uvicorn.error")
            log.info("Uvicorn running on %s (Press CTRL+C to quit)", self._url)


class _Redact(logging.Filter):
    """Keys out of every log line, including uvicorn's own (a startup traceback, say)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
        return True


def _redact_logs(root_handler: bool = False) -> None:
    root = logging.getLogger()
    if root_handler and not root.handlers:
        stderr = logging.StreamHandler()
        stderr.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        root.addHandler(stderr)
    for name in _LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, _Redact) for f in handler.filters):
                handler.addFilter(_Redact())
