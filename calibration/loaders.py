"""Read score files into the long format: `judge score` results and human score tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from calibration.data import LONG_COLUMNS, from_wide, normalize_long
from calibration.errors import CalibrationError, InputFileError
from calibration.spreadsheet import unescape_cell

__all__ = ["load_human_scores", "load_judge_results", "load_scores"]

# Columns that are never raters in a wide human table.
_ID_COLUMNS = ("item", "id", "step", "criterion", "comment")
_NOT_A_LIST = "a .json score file must hold a list of rows"


def _read_jsonl(path: Path, torn: list[int] | None = None) -> list[tuple[int, dict[str, Any]]]:
    """The JSON object of each non-blank line, numbered from 1. Given a `torn` list, a last
    line without its newline (a killed `judge score` run was writing it) is left out, as
    `judge score` and `judge report` leave it out, and its number is added to `torn`; a bad
    complete line is still an error."""
    rows = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            if torn is not None and not raw.endswith(b"\n"):
                torn.append(number)
                continue
            rows.append((number, _loads(path, number, raw, expect=dict)))
    return rows


def _loads(path: Path, number: int | None, raw: bytes, expect: type) -> Any:
    """`raw` parsed as JSON of type `expect` (a line's object, a .json file's list)."""
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as err:
        raise InputFileError(str(path), number, f"not UTF-8 text ({err.reason})") from err
    except json.JSONDecodeError as err:
        where = number or err.lineno
        raise InputFileError(str(path), where, f"not valid JSON ({err.msg})") from err
    except RecursionError as err:
        # The json module recurses per nesting level: a line of 10,000 `[` exhausts the
        # stack. Only this parse is caught, so a bug elsewhere still shows as a traceback.
        raise InputFileError(str(path), number, "not valid JSON (nested too deeply)") from err
    if not isinstance(data, expect):
        what = "each line must be a JSON object" if expect is dict else _NOT_A_LIST
        raise InputFileError(str(path), number, what)
    return data


def _judgment_rows(path: Path, number: int, record: dict[str, Any]) -> tuple[list[dict], int]:
    if "id" not in record:
        raise InputFileError(str(path), number, "missing", field="id")
    judgments = record.get("judgments")
    if not isinstance(judgments, list):
        raise InputFileError(str(path), number, "must be a list", field="judgments")
    rows, unscored = [], 0
    for j in judgments:
        if not isinstance(j, dict) or "criterion" not in j or "judge" not in j:
            raise InputFileError(
                str(path), number, "each judgment needs criterion and judge", field="judgments"
            )
        if j.get("status", "scored") != "scored" or j.get("score") is None:
            unscored += 1
            continue
        rows.append(
            {
                "item": str(record["id"]),
                "step": j.get("step", record.get("step")),
                "criterion": j["criterion"],
                "rater": j["judge"],
                "rater_kind": "judge",
                "score": _scalar(j["score"]),
                "sample": j.get("sample", 0),
            }
        )
    return rows, unscored


def _scalar(score: Any) -> Any:
    """A set of labels (a step's error types) as one comparable value: sorted, joined."""
    return "; ".join(sorted(map(str, score))) if isinstance(score, list) else score


def load_judge_results(path: str | Path) -> pd.DataFrame:
    """Long scores from a `judge score` results JSONL; every distinct judge is a rater.

    Unscored judgments are skipped; their number is in ``frame.attrs["unscored"]``. A torn
    last line (a killed run) is left out; its number is in ``frame.attrs["torn_line"]``.
    """
    path = Path(path)
    rows: list[dict] = []
    unscored = 0
    torn: list[int] = []
    for number, record in _read_jsonl(path, torn):
        found, skipped = _judgment_rows(path, number, record)
        rows.extend(found)
        unscored += skipped
    columns = [*LONG_COLUMNS, "step", "sample"]
    frame = normalize_long(pd.DataFrame(rows, columns=columns))
    if frame["step"].isna().all():
        frame = frame.drop(columns="step")
    frame.attrs["unscored"] = unscored
    frame.attrs["torn_line"] = torn[0] if torn else None
    return frame


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        # Read everything as text: ids like "007" must stay ids; scores are coerced later.
        try:
            table = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str)
            # Cells a spreadsheet would run were written with a leading ' (calibration.spreadsheet).
            return table.map(unescape_cell)
        except UnicodeDecodeError as err:
            raise InputFileError(str(path), None, f"not UTF-8 text ({err.reason})") from err
        except pd.errors.ParserError as err:
            raise InputFileError(str(path), None, f"not a readable table ({err})") from err
    if suffix == ".jsonl":
        return pd.DataFrame([row for _, row in _read_jsonl(path)])
    if suffix == ".json":
        return pd.DataFrame(_loads(path, None, path.read_bytes(), expect=list))
    raise InputFileError(str(path), None, "score files must be .csv, .tsv, .jsonl or .json")


def load_scores(
    path: str | Path, rater_kind: str = "human", criterion: str = "score"
) -> pd.DataFrame:
    """Long scores from a CSV/TSV/JSONL/JSON table, long or wide.

    Long: columns item, criterion, rater, score (+ optional rater_kind, step, comment).
    Wide: an `item` (or `id`) column, optional `step` / `criterion` columns, and one column
    per rater; without a criterion column every score belongs to `criterion`.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(str(path), None, "no such file")
    table = _read_table(path)
    if table.empty:
        raise InputFileError(str(path), None, "holds no rows")
    try:
        if {"item", "criterion", "rater", "score"} <= set(table.columns):
            return normalize_long(table, rater_kind=rater_kind)
        if "item" not in table.columns and "id" in table.columns:
            table = table.rename(columns={"id": "item"})
        if "item" not in table.columns:
            table = table.rename(columns={table.columns[0]: "item"})
        raters = [c for c in table.columns if c not in _ID_COLUMNS]
        if not raters:
            raise InputFileError(str(path), None, "found no rater columns")
        keep = [c for c in table.columns if c in ("item", "step", "criterion") or c in raters]
        return from_wide(table[keep], criterion=criterion, rater_kind=rater_kind)
    except InputFileError:
        raise
    except CalibrationError as err:
        raise InputFileError(str(path), None, str(err)) from err


def load_human_scores(path: str | Path, criterion: str = "score") -> pd.DataFrame:
    """Long human scores (rater_kind "human") from a CSV/TSV/JSONL/JSON table, long or wide."""
    return load_scores(path, rater_kind="human", criterion=criterion)
