"""A calibration on record: alt-test verdicts tied to the rubric and prompt they were measured on.

`judge calibrate --alt-test --save` stores one row per criterion and judge in an SQLite file
in the project's home (`calibrations.sqlite` beside the call cache); the next `judge score`
and `judge report` look up, per criterion and judge, the latest verdict for the same rubric
hash and prompt hash. A judge's fitness holds only for the rubric and prompt it was measured
on: a verdict on other hashes is reported as such, never as a pass.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calibration.errors import CalibrationError
from judge.store import sqlite

if TYPE_CHECKING:  # pandas only for the table `save_verdicts` is given: a lookup needs none
    import pandas as pd

__all__ = [
    "DB_NAME",
    "latest_guarantees",
    "lookup",
    "results_status",
    "save_guarantees",
    "save_verdicts",
    "status_lines",
]

DB_NAME = "calibrations.sqlite"


def _create(connection: sqlite3.Connection) -> None:
    connection.execute(
        """CREATE TABLE calibrations (
            rubric_hash TEXT NOT NULL, prompt_hash TEXT NOT NULL, rubric TEXT NOT NULL,
            criterion TEXT NOT NULL, judge TEXT NOT NULL, passed INTEGER NOT NULL,
            omega REAL, advantage REAL, epsilon REAL NOT NULL, n_items INTEGER NOT NULL,
            n_humans INTEGER NOT NULL, created_at TEXT NOT NULL
        )"""
    )


def _guarantees(connection: sqlite3.Connection) -> None:
    # Trust or Escalate thresholds (judge calibrate --guarantee --save), read by judge route
    # --escalate; `judges` is the panel whose agreement was the confidence.
    connection.execute(
        """CREATE TABLE guarantees (
            rubric_hash TEXT NOT NULL, prompt_hash TEXT NOT NULL, rubric TEXT NOT NULL,
            criterion TEXT NOT NULL, judges TEXT NOT NULL, threshold REAL NOT NULL,
            target REAL NOT NULL, delta REAL NOT NULL, agree_within INTEGER NOT NULL,
            coverage REAL NOT NULL, agreement REAL NOT NULL, bound REAL NOT NULL,
            n_items INTEGER NOT NULL, created_at TEXT NOT NULL
        )"""
    )


# Numbered by position, run once each by judge's one migration runner (judge.store.sqlite).
MIGRATIONS = [_create, _guarantees]


def _connect(db: Path) -> sqlite3.Connection:
    try:
        return sqlite.open_migrated(db, MIGRATIONS)
    except sqlite.FAILURES as err:
        raise CalibrationError(
            f"{db}: cannot use the calibration record ({err}); move it aside to start a new one"
        ) from err


def _number(value: Any) -> float | None:
    return None if value is None or math.isnan(float(value)) else float(value)


def save_verdicts(
    db: Path,
    table: pd.DataFrame,
    *,
    rubric_hash: str,
    prompt_hash: str,
    rubric: str,
    epsilon: float,
    counts: dict[str, tuple[int, int]],
    when: str | None = None,
) -> int:
    """Store the rows of an `alt_test_table`; `counts`: criterion → (items, humans). Returns
    how many rows were stored."""
    created = when or sqlite.now()
    rows = [
        (rubric_hash, prompt_hash, rubric, str(r["criterion"]), str(r["judge"]),
         int(bool(r["passed"])), _number(r.get("omega")), _number(r.get("advantage")), epsilon,
         *counts.get(str(r["criterion"]), (0, 0)), created)
        for r in table.to_dict("records")
    ]  # fmt: skip
    with closing(_connect(db)) as connection, sqlite.transaction(connection):
        connection.executemany(
            "INSERT INTO calibrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
    return len(rows)


def save_guarantees(
    db: Path,
    table: pd.DataFrame,
    *,
    rubric_hash: str,
    prompt_hash: str,
    rubric: str,
    judges: list[str],
    when: str | None = None,
) -> int:
    """Store the guaranteed rows of a `guarantee_table` (a criterion without a guarantee has
    no threshold to keep). Returns how many rows were stored."""
    created = when or sqlite.now()
    rows = [
        (rubric_hash, prompt_hash, rubric, str(r["criterion"]), ", ".join(judges),
         float(r["threshold"]), float(r["target"]), float(r["delta"]), int(r["agree_within"]),
         float(r["coverage"]), float(r["agreement"]), float(r["bound"]), int(r["n"]), created)
        for r in table.to_dict("records")
        if r.get("guaranteed") is True or r.get("guaranteed") == 1
    ]  # fmt: skip
    with closing(_connect(db)) as connection, sqlite.transaction(connection):
        connection.executemany(
            "INSERT INTO guarantees VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
    return len(rows)


def latest_guarantees(db: Path, *, rubric_hash: str, prompt_hash: str) -> dict[str, dict]:
    """Criterion → the newest stored guarantee for these hashes (none: an empty dict)."""
    if not db.exists():
        return {}
    with closing(_connect(db)) as connection:
        connection.row_factory = sqlite3.Row
        found = connection.execute(
            "SELECT * FROM guarantees WHERE rubric_hash = ? AND prompt_hash = ? "
            "ORDER BY created_at DESC, rowid DESC",
            (rubric_hash, prompt_hash),
        ).fetchall()
    out: dict[str, dict] = {}
    for row in found:
        out.setdefault(row["criterion"], dict(row))
    return out


def _rows(db: Path) -> list[dict[str, Any]]:
    """Every stored verdict, newest first (none when the record was never made)."""
    if not db.exists():
        return []
    with closing(_connect(db)) as connection:
        connection.row_factory = sqlite3.Row
        found = connection.execute(
            "SELECT * FROM calibrations ORDER BY created_at DESC, rowid DESC"
        ).fetchall()
    return [dict(row) for row in found]


def _latest(
    rows: list[dict[str, Any]], *, rubric_hash: str, prompt_hash: str, criterion: str, judge: str
) -> tuple[str, dict[str, Any] | None]:
    mine = [r for r in rows if r["criterion"] == criterion and r["judge"] == judge]
    same = [r for r in mine if r["rubric_hash"] == rubric_hash and r["prompt_hash"] == prompt_hash]
    if same:
        return "verdict", same[0]
    return ("other", mine[0]) if mine else ("none", None)


def lookup(
    db: Path, *, rubric_hash: str, prompt_hash: str, criterion: str, judge: str
) -> tuple[str, dict[str, Any] | None]:
    """("verdict", row) for the same hashes, ("other", row) when only other hashes were
    calibrated, ("none", None) when this criterion and judge never were."""
    return _latest(
        _rows(db), rubric_hash=rubric_hash, prompt_hash=prompt_hash, criterion=criterion,
        judge=judge,
    )  # fmt: skip


def status_lines(
    db: Path, *, rubric_hash: str, prompt_hash: str, criteria: Iterable[str], judges: Iterable[str]
) -> list[str]:
    """One line per criterion and judge: the latest verdict, "not calibrated", or
    "calibrated on another rubric/prompt version"."""
    lines, rows = [], _rows(db)  # one read of the record for every criterion and judge
    criteria, judges = sorted(set(criteria)), sorted(set(judges))
    for criterion in criteria:
        for judge in judges:
            kind, row = _latest(rows, rubric_hash=rubric_hash, prompt_hash=prompt_hash,
                                criterion=criterion, judge=judge)  # fmt: skip
            where = f"{criterion} / {judge}"
            if kind == "none" or row is None:
                lines.append(f"{where}: not calibrated")
            elif kind == "other":
                what = "rubric" if row["rubric_hash"] != rubric_hash else "prompt"
                lines.append(
                    f"{where}: calibrated on another {what} version ({row['rubric']}, "
                    f"{row['created_at'][:10]}); not valid for this run"
                )
            else:
                verdict = "passed" if row["passed"] else "failed"
                omega = "—" if row["omega"] is None else f"{row['omega']:.2f}"
                lines.append(
                    f"{where}: alt-test {verdict}, ω = {omega} (ε = {row['epsilon']}, "
                    f"{row['n_items']} items, {row['n_humans']} humans, {row['created_at'][:10]})"
                )
    if len(lines) > 1 and all(line.endswith(": not calibrated") for line in lines):
        # A first run calibrates nothing: one line, not one per criterion and judge.
        return [
            f"none of the {len(criteria)} criteria × {len(judges)} judge(s) is "
            "calibrated (judge calibrate --alt-test --save records a verdict)"
        ]
    return lines


def results_status(results: Path, db: Path) -> list[str]:
    """The calibration lines for a results file's rubric, prompt, judges and judged criteria."""
    from calibration.runs import load_run

    run = load_run(results)
    if not run.judges or not run.judged_criteria:
        return []
    if len(run.rubric_hashes) != 1 or len(run.prompt_hashes) != 1:
        return [f"calibration: {results} mixes rubric or prompt versions; no verdict applies"]
    return status_lines(
        db,
        rubric_hash=next(iter(run.rubric_hashes)),
        prompt_hash=next(iter(run.prompt_hashes)),
        criteria=run.judged_criteria,
        judges=run.judges,
    )
