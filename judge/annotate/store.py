"""The annotation database: raters, assignments and every answer, in SQLite (WAL).

Each submitted item is written in one transaction and is durable when the request returns
(synchronous=FULL), so a closed tab or a killed server loses nothing already submitted.
Answers are keyed by (rater, item, criterion) and written with an UPSERT: raters never touch
each other's rows, and a rater revising an item replaces only their own answers. A staged
rubric's answers are keyed by (rater, item, criterion, step), on the units stored per item
(`units`), so a restart shows the rater the steps they rated.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from judge.errors import ConfigError
from judge.store import sqlite
from judge.store.sqlite import Migration
from judge.store.sqlite import now as _now

__all__ = ["MIGRATIONS", "AnnotationStore", "Answer", "RaterKeys", "ScoreRow", "StepUnits"]

Level = int | str
# A step's answer to a labels criterion is the list of labels given.
StepLevel = int | str | list[str]


@dataclass(frozen=True)
class RaterKeys:
    """A rater's secrets: the token in their link, and the CSRF token of their forms."""

    token: str
    csrf: str


@dataclass
class Answer:
    """What one rater gave one item so far: a level per criterion and an optional comment."""

    scores: dict[str, Level] = field(default_factory=dict)
    comment: str = ""
    # Per step (1-based), a level per criterion: a staged rubric's answers.
    steps: dict[int, dict[str, StepLevel]] = field(default_factory=dict)


@dataclass(frozen=True)
class StepUnits:
    """The units (steps) of one item the raters rate, and where they came from: a judged
    run's segmentation ("results") or the sentence split ("sentences")."""

    units: list[str]
    source: str


@dataclass(frozen=True)
class ScoreRow:
    """One stored score, as exported."""

    item: str
    criterion: str
    rater: str
    score: StepLevel
    comment: str
    updated_at: str
    step: int | None = None


def _m1_tables(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(
        "CREATE TABLE raters (name TEXT PRIMARY KEY, token TEXT NOT NULL UNIQUE,"
        " csrf TEXT NOT NULL, created_at TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE assignments (rater TEXT NOT NULL REFERENCES raters(name),"
        " item TEXT NOT NULL, assigned_at TEXT NOT NULL, PRIMARY KEY (rater, item))"
    )
    conn.execute(
        "CREATE TABLE scores (rater TEXT NOT NULL, item TEXT NOT NULL, criterion TEXT NOT NULL,"
        " score TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (rater, item, criterion))"
    )
    conn.execute(
        "CREATE TABLE comments (rater TEXT NOT NULL, item TEXT NOT NULL, comment TEXT NOT NULL,"
        " updated_at TEXT NOT NULL, PRIMARY KEY (rater, item))"
    )


def _m2_steps(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE units (item TEXT PRIMARY KEY, units TEXT NOT NULL, source TEXT NOT NULL,"
        " created_at TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE step_scores (rater TEXT NOT NULL, item TEXT NOT NULL,"
        " step INTEGER NOT NULL, criterion TEXT NOT NULL, score TEXT NOT NULL,"
        " updated_at TEXT NOT NULL, PRIMARY KEY (rater, item, step, criterion))"
    )


def _m3_case_keys(conn: sqlite3.Connection) -> None:
    # `judge keys review` (judge.annotate.key_store): a reviewer's role; each key as loaded
    # (`draft`, a CaseKey's JSON) and its items now; every edit; who finished which key.
    conn.execute("ALTER TABLE raters ADD COLUMN role TEXT")
    conn.execute(
        "CREATE TABLE case_keys (item TEXT PRIMARY KEY, draft TEXT NOT NULL,"
        " items TEXT NOT NULL, loaded_at TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE key_edits (seq INTEGER PRIMARY KEY AUTOINCREMENT, item TEXT NOT NULL,"
        " rater TEXT NOT NULL, at TEXT NOT NULL, action TEXT NOT NULL,"
        " position INTEGER NOT NULL, before TEXT, after TEXT)"
    )
    conn.execute(
        "CREATE TABLE key_reviews (item TEXT PRIMARY KEY, rater TEXT NOT NULL,"
        " role TEXT NOT NULL, at TEXT NOT NULL)"
    )


# Schema changes are appended here, never edited: each runs once, recorded in `migrations`.
MIGRATIONS: list[Migration] = [_m1_tables, _m2_steps, _m3_case_keys]


class AnnotationStore:
    """The SQLite file behind one annotation study. Safe to share between threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        # Autocommit mode; writes open their own transactions (sqlite.transaction). One
        # connection behind a lock: a handful of raters never contend enough to need a pool.
        self._lock = threading.RLock()
        try:
            # FULL: a submitted answer survives a power cut, not only a killed process.
            self._conn = sqlite.open_migrated(
                self.path, MIGRATIONS, synchronous="FULL", check_same_thread=False, lock=self._lock
            )
        except sqlite.FAILURES as exc:
            raise ConfigError(
                f"the annotation database {self.path} cannot be used ({exc}); restore it or "
                "pass another --db"
            ) from exc

    # ------------------------------------------------------------------ schema

    @property
    def version(self) -> int:
        """The schema version: how many migrations have been applied."""
        return sqlite.applied_version(self._conn)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite.transaction(self._conn, self._lock)

    # ------------------------------------------------------------------ study settings

    def meta(self) -> dict[str, str]:
        """Settings the study was started with (rubric id and hash, id field, predictions)."""
        with self._lock:
            return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, values: Mapping[str, str]) -> None:
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO meta VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    # ------------------------------------------------------------------ raters

    def ensure_raters(self, names: list[str]) -> dict[str, RaterKeys]:
        """Create the raters not yet known (fresh tokens from `secrets`); return every rater.

        Known raters keep their tokens, so links stay valid across restarts.
        """
        with self._transaction() as conn:
            for name in names:
                conn.execute(
                    "INSERT INTO raters (name, token, csrf, created_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (name) DO NOTHING",
                    (name, secrets.token_urlsafe(24), secrets.token_urlsafe(24), _now()),
                )
        return self.raters()

    def raters(self) -> dict[str, RaterKeys]:
        with self._lock:
            rows = self._conn.execute("SELECT name, token, csrf FROM raters ORDER BY name")
            return {name: RaterKeys(token, csrf) for name, token, csrf in rows.fetchall()}

    # ------------------------------------------------------------------ assignments

    def assignments(self) -> dict[str, list[str]]:
        """Item id → the raters it is assigned to."""
        with self._lock:
            rows = self._conn.execute("SELECT item, rater FROM assignments ORDER BY rowid")
            found: dict[str, list[str]] = {}
            for item, rater in rows.fetchall():
                found.setdefault(item, []).append(rater)
            return found

    def add_assignments(self, pairs: list[tuple[str, str]]) -> None:
        """Assign (item, rater) pairs; pairs already present are left as they are."""
        now = _now()
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO assignments VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(rater, item, now) for item, rater in pairs],
            )

    # ------------------------------------------------------------------ answers

    def save(self, rater: str, item: str, scores: Mapping[str, Level], comment: str) -> None:
        """Store one rater's answers to one item, all in one transaction.

        Criteria not in `scores` keep what the rater gave them before; an empty comment
        removes the rater's earlier comment.
        """
        now = _now()
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO scores VALUES (?, ?, ?, ?, ?) ON CONFLICT (rater, item, criterion)"
                " DO UPDATE SET score = excluded.score, updated_at = excluded.updated_at",
                [(rater, item, c, json.dumps(level), now) for c, level in scores.items()],
            )
            self._save_comment(conn, rater, item, comment, now)

    @staticmethod
    def _save_comment(
        conn: sqlite3.Connection, rater: str, item: str, comment: str, now: str
    ) -> None:
        if comment:
            conn.execute(
                "INSERT INTO comments VALUES (?, ?, ?, ?) ON CONFLICT (rater, item)"
                " DO UPDATE SET comment = excluded.comment, updated_at = excluded.updated_at",
                (rater, item, comment, now),
            )
        else:
            conn.execute("DELETE FROM comments WHERE rater = ? AND item = ?", (rater, item))

    def answer(self, rater: str, item: str) -> Answer:
        """The rater's current answers to an item (empty when not yet rated)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT criterion, score FROM scores WHERE rater = ? AND item = ?", (rater, item)
            ).fetchall()
            comment = self._conn.execute(
                "SELECT comment FROM comments WHERE rater = ? AND item = ?", (rater, item)
            ).fetchone()
            step_rows = self._conn.execute(
                "SELECT step, criterion, score FROM step_scores WHERE rater = ? AND item = ?",
                (rater, item),
            ).fetchall()
        steps: dict[int, dict[str, StepLevel]] = {}
        for step, criterion, score in step_rows:
            steps.setdefault(step, {})[criterion] = json.loads(score)
        return Answer(
            {c: json.loads(s) for c, s in rows}, comment[0] if comment else "", steps=steps
        )

    def save_steps(
        self, rater: str, item: str, steps: Mapping[int, Mapping[str, StepLevel]], comment: str
    ) -> None:
        """Store one rater's answers to every step of an item, replacing their earlier ones
        (a step revised to factual loses its error types), in one transaction."""
        now = _now()
        rows = [
            (rater, item, step, c, json.dumps(level), now)
            for step, levels in steps.items()
            for c, level in levels.items()
        ]
        with self._transaction() as conn:
            conn.execute("DELETE FROM step_scores WHERE rater = ? AND item = ?", (rater, item))
            conn.executemany("INSERT INTO step_scores VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._save_comment(conn, rater, item, comment, now)

    def units(self) -> dict[str, StepUnits]:
        """Item id → the units stored for it."""
        with self._lock:
            rows = self._conn.execute("SELECT item, units, source FROM units").fetchall()
        return {item: StepUnits(json.loads(units), source) for item, units, source in rows}

    def add_units(self, found: Mapping[str, StepUnits]) -> list[str]:
        """Store units: an item's new ones, or other ones while no rater has answered a step
        of it. Answers refer to units by number, so an answered item keeps its stored units:
        those items are returned (the caller says so)."""
        now = _now()
        kept = []
        with self._transaction() as conn:
            for item, units in found.items():
                row = conn.execute("SELECT units FROM units WHERE item = ?", (item,)).fetchone()
                if row is not None and json.loads(row[0]) == units.units:
                    continue
                if row is not None:
                    answered = conn.execute(
                        "SELECT 1 FROM step_scores WHERE item = ? LIMIT 1", (item,)
                    ).fetchone()
                    if answered is not None:
                        kept.append(item)
                        continue
                conn.execute(
                    "INSERT INTO units VALUES (?, ?, ?, ?) ON CONFLICT (item) DO UPDATE SET"
                    " units = excluded.units, source = excluded.source,"
                    " created_at = excluded.created_at",
                    (item, json.dumps(units.units), units.source, now),
                )
        return kept

    def answered_steps(self, rater: str) -> dict[str, set[tuple[int, str]]]:
        """Item id → the (step, criterion) pairs this rater has answered on it."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT item, step, criterion FROM step_scores WHERE rater = ?", (rater,)
            ).fetchall()
        found: dict[str, set[tuple[int, str]]] = {}
        for item, step, criterion in rows:
            found.setdefault(item, set()).add((step, criterion))
        return found

    def answered(self, rater: str) -> dict[str, set[str]]:
        """Item id → the criteria this rater has scored on it."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT item, criterion FROM scores WHERE rater = ?", (rater,)
            ).fetchall()
        found: dict[str, set[str]] = {}
        for item, criterion in rows:
            found.setdefault(item, set()).add(criterion)
        return found

    def score_rows(self) -> Iterator[ScoreRow]:
        """Every stored score with the rater's comment on that item, in a stable order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT s.item, s.criterion, s.rater, s.score, COALESCE(c.comment, ''),"
                " s.updated_at FROM scores s LEFT JOIN comments c"
                " ON c.rater = s.rater AND c.item = s.item"
                " ORDER BY s.item, s.criterion, s.rater"
            ).fetchall()
            step_rows = self._conn.execute(
                "SELECT s.item, s.criterion, s.rater, s.score, COALESCE(c.comment, ''),"
                " s.updated_at, s.step FROM step_scores s LEFT JOIN comments c"
                " ON c.rater = s.rater AND c.item = s.item"
                " ORDER BY s.item, s.step, s.criterion, s.rater"
            ).fetchall()
        for item, criterion, rater, score, comment, updated_at in rows:
            yield ScoreRow(item, criterion, rater, json.loads(score), comment, updated_at)
        for item, criterion, rater, score, comment, updated_at, step in step_rows:
            yield ScoreRow(item, criterion, rater, json.loads(score), comment, updated_at, step)

    def has_steps(self) -> bool:
        """Whether any answer is a step's (the export then has a `step` column)."""
        with self._lock:
            return self._conn.execute("SELECT 1 FROM step_scores LIMIT 1").fetchone() is not None

    def close(self) -> None:
        with self._lock:
            self._conn.close()
