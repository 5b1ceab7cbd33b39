"""The tables a `judge calibrate --out-dir DIR` run wrote (judge/cli/calibration_tables.py),
read back for `judge methods --tables DIR`: agreement (α with its interval per criterion and
judge), the alternative annotator test, the human ceiling, the PPI-corrected estimates, and
run.json (the settings: the interval level, ε; the inputs with their hashes).

A table that is not one of ours (no mark), a missing column or a cell that is not a number
is a one-line InputError naming the file, the line and the column.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.errors import InputError

__all__ = ["COMMANDS", "Tables", "read_tables"]

# The columns each table must have, and which of them are numbers.
_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "agreement": (
        ("criterion", "judge"),
        ("n_items", "n_humans", "alpha_humans", "alpha_humans_low", "alpha_humans_high",
         "alpha_with_judge", "alpha_with_judge_low", "alpha_with_judge_high"),
    ),
    "alt_test": (("criterion", "judge", "passed"), ("omega", "tested")),
    "ceiling": (
        ("criterion", "judge", "metric"),
        ("value", "rank", "n_humans", "humans_min", "humans_max"),
    ),
    "estimate": (("criterion", "judge"), ("estimate", "low", "high", "n", "N")),
}  # fmt: skip
# Tables whose figures may all be missing: `--estimate` with nothing to correct (every judged
# item has a human score) writes only criterion, judge and notes.
_FIGURES_OPTIONAL = frozenset({"estimate"})
# The `judge calibrate` options that write each table, for the trace of its numbers.
COMMANDS = {
    "agreement": "judge calibrate --out-dir",
    "alt_test": "judge calibrate --alt-test --out-dir",
    "ceiling": "judge calibrate --ceiling --out-dir",
    "estimate": "judge calibrate --estimate --out-dir",
    "run": "judge calibrate --out-dir",
}


@dataclass
class Tables:
    """What a `judge calibrate --out-dir` folder holds (a table it did not write: [])."""

    folder: Path
    ci: float
    epsilon: float | None
    # The results file the tables were computed from, and whether it is byte for byte the
    # one the paragraph describes (its sha256 in run.json).
    judged: str | None
    same_results: bool
    # With `judge route`'s weights (--weights), PPI's N counts every judged item, else only
    # those without a human score (judge/cli/calibration_render.py's header says the same).
    routed: bool = False
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.folder / ("run.json" if name == "run" else f"{name}.csv")


def read_tables(folder: Path, results: Path) -> Tables:
    """The tables in `folder` (run.json is required: it says what they were computed from)."""
    run_path = folder / "run.json"
    if not run_path.is_file():
        message = "no such file: --tables takes the folder `judge calibrate --out-dir` wrote"
        raise InputError(str(run_path), None, message)
    run = _run(run_path)
    settings = run.get("settings") or {}
    judged = (run.get("inputs") or {}).get("judge") or {}
    tables = Tables(
        folder=folder,
        ci=float(settings.get("ci", 0.95)),
        epsilon=float(settings["epsilon"]) if settings.get("alt_test") else None,
        judged=judged.get("path"),
        same_results=judged.get("sha256") == _sha256(results),
        routed=bool((run.get("inputs") or {}).get("weights")),
    )
    for name in _COLUMNS:
        path = folder / f"{name}.csv"
        if path.is_file():
            tables.rows[name] = _table(path, *_COLUMNS[name], name in _FIGURES_OPTIONAL)
    return tables


def _run(path: Path) -> dict[str, Any]:
    from judge.cli.calibration_tables import RUN_MARK

    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(str(path), None, f"not JSON ({err})") from err
    if not isinstance(run, dict) or run.get("mark") != RUN_MARK:
        raise InputError(str(path), None, "not the run.json of `judge calibrate --out-dir`")
    return run


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _table(
    path: Path, text: tuple[str, ...], numbers: tuple[str, ...], optional: bool
) -> list[dict[str, Any]]:
    from calibration.tables import TABLE_MARK

    with path.open(encoding="utf-8", newline="") as handle:
        if not handle.readline().startswith(TABLE_MARK):
            raise InputError(str(path), 1, "not a table `judge calibrate --out-dir` wrote")
        reader = csv.DictReader(handle)
        needed = text if optional else (*text, *numbers)
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(str(path), 2, "missing column", field=missing[0])
        # Line 1 is the mark, line 2 the header: the first row is line 3.
        return [_row(path, line, row, numbers) for line, row in enumerate(reader, start=3)]


def _row(path: Path, line: int, row: dict[str, str], numbers: tuple[str, ...]) -> dict[str, Any]:
    from calibration.spreadsheet import unescape_cell

    # Text cells a spreadsheet would run were written with a leading ' (calibration.tables).
    out: dict[str, Any] = {k: unescape_cell(v) for k, v in row.items()}
    for column in numbers:
        cell = (row.get(column) or "").strip()
        if not cell:
            out[column] = None
            continue
        try:
            value = float(cell)
        except ValueError:
            raise InputError(str(path), line, f"not a number: {cell!r}", field=column) from None
        out[column] = None if math.isnan(value) else value
    return out
