"""Results and predictions as pandas DataFrames, for notebooks and other eval harnesses.

`load_results` reads a results file as a tidy frame (one row per item × criterion × judge ×
sample); `score_frame` / `ascore_frame` score a frame of predictions and return one row per
item with a column per criterion.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from judge.contracts import ResultRecord, Rubric
from judge.judging.engine import CompleteFn
from judge.load.inputs import Item, make_item
from judge.load.rubric import load_rubric
from judge.scorer import RunOptions, Scorer
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

T = TypeVar("T")


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
    return _run(ascore_frame(df, rubric, complete=complete, options=options, **overrides))


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
    `judge.ascore`. Rows are identified by their `id_field` column (default
    `title`) when `df` has it, else by the index. Every row is validated before any judge is called.
    """
    opts = RunOptions.of(options, overrides)
    the_rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    by_index = opts.id_field not in df.columns
    items = [
        make_item(
            _row_dict(row),
            opts.id_field,
            item_id=str(index) if by_index else None,
            source=f"row {index!r}",
        )
        for index, row in zip(df.index, df.to_dict("records"), strict=True)
    ]
    scorer = Scorer(opts, complete)
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
    # The scorer's engine bounds the calls in flight; this only bounds the tasks waiting.
    window = asyncio.Semaphore(max(scorer.options.concurrency * 2, 4))

    async def one(item: Item) -> ResultRecord:
        async with window:
            return await scorer.score_item(item, rubric)

    return list(await asyncio.gather(*(one(item) for item in items)))


def _row_dict(row: dict[Any, Any]) -> dict[str, Any]:
    """A frame row as a prediction dict: a missing cell (NaN/None) is a missing field."""
    return {str(k): v for k, v in row.items() if not _missing(v)}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when this thread already runs an
    event loop (Jupyter): then on a fresh loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
