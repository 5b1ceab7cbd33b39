"""A set of ids whose memory does not grow with the number of ids.

A run over a large file needs two such sets: the ids seen so far (a repeated id is a problem in
the input) and the ids an earlier run finished (they are not judged again). Held as Python
strings they cost about 100 bytes an id; here the first `memory_ids` ids live in a Python set
and, past that, each full batch is written to a private SQLite database (sorted, in one
transaction) whose page cache is capped at `cache_kib`. Memory then stays at one batch plus
that cache, however many ids are added.

Ids are stored as 16-byte BLAKE2b digests: fixed-size keys whatever the id's length. Two ids
share a digest with odds below 10^-20 among a billion ids.

The database is SQLite's own temporary file (`sqlite3.connect("")`): SQLite puts it in
SQLITE_TMPDIR, else TMPDIR, else /var/tmp or /tmp, and removes its name as soon as it has opened
it, so nothing is left behind however the process ends, even on SIGKILL. `close()` (or leaving
the `with` block, or garbage collection) frees it.
"""

from __future__ import annotations

import hashlib
import sqlite3

__all__ = ["IdSet"]

# Ids held in memory before a batch goes to disk (about 100 bytes each), and SQLite's page cache.
MEMORY_IDS = 50_000
CACHE_KIB = 4_096


def _digest(item_id: str) -> bytes:
    # surrogatepass: a JSON string may hold a lone surrogate ("\ud800"), which is still an id.
    return hashlib.blake2b(item_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class IdSet:
    """A set of string ids: `add`, `in`, `len`, in bounded memory."""

    def __init__(self, memory_ids: int | None = None, cache_kib: int | None = None):
        self._memory_ids = MEMORY_IDS if memory_ids is None else memory_ids
        self._cache_kib = CACHE_KIB if cache_kib is None else cache_kib
        if self._memory_ids < 1 or self._cache_kib < 1:
            raise ValueError("memory_ids and cache_kib must be positive")
        self._recent: set[bytes] = set()
        self._db: sqlite3.Connection | None = None
        self._on_disk = 0
        self._closed = False

    def add(self, item_id: str) -> bool:
        """Add `item_id`; True if it was not in the set already."""
        key = _digest(item_id)
        if self._has(key):
            return False
        self._recent.add(key)
        if len(self._recent) >= self._memory_ids:
            self._spill()
        return True

    def __contains__(self, item_id: object) -> bool:
        return isinstance(item_id, str) and self._has(_digest(item_id))

    def __len__(self) -> int:
        """How many ids were added (still known after `close()`)."""
        return self._on_disk + len(self._recent)

    @property
    def spilled(self) -> bool:
        """Whether some ids are on disk."""
        return self._on_disk > 0

    def close(self) -> None:
        """Free the memory and the database; `len` still answers, `add` and `in` raise."""
        self._closed = True
        self._on_disk += len(self._recent)
        self._recent = set()
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> IdSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _has(self, key: bytes) -> bool:
        if self._closed:
            raise ValueError("the IdSet is closed")
        if key in self._recent:
            return True
        if self._db is None:
            return False
        row = self._db.execute("SELECT 1 FROM ids WHERE k = ?", (key,)).fetchone()
        return row is not None

    def _spill(self) -> None:
        db = self._db or self._connect()
        try:
            db.execute("BEGIN")
            db.executemany("INSERT INTO ids (k) VALUES (?)", ((k,) for k in sorted(self._recent)))
            db.execute("COMMIT")
        except BaseException:
            self.close()  # without a journal a failed write cannot be rolled back
            raise
        self._on_disk += len(self._recent)
        self._recent.clear()

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread=False: a generator holding the set may be resumed on another thread
        # (never two at once).
        db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        try:
            # Nothing to recover after a crash (the file is gone), so no journal and no fsync;
            # an exclusive lock spares two lock calls per lookup.
            for pragma in (
                "journal_mode = OFF",
                "synchronous = OFF",
                "locking_mode = EXCLUSIVE",
                f"cache_size = -{self._cache_kib}",
            ):
                db.execute(f"PRAGMA {pragma}")
            db.execute("CREATE TABLE ids (k BLOB PRIMARY KEY) WITHOUT ROWID")
        except BaseException:
            db.close()
            raise
        self._db = db
        return db
