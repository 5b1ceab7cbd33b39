"""The long score table, its checks, and reshaping between long and wide.

Long format: one row per score, columns `item`, `criterion`, `rater`, `rater_kind` ("human" or
"judge"), `score`, and optionally `step` (step-level items: the unit is item + step), `sample`
and `comment`. Wide format: rows = items, columns = raters, NaN = not rated.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from calibration.errors import CalibrationError

__all__ = [
    "COMPUTED",
    "LONG_COLUMNS",
    "NO_LABELS",
    "RATER_KINDS",
    "coerce_score",
    "collapse_repeats",
    "drop_off_scale",
    "from_wide",
    "join_labels",
    "normalize_long",
    "to_wide",
    "unit_ids",
]

LONG_COLUMNS = ("item", "criterion", "rater", "rater_kind", "score")
RATER_KINDS = ("human", "judge")
# The judge name of a computed score in a results file (judge.judging.accuracy.DETERMINISTIC:
# final_answer, and an LLM criterion the case settles, such as ddx's miss_harm when the answer
# is correct): no LLM judge to test or to count in a panel. Spelt here: calibration reads
# results as JSON, without judge's modules.
COMPUTED = "deterministic"


# An empty label set ("no error types") is an answer, compared like any other set; "" would
# read back as a missing score.
NO_LABELS = "(none)"


def join_labels(labels: Any) -> Any:
    """A set of labels (a step's error types) as one comparable value: sorted, joined by
    "; " (how judges' and people's label sets are compared), the empty set `NO_LABELS`; any
    other score as given."""
    if not isinstance(labels, list):
        return labels
    return "; ".join(sorted(map(str, labels))) if labels else NO_LABELS


def coerce_score(value: Any) -> Any:
    """A number when the value reads as one (``"3"`` → 3.0), else the value as given."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | np.number):
        return float(value)
    text = str(value).strip()
    if not text:
        return np.nan
    try:
        return float(text)
    except ValueError:
        return text


def _clean_step(value: Any) -> Any:
    value = coerce_score(value)
    if isinstance(value, float):
        return int(value) if not np.isnan(value) and value.is_integer() else value
    return value


def normalize_long(frame: pd.DataFrame, rater_kind: str | None = None) -> pd.DataFrame:
    """Check a long score table and return a clean copy (string ids, coerced scores).

    `rater_kind` fills the column when the table has none (e.g. a file of human scores).
    Rows without a score are dropped: a missing rating is not a rating.
    """
    df = frame.copy()
    if "rater_kind" not in df.columns and rater_kind is not None:
        df["rater_kind"] = rater_kind
    missing = [c for c in LONG_COLUMNS if c not in df.columns]
    if missing:
        raise CalibrationError(
            f"long score table lacks column(s) {missing}; it needs {list(LONG_COLUMNS)} "
            "(and optionally step)"
        )
    for column in ("item", "criterion", "rater", "rater_kind"):
        df[column] = df[column].map(lambda v: str(v).strip())
    bad_kinds = sorted(set(df["rater_kind"]) - set(RATER_KINDS))
    if bad_kinds:
        raise CalibrationError(f"rater_kind must be 'human' or 'judge', got {bad_kinds}")
    df["score"] = df["score"].map(coerce_score).astype(object)
    if "step" in df.columns:
        df["step"] = df["step"].map(_clean_step).astype(object)
    df = df[df["score"].map(lambda v: not (isinstance(v, float) and np.isnan(v)))]
    return df.reset_index(drop=True)


def unit_ids(frame: pd.DataFrame) -> pd.Series:
    """The identity of each row's unit: the item id, plus ``#step`` when a step is given."""
    items = frame["item"].astype(str)
    if "step" not in frame.columns:
        return items
    steps = frame["step"]
    has_step = steps.map(lambda v: not (v is None or (isinstance(v, float) and np.isnan(v))))
    # A step column mixing numbers and gaps is float (2.0): the unit is "item#2" either way.
    return items.where(~has_step, items + "#" + steps.map(lambda v: str(_clean_step(v))))


def from_wide(
    wide: pd.DataFrame,
    criterion: str = "score",
    rater_kind: str = "human",
    judges: Collection[str] = (),
) -> pd.DataFrame:
    """Turn a wide table (rows = items, columns = raters) into the long format.

    The item id is the `item` column when there is one, else the index. Columns named in
    `judges` get rater_kind "judge"; the others get `rater_kind`.
    """
    df = wide.copy()
    if "item" not in df.columns:
        df = df.rename_axis("item").reset_index()
    id_columns = [c for c in ("item", "step", "criterion") if c in df.columns]
    long = df.melt(id_vars=id_columns, var_name="rater", value_name="score")
    if "criterion" not in long.columns:
        long["criterion"] = criterion
    long["rater"] = long["rater"].astype(str)
    long["rater_kind"] = np.where(long["rater"].isin(list(judges)), "judge", rater_kind)
    return normalize_long(long)


def to_wide(long: pd.DataFrame, raters: Iterable[str] | None = None) -> pd.DataFrame:
    """Rows = units (item, or item#step), columns = raters, values = scores (NaN = missing).

    The long table must hold one criterion and at most one score per unit and rater;
    use `collapse_repeats` first when judges were sampled more than once.
    """
    criteria: list[str] = sorted(map(str, long["criterion"].unique()))
    if len(criteria) > 1:
        raise CalibrationError(
            f"the table holds {len(criteria)} criteria ({criteria[:5]}); select one criterion first"
        )
    df = long.assign(unit=unit_ids(long))
    repeated = df.duplicated(["unit", "rater"], keep=False)
    if repeated.any():
        first = df[repeated].iloc[0]
        raise CalibrationError(
            f"rater {first['rater']!r} scored unit {first['unit']!r} more than once; "
            "collapse repeated samples first (calibration.collapse_repeats)"
        )
    wide = df.pivot(index="unit", columns="rater", values="score")
    wide.columns.name = None
    if raters is not None:
        wide = wide.reindex(columns=list(raters))
    return wide


def _typical(values: list[Any], level: str) -> Any:
    if level in ("interval", "ratio"):
        return float(np.mean(values))
    if level == "ordinal":
        # The lower median is always one of the observed levels, unlike the mean.
        return statistics.median_low(values)
    counts = pd.Series(values).value_counts()
    return counts.index[0] if (counts == counts.iloc[0]).sum() == 1 else np.nan


def collapse_repeats(long: pd.DataFrame, level: str) -> tuple[pd.DataFrame, int]:
    """One score per (unit, criterion, rater): repeated samples of a judge become one.

    Interval/ratio: the mean. Ordinal: the lower median (an observed level). Nominal: the
    most frequent label, or missing when two labels tie. Returns the table and how many
    (unit, rater) groups held more than one score.
    """
    keys = ["unit", "criterion", "rater", "rater_kind"]
    df = long.assign(unit=unit_ids(long))
    sizes = df.groupby(keys, sort=False)["score"].transform("size")
    if (sizes <= 1).all():
        return long, 0
    single = df[sizes == 1]
    grouped = df[sizes > 1].groupby(keys, sort=False)
    merged = grouped.agg(
        item=("item", "first"),
        score=("score", lambda s: _typical(list(s), level)),
        **({"step": ("step", "first")} if "step" in df.columns else {}),
    ).reset_index()
    merged = merged[merged["score"].map(lambda v: not (isinstance(v, float) and np.isnan(v)))]
    out = pd.concat([single, merged], ignore_index=True).drop(columns="unit")
    return out, int(grouped.ngroups)


def _level_key(value: Any) -> Any:
    return float(value) if isinstance(value, int | float | np.number) else str(value)


def drop_off_scale(
    long: pd.DataFrame, domain: Sequence[Any] | None
) -> tuple[pd.DataFrame, str | None]:
    """The rows whose score is one of the scale's levels `domain` (all rows without one), and
    a note counting the others (a typo, a score of another scale): every statistic of a
    criterion leaves them out alike."""
    if domain is None or long.empty:
        return long, None
    allowed = {_level_key(v) for v in domain}
    off = ~long["score"].map(lambda v: _level_key(v) in allowed).to_numpy(dtype=bool)
    if not off.any():
        return long, None
    shown = ", ".join(sorted({str(v) for v in long.loc[off, "score"]})[:3])
    note = f"{int(off.sum())} score(s) outside the scale {list(domain)} left out ({shown})"
    return long[~off], note
