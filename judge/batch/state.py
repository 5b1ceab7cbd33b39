"""The batches submitted from one call cache: its tables `batches` and `batch_keys`
(created by the cache's migration 2)."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from judge.store import sqlite as db
from judge.store.sqlite import now as _now

__all__ = ["APPLIED", "LOST", "SUBMITTING", "BatchState"]

# Ours, beside the provider's statuses: a batch being created (its id not yet known), one
# whose output is in the cache, and one the provider no longer knows.
SUBMITTING, APPLIED, LOST = "submitting", "applied", "lost"


class BatchState:
    """The batches submitted from one call cache (its tables `batches` and `batch_keys`)."""

    def __init__(self, path: Path):
        # The cache's own connection chose the journal; this one only reads and writes.
        self.conn = db.connect(path, synchronous="FULL", wal=False)
        self.conn.row_factory = sqlite3.Row

    def close(self) -> None:
        self.conn.close()

    def pending(self, key: str, judge: str, endpoint: str) -> str | None:
        """The batch, not yet applied, that holds `key` for `judge` at `endpoint`."""
        row = self.conn.execute(
            "SELECT b.id FROM batch_keys k JOIN batches b ON b.id = k.batch_id"
            " WHERE k.key = ? AND b.judge = ? AND b.endpoint = ?"
            " AND b.status NOT IN (?, ?, ?) LIMIT 1",
            (key, judge, endpoint, APPLIED, SUBMITTING, LOST),
        ).fetchone()
        return None if row is None else str(row[0])

    def begin(
        self,
        local: str,
        *,
        judge: str,
        endpoint: str,
        mode: str,
        model_hash: str,
        input_file_id: str,
        keys: Collection[str],
    ) -> None:
        """A batch about to be created from `input_file_id`, under a local id until then."""
        row = (local, judge, endpoint, mode, model_hash, SUBMITTING, input_file_id, len(keys))
        with self._transaction():
            self.conn.execute("DELETE FROM batch_keys WHERE batch_id = ?", (local,))
            self.conn.execute(
                "INSERT OR REPLACE INTO batches (id, judge, endpoint, mode, model_hash,"
                " status, input_file_id, n_requests, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, _now(), _now()),
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO batch_keys (key, batch_id) VALUES (?, ?)",
                ((key, local) for key in keys),
            )

    def adopt(self, local: str, batch_id: str, status: str) -> None:
        """A batch created from the file recorded as `local`: its id from now on."""
        with self._transaction():
            self.conn.execute(
                "UPDATE batches SET id = ?, status = ?, updated_at = ? WHERE id = ?",
                (batch_id, status, _now(), local),
            )
            self.conn.execute(
                "UPDATE batch_keys SET batch_id = ? WHERE batch_id = ?", (batch_id, local)
            )

    def forget(self, local: str) -> None:
        with self._transaction():
            self.conn.execute("DELETE FROM batch_keys WHERE batch_id = ?", (local,))
            self.conn.execute("DELETE FROM batches WHERE id = ?", (local,))

    def update(self, batch_id: str, **values: Any) -> None:
        columns = ", ".join(f"{name} = ?" for name in values)
        self.conn.execute(
            f"UPDATE batches SET {columns}, updated_at = ? WHERE id = ?",
            (*values.values(), _now(), batch_id),
        )

    def submitting(self, endpoint: str) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT id, judge FROM batches WHERE status = ? AND endpoint = ?",
            (SUBMITTING, endpoint),
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    def row(self, batch_id: str) -> dict[str, Any]:
        found = self.conn.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        return dict(found)

    def keys(self, batch_id: str) -> Iterable[str]:
        rows = self.conn.execute("SELECT key FROM batch_keys WHERE batch_id = ?", (batch_id,))
        return [str(r[0]) for r in rows]

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return db.transaction(self.conn)
