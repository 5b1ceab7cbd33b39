"""A calibration on record: alt-test verdicts tied to the rubric and prompt they were measured on,
and `judge qualify`'s verdicts (a rubric's test bank run against a judge), kept the same way.

`judge calibrate --alt-test --save` stores one row per criterion and judge in an SQLite file
in the project's home (`calibrations.sqlite` beside the call cache); the next `judge score`
and `judge report` look up, per criterion and judge, the latest verdict for the same rubric
hash and prompt hash. A judge's fitness holds only for the rubric and prompt it was measured
on: a verdict on other hashes is reported as such, never as a pass.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterable, Iterator
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
    "qualification_lines",
    "results_qualification",
    "results_status",
    "save_guarantees",
    "save_qualification",
    "save_verdicts",
    "status_lines",
    "verdicts",
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


def _create_qualifications(connection: sqlite3.Connection) -> None:
    # One row per criterion of a `judge qualify` run: the evidence behind the verdict, the
    # bank that gave it and the noise floor's settings.
    connection.execute(
        """CREATE TABLE qualifications (
            rubric_hash TEXT NOT NULL, prompt_hash TEXT NOT NULL, rubric TEXT NOT NULL,
            criterion TEXT NOT NULL, judge TEXT NOT NULL, verdict TEXT NOT NULL,
            reason TEXT NOT NULL, pairs INTEGER NOT NULL, detected INTEGER NOT NULL,
            low REAL, high REAL, false_moves INTEGER NOT NULL, false_total INTEGER NOT NULL,
            noise_moves INTEGER NOT NULL, noise_total INTEGER NOT NULL,
            noise_samples INTEGER NOT NULL, noise_temperature REAL NOT NULL,
            bank TEXT NOT NULL, bank_version TEXT NOT NULL, bank_hash TEXT NOT NULL,
            created_at TEXT NOT NULL
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


def _alt_test_verdicts(connection: sqlite3.Connection) -> None:
    # `passed` alone read an alt-test in which no annotator could be tested (ω undefined) as a
    # failure: the verdict is kept as words, with the reason when there is none. Rows saved
    # before: ω is NULL exactly when nobody was tested, whose reason they did not keep.
    connection.execute("ALTER TABLE calibrations ADD COLUMN verdict TEXT")
    connection.execute("ALTER TABLE calibrations ADD COLUMN reason TEXT")
    connection.execute(
        """UPDATE calibrations SET
            verdict = CASE WHEN passed THEN 'passed' WHEN omega IS NULL THEN 'not tested'
                      ELSE 'failed' END,
            reason = CASE WHEN NOT passed AND omega IS NULL THEN ? END""",
        ("no annotator could be tested (saved before the reason was kept)",),
    )


# Numbered by position, run once each by judge's one migration runner (judge.store.sqlite).
MIGRATIONS = [_create, _create_qualifications, _guarantees, _alt_test_verdicts]


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
    how many rows were stored. A row without a `verdict` (a table made by hand) is "passed",
    "failed" when ω is defined, else "not tested"."""
    created = when or sqlite.now()
    rows = []
    for r in table.to_dict("records"):
        omega = _number(r.get("omega"))
        verdict = r.get("verdict")
        if not isinstance(verdict, str):
            verdict = "passed" if r["passed"] else "failed" if omega is not None else "not tested"
        reason = None
        if verdict == "not tested":
            reason = str(r.get("reason") or "no annotator could be tested")
        rows.append(
            (rubric_hash, prompt_hash, rubric, str(r["criterion"]), str(r["judge"]),
             int(verdict == "passed"), omega, _number(r.get("advantage")), epsilon,
             *counts.get(str(r["criterion"]), (0, 0)), created, verdict, reason)
        )  # fmt: skip
    with closing(_connect(db)) as connection, sqlite.transaction(connection):
        connection.executemany(
            "INSERT INTO calibrations (rubric_hash, prompt_hash, rubric, criterion, judge, "
            "passed, omega, advantage, epsilon, n_items, n_humans, created_at, verdict, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
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


def _rows(db: Path, table: str = "calibrations") -> list[dict[str, Any]]:
    """Every stored verdict of `table` (ours: calibrations or qualifications), newest first
    (none when the record was never made)."""
    if not db.exists():
        return []
    with closing(_connect(db)) as connection:
        connection.row_factory = sqlite3.Row
        found = connection.execute(
            f"SELECT * FROM {table} ORDER BY created_at DESC, rowid DESC"
        ).fetchall()
    return [dict(row) for row in found]


def _each(
    rows: list[dict[str, Any]],
    rubric_hash: str,
    prompt_hash: str,
    criteria: Iterable[str],
    judges: Iterable[str],
) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """("criterion / judge", kind, row) per criterion and judge, sorted, as `_latest` finds
    them."""
    for criterion, judge, kind, row in _pairs(rows, rubric_hash, prompt_hash, criteria, judges):
        yield f"{criterion} / {judge}", kind, row


def _pairs(
    rows: list[dict[str, Any]],
    rubric_hash: str,
    prompt_hash: str,
    criteria: Iterable[str],
    judges: Iterable[str],
) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    return [
        (c, j, *_latest(rows, rubric_hash=rubric_hash, prompt_hash=prompt_hash, criterion=c,
                        judge=j))
        for c in sorted(set(criteria))
        for j in sorted(set(judges))
    ]  # fmt: skip


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


def verdicts(
    db: Path,
    *,
    rubric_hash: str,
    prompt_hash: str,
    criteria: Iterable[str],
    judges: Iterable[str],
    qualification: bool = False,
) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    """(criterion, judge, kind, row) per criterion and judge, sorted, as `lookup` finds them
    (`kind`: "verdict", "other" or "none"), from one read of the record: alt-test verdicts,
    or `judge qualify`'s with `qualification`."""
    rows = _rows(db, "qualifications" if qualification else "calibrations")
    return _pairs(rows, rubric_hash, prompt_hash, criteria, judges)


def status_lines(
    db: Path, *, rubric_hash: str, prompt_hash: str, criteria: Iterable[str], judges: Iterable[str]
) -> list[str]:
    """One line per criterion and judge with a verdict on record: the latest ("passed",
    "failed", or "not tested" with the reason), or "calibrated on another rubric/prompt
    version"; the pairs never calibrated share one line (`_collapsed`)."""
    lines, missing, rows = [], [], _rows(db)  # one read of the record for every pair
    criteria, judges = sorted(set(criteria)), sorted(set(judges))
    for where, kind, row in _each(rows, rubric_hash, prompt_hash, criteria, judges):
        if kind == "none" or row is None:
            missing.append(where)
        elif kind == "other":
            what = "rubric" if row["rubric_hash"] != rubric_hash else "prompt"
            lines.append(
                f"{where}: calibrated on another {what} version ({row['rubric']}, "
                f"{row['created_at'][:10]}); not valid for this run"
            )
        else:
            omega = "—" if row["omega"] is None else f"{row['omega']:.2f}"
            verdict = f"{row['verdict']}, ω = {omega}"
            if row["verdict"] == "not tested":  # no ω to speak of: why there is no verdict
                verdict = f"not tested: {row['reason']}"
            lines.append(
                f"{where}: alt-test {verdict} (ε = {row['epsilon']}, {row['n_items']} items, "
                f"{row['n_humans']} humans, {row['created_at'][:10]})"
            )
    how = "(judge calibrate --alt-test --save records a verdict)"
    return _collapsed(
        lines, missing, "not calibrated",
        f"none of the {len(criteria)} criteria × {len(judges)} judge(s) is calibrated {how}",
        f"not calibrated: {{}} {how}",
    )  # fmt: skip


def _collapsed(lines: list[str], missing: list[str], one: str, none: str, some: str) -> list[str]:
    """`lines` (the pairs on record) and the pairs with nothing on record: "pair: `one`" for
    a single one, `none` when no pair has a record, else one line `some` naming them (a first
    run records nothing: one line, not one per criterion and judge)."""
    if len(missing) < 2:
        return [*lines, *(f"{where}: {one}" for where in missing)]
    return [*lines, some.format(", ".join(missing))] if lines else [none]


def results_status(results: Path, db: Path) -> list[str]:
    """The calibration lines for a results file's rubric, prompt, judges and judged criteria."""
    return _for_results(results, db, status_lines, "calibration: ", "verdict")


def _for_results(
    results: Path, db: Path, lines: Callable[..., list[str]], prefix: str, what: str
) -> list[str]:
    from calibration.runs import load_run

    run = load_run(results)
    if not run.judges or not run.judged_criteria:
        return []
    if len(run.rubric_hashes) != 1 or len(run.prompt_hashes) != 1:
        return [f"{prefix}{results} mixes rubric or prompt versions; no {what} applies"]
    return lines(
        db,
        rubric_hash=next(iter(run.rubric_hashes)),
        prompt_hash=next(iter(run.prompt_hashes)),
        criteria=run.judged_criteria,
        judges=run.judges,
    )


_QUALIFICATION_COLUMNS = (
    "rubric_hash", "prompt_hash", "rubric", "criterion", "judge", "verdict", "reason", "pairs",
    "detected", "low", "high", "false_moves", "false_total", "noise_moves", "noise_total",
    "noise_samples", "noise_temperature", "bank", "bank_version", "bank_hash", "created_at",
)  # fmt: skip


def save_qualification(db: Path, rows: list[dict[str, Any]], when: str | None = None) -> int:
    """Store a `judge qualify` run: one mapping per criterion with the columns of the
    `qualifications` table (all but `created_at`). Returns how many rows were stored."""
    created = when or sqlite.now()
    values = [
        tuple(
            created if k == "created_at" else _number(r[k]) if k in ("low", "high") else r[k]
            for k in _QUALIFICATION_COLUMNS
        )
        for r in rows
    ]
    marks = ", ".join("?" * len(_QUALIFICATION_COLUMNS))
    with closing(_connect(db)) as connection, sqlite.transaction(connection):
        connection.executemany(f"INSERT INTO qualifications VALUES ({marks})", values)
    return len(values)


def qualification_lines(
    db: Path, *, rubric_hash: str, prompt_hash: str, criteria: Iterable[str], judges: Iterable[str]
) -> list[str]:
    """One line per criterion and judge with a record: the latest `judge qualify` verdict for
    this rubric and prompt, or "qualified on another rubric/prompt version"; the pairs with no
    qualification on record share one line (`_collapsed`)."""
    lines, missing, rows = [], [], _rows(db, "qualifications")
    criteria, judges = sorted(set(criteria)), sorted(set(judges))
    for where, kind, row in _each(rows, rubric_hash, prompt_hash, criteria, judges):
        if kind == "none" or row is None:
            missing.append(where)
        elif kind == "other":
            what = "rubric" if row["rubric_hash"] != rubric_hash else "prompt"
            lines.append(
                f"{where}: qualification on record is for another {what} version "
                f"({row['rubric']}, {row['created_at'][:10]}); not valid for this run"
            )
        else:
            interval = "" if row["low"] is None else f", 95% CI {row['low']:.2f}-{row['high']:.2f}"
            lines.append(
                f"{where}: {row['verdict'].upper()} ({row['detected']}/{row['pairs']} "
                f"defects detected{interval}; {row['false_moves']}/{row['false_total']} "
                f"false moves; noise {row['noise_moves']}/{row['noise_total']}; bank "
                f"v{row['bank_version']}, {row['created_at'][:10]})"
            )
    how = "(judge qualify records one)"
    return _collapsed(
        lines, missing, "no qualification on record",
        f"none of the {len(criteria)} criteria × {len(judges)} judge(s) has a qualification on "
        f"record {how}",
        f"no qualification on record for {{}} {how}",
    )  # fmt: skip


def results_qualification(results: Path, db: Path) -> list[str]:
    """The qualification lines for a results file's rubric, prompt, judges and criteria."""
    return _for_results(results, db, qualification_lines, "", "qualification")
