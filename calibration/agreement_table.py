"""The agreement table: per criterion and judge, how well the judge agrees with the humans.

Reference for a judge: the humans' mean (correlations, bias) and the humans' majority label
(κ, MCC, exact / within-one agreement, confusion matrix). An item whose humans tie for the
majority has no majority label; it is left out of those statistics and counted in `notes`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from calibration.bootstrap import cluster_codes
from calibration.data import (
    COMPUTED,
    collapse_repeats,
    drop_off_scale,
    normalize_long,
    to_wide,
    unit_ids,
)
from calibration.errors import CalibrationError
from calibration.levels import level_of
from calibration.multirater import ICC_FORMS, fleiss, icc
from calibration.pairwise import agreement_rates, confusion, correlations, kappa_interval, kappas
from calibration.reliability import AlphaResult, Domain, alpha, numeric_matrix

# level_of: calibration.levels.level_of, re-exported (an import path of this module).
__all__ = ["PANEL", "agreement", "level_of"]

PANEL = "panel"


def _majority(matrix: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each row's most frequent value; NaN when no rating or a tie for the most frequent."""
    counts = (matrix[:, :, np.newaxis] == values[np.newaxis, np.newaxis, :]).sum(axis=1)
    top = counts.max(axis=1)
    unique_top = (counts == top[:, np.newaxis]).sum(axis=1) == 1
    out = values[counts.argmax(axis=1)].astype(float)
    out[(top == 0) | ~unique_top] = np.nan
    return out


def _consensus(matrix: np.ndarray, values: np.ndarray, level: str) -> np.ndarray:
    """One score per item from several raters: mean (interval/ratio) or majority label."""
    if matrix.shape[1] == 1:
        return matrix[:, 0]
    if level in ("interval", "ratio"):
        return _nanmean(matrix)
    return _majority(matrix, values)


def _nanmean(matrix: np.ndarray) -> np.ndarray:
    """Row means over the given ratings; NaN (quietly) for a row with none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(matrix, axis=1)


def _alpha_cols(prefix: str, result: AlphaResult | None, notes: list[str]) -> dict[str, Any]:
    if result is None:
        return {prefix: np.nan, f"{prefix}_low": np.nan, f"{prefix}_high": np.nan}
    if result.reason:
        notes.append(f"{prefix}: {result.reason}")
    return {prefix: result.value, f"{prefix}_low": result.low, f"{prefix}_high": result.high}


def _many_rater_cols(suffix: str, m: np.ndarray, level: str, notes: list[str]) -> dict:
    """Fleiss' κ (discrete levels) and the ICCs (numeric levels), each with the number of items
    it used (`…_n`) and a note when that is fewer than the items with a rating."""
    out: dict[str, Any] = {f"fleiss_kappa_{suffix}": np.nan, f"fleiss_kappa_{suffix}_n": 0}
    out.update({f"{form}_{suffix}": np.nan for form in ICC_FORMS})
    out[f"icc_{suffix}_n"] = 0
    rated = int((~np.isnan(m)).any(axis=1).sum())
    results = []
    if level in ("nominal", "ordinal"):
        results.append(("fleiss_kappa", fleiss(m)))
    if level != "nominal":
        results.append(("icc", icc(m)))
    for name, result in results:
        out.update({f"{key}_{suffix}": value for key, value in result.values.items()})
        out[f"{name}_{suffix}_n"] = result.n_items
        notes.extend(f"{name}_{suffix}: {note}" for note in result.notes)
        if 0 < result.n_items < rated:
            notes.append(f"{name}_{suffix}: {result.n_items} of {rated} rated items used")
    return out


class _Criterion:
    """One criterion's scores as a numeric items × raters matrix, humans and judges apart."""

    def __init__(
        self,
        long: pd.DataFrame,
        level: str,
        domain: Domain | None,
        clusters: Mapping[str, Any] | None = None,
    ):
        self.level = level
        self.humans = sorted(long.loc[long["rater_kind"] == "human", "rater"].unique())
        self.judges = sorted(long.loc[long["rater_kind"] == "judge", "rater"].unique())
        # The panel: the LLM judges. A computed score (COMPUTED) gets its own row, compared
        # with the humans, but is no panel member: on ddx's miss_harm it covers the correct
        # answers and the judge the wrong ones, so a "panel" of the two was two halves.
        self.panel = [j for j in self.judges if j != COMPUTED]
        clash = set(self.humans) & set(self.judges)
        if clash:
            raise CalibrationError(f"rater(s) {sorted(clash)} appear as both human and judge")
        wide = to_wide(long, raters=[*self.humans, *self.judges])
        self.items = list(wide.index)
        coded = numeric_matrix(wide, level, domain)
        self.matrix, self.values, self.labels, self.problem = coded
        # The case of each unit (a cluster bootstrap keeps a case's items and steps
        # together), or None.
        self.clusters = None
        if clusters is not None:
            item_of = long.assign(unit=unit_ids(long)).groupby("unit")["item"].first()
            owners = [str(item_of[unit]) for unit in self.items]
            lacking = [item for item in owners if item not in clusters]
            if lacking:
                raise CalibrationError(
                    f"item {lacking[0]!r} has no cluster ({len(set(lacking))} item(s) lack one)"
                )
            self.clusters = np.array([str(clusters[item]) for item in owners], dtype=object)

    def codes(self, rows: np.ndarray) -> np.ndarray | None:
        """Cluster codes of the selected rows, for the bootstrap (None: resample items)."""
        return None if self.clusters is None else cluster_codes(self.clusters[rows])

    def cols(self, names: Sequence[str]) -> np.ndarray:
        order = [*self.humans, *self.judges]
        return self.matrix[:, [order.index(n) for n in names]]

    def alpha(self, matrix: np.ndarray, ci: float, n_boot: int, seed: int) -> AlphaResult:
        return alpha(
            matrix, self.level, ci=ci, n_boot=n_boot, seed=seed, domain=self.values,
            clusters=self.clusters,
        )  # fmt: skip


def _judge_row(c: _Criterion, judge: str, settings: dict[str, Any], notes: list[str]) -> dict:
    ci, n_boot, seed = settings["ci"], settings["n_boot"], settings["seed"]
    h = c.cols(c.humans)
    x_raw = c.cols(c.panel if judge == PANEL else [judge])
    x = _consensus(x_raw, c.values, c.level)
    x_mean = x if judge != PANEL or c.level == "nominal" else _nanmean(x_raw)
    rated = (~np.isnan(h)).any(axis=1)
    h_mean = _nanmean(h)
    h_major = _majority(h, c.values)
    pair = rated & ~np.isnan(x_mean)
    label_pair = ~np.isnan(x) & ~np.isnan(h_major)
    row: dict[str, Any] = {"n_items": int(pair.sum())}
    with_judge = np.column_stack([h, x])
    row.update(_alpha_cols("alpha_with_judge", c.alpha(with_judge, ci, n_boot, seed), notes))
    numeric = c.level != "nominal"
    if numeric:
        stats, why = correlations(x_mean[pair], h_mean[pair], ci, n_boot, seed, c.codes(pair))
        row.update(stats)
        notes.extend(why)
    xm, hm = x[label_pair], h_major[label_pair]
    if c.level == "interval":  # a continuous score: no labels to count agreement on
        notes.append("κ, exact agreement and the confusion matrix need a discrete scale")
    else:
        stats, why = kappas(xm, hm, c.values, ordered=numeric)
        row.update(stats)
        row.update(kappa_interval(xm, hm, c.values, ci, n_boot, seed, c.codes(label_pair)))
        notes.extend(why)
    row.update(agreement_rates(x_mean[pair], h_mean[pair], xm, hm, numeric))
    row["confusion"] = None if c.level == "interval" else confusion(xm, hm, c.values)
    row["labels"] = list(c.labels)
    ties = int((rated & ~np.isnan(x) & np.isnan(h_major)).sum())
    if ties:
        notes.append(f"{ties} item(s) with tied human majority left out of κ/exact/confusion")
    missing = int((~np.isnan(x) & ~rated).sum())
    if missing:
        notes.append(f"{missing} item(s) scored by the judge have no human score")
    row.update(_many_rater_cols("with_judge", with_judge, c.level, notes))
    return row


def _criterion_rows(c: _Criterion, settings: dict[str, Any]) -> list[dict[str, Any]]:
    ci, n_boot, seed = settings["ci"], settings["n_boot"], settings["seed"]
    base: dict[str, Any] = {"level": c.level, "n_humans": len(c.humans)}
    base["n_judges"] = len(c.panel)
    notes: list[str] = []
    if c.problem:
        return [{**base, "judge": None, "notes": c.problem}]
    h = c.cols(c.humans)
    base["n_items_humans"] = int(((~np.isnan(h)).sum(axis=1) >= 2).sum())
    a_h = c.alpha(h, ci, n_boot, seed) if c.humans else None
    if not c.humans:
        notes.append("no human scores for this criterion")
    base.update(_alpha_cols("alpha_humans", a_h, notes))
    multi = len(c.panel) >= 2
    a_j = c.alpha(c.cols(c.panel), ci, n_boot, seed) if multi else None
    base.update(_alpha_cols("alpha_judges", a_j, notes if multi else []))
    base.update(_many_rater_cols("humans", h, c.level, notes))
    if not c.judges or not c.humans:
        return [{**base, "judge": None, "notes": "; ".join(notes)}]
    rows = []
    for judge in [*c.judges, *([PANEL] if multi else [])]:
        row_notes = list(notes)
        row = _judge_row(c, judge, settings, row_notes)
        rows.append({**base, "judge": judge, **row, "notes": "; ".join(row_notes)})
    return rows


def agreement(
    long_df: pd.DataFrame,
    levels: Mapping[str, str] | None = None,
    domains: Mapping[str, Sequence[Any]] | None = None,
    default_level: str = "ordinal",
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    clusters: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Agreement of judges with humans, one row per criterion and judge.

    `long_df`: item, criterion, rater, rater_kind (human/judge), score (+ optional step).
    `levels`: criterion → nominal/ordinal/interval/ratio or a rubric scale type
    (ordinal/binary/categorical); others get `default_level`. `domains`: criterion → the
    scale's levels in order. With two or more LLM judges an extra row, judge "panel", scores
    their consensus (a computed score has its own row and is no panel member). Criteria
    without judges give one human-only row (judge = None).
    Undefined statistics are NaN, and the row's `notes` says why. `clusters`: item → case;
    the intervals of α, κ and the correlations then resample whole cases (a cluster
    bootstrap), since several items of one case are not independent.
    """
    long = normalize_long(long_df)
    if long.empty:
        raise CalibrationError("no scores to compare")
    settings = {"ci": ci, "n_boot": n_boot, "seed": seed}
    rows: list[dict[str, Any]] = []
    for criterion, sub in long.groupby("criterion", sort=True):
        level = level_of((levels or {}).get(str(criterion), default_level))
        domain = (domains or {}).get(str(criterion))
        sub, off_scale = drop_off_scale(sub, domain)
        sub, repeated = collapse_repeats(sub, level)
        c = _Criterion(sub, level, domain, clusters)
        for row in _criterion_rows(c, settings):
            if repeated:
                note = f"{repeated} repeated score(s) collapsed to one per rater and item"
                row["notes"] = "; ".join(filter(None, [row.get("notes"), note]))
            row["notes"] = "; ".join(filter(None, [off_scale, row.get("notes")]))
            rows.append({"criterion": criterion, **row})
    return _ordered(pd.DataFrame(rows))


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    first = ["criterion", "judge", "level", "n_items", "n_items_humans", "n_humans", "n_judges"]
    head = [c for c in first if c in frame.columns]
    tail = [c for c in frame.columns if c not in head and c not in ("labels", "confusion", "notes")]
    last = [c for c in ("labels", "confusion", "notes") if c in frame.columns]
    return frame[head + tail + last]
