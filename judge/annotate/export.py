"""Export human scores in the long format `judge calibrate` reads.

One row per (item, criterion, rater): columns `item`, `criterion`, `rater`, `rater_kind`
(always "human"), `score` and `comment` (the rater's comment on the item, repeated on each of
that item's rows; empty when none) — the columns `calibration.load_human_scores` takes.
A staged rubric's answers are per step: a `step` column (1-based) follows `item`, so
`judge calibrate` matches units item#step, and a labels answer is written as judges' label
sets are compared (sorted, joined by "; "). CSV or TSV by the file's suffix, or JSONL.

In CSV and TSV, a text cell that a spreadsheet would run as a formula (it starts with `=`, `+`,
`-`, `@`, a tab or a carriage return: a comment such as `=HYPERLINK(…)`) is written with a
leading `'` (`calibration.spreadsheet`); `judge calibrate` drops it again on reading, and
scores stay numbers. JSONL is written as given.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from calibration.data import join_labels
from calibration.spreadsheet import escape_cell
from judge.annotate.store import AnnotationStore
from judge.errors import ConfigError
from judge.store.outputs import claim, header_is, write_atomic

__all__ = ["COLUMNS", "STEP_COLUMNS", "ExportSummary", "export_scores", "find_db"]

COLUMNS = ("item", "criterion", "rater", "rater_kind", "score", "comment")
STEP_COLUMNS = ("item", "step", "criterion", "rater", "rater_kind", "score", "comment")
_SUFFIXES = (".csv", ".tsv", ".jsonl")


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    path: Path
    db: Path
    rows: int
    items: int
    raters: int
    criteria: int


def find_db(directory: str | Path = ".") -> Path:
    """The one `*.annotations.sqlite` in `directory` (what `judge annotate` creates)."""
    found = sorted(Path(directory).glob("*.annotations.sqlite"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigError(f"no *.annotations.sqlite in {Path(directory).resolve()}; pass --db")
    names = ", ".join(p.name for p in found)
    raise ConfigError(f"several annotation databases here ({names}); pass --db")


def export_scores(db: str | Path, out: str | Path) -> ExportSummary:
    """Write every score in the database `db` to `out`, replacing it atomically."""
    db, out = Path(db), Path(out)
    if out.suffix.lower() not in _SUFFIXES:
        raise ConfigError(f"--out {out}: use a .csv, .tsv or .jsonl file")
    if not db.is_file():
        raise ConfigError(f"no annotation database at {db}")
    # An earlier export (either shape), or no file: never a user's own file.
    single, stepped = header_is(COLUMNS), header_is(STEP_COLUMNS)
    claim(out, lambda head: single(head) or stepped(head))
    store = AnnotationStore(db)
    try:
        columns = STEP_COLUMNS if store.has_steps() else COLUMNS
        rows = [
            {
                "item": r.item,
                "step": r.step,
                "criterion": r.criterion,
                "rater": r.rater,
                "rater_kind": "human",
                "score": join_labels(r.score),
                "comment": r.comment,
            }
            for r in store.score_rows()
        ]
    finally:
        store.close()
    if columns is COLUMNS:
        for row in rows:
            del row["step"]
    text = io.StringIO(newline="")
    if out.suffix.lower() == ".jsonl":
        for row in rows:
            text.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        delimiter = "\t" if out.suffix.lower() == ".tsv" else ","
        writer = csv.DictWriter(text, fieldnames=columns, delimiter=delimiter)
        writer.writeheader()
        writer.writerows({k: escape_cell(v) for k, v in row.items()} for row in rows)
    write_atomic(out, text.getvalue())
    return ExportSummary(
        path=out,
        db=db,
        rows=len(rows),
        items=len({r["item"] for r in rows}),
        raters=len({r["rater"] for r in rows}),
        criteria=len({r["criterion"] for r in rows}),
    )
