"""Two runs on the same items, per criterion: judge drift, or model A against model B.

Drift (two judges, prompts or rubric versions on the same predictions): the items whose panel
score flipped, the mean shift b − a with a paired bootstrap interval over items, and agreement
between the runs (exact share, Cohen's κ; quadratic weights for numeric scores). Models (two
models judged alike on the same cases): the paired difference a − b with a bootstrap interval
(resampling cases when `cluster` names the metadata field that groups repeated samples),
McNemar's exact test for binary criteria (statsmodels), and the items each model wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import mcnemar

from calibration.bootstrap import percentile_interval, resample_indices
from calibration.errors import CalibrationError
from calibration.ppi import ppi_paired_difference
from calibration.ppi_designs import ppi_mean_clustered
from calibration.runs import Run

__all__ = ["MODES", "Comparison", "compare_runs", "paired_interval", "ppi_difference_table"]

MODES = ("auto", "drift", "models")


@dataclass(frozen=True)
class Comparison:
    """`table`: one row per criterion. `flips`: item, criterion, a, b where the score changed."""

    mode: str
    reason: str
    table: pd.DataFrame
    flips: pd.DataFrame
    notes: tuple[str, ...] = field(default=())


def paired_interval(
    diff: np.ndarray, clusters: np.ndarray, ci: float, n_boot: int, seed: int
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `diff`, resampling whole clusters."""
    if n_boot == 0 or len(diff) < 2:
        return float("nan"), float("nan")
    codes, _ = pd.factorize(pd.Series(clusters))
    sums = np.bincount(codes, weights=diff)
    counts = np.bincount(codes).astype(float)
    means = np.array(
        [sums[i].sum() / counts[i].sum() for i in resample_indices(len(sums), n_boot, seed)]
    )
    low, high, _ = percentile_interval(means, ci)
    return low, high


def _mode(a: Run, b: Run, mode: str) -> tuple[str, str]:
    if mode not in MODES:
        raise CalibrationError(f"mode must be one of {list(MODES)}, got {mode!r}")
    changed = [
        what
        for what, x, y in (
            ("judges", a.judges, b.judges),
            ("prompt", a.prompt_hashes, b.prompt_hashes),
            ("rubric", a.rubric_hashes, b.rubric_hashes),
        )
        if x != y
    ]
    if mode != "auto":
        return mode, f"{mode} (as asked)"
    if changed:
        return "drift", f"drift: the runs differ in {', '.join(changed)}"
    return "models", "models: same judges, prompt and rubric, so the predictions differ"


def _served_changes(a: Run, b: Run) -> list[str]:
    """Per judge of both runs whose providers said what served it, the backends if they
    differ: `judge: a served m1 (fp1); b served m2 (fp2)`."""
    changes = []
    for judge in sorted(a.judges & b.judges):
        x, y = a.served_by(judge), b.served_by(judge)
        if x and y and x != y:
            changes.append(
                f"{judge}: a served {', '.join(sorted(x))}; b served {', '.join(sorted(y))}"
            )
    return changes


def _numeric(values: pd.Series) -> pd.Series | None:
    numbers = pd.to_numeric(values, errors="coerce")
    return None if numbers.isna().any() else numbers.astype(float)


def _kappa(x: pd.Series, y: pd.Series, numeric: bool) -> float:
    labels = sorted(set(x) | set(y), key=str)
    if len(labels) < 2 or (numeric and len(labels) > 20):
        return float("nan")  # one label: undefined; many numeric levels: κ is not the statistic
    if numeric:
        return float(cohen_kappa_score(x, y, weights="quadratic", labels=labels))
    return float(cohen_kappa_score(x.astype(str), y.astype(str)))


def _criterion_row(pair: pd.DataFrame, mode: str, settings: dict[str, Any]) -> dict[str, Any]:
    a, b = pair["score_a"], pair["score_b"]
    x, y = _numeric(a), _numeric(b)
    numeric = x is not None and y is not None
    row: dict[str, Any] = {"n": len(pair), "flips": int((a != b).sum())}
    row["agreement"] = float((a == b).mean())
    row["kappa"] = _kappa(x if numeric else a, y if numeric else b, numeric)  # type: ignore[arg-type]
    if not numeric:
        return row
    assert x is not None and y is not None
    row.update(mean_a=float(x.mean()), mean_b=float(y.mean()))
    ci, n_boot, seed = settings["ci"], settings["n_boot"], settings["seed"]
    diff = (y - x) if mode == "drift" else (x - y)
    low, high = paired_interval(diff.to_numpy(), pair["cluster"].to_numpy(), ci, n_boot, seed)
    name = "shift" if mode == "drift" else "diff"
    row.update({name: float(diff.mean()), f"{name}_low": low, f"{name}_high": high})
    if mode == "models":
        row.update(wins_a=int((x > y).sum()), wins_b=int((y > x).sum()), ties=int((x == y).sum()))
        if set(x) | set(y) <= {0.0, 1.0}:
            table = [
                [int(((x == 1) & (y == 1)).sum()), int(((x == 1) & (y == 0)).sum())],
                [int(((x == 0) & (y == 1)).sum()), int(((x == 0) & (y == 0)).sum())],
            ]
            row["mcnemar_p"] = float(mcnemar(table, exact=True).pvalue)
    return row


def compare_runs(
    a: Run,
    b: Run,
    *,
    mode: str = "auto",
    allow_rubric_change: bool = False,
    allow_served_change: bool = False,
    cluster: str | None = None,
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> Comparison:
    """Compare two runs on the items and criteria they share.

    Refuses runs of different rubric hashes unless `allow_rubric_change`: a criterion of
    another rubric version is not the same criterion. `mode`: "drift", "models" or "auto"
    (drift when the judges, prompt or rubric differ, else models). `cluster`: a case-metadata
    field grouping items for the bootstrap (repeated samples of a case).

    Refuses too, unless `allow_served_change`, runs in which a judge of both was served by
    different models or system fingerprints (as the providers said): the same judge name
    then stood for different models. Runs whose records do not say are not refused.
    """
    if a.rubric_hashes != b.rubric_hashes and not allow_rubric_change:
        raise CalibrationError(
            f"the runs were scored with different rubrics ({a.path}: "
            f"{', '.join(sorted(a.rubrics))} hash {', '.join(sorted(a.rubric_hashes))}; {b.path}: "
            f"{', '.join(sorted(b.rubrics))} hash {', '.join(sorted(b.rubric_hashes))}), so a "
            "criterion may not mean the same thing; pass --allow-rubric-change to compare anyway"
        )
    served = _served_changes(a, b)
    if served and not allow_served_change:
        raise CalibrationError(
            f"the runs' judges were served by different backends ({'; '.join(served)}), so "
            "a judge may not be the same model in both; pass --allow-served-change to compare "
            "anyway"
        )
    mode, reason = _mode(a, b, mode)
    pairs = a.scores.merge(b.scores, on=["item", "criterion"], suffixes=("_a", "_b"))
    if pairs.empty:
        raise CalibrationError(f"{a.path} and {b.path} share no scored (item, criterion)")
    notes = [f"served differently (allowed): {change}" for change in served]
    for run, other, label in ((a, b, "a"), (b, a, "b")):
        only = set(run.scores["item"]) - set(other.scores["item"])
        if only:
            notes.append(f"{len(only)} item(s) only in {label} ({run.path}); left out")
    if cluster is not None:
        meta = pd.concat([a.meta, b.meta[~b.meta.index.isin(a.meta.index)]])
        if cluster not in meta.columns:
            raise CalibrationError(f"no case-metadata field {cluster!r} to cluster by")
        pairs["cluster"] = pairs["item"].map(meta[cluster]).fillna(pairs["item"]).astype(str)
    else:
        pairs["cluster"] = pairs["item"]
    settings = {"ci": ci, "n_boot": n_boot, "seed": seed}
    rows = [
        {"criterion": criterion, **_criterion_row(sub, mode, settings)}
        for criterion, sub in pairs.groupby("criterion", sort=True)
    ]
    flipped = pairs[pairs["score_a"] != pairs["score_b"]]
    flips = flipped.rename(columns={"score_a": "a", "score_b": "b"})[
        ["item", "criterion", "a", "b"]
    ]
    return Comparison(mode, reason, pd.DataFrame(rows), flips.reset_index(drop=True), tuple(notes))


def ppi_difference_table(
    a: Run,
    b: Run,
    human_a: pd.DataFrame,
    human_b: pd.DataFrame,
    *,
    ci: float = 0.95,
    cluster: str | None = None,
) -> pd.DataFrame:
    """Per criterion, the PPI++ mean difference a − b of two models on the same cases: the
    panel scores of both runs, corrected with human scores of both models' outputs (long
    tables item, criterion, rater, score; several raters averaged). `cluster`: a case-metadata
    field; the interval is then cluster-robust (calibration.ppi_designs)."""
    clusters = None
    if cluster is not None:
        meta = pd.concat([a.meta, b.meta[~b.meta.index.isin(a.meta.index)]])
        if cluster not in meta.columns:
            raise CalibrationError(f"no case-metadata field {cluster!r} to cluster by")
        # An item without the field is its own cluster, as the paired bootstrap takes it.
        clusters = pd.Series(meta.index.astype(str), index=meta.index).where(
            meta[cluster].isna(), meta[cluster].astype(str)
        )
    rows = []
    for criterion in sorted(set(a.scores["criterion"]) & set(b.scores["criterion"])):
        series = []
        for frame in (a.scores, b.scores, human_a, human_b):
            sub = frame[frame["criterion"] == criterion]
            series.append(pd.to_numeric(sub["score"], errors="coerce").groupby(sub["item"]).mean())
        try:
            if clusters is None:
                result = ppi_paired_difference(*series, ci=ci)
            else:
                judge, human = (series[0] - series[1]).dropna(), (series[2] - series[3]).dropna()
                result = ppi_mean_clustered(judge, human, clusters, ci=ci)
            rows.append({"criterion": criterion, **result.as_row()})
        except CalibrationError as err:  # too few paired human scores on this criterion
            rows.append({"criterion": criterion, "notes": str(err)})
    return pd.DataFrame(rows)
