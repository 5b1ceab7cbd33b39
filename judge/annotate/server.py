"""Run the annotation app on uvicorn: on 127.0.0.1 and a free port unless told otherwise.

The socket is bound before uvicorn starts, so the port in the printed links is the port
served (no race for a "free" port). In the foreground uvicorn stops cleanly on Ctrl-C or
SIGTERM; `AnnotationServer.start()` runs it in a thread instead, for tests and notebooks.
The access log is off: its lines would carry raters' tokens.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from judge.annotate.security import allowed_hosts, check_bind
from judge.annotate.study import Study, open_study
from judge.errors import ConfigError
from judge.hosts import bind_address, listen, url_host

__all__ = ["AnnotationServer", "rater_links", "run_annotation"]

_START_TIMEOUT_S = 60.0  # a loaded 2-core machine


class AnnotationServer:
    """A uvicorn server for a study's app, bound to `host`:`port` (0: a free port).
    `create` makes the app (default: the rating app; `judge keys review` passes its own)."""

    def __init__(
        self,
        study: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        create: Callable[[Any, set[str] | None], Any] | None = None,
    ):
        import uvicorn

        from judge.annotate.app import create_app

        self.host = host
        self.sock = listen(host, port)
        self.port = int(self.sock.getsockname()[1])
        app = (create or create_app)(study, allowed_hosts(host, self.port))
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:51234."""
        host = socket.gethostname() if bind_address(self.host) in ("0.0.0.0", "::") else self.host
        return f"http://{url_host(host)}:{self.port}"

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM. uvicorn shuts down cleanly, then
        re-raises the Ctrl-C as KeyboardInterrupt: the CLI exits 130, as every command does."""
        try:
            self._server.run(sockets=[self.sock])
        finally:
            self.sock.close()

    def start(self) -> AnnotationServer:
        """Serve in a background thread; return once it accepts connections."""
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self.sock])),
            name="judge-annotate",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the annotation server did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop a server started with `start()` and wait for it."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT_S)
        self.sock.close()

    def __enter__(self) -> AnnotationServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def rater_links(study: Study | Any, base_url: str) -> dict[str, str]:
    """Each active rater's personal link (it carries their token)."""
    return {name: f"{base_url}/r/{keys.token}/" for name, keys in study.raters.items()}


def run_annotation(
    predictions: str | Path,
    rubric: str | Path,
    raters: list[str],
    per_item: int = 1,
    *,
    db: str | Path | None = None,
    queue: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
    id_field: str = "title",
    on_ready: Callable[[Study, dict[str, str]], Any] | None = None,
    results: str | Path | None = None,
    cases: str | Path | None = None,
    images: str | Path | None = None,
    keys: str | Path | None = None,
) -> None:
    """Open the study, start the app, call `on_ready(study, links)`, serve until stopped."""
    check_bind(host, allow_remote)
    study = open_study(
        predictions, rubric, raters, per_item, db, queue, id_field, results, cases, images, keys
    )
    try:
        server = AnnotationServer(study, host, port)
        if on_ready is not None:
            on_ready(study, rater_links(study, server.url))
        server.serve_forever()
    finally:
        study.store.close()
