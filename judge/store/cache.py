"""The call cache: finished judge calls in SQLite (WAL), so a rerun never pays twice.

Keys hash only what changes a judge's output: the model, the call parameters, the rendered
messages and the response schema (not the API base, the key, or the run's concurrency).
Values are JSON. Only successful calls are stored; errors are never cached.

The cache only ever saves money: a cache that cannot be opened is a one-line CacheError naming
the file and the way on; a read or write that fails later (the file deleted, corrupted or the
disk full mid-run) becomes a notice, the call counts as a miss or goes unstored, and the run and
its records carry on.

A run stores its calls with `await Cache.store(...)`: the rows go to one writer thread, which
commits whatever has queued meanwhile in one transaction, so a write that waits on the disk
never stalls the event loop, and `store` returns once its row is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.errors import ConfigError
from judge.store import sqlite
from judge.store.sqlite import Migration

__all__ = ["Cache", "CacheError", "cache_key", "default_cache_path", "judge_home", "open_cache"]


class CacheError(ConfigError):
    """The call cache's file cannot be used; the message names it and the way on."""


def judge_home() -> Path:
    """Where `judge` keeps its state: $JUDGE_HOME, else $XDG_CACHE_HOME/judge, else ~/.cache."""
    if os.environ.get("JUDGE_HOME"):
        return Path(os.environ["JUDGE_HOME"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "judge"


def default_cache_path() -> Path:
    return judge_home() / "cache.sqlite"


def open_cache(setting: bool | str | Path, notices: list[str]) -> Cache | None:
    """The cache a run's `cache` option names: none (False), the default file (True), or
    that file."""
    if setting is False:
        return None
    return Cache(default_cache_path() if setting is True else setting, notices)


def cache_key(
    model: str, params: dict[str, Any], messages: list[dict[str, Any]], schema: dict[str, Any]
) -> str:
    """A stable hash of everything that determines a judge's reply. An image content part
    enters as the SHA-256 of its data URI (the image bytes sent), not as the megabytes of the
    URI itself; messages of text only hash as they always did, so their entries stay valid."""
    payload = json.dumps(
        {"model": model, "params": params, "messages": _keyed(messages), "schema": schema},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _keyed(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`messages` with each image part's data URI replaced by its hash."""
    if all(isinstance(m.get("content"), str) for m in messages):
        return messages
    return [
        {**m, "content": [_keyed_part(p) for p in m["content"]]}
        if isinstance(m.get("content"), list)
        else m
        for m in messages
    ]


def _keyed_part(part: Any) -> Any:
    if not isinstance(part, dict) or part.get("type") != "image_url":
        return part
    url = str((part.get("image_url") or {}).get("url", ""))
    return {"type": "image_url", "sha256": hashlib.sha256(url.encode()).hexdigest()}


def _m1_calls(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE calls ("
        " key TEXT PRIMARY KEY,"
        " model TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " created_at TEXT NOT NULL)"
    )


def _m2_batches(conn: sqlite3.Connection) -> None:
    # Batches submitted by `judge score --batch` (judge.batch), and the call keys in each, so
    # a rerun waits for a batch instead of paying for its calls again.
    conn.execute(
        "CREATE TABLE batches ("
        " id TEXT PRIMARY KEY,"
        " judge TEXT NOT NULL,"
        " endpoint TEXT NOT NULL,"
        " mode TEXT NOT NULL,"
        " model_hash TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " input_file_id TEXT,"
        " output_file_id TEXT,"
        " error_file_id TEXT,"
        " n_requests INTEGER NOT NULL,"
        " created_at TEXT NOT NULL,"
        " updated_at TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE batch_keys ("
        " key TEXT NOT NULL,"
        " batch_id TEXT NOT NULL,"
        " PRIMARY KEY (key, batch_id)) WITHOUT ROWID"
    )
    conn.execute("CREATE INDEX batch_keys_batch ON batch_keys (batch_id)")


# Schema changes are appended here, never edited: each runs once, recorded in `migrations`.
MIGRATIONS: list[Migration] = [_m1_calls, _m2_batches]

_FAILURES = sqlite.FAILURES


class Cache:
    """A key → JSON store of finished judge calls. `notices` collects what went wrong after
    the cache opened (the run goes on without it)."""

    def __init__(self, path: str | Path, notices: list[str] | None = None):
        self.path = Path(path)
        self.notices = notices if notices is not None else []
        self._failed: set[str] = set()  # what has been noticed once: "read", "store"
        self._writer: _Writer | None = None
        # Rows handed to the writer and not yet committed, as JSON: `get` sees them, so a
        # call finished a moment ago is never paid for again.
        self._unwritten: dict[str, str] = {}
        self._closed = False
        try:
            # Autocommit: a `put` is durable the moment it returns (a run's `store` commits on
            # the writer thread's own connection), so a run killed right after never pays again.
            self._conn = sqlite.open_migrated(self.path, MIGRATIONS)
        except _FAILURES as exc:
            raise CacheError(_broken(self.path, exc)) from exc

    @property
    def version(self) -> int:
        return sqlite.applied_version(self._conn)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored value, or None (also when the cache cannot be read: a notice says so,
        and the call is made again rather than the run failing)."""
        text = self._unwritten.get(key)
        if text is None:
            try:
                row = self._conn.execute("SELECT value FROM calls WHERE key = ?", (key,)).fetchone()
            except _FAILURES as exc:
                self._notice("read", exc)
                return None
            if row is None:
                return None
            text = row[0]
        try:
            value: dict[str, Any] = json.loads(text)
        except ValueError as exc:  # a damaged row: a miss, like an unreadable file
            self._notice("read", exc)
            return None
        return value

    def put(self, key: str, model: str, value: dict[str, Any]) -> None:
        """Store one value now (blocking; a run uses `store`). Raises CacheError when the
        value cannot be stored (the caller must not count it as stored)."""
        try:
            self._conn.execute(_INSERT, _row(key, model, value))
        except _FAILURES as exc:
            raise CacheError(_broken(self.path, exc)) from exc

    async def store(self, key: str, model: str, value: dict[str, Any]) -> None:
        """Store one value without blocking the event loop; returns once it is committed, or
        once it is known that it cannot be (a notice; the caller's record is unaffected)."""
        row = _row(key, model, value)
        if self._closed:
            # A reply that lands as the run shuts down (Ctrl-C) was paid for: commit it here,
            # blocking, rather than through a writer that is gone.
            self._commit_now(row)
            return
        if self._writer is None:
            self._writer = _Writer(self.path)
        self._unwritten[key] = row[2]
        try:
            await self._writer.write(row)
        except _FAILURES as exc:
            self._notice("store", exc)
        finally:
            self._unwritten.pop(key, None)

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        """Commit what is still queued (calls that finished before a Ctrl-C), then close.
        Closing again does nothing. A Ctrl-C while the commit runs waits for it, then
        propagates: the replies were paid for."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._writer is not None:
                self._writer.close()
        except _FAILURES as exc:
            self._notice("store", exc)
        finally:
            self._conn.close()

    def _commit_now(self, row: Row) -> None:
        try:
            conn = sqlite.connect(self.path, wal=False)
            try:
                conn.execute(_INSERT, row)
            finally:
                conn.close()
        except _FAILURES as exc:
            self._notice("store", exc)

    def _notice(self, what: str, exc: BaseException) -> None:
        if what in self._failed:
            return
        self._failed.add(what)
        self.notices.append(
            f"the call cache {self.path} failed to {what} a call ({exc}); the run goes on "
            f"and writes its records, without the cache for those calls. Move {self.path} "
            "aside (a new one is made) or run with --no-cache"
        )


def _broken(path: Path, exc: BaseException) -> str:
    return (
        f"the call cache {path} cannot be used ({exc}); move it aside (a new one is made) "
        "or run with --no-cache"
    )


_INSERT = "INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?)"
Row = tuple[str, str, str, str]


def _row(key: str, model: str, value: dict[str, Any]) -> Row:
    return (key, model, json.dumps(value, ensure_ascii=False), sqlite.now())


@dataclass
class _Batch:
    done: asyncio.Future[None]
    rows: list[Row] = field(default_factory=list)


class _Writer:
    """One thread with its own connection; commits are serial, and the rows that queue while
    one commit runs all go in the next. Everything but `_commit` runs on the event loop."""

    def __init__(self, path: Path):
        self._path = path
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="judge-cache-writer")
        self._conn: sqlite3.Connection | None = None  # the writer thread's own
        self._queued: _Batch | None = None
        self._busy = False
        self._closed = False

    async def write(self, row: Row) -> None:
        loop = asyncio.get_running_loop()
        if self._queued is None:
            self._queued = _Batch(loop.create_future())
            if not self._busy:
                # At the end of this loop pass, so rows finished in the same pass share it.
                loop.call_soon(self._start, loop)
        batch = self._queued
        batch.rows.append(row)
        # Shielded: a caller cancelled now does not take the others' commit with it.
        await asyncio.shield(batch.done)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._queued = self._queued, None
        if batch is None or self._closed:  # `close` took the queued rows
            return
        self._busy = True
        work = self._pool.submit(self._commit, batch.rows)
        work.add_done_callback(lambda work: self._report(loop, batch, work))

    def _report(self, loop: asyncio.AbstractEventLoop, batch: _Batch, work: Future[None]) -> None:
        # In the writer thread. A loop already closed has no one left waiting; the next
        # loop's writes must not wait for its commit.
        try:
            loop.call_soon_threadsafe(self._finished, loop, batch, work)
        except RuntimeError:
            self._busy = False

    def _finished(self, loop: asyncio.AbstractEventLoop, batch: _Batch, work: Future[None]) -> None:
        self._busy = False
        error = work.exception()
        if error is not None:
            batch.done.set_exception(error)
        else:
            batch.done.set_result(None)
        if self._queued is not None:
            self._start(loop)

    def _commit(self, rows: list[Row]) -> None:
        if not rows:
            return
        if self._conn is None:
            # No WAL switch: the cache's own connection set it when it opened the file.
            self._conn = sqlite.connect(self._path, wal=False)
        with sqlite.transaction(self._conn) as conn:
            conn.executemany(_INSERT, rows)

    def close(self) -> None:
        """Commit the rows still queued and stop the thread (once; later calls do nothing).
        Raises the commit's error, if any."""
        if self._closed:
            return
        self._closed = True
        batch, self._queued = self._queued, None
        rows = batch.rows if batch is not None else []
        commit = self._pool.submit(self._commit, rows)  # after a commit already running
        # Waited for too: the writer's connection closed before the cache's own, so the last
        # connection to close (the cache's) checkpoints and removes the -wal file. Not
        # waiting left it behind under load (test_inspect_scorer saw it once).
        closing = self._pool.submit(self._close_connection)
        self._pool.shutdown(wait=False)
        _wait_through_interrupts(commit)
        _wait_through_interrupts(closing)
        if batch is not None and not batch.done.done():
            # Its writers were waiting on a loop that may be gone; their rows are committed.
            with contextlib.suppress(RuntimeError):
                batch.done.set_result(None)
        commit.result()

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()


def _wait_through_interrupts(work: Future[None]) -> None:
    """Wait for `work` to finish, even through Ctrl-Cs (a second one, impatient with a
    shutdown): the rows it commits were paid for, and it takes a moment. The interrupt is
    raised once it has."""
    interrupted: KeyboardInterrupt | None = None
    while True:
        try:
            wait([work])
        except KeyboardInterrupt as exc:
            interrupted = exc
            continue
        break
    if interrupted is not None:
        raise interrupted
