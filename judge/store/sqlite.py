"""SQLite plumbing shared by every database `judge` keeps (the call cache, its batch tables,
the annotation store): connections, numbered migrations, transactions and timestamps.

Migrations are numbered by their place in a list that is only ever appended to; each runs
once, inside its own `BEGIN IMMEDIATE` transaction, and is recorded in the table
`migrations (version, applied_at)` (the table every existing database already has, so files
written by earlier versions keep opening).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

__all__ = [
    "FAILURES",
    "Migration",
    "applied_version",
    "connect",
    "migrate",
    "now",
    "open_migrated",
    "transaction",
]

Migration = Callable[[sqlite3.Connection], None]
Synchronous = Literal["OFF", "NORMAL", "FULL"]

# What a failing database file raises: sqlite3's errors (not a database, damaged, no such
# table) and the OS's (a directory made read-only).
FAILURES = (sqlite3.Error, OSError)


def now() -> str:
    """The current UTC time as stored in every table (ISO 8601, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def connect(
    path: str | Path,
    *,
    synchronous: Synchronous = "NORMAL",
    wal: bool = True,
    check_same_thread: bool = True,
) -> sqlite3.Connection:
    """A connection in autocommit mode (writes open their own transactions) that waits up
    to 30 s for another process's lock. A database that is not one of judge's is refused
    (sqlite3.DatabaseError) before anything is written to it."""
    conn = sqlite3.connect(
        path, isolation_level=None, timeout=30, check_same_thread=check_same_thread
    )
    try:
        _refuse_foreign(conn)  # before WAL mode, which would change the file
        if wal:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
    except BaseException:
        conn.close()
        raise
    return conn


def _refuse_foreign(conn: sqlite3.Connection) -> None:
    """A database of judge's is empty (new) or records its migrations in `migrations
    (version, applied_at)`; any other (a user's file given as --db or as the cache) would
    get our tables added to it."""
    names = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%'"
        )
    }
    if not names:
        return
    columns = [row[1] for row in conn.execute("PRAGMA table_info(migrations)")]
    if columns != ["version", "applied_at"]:
        shown = ", ".join(sorted(names)[:3]) + (", …" if len(names) > 3 else "")
        raise sqlite3.DatabaseError(
            f"not a database of judge's: it holds tables of its own ({shown}); it was left as it is"
        )


@contextmanager
def transaction(
    conn: sqlite3.Connection, lock: threading.RLock | None = None
) -> Iterator[sqlite3.Connection]:
    """`with`: BEGIN IMMEDIATE (under `lock` when the connection is shared between threads);
    COMMIT, or ROLLBACK on any error."""
    if lock is not None:
        lock.acquire()
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        if lock is not None:
            lock.release()


def migrate(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration],
    lock: threading.RLock | None = None,
) -> None:
    """Apply the migrations not yet recorded, in order (version = position, from 1)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at TEXT)"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM migrations")}
    for version, migration in enumerate(migrations, start=1):
        if version in done:
            continue
        with transaction(conn, lock):
            # Checked inside the lock: another process may have just applied it.
            found = conn.execute("SELECT 1 FROM migrations WHERE version = ?", (version,))
            if found.fetchone() is None:
                migration(conn)
                conn.execute("INSERT INTO migrations VALUES (?, ?)", (version, now()))


def open_migrated(
    path: Path,
    migrations: Sequence[Migration],
    *,
    synchronous: Synchronous = "NORMAL",
    check_same_thread: bool = True,
    lock: threading.RLock | None = None,
) -> sqlite3.Connection:
    """A WAL connection to `path` (its folder made) with `migrations` applied. Raises one of
    FAILURES when the file cannot be used; the caller names the file and the way on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path, synchronous=synchronous, check_same_thread=check_same_thread)
    try:
        migrate(conn, migrations, lock)
    except BaseException:
        conn.close()
        raise
    return conn


def applied_version(conn: sqlite3.Connection) -> int:
    """How many migrations a database has had applied."""
    row = conn.execute("SELECT MAX(version) FROM migrations").fetchone()
    return int(row[0] or 0)
