"""Results and predictions as pandas DataFrames, for notebooks and other eval harnesses.

`load_results` reads a results file as a tidy frame (one row per item × criterion × judge ×
sample); `score_frame` / `ascore_frame` score a frame of predictions and return one row per
item with a column per criterion.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from judge.contracts import ResultRecord, Rubric
from judge.judging.engine import CompleteFn
from judge.judging.scheduler import run_blocking
from judge.load.images import ImageRoot
from judge.load.inputs import Item, make_item
from judge.load.keys import checked_keys
from judge.load.rubric import load_rubric
from judge.options import RunOptions
from judge.scorer import Scorer
from judge.store.results import iter_records

__all__ = ["JUDGMENT_COLUMNS", "ascore_frame", "load_results", "records_frame", "score_frame"]

# The columns every tidy frame has, before the case metadata columns.
JUDGMENT_COLUMNS = [
    "item",
    "line",
    "rubric",
    "record_status",
    "criterion",
    "judge",
    "sample",
    "step",
    "status",
    "score",
    "rationale",
    "reason",
    "retryable",
]


def load_results(path: str | Path) -> pd.DataFrame:
    """A results file as a tidy DataFrame: one row per item × criterion × judge × sample
    (× step, for a multi-stage rubric's per-step verdicts; `step` is empty otherwise).

    Columns: `JUDGMENT_COLUMNS`, then one column per case metadata field (`image_count`,
    `modality`, …; a field whose name clashes with a judgment column gets a `meta_` prefix).
    """
    return records_frame(iter_records(path))


def records_frame(records: Iterable[ResultRecord]) -> pd.DataFrame:
    """Result records as the tidy frame `load_results` returns."""
    rows: list[dict[str, Any]] = []
    meta_names: dict[str, None] = {}
    for record in records:
        meta = {_meta_column(k): v for k, v in record.meta.items()}
        meta_names.update(dict.fromkeys(meta))
        for j in record.judgments:
            rows.append(
                {
                    "item": record.id,
                    "line": record.line,
                    "rubric": record.rubric.id,
                    "record_status": record.status,
                    "criterion": j.criterion,
                    "judge": j.judge,
                    "sample": j.sample,
                    "step": j.step,
                    "status": j.status,
                    "score": j.score,
                    "rationale": j.rationale,
                    "reason": j.reason,
                    "retryable": j.retryable,
                    **meta,
                }
            )
    return pd.DataFrame(rows, columns=[*JUDGMENT_COLUMNS, *meta_names])


def _meta_column(name: str) -> str:
    return f"meta_{name}" if name in JUDGMENT_COLUMNS else name


def score_frame(
    df: pd.DataFrame,
    rubric: str | Path | Rubric = "ddx",
    *,
    complete: CompleteFn | None = None,
    options: RunOptions | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Score each row of `df` (blocking; also works inside a running event loop, such as a
    notebook's). See `ascore_frame`."""
    return run_blocking(ascore_frame(df, rubric, complete=complete, options=options, **overrides))


async def ascore_frame(
    df: pd.DataFrame,
    rubric: str | Path | Rubric = "ddx",
    *,
    complete: CompleteFn | None = None,
    options: RunOptions | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Score each row of `df` (columns in the predictions-file shape) against `rubric`.

    Returns one row per input row, with `df`'s index: `id`, `status` and one column per
    criterion (missing, NaN or None, where unscored). `options` and `overrides` are as in
    `judge.ascore`, except the options of a file run (`max_cost`, `batch`, `by`, …), which
    are refused. Rows are identified by their `id_field` column (default `title`) when `df` has
    it, else by the index. Every row is validated before any judge is called.
    """
    opts = RunOptions.of(options, overrides)
    opts.check_use("frame")  # before any row is read
    the_rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    by_index = opts.id_field not in df.columns
    images = ImageRoot.of(opts.images)
    items = [
        make_item(
            _row_dict(row),
            opts.id_field,
            item_id=str(index) if by_index else None,
            source=f"row {index!r}",
            images=images,
            fmt=opts.format,
            rubric=the_rubric,
        )
        for index, row in zip(df.index, df.to_dict("records"), strict=True)
    ]
    checked_keys(opts, the_rubric, ((i.id, i.prediction, f"row {i.id!r}", i.line) for i in items))
    scorer = Scorer(opts, complete, use="frame")
    # A rubric with no LLM criterion (twi) needs no judge: none is started or asked for.
    await scorer.open(needs_judges=the_rubric.needs_judges)
    try:
        records = await _score_all(scorer, items, the_rubric)
    finally:
        await scorer.close()
    frame = pd.DataFrame(
        [{"id": r.id, "status": r.status, **r.scores} for r in records],
        index=df.index,
        columns=["id", "status", *(c.id for c in the_rubric.criteria)],
    )
    frame.attrs["notices"] = list(scorer.notices)
    return frame


async def _score_all(scorer: Scorer, items: list[Item], rubric: Rubric) -> list[ResultRecord]:
    """Every item's record, in the items' order."""

    async def one(numbered: tuple[int, Item]) -> tuple[int, ResultRecord]:
        return numbered[0], await scorer.score_item(numbered[1], rubric)

    records = scorer.scheduler.stream(enumerate(items), one)
    async with contextlib.aclosing(records):  # a row that fails cancels the others now
        found = dict([pair async for pair in records])
    return [found[i] for i in range(len(items))]


def _row_dict(row: dict[Any, Any]) -> dict[str, Any]:
    """A frame row as a prediction dict: a missing cell (NaN/None) is a missing field."""
    return {str(k): v for k, v in row.items() if not _missing(v)}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
