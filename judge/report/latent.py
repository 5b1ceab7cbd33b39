"""The report's latent-truth panel (`judge report --latent dawid-skene|mace`): per binary or
categorical criterion two or more judges labelled, each judge's estimated confusion matrix and
accuracy, and how often the latent label overrules the panel's majority vote.

The fits are calibration.study.latent_fits (calibration/latent.py: crowd-kit 1.4.2's
algorithms, pinned to its output), over the run's own panel: no human label is needed. With
human scores, the judges' error correlation on the human-labelled items is shown too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pandas as pd

from judge.contracts import Rubric

__all__ = ["METHODS", "latent_section", "majority_vote"]

# How the page names each method and its source.
METHODS = {
    "dawid-skene": "Dawid–Skene (Dawid & Skene 1979, “Maximum likelihood estimation of observer "
    "error-rates using the EM algorithm”)",
    "mace": "MACE (Hovy et al. 2013, “Learning whom to trust with MACE”, NAACL)",
}


def majority_vote(labels: pd.DataFrame) -> pd.Series:
    """Item → the label most judges gave (long labels: item, rater, score); items whose top
    labels tie are left out."""
    counts = labels.groupby([labels["item"].astype(str), "score"]).size().unstack(fill_value=0)
    top = counts.max(axis=1)
    unique = counts.eq(top, axis=0).sum(axis=1) == 1
    return counts.idxmax(axis=1)[unique]


def latent_section(
    results: str | Path, human: str | Path | None, rubric: Rubric | None, method: str
) -> dict[str, Any]:
    """The section's numbers, or `{"note": …}` when no criterion has a panel to fit."""
    from calibration.calibrate import scales_from_rubric
    from calibration.loaders import load_judge_scores
    from calibration.study import Study, latent_fits, load_study, study_levels

    if human is not None:
        study = load_study(results, human)
    else:
        judged = load_judge_scores(results)
        study = Study(judged, bool(judged.attrs.get("results_file")), str(results))
    rubric_levels = scales_from_rubric(rubric)[0] if rubric is not None else None
    levels = study_levels(study, rubric_levels, None, {})
    fits = latent_fits(study, levels, method)
    name = METHODS[method]
    if not fits:
        return {"note": _why_not(study.long, levels, method)}
    criteria = []
    for criterion, fit in fits.items():
        result = fit.result
        # The estimated share of each true label: the mean posterior (Dawid–Skene's prior).
        shares = result.probas.mean(axis=0)
        judges = []
        for judge, matrix in result.confusion.items():
            judges.append(
                {
                    "judge": judge,
                    "labels": [_shown(v) for v in matrix.columns],
                    "rows": [
                        {"answered": _shown(a), "cells": [float(p) for p in row]}
                        for a, row in matrix.iterrows()
                    ],
                    "accuracy": accuracy(matrix, shares),
                    "competence": (result.competence or {}).get(judge),
                }
            )
        majority = majority_vote(fit.labels)
        common = majority.index.intersection(result.labels.index)
        differs = int((result.labels[common] != majority[common]).sum())
        criteria.append(
            {
                "criterion": criterion,
                "n_items": len(result.labels),
                "n_majority": len(common),
                "differs": differs,
                "differs_share": differs / len(common) if len(common) else float("nan"),
                "judges": judges,
                "correlation": _pairs(fit.correlation),
            }
        )
    return {"method": name, "mace": method == "mace", "criteria": criteria}


def accuracy(matrix: pd.DataFrame, shares: pd.Series) -> float:
    """A judge's estimated accuracy: P(it answers the true label) = Σ_c share(c)·e[c, c]."""
    return float(sum(shares[c] * matrix.at[c, c] for c in matrix.columns if c in matrix.index))


def _shown(label: Any) -> str:
    """A label as the judges gave it: 1, not the 1.0 the loaders' float column holds."""
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


def _pairs(correlation: pd.DataFrame | None) -> list[dict[str, Any]]:
    if correlation is None:
        return []
    return [
        {"a": a, "b": b, "value": float(cast(float, correlation.at[a, b]))}
        for a in correlation.index
        for b in correlation.columns
        if str(a) < str(b)
    ]


def _why_not(long: pd.DataFrame, levels: dict[str, str], method: str) -> str:
    from calibration.levels import level_of

    nominal = [c for c, kind in levels.items() if level_of(kind) == "nominal"]
    judged = long[long["rater_kind"] == "judge"]
    mine = judged[judged["criterion"].astype(str).isin(nominal)]
    most = int(mine.groupby("criterion")["rater"].nunique().max()) if len(mine) else 0
    if not nominal:
        reason = "no criterion of this run is binary or categorical"
    else:
        reason = (
            f"each binary or categorical criterion has at most {most} judge (a panel needs two)"
        )
    return f"No latent-truth panel (--latent {method}): {reason}."
