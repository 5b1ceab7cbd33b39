"""Per criterion and judge: the alt-test, the human ceiling and the PPI estimate of a long table.

What `judge calibrate --alt-test / --ceiling / --estimate` computes. Each criterion's scale
type (from the rubric; "ordinal" when unknown) picks the statistic: binary and categorical
criteria compare labels (alt-test `accuracy`, ceiling `balanced_f1` for binary), ordinal and
continuous ones compare numbers (alt-test `neg_rmse`, ceiling weighted κ or interval α).
Repeated samples of a judge are collapsed to one score per item first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import pandas as pd

from calibration.agreement_table import level_of
from calibration.annotator_test import alt_test
from calibration.ceiling import human_ceiling
from calibration.data import (
    COMPUTED,
    collapse_repeats,
    drop_off_scale,
    normalize_long,
    unit_ids,
)
from calibration.errors import CalibrationError
from calibration.ppi import ppi_by, ppi_mean, ppi_plan
from calibration.ppi_designs import ppi_mean_clustered, ppi_mean_stratified

__all__ = ["alt_test_table", "ceiling_table", "estimate_table", "plan_table"]

_LABEL_KINDS = ("binary", "categorical", "labels", "nominal")
_CEILING = {"binary": "balanced_f1", "ordinal": "kappa_quadratic"}


class _Pair:
    """One criterion and one judge: the judge's scores and the humans' (units as items)."""

    def __init__(
        self, criterion: str, judge: str, kind: str, sub: pd.DataFrame, note: str | None
    ) -> None:
        self.criterion, self.judge, self.kind = criterion, judge, kind
        self.note = note  # what was left out of every statistic (off-scale scores)
        self.judged = sub[sub["rater"] == judge][["item", "score"]]
        # The case each unit belongs to (a step unit "item#2" belongs to "item").
        self.case = pd.Series(sub["case"].to_numpy(), index=sub["item"].to_numpy())
        self.humans = sub[sub["rater_kind"] == "human"][["item", "rater", "score"]]


def _pairs(
    long_df: pd.DataFrame,
    levels: Mapping[str, str] | None,
    domains: Mapping[str, Sequence[Any]] | None = None,
) -> Iterator[_Pair]:
    long = normalize_long(long_df)
    for criterion, sub in long.groupby("criterion", sort=True):
        kind = (levels or {}).get(str(criterion), "ordinal")
        # Left out as the agreement table leaves them out (calibration.agreement_table).
        sub, note = drop_off_scale(sub, (domains or {}).get(str(criterion)))
        sub, _ = collapse_repeats(sub, level_of(kind))
        sub = sub.assign(case=sub["item"], item=unit_ids(sub))
        for judge in sorted(sub.loc[sub["rater_kind"] == "judge", "rater"].unique()):
            yield _Pair(str(criterion), str(judge), kind, sub, note)


def alt_test_table(
    long_df: pd.DataFrame,
    levels: Mapping[str, str] | None = None,
    *,
    epsilon: float = 0.2,
    q: float = 0.05,
    domains: Mapping[str, Sequence[Any]] | None = None,
    pool: bool = False,
) -> pd.DataFrame:
    """The alternative annotator test of each judge on each criterion: one row each.
    `domains`: criterion → the scale's levels; scores outside them are left out (noted). With
    `pool`, one test per judge over every criterion's items together, each (item, criterion)
    an instance, as the alt-test paper runs it on multi-aspect data (SummEval's four aspects);
    the criteria must then share one kind of scale.

    Columns criterion, judge, metric, omega, advantage, passed, verdict ("passed", "failed" or
    "not tested"), reason (why not tested), tested, skipped, notes. Computed scores (judge
    `COMPUTED`) are no annotator to replace: they are left out, their criteria named in
    ``table.attrs["computed"]`` (the agreement table compares them with the humans).
    """
    long = normalize_long(long_df)
    by_computed = (long["rater"] == COMPUTED) & (long["rater_kind"] == "judge")
    computed = sorted(set(long.loc[by_computed, "criterion"].astype(str)))
    if pool:
        long_df, levels = _pooled(long_df, levels)
    rows = []
    for p in _pairs(long_df, levels, domains):
        if p.judge == COMPUTED:
            continue
        metric = "accuracy" if p.kind in _LABEL_KINDS else "neg_rmse"
        row: dict[str, Any] = {"criterion": p.criterion, "judge": p.judge, "metric": metric}
        try:
            result = alt_test(p.judged, p.humans, epsilon=epsilon, q=q, metric=metric)
        except CalibrationError as err:  # this criterion's scores cannot be tested: say why
            notes = "; ".join(filter(None, [p.note, str(err)]))
            rows.append({**row, "passed": False, "verdict": "not tested", "reason": str(err),
                         "notes": notes})  # fmt: skip
            continue
        rows.append(
            {
                **row,
                "omega": result.omega,
                "advantage": result.advantage,
                "passed": result.passed,
                "verdict": result.verdict,
                "reason": result.reason,
                "tested": result.tested,
                "skipped": len(result.annotators) - result.tested,
                "notes": "; ".join(filter(None, [p.note, *result.notes])),
            }
        )
    table = pd.DataFrame(rows, columns=None if rows else ["criterion", "judge", "verdict"])
    table.attrs["computed"] = computed
    return table


def _pooled(
    long_df: pd.DataFrame, levels: Mapping[str, str] | None
) -> tuple[pd.DataFrame, dict[str, str]]:
    long = normalize_long(long_df)
    kinds = {(levels or {}).get(str(c), "ordinal") for c in long["criterion"].unique()}
    labels = {k in _LABEL_KINDS for k in kinds}
    if len(labels) > 1:
        raise CalibrationError(
            "--alt-test-pool pools criteria of one kind; these mix labels and numbers: "
            f"{sorted(kinds)}"
        )
    pooled = long.assign(
        item=long["item"].astype(str) + " / " + long["criterion"].astype(str),
        criterion="(pooled)",
    )
    return pooled, {"(pooled)": sorted(kinds)[0]}


def ceiling_table(
    long_df: pd.DataFrame,
    levels: Mapping[str, str] | None = None,
    domains: Mapping[str, Sequence[Any]] | None = None,
) -> pd.DataFrame:
    """Each judge's human-ceiling value against the humans' leave-one-out values (criteria
    with human scores only).

    Columns criterion, judge, metric, value, rank (1 = best, of n_humans + 1), n_humans,
    humans_min, humans_median, humans_max, within_human_range (value ≥ the lowest human's),
    notes.
    """
    rows = []
    for p in _pairs(long_df, levels, domains):
        if p.humans.empty:  # a criterion nobody scored by hand has no ceiling to show
            continue
        metric = _CEILING.get(p.kind, "alpha_interval" if p.kind not in _LABEL_KINDS else "")
        row: dict[str, Any] = {"criterion": p.criterion, "judge": p.judge, "metric": metric}
        if not metric:
            rows.append({**row, "notes": f"no ceiling statistic for {p.kind} criteria"})
            continue
        try:
            table = human_ceiling(
                p.judged, p.humans, metric, name=p.judge, domain=(domains or {}).get(p.criterion)
            )
        except CalibrationError as err:  # unusable scores for this statistic: say why
            rows.append({**row, "notes": "; ".join(filter(None, [p.note, str(err)]))})
            continue
        humans = table.loc[table["kind"] == "human", "value"].dropna()
        value = float(table.loc[table["kind"] == "judge", "value"].iloc[0])
        few = "" if len(humans) >= 2 else "fewer than 2 humans with a value: no ceiling"
        notes = "; ".join(filter(None, [p.note, few]))
        rows.append(
            {
                **row,
                "value": value,
                "rank": None
                if pd.isna(table.attrs["judge_rank"])
                else int(table.attrs["judge_rank"]),
                "n_humans": int(table.attrs["n_humans"]),
                "humans_min": humans.min(),
                "humans_median": humans.median(),
                "humans_max": humans.max(),
                "within_human_range": bool(len(humans) and value >= humans.min()),
                "notes": notes,
            }
        )
    return pd.DataFrame(rows)


def _ppi_rows(
    long_df: pd.DataFrame,
    levels: Mapping[str, str] | None,
    by: pd.Series | None,
    compute: Callable[[pd.Series, pd.Series, pd.Series | None, pd.Series | None], pd.DataFrame],
    weights: pd.Series | None = None,
) -> pd.DataFrame:
    """Rows of `compute(judge scores, human means, slices, weights)` per criterion and judge
    (slices and weights per case, given to each of its units)."""
    rows = []
    for p in _pairs(long_df, levels):
        base: dict[str, Any] = {"criterion": p.criterion, "judge": p.judge}
        if p.kind in ("categorical", "labels"):
            rows.append({**base, "notes": f"no mean of {p.kind} scores"})
            continue
        try:
            judged = pd.to_numeric(p.judged.set_index("item")["score"])
            human = pd.to_numeric(p.humans["score"])
        except (TypeError, ValueError) as err:  # labels where numbers are needed: say so
            rows.append({**base, "notes": f"scores are not numbers ({err})"})
            continue
        # Missing scores are no scores: dropped before any mean, count or plan.
        judged = judged.dropna()
        human = human[human.notna()].groupby(p.humans["item"][human.notna()]).mean()
        # Step units take their case's slice.
        case = p.case[~p.case.index.duplicated()]
        slices = None if by is None else case.reindex(judged.index).map(by)
        w = None if weights is None else case.reindex(judged.index).map(weights)
        try:
            table = compute(judged, human, slices, w)
        except CalibrationError as err:  # too few scores for this criterion: say why
            rows.append({**base, "notes": str(err)})
            continue
        rows.extend({**base, **{str(k): v for k, v in r.items()}} for r in table.to_dict("records"))
    return pd.DataFrame(rows)


def estimate_table(
    long_df: pd.DataFrame,
    levels: Mapping[str, str] | None = None,
    *,
    ci: float = 0.95,
    by: pd.Series | None = None,
    weights: pd.Series | None = None,
    clusters: pd.Series | None = None,
    strata: pd.Series | None = None,
) -> pd.DataFrame:
    """The PPI-corrected mean of each judge's scores on each criterion (per slice with `by`).

    `clusters` (case → cluster): a cluster-robust interval; `strata` (case → stratum):
    stratified PPI (calibration.ppi_designs). Neither goes with routing `weights`.

    The human score of an item is its raters' mean. `by`: item → slice (case metadata).
    `weights`: item → 1/inclusion probability of a routed queue (`load_route_weights`), for
    human scores of the items `judge route` picked. Columns criterion, judge, slice, estimate,
    low, high, naive, classical(_low/_high), n, N, notes.
    """

    if weights is not None and (clusters is not None or strata is not None):
        raise CalibrationError("routing weights go with neither --cluster nor --strata")
    if clusters is not None and strata is not None:
        raise CalibrationError("--cluster and --strata: choose one design for the estimate")

    def compute(
        judged: pd.Series, human: pd.Series, slices: pd.Series | None, w: pd.Series | None
    ) -> pd.DataFrame:
        estimator = None
        groups = clusters if clusters is not None else strata
        if groups is not None:
            fit = ppi_mean_clustered if clusters is not None else ppi_mean_stratified
            design = _case_values(judged.index, groups)
            estimator = partial(_design_estimate, fit=fit, groups=design, ci=ci)
        if slices is None:
            row = (estimator or partial(ppi_mean, ci=ci, weights=w))(judged, human).as_row()
            return pd.DataFrame([{"slice": "(all)", **row}])
        return ppi_by(judged, human, slices, ci=ci, weights=w, estimator=estimator)

    return _ppi_rows(long_df, levels, by, compute, weights)


def _case_values(units: pd.Index, by_case: pd.Series) -> pd.Series:
    """Each unit's value of a per-case field (a step unit "item#2" takes its case's)."""
    return pd.Series(
        [by_case.get(u, by_case.get(str(u).rsplit("#", 1)[0])) for u in units], index=units
    )


def _design_estimate(
    judged: pd.Series, human: pd.Series, *, fit: Callable[..., Any], groups: pd.Series, ci: float
) -> Any:
    return fit(judged, human, groups, ci=ci)


def plan_table(
    long_df: pd.DataFrame,
    levels: Mapping[str, str] | None = None,
    *,
    width: float,
    ci: float = 0.95,
    by: pd.Series | None = None,
) -> pd.DataFrame:
    """Per criterion and judge, the human labels a PPI interval of total `width` needs, with
    the labels already given as the pilot (`calibration.ppi_plan`); per slice with `by`."""
    return _ppi_rows(
        long_df, levels, by, lambda j, h, slices, _: ppi_plan(j, h, width, ci=ci, by=slices)
    )
