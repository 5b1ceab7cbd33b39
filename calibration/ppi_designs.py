"""PPI for study designs that are not a simple random sample of independent items.

- **Clustered** (`ppi_mean_clustered`): several items per case (a case's steps, or several
  models judged on the same case) are not independent, and an interval that treats them so is
  too narrow. The point estimate is PPI++'s, with ppi_py's power-tuned λ; the interval is a
  normal interval whose variance sums each cluster's influence (the cluster-robust sandwich,
  CR1: G/(G−1) × the sum over clusters of the squared per-cluster sums), so a case's labeled
  and unlabeled items may share its effect. tests/calibration/test_ppi_designs.py pins it to a
  cluster bootstrap of the same estimate and checks its coverage in seeded simulations.
- **Stratified** (`ppi_mean_stratified`): StratPPI (Fisch, A., Maynez, J., Hofer, R. A.,
  Dhingra, B., Globerson, A. & Cohen, W. W. (2024). *Stratified Prediction-Powered Inference
  for Hybrid Language Model Evaluation.* NeurIPS 2024, arXiv:2406.04291): PPI++ within each
  stratum with its own λ (through ppi_py), combined with weights N_k / N (the stratum's share
  of the judged items), variance Σ w_k² var_k. It helps when the judge's bias differs between
  strata (modalities, say).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from ppi_py import ppi_mean_pointestimate
from ppi_py.ppi import _calc_lam_glm
from scipy import stats

from calibration.errors import CalibrationError
from calibration.ppi import PPIResult, _series, _split, ppi_mean

__all__ = ["ppi_mean_clustered", "ppi_mean_stratified"]


def _lam(y: np.ndarray, yhat: np.ndarray, unlabeled: np.ndarray, power_tuning: bool) -> float:
    """ppi_py's power-tuned λ for a mean (clipped to [0, 1]), as ppi_mean_pointestimate
    computes it; 1 for plain PPI."""
    if not power_tuning:
        return 1.0
    first = unlabeled.mean() + (y - yhat).mean()
    lam = _calc_lam_glm(
        (y - first)[:, None],
        (yhat - first)[:, None],
        (unlabeled - first)[:, None],
        np.eye(1),
        clip=True,
    )
    return float(np.asarray(lam).reshape(-1)[0])


def _labels_of(items: pd.Index, groups: pd.Series, name: str) -> np.ndarray:
    found = groups.reindex(items)
    if found.isna().any():
        first = found.index[found.isna()][0]
        raise CalibrationError(f"item {first!r} has no {name}: every judged item needs one")
    return found.astype(str).to_numpy()


def ppi_mean_clustered(
    judge: pd.Series,
    human: pd.Series,
    clusters: pd.Series,
    *,
    ci: float = 0.95,
    power_tuning: bool = True,
) -> PPIResult:
    """PPI(++) mean with a cluster-robust interval. `clusters`: item → cluster (the case)."""
    if not 0 < ci < 1:
        raise CalibrationError(f"ci must be between 0 and 1, got {ci}")
    judge = _series(judge, "judge")
    labeled, y, yhat, unlabeled, _, notes = _split(judge, human)
    if len(unlabeled) == 0:
        raise CalibrationError("every judged item has a human score: there is nothing to correct")
    is_labeled = judge.index.isin(labeled)
    groups = _labels_of(judge.index, clusters, "cluster")
    g_labeled = pd.Series(groups[is_labeled], index=judge.index[is_labeled]).reindex(labeled)
    g_unlabeled = groups[~is_labeled]
    n_clusters = len(np.unique(groups))
    if n_clusters < 2:
        raise CalibrationError("a cluster-robust interval needs two or more clusters")
    lam = _lam(y, yhat, unlabeled, power_tuning)
    estimate = float(np.asarray(ppi_mean_pointestimate(y, yhat, unlabeled, lam=lam)).ravel()[0])
    n, big_n = len(y), len(unlabeled)
    rectifier = y - lam * yhat
    influence = np.concatenate(
        [lam * (unlabeled - unlabeled.mean()) / big_n, (rectifier - rectifier.mean()) / n]
    )
    owners = np.concatenate([g_unlabeled, g_labeled.to_numpy()])
    per_cluster = pd.Series(influence).groupby(owners).sum().to_numpy()
    variance = n_clusters / (n_clusters - 1) * float((per_cluster**2).sum())
    z = float(stats.norm.ppf(0.5 + ci / 2))
    half = z * variance**0.5
    plain = ppi_mean(judge, human, ci=ci, power_tuning=power_tuning)
    notes.append(f"cluster-robust interval over {n_clusters} clusters")
    # The plain result's naive, human-only and count figures are this design's too.
    return replace(
        plain, estimate=estimate, low=estimate - half, high=estimate + half, notes=tuple(notes)
    )


def ppi_mean_stratified(
    judge: pd.Series,
    human: pd.Series,
    strata: pd.Series,
    *,
    ci: float = 0.95,
    power_tuning: bool = True,
) -> PPIResult:
    """StratPPI: PPI(++) per stratum, weighted by each stratum's share of the judged items.
    `strata`: item → stratum. Every stratum needs two human-scored items and one without."""
    if not 0 < ci < 1:
        raise CalibrationError(f"ci must be between 0 and 1, got {ci}")
    judge, human = _series(judge, "judge"), _series(human, "human")
    labels = pd.Series(_labels_of(judge.index, strata, "stratum"), index=judge.index)
    z = float(stats.norm.ppf(0.5 + ci / 2))
    estimate = variance = 0.0
    notes: list[str] = []
    for stratum, items in labels.groupby(labels).groups.items():
        try:
            part = ppi_mean(judge[items], human[human.index.isin(items)], ci=ci,
                            power_tuning=power_tuning)  # fmt: skip
        except CalibrationError as err:
            raise CalibrationError(f"stratum {stratum!r}: {err}") from err
        weight = len(items) / len(judge)
        estimate += weight * part.estimate
        variance += (weight * part.width / (2 * z)) ** 2
        notes.extend(f"stratum {stratum!r}: {note}" for note in part.notes)
    plain = ppi_mean(judge, human, ci=ci, power_tuning=power_tuning)
    half = z * variance**0.5
    notes.append(f"stratified over {labels.nunique()} strata (StratPPI, Fisch et al. 2024)")
    return replace(
        plain, estimate=estimate, low=estimate - half, high=estimate + half, notes=tuple(notes)
    )
