"""The numbers of a report, as DataFrames: per-criterion summaries and distributions, scores
sliced by case metadata, per-judge means and judge-vs-judge α, unscored reasons, and the
lowest-scoring items. Every function takes records or frames and returns a frame, so the
terminal (`judge score --by FIELD`) and notebooks can use them too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from judge.aggregate.intervals import MeanInterval
from judge.aggregate.normalise import composite, unit_score
from judge.aggregate.summary_models import Interval
from judge.contracts import Criterion, ResultRecord, Rubric

__all__ = [
    "MISSING",
    "SLICE_FIRST",
    "CriterionInfo",
    "criteria_of",
    "criterion_summary",
    "distribution",
    "judge_alpha",
    "judge_intervals",
    "judge_means",
    "lowest_items",
    "mean_interval",
    "meta_table",
    "score_table",
    "slice_fields",
    "slice_scores",
    "slice_table",
    "unscored_table",
]

# The MedThinkVQA fields worth slicing by, shown first when present.
SLICE_FIRST = ("icd10_chapter", "modality", "longitudinal", "image_count")
# The slice of items that lack the field.
MISSING = "(missing)"
_MAX_SLICES = 30
# Judges that are not LLMs: computed criteria, and the placeholder of a run with no judge.
_NOT_LLM = frozenset({"deterministic", "none"})


@dataclass(frozen=True)
class CriterionInfo:
    """What a report needs to know of a criterion: its scale and levels."""

    id: str
    scale: str
    method: str = "llm"
    levels: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    # The rubric's `higher_is_better` (false for the hallucination flag); True without one.
    higher_is_better: bool = True

    @property
    def numeric(self) -> bool:
        return self.scale != "categorical"

    @property
    def ranked(self) -> bool:
        """Whether the scale is ordered, so that a score says how good an answer is (with
        `higher_is_better` saying which way): ordinal, binary and continuous scales."""
        return self.scale in ("ordinal", "binary", "continuous")

    @property
    def is_accuracy(self) -> bool:
        return self.method == "answer_accuracy"


def criteria_of(records: Sequence[ResultRecord], rubric: Rubric | None) -> list[CriterionInfo]:
    """The criteria of a rubric, or, without one, as the records show them."""
    if rubric is not None:
        return [_from_rubric(c) for c in rubric.criteria]
    ids: dict[str, None] = {}
    for record in records:
        ids.update(dict.fromkeys(record.scores))
    scores = score_table(records)
    return [_from_scores(cid, scores[cid].dropna()) for cid in ids]


def _from_rubric(criterion: Criterion) -> CriterionInfo:
    scale = criterion.scale
    levels = tuple(getattr(scale, "levels", ()))
    ordered = bool(levels) and scale.type != "categorical"
    low = getattr(scale, "min", levels[0] if ordered else None)
    high = getattr(scale, "max", levels[-1] if ordered else None)
    return CriterionInfo(
        criterion.id, scale.type, criterion.method, levels, low, high, criterion.higher_is_better
    )


def _from_scores(criterion_id: str, values: pd.Series) -> CriterionInfo:
    # A custom rubric that is not at hand: text scores are labels, numbers are levels.
    if any(isinstance(v, str) for v in values):
        return CriterionInfo(criterion_id, "categorical")
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty:
        return CriterionInfo(criterion_id, "ordinal")
    low, high = float(numbers.min()), float(numbers.max())
    return CriterionInfo(criterion_id, "ordinal", "llm", (), low, high)


def score_table(records: Iterable[ResultRecord]) -> pd.DataFrame:
    """One row per item (index `item`), one column per criterion: the panel's score or None."""
    rows = {r.id: r.scores for r in records}
    frame = pd.DataFrame.from_dict(rows, orient="index", dtype=object)
    frame.index.name = "item"
    return frame


def meta_table(records: Iterable[ResultRecord]) -> pd.DataFrame:
    """One row per item (index `item`), one column per case metadata field."""
    rows = {r.id: r.meta for r in records}
    frame = pd.DataFrame.from_dict(rows, orient="index", dtype=object)
    frame.index.name = "item"
    return frame


def _numbers(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column, errors="coerce")


def mean_interval(
    values: pd.Series, binary: bool, clusters: pd.Series | None = None, ci: float = 0.95
) -> Interval | None:
    """The interval of the mean of `values` as the run summary computes it (Wilson for a
    binary rate, else a percentile bootstrap; over whole clusters when `clusters`, aligned
    on `values`' index, names each item's)."""
    found = MeanInterval(binary, clustered=clusters is not None)
    keys = clusters.reindex(values.index).tolist() if clusters is not None else None
    for k, value in enumerate(values.tolist()):
        found.add(float(value), None if keys is None else str(keys[k]))
    return found.interval(ci)


def criterion_summary(
    scores: pd.DataFrame,
    criteria: Sequence[CriterionInfo],
    clusters: pd.Series | None = None,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Per criterion: scale, n scored, n unscored, mean with its interval (`low`, `high`, at
    level `ci`, resampling `clusters` if given: see `mean_interval`) and sample std (numeric
    scales)."""
    rows = []
    for c in criteria:
        column = scores[c.id] if c.id in scores else pd.Series(dtype=object)
        scored = column.dropna()
        values = _numbers(scored).dropna() if c.numeric else pd.Series(dtype=float)
        interval = mean_interval(values, c.scale == "binary", clusters, ci)
        rows.append(
            {
                "criterion": c.id,
                "scale": c.scale,
                "n_scored": len(scored),
                "n_unscored": int(column.isna().sum()),
                "mean": values.mean() if len(values) else np.nan,
                "low": interval.low if interval else np.nan,
                "high": interval.high if interval else np.nan,
                "std": values.std() if len(values) > 1 else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("criterion")


def distribution(scores: pd.DataFrame, criterion: CriterionInfo, bins: int = 10) -> pd.Series:
    """How many items got each level (every level of the scale, zeros included); for a
    continuous scale, counts in `bins` equal bins over the scale's range."""
    column = scores[criterion.id].dropna() if criterion.id in scores else pd.Series(dtype=object)
    if criterion.scale == "continuous":
        low, high = criterion.low or 0.0, criterion.high if criterion.high is not None else 1.0
        counts, edges = np.histogram(_numbers(column).dropna(), bins=bins, range=(low, high))
        labels = [f"{a:.1f}–{b:.1f}" for a, b in itertools.pairwise(edges)]
        return pd.Series(counts, index=labels, name=criterion.id)
    keys = [_level_key(v) for v in column]
    levels = [_level_key(v) for v in criterion.levels] or sorted(set(keys), key=_sort_key)
    counts = pd.Series(keys, dtype=object).value_counts()
    extra = set(keys) - set(levels)  # e.g. 3.5, a panel's mean of 3 and 4
    if extra and criterion.scale != "categorical":
        levels = sorted({*levels, *extra}, key=_sort_key)
    else:
        levels = [*levels, *sorted(extra, key=_sort_key)]
    return pd.Series(
        [int(counts.get(k, 0)) for k in levels], index=[str(k) for k in levels], name=criterion.id
    )


def _level_key(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool | int | float) and not (
        isinstance(value, float) and math.isnan(value)
    ):
        return (0, float(value))
    return (1, str(value))


def slice_fields(meta: pd.DataFrame) -> list[str]:
    """The metadata fields worth slicing by: the MedThinkVQA ones first, then any other field
    with at most 20 distinct values that does not identify items one by one."""
    fields = []
    for name in [*[f for f in SLICE_FIRST if f in meta], *meta.columns]:
        if name in fields:
            continue
        distinct = meta[name].dropna().map(str).nunique()
        if name in SLICE_FIRST:
            if 0 < distinct <= _MAX_SLICES:
                fields.append(name)
        elif 1 < distinct <= 20 and distinct < len(meta):
            fields.append(name)
    return fields


def slice_table(
    scores: pd.DataFrame,
    meta: pd.DataFrame,
    field: str,
    criteria: Sequence[CriterionInfo],
    intervals: bool = False,
    cluster: str | None = None,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Items grouped by the value of `field`: `n` items, then per numeric criterion the mean
    of the scored items (a binary criterion's mean is its rate: accuracy for
    `answer_accuracy`). Index: the field's values as text, `(missing)` for items without it.
    With `intervals`: also `<criterion>_low` and `<criterion>_high`, each mean's interval
    (`mean_interval`, resampling the metadata field `cluster` if given)."""
    values = meta[field] if field in meta else pd.Series(index=scores.index, dtype=object)
    groups = values.reindex(scores.index)
    ordered = sorted(groups.dropna().unique(), key=_sort_key)
    labels = [str(v) for v in ordered] + ([MISSING] if groups.isna().any() else [])
    keys = groups.map(str).where(groups.notna(), MISSING)
    rows = []
    for label in labels:
        mine = scores[keys == label]
        row: dict[str, Any] = {field: label, "n": len(mine)}
        for c in criteria:
            if c.numeric and c.id in mine:
                row[c.id] = _numbers(mine[c.id]).mean()
                if intervals:
                    row.update(_interval_cells(mine[c.id], c, meta, cluster, ci))
        rows.append(row)
    numeric = [c.id for c in criteria if c.numeric]
    bounds = [f"{c}_{end}" for c in numeric for end in ("low", "high")] if intervals else []
    return pd.DataFrame(rows, columns=[field, "n", *numeric, *bounds]).set_index(field)


def _interval_cells(
    column: pd.Series, c: CriterionInfo, meta: pd.DataFrame, cluster: str | None, ci: float
) -> dict[str, float]:
    clusters = meta[cluster] if cluster is not None else None
    interval = mean_interval(_numbers(column).dropna(), c.scale == "binary", clusters, ci)
    low, high = (interval.low, interval.high) if interval else (np.nan, np.nan)
    return {f"{c.id}_low": low, f"{c.id}_high": high}


def slice_scores(
    records: Iterable[ResultRecord], field: str, rubric: Rubric | None = None
) -> pd.DataFrame:
    """Per value of the metadata `field` (`modality`, `icd10_chapter`, …): `n` items and the
    mean of each numeric criterion. For `judge score --by FIELD` and notebooks."""
    found = list(records)
    return slice_table(score_table(found), meta_table(found), field, criteria_of(found, rubric))


def _llm_scored(tidy: pd.DataFrame) -> pd.DataFrame:
    scored = tidy[(tidy["status"] == "scored") & ~tidy["judge"].isin(_NOT_LLM)]
    return scored.assign(value=_numbers(scored["score"])).dropna(subset=["value"])


def judge_means(tidy: pd.DataFrame) -> pd.DataFrame:
    """Mean score per criterion (rows) and LLM judge (columns). A judge's samples of an item
    are averaged first, so every item weighs the same."""
    scored = _llm_scored(tidy)
    if scored.empty:
        return pd.DataFrame()
    per_item = scored.groupby(["criterion", "judge", "item"], sort=False)["value"].mean()
    table = per_item.groupby(["criterion", "judge"], sort=False).mean().unstack("judge")
    order = list(dict.fromkeys(scored["criterion"]))
    return table.reindex(order)


def judge_intervals(
    tidy: pd.DataFrame, clusters: pd.Series | None = None, ci: float = 0.95
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The interval of each `judge_means` cell, as low and high tables shaped like it: over
    the judge's per-item scores (`mean_interval`; Wilson's when they are all 0 or 1)."""
    scored = _llm_scored(tidy)
    if scored.empty:
        return pd.DataFrame(), pd.DataFrame()
    per_item = scored.groupby(["criterion", "judge", "item"], sort=False)["value"].mean()
    bounds: dict[str, dict[Any, float]] = {"low": {}, "high": {}}
    for key, group in per_item.groupby(level=[0, 1], sort=False):
        values = group.droplevel([0, 1])
        interval = mean_interval(values, bool(values.isin([0.0, 1.0]).all()), clusters, ci)
        for end in bounds:
            bounds[end][key] = getattr(interval, end) if interval else np.nan
    means = judge_means(tidy)
    low, high = (
        pd.Series(bounds[end]).unstack().reindex(index=means.index, columns=means.columns)
        for end in ("low", "high")
    )
    return low, high


def judge_alpha(
    tidy: pd.DataFrame, criteria: Sequence[CriterionInfo], n_boot: int = 500, seed: int = 0
) -> pd.DataFrame:
    """Krippendorff's α among the LLM judges, per criterion scored by two or more of them
    (`calibration.alpha`, with a bootstrap 95% interval)."""
    import calibration

    scored = tidy[(tidy["status"] == "scored") & ~tidy["judge"].isin(_NOT_LLM)]
    rows = []
    for c in criteria:
        mine = scored[scored["criterion"] == c.id]
        if mine["judge"].nunique() < 2:
            continue
        long = mine.rename(columns={"judge": "rater"})[["item", "rater", "score"]]
        # A judge asked K times is one rater: its samples collapse to their first.
        long = long.drop_duplicates(subset=["item", "rater"])
        level = calibration.level_of(c.scale)
        domain = list(c.levels) if c.levels else None
        result = calibration.alpha(long, level, n_boot=n_boot, seed=seed, domain=domain)
        rows.append(
            {
                "criterion": c.id,
                "level": level,
                "n_items": result.n_items,
                "n_judges": result.n_raters,
                "alpha": result.value,
                "low": result.low,
                "high": result.high,
                "note": result.reason or "",
            }
        )
    columns = ["criterion", "level", "n_items", "n_judges", "alpha", "low", "high", "note"]
    return pd.DataFrame(rows, columns=columns)


def unscored_table(tidy: pd.DataFrame) -> pd.DataFrame:
    """Unscored judgments counted by criterion, judge and reason, most frequent first."""
    unscored = tidy[tidy["status"] == "unscored"]
    columns = ["criterion", "judge", "reason", "n"]
    if unscored.empty:
        return pd.DataFrame(columns=columns)
    counts = (
        unscored.assign(reason=unscored["reason"].fillna("").astype(str))
        .groupby(["criterion", "judge", "reason"], sort=False)
        .size()
        .reset_index(name="n")
    )
    return counts.sort_values("n", ascending=False, kind="stable")[columns]


def lowest_items(
    scores: pd.DataFrame,
    criteria: Sequence[CriterionInfo],
    k: int = 10,
    rubric: Rubric | None = None,
) -> pd.Series:
    """The `k` items with the lowest rank score. With the rubric at hand, that is the item's
    composite (`judge.aggregate.normalise.composite`, as promptfoo's grade: weighted, 0 for an
    item a safety gate fails); without it, the mean of their ranked criteria (ordinal,
    binary, continuous), each on 0–1 with 1 the best (reversed where lower is better). Items
    with none are left out."""
    if rubric is not None:
        found = {
            item: composite(rubric, {str(c): v for c, v in row.items()}).score
            for item, row in scores.to_dict("index").items()
        }
        ranks = pd.Series(found, dtype=float).reindex(scores.index).dropna()
        return ranks.sort_values(kind="stable").head(k)
    parts = []
    for c in criteria:
        low, high = c.low, c.high
        if not c.ranked or c.id not in scores or low is None or high is None:
            continue
        given = _numbers(scores[c.id]).dropna()
        unit = [unit_score(v, low, high, c.higher_is_better) for v in given]
        parts.append(pd.Series(unit, index=given.index, dtype=float).rename(c.id))
    if not parts:
        return pd.Series(dtype=float)
    # In the file's order, so that ties keep it.
    rank = pd.concat(parts, axis=1).reindex(scores.index).mean(axis=1, skipna=True).dropna()
    return rank.sort_values(kind="stable").head(k)
