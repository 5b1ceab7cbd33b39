"""Read score files into the long format: `judge score` results and human score tables."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from calibration.data import LONG_COLUMNS, RATER_KINDS, from_wide, join_labels, normalize_long
from calibration.errors import CalibrationError, InputFileError
from calibration.spreadsheet import unescape_cell

__all__ = [
    "case_item_steps",
    "load_human_scores",
    "load_judge_results",
    "load_judge_scores",
    "load_scores",
]

# Columns that are never raters in a wide human table.
_ID_COLUMNS = ("item", "id", "step", "criterion", "comment")
_NOT_A_LIST = "a .json score file must hold a list of rows"
# HealthBench's meta-evaluation rows (openai/simple-evals healthbench_meta_eval.py): one per
# (completion, rubric item), `rubric` the item's text, `binary_labels` each physician's met /
# not met, `anonymized_physician_ids` who gave each. Their labels are on the criterion a
# rubric with `items: case` records per item (judge.judging.case_items.ITEM_CRITERION).
_META_EVAL = ("rubric", "binary_labels", "anonymized_physician_ids")
ITEM_CRITERION = "criteria_met"
# HealthBench's item rendering, `[points] criterion`: matched on the criterion alone.
_POINTS = re.compile(r"^\[-?\d+(?:\.\d+)?\] ")


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
        if _non_finite(j["score"]):
            message = f"judgment {j['criterion']!r}: the score is not a finite number"
            raise InputFileError(str(path), number, message, field="judgments")
        rows.append(
            {
                "item": str(record["id"]),
                "step": j.get("step", record.get("step")),
                "criterion": j["criterion"],
                "rater": j["judge"],
                "rater_kind": "judge",
                "score": join_labels(j["score"]),
                "sample": j.get("sample", 0),
            }
        )
    return rows, unscored


def load_judge_results(path: str | Path) -> pd.DataFrame:
    """Long scores from a `judge score` results JSONL; every distinct judge is a rater.

    Unscored judgments are skipped; their number is in ``frame.attrs["unscored"]``. A torn
    last line (a killed run) is left out; its number is in ``frame.attrs["torn_line"]``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(str(path), None, "no such file")
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


def _read_table(path: Path) -> tuple[pd.DataFrame, list[int] | None]:
    """The rows of a score table, and the line each starts on when read here (a CSV's are
    found only when an error needs one: `_row_lines`)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        sep = "\t" if suffix == ".tsv" else ","
        try:
            # Read everything as text: ids like "007" must stay ids; scores are coerced later.
            table = pd.read_csv(path, sep=sep, dtype=str)
        except pd.errors.ParserError as err:  # a row with more fields than the header
            found = re.search(r"line (\d+)", str(err))
            line = int(found.group(1)) if found else None
            message = f"not a valid table row ({_why(err)})"
            raise InputFileError(str(path), line, message) from err
        except UnicodeDecodeError as err:
            raise InputFileError(str(path), None, f"not UTF-8 text ({err.reason})") from err
        except pd.errors.EmptyDataError as err:  # a 0-byte file: not even a header
            raise InputFileError(str(path), None, "the file is empty") from err
        # Cells a spreadsheet would run were written with a leading ' (calibration.spreadsheet).
        return table.map(unescape_cell), None
    if suffix == ".jsonl":
        numbered = _read_jsonl(path)
        return pd.DataFrame([row for _, row in numbered]), [number for number, _ in numbered]
    if suffix == ".json":
        return pd.DataFrame(_loads(path, None, path.read_bytes(), expect=list)), None
    raise InputFileError(str(path), None, "score files must be .csv, .tsv, .jsonl or .json")


def load_scores(
    path: str | Path,
    rater_kind: str = "human",
    criterion: str = "score",
    judge_results: str | Path | None = None,
) -> pd.DataFrame:
    """Long scores from a CSV/TSV/JSONL/JSON table, long or wide.

    Long: columns item, criterion, rater, score (+ optional rater_kind, step, comment).
    Wide: an `item` (or `id`) column, optional `step` / `criterion` columns, and one column
    per rater; without a criterion column every score belongs to `criterion`.
    HealthBench's meta-evaluation rows (`rubric`, `binary_labels`, `anonymized_physician_ids`)
    are placed on the items of `judge_results` (a `judge score` results file of a rubric with
    `items: case`) by id and criterion text: see `case_item_steps`.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(str(path), None, "no such file")
    table, lines = _read_table(path)
    if table.empty:
        raise InputFileError(str(path), None, "holds no rows")
    if set(_META_EVAL) <= set(table.columns):
        return _meta_eval_labels(path, table, lines, judge_results)
    _check_rows(path, table, lines)
    try:
        if {"item", "criterion", "rater", "score"} <= set(table.columns):
            _check_scores(path, table, ["score"], lines)
            return normalize_long(table, rater_kind=rater_kind)
        if "item" not in table.columns and "id" in table.columns:
            table = table.rename(columns={"id": "item"})
        if "item" not in table.columns:
            table = table.rename(columns={table.columns[0]: "item"})
        raters = [c for c in table.columns if c not in _ID_COLUMNS]
        if not raters:
            raise InputFileError(str(path), None, "found no rater columns")
        _check_scores(path, table, raters, lines)
        keep = [c for c in table.columns if c in ("item", "step", "criterion") or c in raters]
        return from_wide(table[keep], criterion=criterion, rater_kind=rater_kind)
    except InputFileError:
        raise
    except CalibrationError as err:
        raise InputFileError(str(path), None, str(err)) from err


def _why(err: Exception) -> str:
    return " ".join(str(err).split()).removeprefix("Error tokenizing data. C error: ")


def _row_lines(path: Path, sep: str) -> list[int]:
    """The line each data row of a CSV/TSV starts on (a quoted field may span lines; blank
    lines are skipped, as pandas skips them)."""
    starts = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=sep)
        end = 0
        for record in reader:
            if any(field.strip() for field in record):
                starts.append(end + 1)
            end = reader.line_num
    return starts[1:]  # after the header


def _check_rows(path: Path, table: pd.DataFrame, lines: list[int] | None) -> None:
    """Refuse the first row whose id columns are empty or whose rater_kind is unknown, by
    file, line and field (a blank id would otherwise become the item "nan")."""
    problems = []  # (row position, column order, field, message)
    named = [c for c in ("item", "criterion", "rater", "rater_kind") if c in table.columns]
    for order, column in enumerate(named):
        values = table[column]
        blank = (values.isna() | values.astype(str).str.strip().eq("")).to_numpy()
        if blank.any():
            problems.append((int(blank.argmax()), order, column, "missing"))
    if "rater_kind" in table.columns:
        kinds = table["rater_kind"].astype(str).str.strip()
        unknown = (table["rater_kind"].notna() & ~kinds.isin(RATER_KINDS)).to_numpy()
        if unknown.any():
            at = int(unknown.argmax())
            message = f"must be 'human' or 'judge', got {kinds.iloc[at]!r}"
            problems.append((at, len(named), "rater_kind", message))
    if problems:
        position, _, field, message = min(problems)
        raise InputFileError(str(path), _line(path, lines, position), message, field=field)


def _line(path: Path, lines: list[int] | None, position: int) -> int | None:
    """The line the table's row at `position` starts on, when it can be known."""
    if lines is None and path.suffix.lower() in (".csv", ".tsv"):
        lines = _row_lines(path, "\t" if path.suffix.lower() == ".tsv" else ",")
    return lines[position] if lines is not None and position < len(lines) else None


def _non_finite(value: Any) -> bool:
    """A score that reads as a number but not a finite one ("inf", "nan" as text, JSON's
    Infinity). A missing cell (None, NaN from an empty one) is no score, not this."""
    if isinstance(value, str):
        try:
            return not math.isfinite(float(value.strip()))
        except ValueError:  # a label, not a number
            return False
    return isinstance(value, float) and math.isinf(value)


def _check_scores(
    path: Path, table: pd.DataFrame, columns: list[str], lines: list[int] | None
) -> None:
    """Refuse the first non-finite score by file, line and field: statistics of an `inf`
    fail far from the file (or silently)."""
    found = []  # (row position, column order, field, value)
    for order, column in enumerate(columns):
        bad = table[column].map(_non_finite).to_numpy(dtype=bool)
        if bad.any():
            at = int(bad.argmax())
            found.append((at, order, column, table[column].iloc[at]))
    if found:
        position, _, field, value = min(found)
        message = f"not a finite number ({value!r})"
        raise InputFileError(str(path), _line(path, lines, position), message, field=field)


def load_human_scores(
    path: str | Path, criterion: str = "score", judge_results: str | Path | None = None
) -> pd.DataFrame:
    """Long human scores (rater_kind "human") from a CSV/TSV/JSONL/JSON table, long or wide,
    or HealthBench's meta-evaluation rows placed on the items of `judge_results`."""
    return load_scores(path, rater_kind="human", criterion=criterion, judge_results=judge_results)


def case_item_steps(judge_results: str | Path) -> dict[tuple[str, str], int]:
    """(record id, item criterion) → the item's number, for every record of a rubric with
    `items: case` (its case-items judgment lists the items in `details["items"]`)."""
    path = Path(judge_results)
    if not path.is_file():
        raise InputFileError(str(path), None, "no such file")
    steps: dict[tuple[str, str], int] = {}
    for _, record in _read_jsonl(path, torn=[]):
        for j in record.get("judgments") or []:
            items = (j.get("details") or {}).get("items") if isinstance(j, dict) else None
            if isinstance(items, list):
                for step, text in enumerate(items, start=1):
                    steps.setdefault((str(record.get("id")), _POINTS.sub("", str(text))), step)
                break
    return steps


def _meta_eval_labels(
    path: Path, table: pd.DataFrame, lines: list[int] | None, judge_results: str | Path | None
) -> pd.DataFrame:
    """One human score per physician label, on the judged item whose record id is the row's
    `completion_id` or `prompt_id` and whose criterion is the row's `rubric`. Rows matching
    no judged item are counted in ``attrs["unmatched"]``."""
    if judge_results is None:
        raise InputFileError(
            str(path), None, "HealthBench meta-evaluation labels need the judge's results"
        )
    steps = case_item_steps(judge_results)
    if not steps:
        raise InputFileError(
            str(judge_results), None, "holds no case rubric items (judge with --rubric healthbench)"
        )
    rows, unmatched = [], 0
    for position, row in enumerate(table.to_dict("records")):
        line = lines[position] if lines is not None else None
        text, labels, raters = (row.get(k) for k in _META_EVAL)
        if not isinstance(text, str) or not text.strip():
            raise InputFileError(str(path), line, "must be the item's text", field="rubric")
        if not isinstance(labels, list) or not all(isinstance(v, bool) for v in labels):
            raise InputFileError(str(path), line, "must be a list of true/false", "binary_labels")
        if not isinstance(raters, list) or len(raters) != len(labels):
            message = "must name one physician per label"
            raise InputFileError(str(path), line, message, field="anonymized_physician_ids")
        if len(set(map(str, raters))) != len(raters):
            message = "names a physician twice on one item"
            raise InputFileError(str(path), line, message, field="anonymized_physician_ids")
        ids = [str(row[k]) for k in ("completion_id", "prompt_id") if isinstance(row.get(k), str)]
        criterion = _POINTS.sub("", text)
        found = next((steps[(i, criterion)] for i in ids if (i, criterion) in steps), None)
        item = next((i for i in ids if (i, criterion) in steps), None)
        if found is None or item is None:
            unmatched += 1
            continue
        base = {"item": item, "step": found, "criterion": ITEM_CRITERION, "rater_kind": "human"}
        rows += [
            {**base, "rater": str(rater), "score": float(label)}
            for rater, label in zip(raters, labels, strict=True)
        ]
    if not rows:
        message = (
            f"none of its {len(table)} rows is a judged item "
            "(by completion_id or prompt_id, and the item's criterion)"
        )
        raise InputFileError(str(path), None, message)
    frame = normalize_long(pd.DataFrame(rows, columns=[*LONG_COLUMNS, "step"]))
    frame.attrs["unmatched"] = unmatched
    return frame


_JUDGE_LONG = ("item", "criterion", "judge", "score")


def _is_results_file(path: Path) -> bool:
    """A `judge score` results file: JSONL whose first record holds `judgments`."""
    if path.suffix.lower() != ".jsonl":
        return False
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                try:
                    first = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                    return True  # let the results reader word the error
                return isinstance(first, dict) and "judgments" in first
    return True


def load_judge_scores(path: str | Path) -> pd.DataFrame:
    """Judge scores from a `judge score` results JSONL, or from any other tool as a long
    CSV/TSV/JSONL/JSON table with columns item, criterion, judge, score (+ optional step):
    one row per item, criterion and judge (a repeated row is refused at its line)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(str(path), None, "no such file")
    if _is_results_file(path):
        frame = load_judge_results(path)
        frame.attrs["results_file"] = True
        return frame
    table, lines = _read_table(path)
    if table.empty:
        raise InputFileError(str(path), None, "holds no rows")
    missing = [c for c in _JUDGE_LONG if c not in table.columns]
    if missing:
        raise InputFileError(
            str(path), None,
            f"a judge score table needs columns item, criterion, judge, score; missing "
            f"{', '.join(missing)}",
        )  # fmt: skip
    if "rater" in table.columns:
        raise InputFileError(str(path), None, "has both judge and rater columns", field="rater")
    table = table.rename(columns={"judge": "rater"})
    _check_rows(path, table, lines)
    keys = [c for c in ("item", "step", "criterion", "rater") if c in table.columns]
    repeated = table.duplicated(keys).to_numpy()
    if repeated.any():
        at = int(repeated.argmax())
        if lines is None and path.suffix.lower() in (".csv", ".tsv"):
            lines = _row_lines(path, "\t" if path.suffix.lower() == ".tsv" else ",")
        line = lines[at] if lines is not None and at < len(lines) else None
        row = table.iloc[at]
        message = (
            f"judge {row['rater']!r} scored item {row['item']!r} on {row['criterion']!r} twice"
        )
        raise InputFileError(str(path), line, message, field="judge")
    table = table.assign(rater_kind="judge")
    frame = normalize_long(table)
    frame.attrs["unscored"], frame.attrs["torn_line"] = 0, None
    return frame
