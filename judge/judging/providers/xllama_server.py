"""Run llama.cpp's C++ server (xllamacpp's prebuilt wheel) in a child process that cannot
outlive us.

xllamacpp starts the server in-process (`xllamacpp.Server(CommonParams)`); we give it a process
of its own so that a crash in native code cannot take the run down, and so that stopping it is
a signal to a process group rather than a hope that a destructor runs.

The server gets its own process group (so stopping it stops everything it spawned) and
PR_SET_PDEATHSIG=SIGKILL (so the kernel kills it if we are SIGKILLed and never reach our
cleanup). The death signal is set by a tiny launcher run in the child instead of a
`preexec_fn`, because a `preexec_fn` is unsafe once other threads exist (litellm starts some).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from judge.errors import ConfigError

__all__ = ["SERVER_MARKER", "ServerOptions", "XllamaServer", "free_port"]

# The child's argv[1], so that our tests (and `ps`) can tell the server from other Pythons.
SERVER_MARKER = "judge-xllamacpp-server"
# Runs in the child before xllamacpp is imported. argv[2] is our pid: if we died between fork
# and prctl, the death signal would never come, so the child exits at once. argv[3] is the
# settings as JSON; the API key comes in the environment (argv is world-readable in /proc, the
# environment only to its user), so other users' processes and web pages on this machine
# cannot use the server. The server runs on xllamacpp's own threads; the main thread only waits
# (SIGTERM's default action ends the process, and with it the server and its port).
_LAUNCHER = """\
import ctypes, json, os, signal, sys, threading
parent = int(sys.argv[2])
if sys.platform.startswith("linux"):
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
if os.getppid() != parent:
    sys.exit(1)
cfg = json.loads(sys.argv[3])
import xllamacpp
p = xllamacpp.CommonParams()
p.model.path = cfg["model"]
p.model_alias = {cfg["alias"]}
p.hostnames = ["127.0.0.1"]
p.port = cfg["port"]
p.n_parallel = cfg["n_parallel"]
p.n_ctx = cfg["n_ctx"] * cfg["n_parallel"]  # the server splits its context among the slots
if cfg["threads"]:
    p.cpuparams.n_threads = p.cpuparams_batch.n_threads = cfg["threads"]
# Threads that wait for each other sleep rather than spin (llama.cpp's default polls): on a
# machine whose cores are busy with other work, spinning threads starve the one they wait for.
p.cpuparams.poll = p.cpuparams_batch.poll = cfg["poll"]
p.api_keys = [os.environ.pop("JUDGE_LOCAL_SERVER_KEY")]
server = xllamacpp.Server(p)
print("judge: listening on", server.listening_address, flush=True)
threading.Event().wait()
"""

_STOP_GRACE_S = 5.0
_PORT_TRIES = 3


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ServerOptions:
    """What the server is started with. `threads=None` lets llama.cpp choose; `n_ctx` is
    each slot's context; `n_parallel` slots decode together (continuous batching)."""

    model_path: Path
    alias: str
    n_ctx: int = 4096
    threads: int | None = None
    startup_timeout: float = 120.0
    n_parallel: int = 1
    poll: int = 0


@dataclass
class XllamaServer:
    """One llama.cpp server child process on a loopback port; `start`/`stop` or `with`."""

    options: ServerOptions
    port: int = 0
    # A new random key per server: the only client that has it is us.
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> XllamaServer:
        """Start and wait until it answers; blocks the calling thread."""
        for attempt in range(_PORT_TRIES):
            self._spawn()
            deadline = time.monotonic() + self.options.startup_timeout
            while (state := self._poll(deadline)) == "waiting":
                time.sleep(0.2)
            if state == "ready":
                return self
            self._give_up_unless_port_race(state, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def astart(self) -> XllamaServer:
        """Start and wait until it answers, without blocking the event loop."""
        for attempt in range(_PORT_TRIES):
            self._spawn()
            deadline = time.monotonic() + self.options.startup_timeout
            while (state := await asyncio.to_thread(self._poll, deadline)) == "waiting":
                await asyncio.sleep(0.2)
            if state == "ready":
                return self
            self._give_up_unless_port_race(state, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """SIGTERM the process group, wait a little, then SIGKILL. Safe to call twice.

        Synchronous on purpose: it must finish even while the caller is being cancelled.
        """
        proc, self.process = self.process, None
        if proc is not None:
            _kill_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _kill_group(proc, signal.SIGKILL)
                proc.wait()
            # Anything the server forked is in its group and may outlive the leader.
            _kill_group(proc, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> XllamaServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers

    def _spawn(self) -> None:
        self.stop()
        self.port = free_port()
        # A file, not a pipe: nobody reads the server's log while it runs, and a full pipe
        # would block it. Only the tail is read, when startup fails.
        # It lives as long as the server, so no `with`; stop() closes it.
        self._log = tempfile.TemporaryFile(prefix="judge-xllamacpp-")  # noqa: SIM115
        self.process = subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "JUDGE_LOCAL_SERVER_KEY": self.api_key},
        )

    def _command(self) -> list[str]:
        opts = self.options
        settings = {
            "model": str(opts.model_path),
            "alias": opts.alias,
            "port": self.port,
            "n_ctx": opts.n_ctx,
            "n_parallel": opts.n_parallel,
            "threads": opts.threads or 0,
            "poll": opts.poll,
        }
        return [
            sys.executable,
            "-c",
            _LAUNCHER,
            SERVER_MARKER,
            str(os.getpid()),
            json.dumps(settings),
        ]

    def _alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _poll(self, deadline: float) -> str:
        """One readiness probe: "ready", "exited", "timeout" or "waiting"."""
        if not self._alive():
            return "exited"
        if time.monotonic() > deadline:
            return "timeout"
        try:
            # /health needs no key, and answers 503 until the model is loaded.
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as reply:
                return "ready" if reply.status == 200 else "waiting"
        except (OSError, urllib.error.URLError):
            return "waiting"

    def _give_up_unless_port_race(self, state: str, attempt: int) -> None:
        # Another process may grab the free port between our probe and the server's bind;
        # then a new port is worth a try. Anything else is final.
        log = self.log_tail().lower()
        bind_failed = "couldn't bind" in log or "address already in use" in log
        raced = state == "exited" and bind_failed
        if not raced or attempt == _PORT_TRIES - 1:
            self._fail(state)

    def _fail(self, state: str) -> None:
        tail = self.log_tail()
        self.stop()
        what = (
            f"did not answer within {self.options.startup_timeout:.0f} s"
            if state == "timeout"
            else "exited during startup"
        )
        raise ConfigError(
            f"the llama.cpp server for {self.options.model_path} {what}. Its log ends with:\n"
            f"{tail or '(empty)'}"
        )

    def tokenize(self, text: str) -> list[int]:
        """The model's token ids for `text` (the server's /tokenize, no special tokens)."""
        request = urllib.request.Request(
            f"{self.base_url}/tokenize",
            data=json.dumps({"content": text, "add_special": False}).encode(),
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return [int(token) for token in json.loads(reply.read())["tokens"]]

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the server wrote (stdout and stderr together)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", errors="replace")
        return "\n".join(text.strip().splitlines()[-lines:])


def _kill_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # The leader's pid is the group id (start_new_session); the group may be gone already.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
