"""Latent-truth labels for a panel of judges: Dawid & Skene (1979), fitted over a whole run.

The model: each item has one true label z with prior p; each judge j answers label k on an item
whose true label is c with probability e_j[k, c], its confusion (error) matrix. EM alternates the
posterior of every item's true label (E-step) with the priors and the confusion matrices
(M-step). The algorithm here is crowd-kit 1.4.2's `DawidSkene` step for step: initialised from
the majority vote's label shares, confusion counts floored at 1e-10 before they are normalised,
stopped when the evidence lower bound per response gains less than `tol` (1e-5) or after
`n_iter` (100) rounds. tests/calibration/test_latent.py pins it to crowd-kit's output.

Why not crowd-kit itself: 1.4.2 requires `transformers` (and with it tokenizers and the
Hugging Face hub client) for its text aggregators, which a statistics package has no use for.

The panel diagnostic beside it: the correlation of judges' errors on the items people labelled
(`error_correlation`). Judges whose errors move together add little over one judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from calibration.errors import CalibrationError

__all__ = ["LatentResult", "dawid_skene", "error_correlation"]

_EPS = 1e-10


@dataclass
class LatentResult:
    """`labels`: item → most probable true label; `probas`: items × labels posteriors;
    `priors`: label → prior; `confusion`: judge → labels (answered, rows) × labels (true,
    columns), each column summing to 1 over the labels the judge used; `n_iter`: rounds run."""

    labels: pd.Series
    probas: pd.DataFrame
    priors: pd.Series
    confusion: dict[str, pd.DataFrame]
    n_iter: int


def _m_step(resp: np.ndarray, used: np.ndarray, probas: np.ndarray, n: tuple[int, int]):
    """Confusion matrices (judges × answered × true) from the responses and the posteriors."""
    items, judges, answers = resp.T
    counts = np.zeros((n[0], n[1], probas.shape[1]))
    np.add.at(counts, (judges, answers), probas[items])
    counts = np.where(used[:, :, None], np.maximum(counts, _EPS), 0.0)
    return counts / counts.sum(axis=1, keepdims=True)


def _log_terms(resp: np.ndarray, errors: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """Per response, log e_j[answer, c] for every true label c."""
    _, judges, answers = resp.T
    with np.errstate(divide="ignore"):
        return np.log(errors[judges, answers])


def _e_step(resp: np.ndarray, errors: np.ndarray, priors: np.ndarray, n_items: int):
    logs = np.zeros((n_items, errors.shape[2]))
    np.add.at(logs, resp[:, 0], _log_terms(resp, errors, priors))
    logs += np.log(np.maximum(priors, _EPS))
    scaled = np.exp(logs - logs.max(axis=1, keepdims=True))
    return scaled / scaled.sum(axis=1, keepdims=True)


def _elbo(resp: np.ndarray, probas: np.ndarray, priors: np.ndarray, errors: np.ndarray) -> float:
    """crowd-kit's evidence lower bound: the log prior enters once per response, as there."""
    terms = _log_terms(resp, errors, priors) + np.log(np.maximum(priors, _EPS))
    weights = probas[resp[:, 0]]
    joint = float(np.where(weights > 0, weights * terms, 0.0).sum())
    clipped = np.maximum(probas, _EPS)
    return joint - float((np.log(clipped) * clipped).sum())


def dawid_skene(labels: pd.DataFrame, n_iter: int = 100, tol: float = 1e-5) -> LatentResult:
    """Fit Dawid–Skene to long labels with columns item, rater, score (one label per item and
    rater; categorical or binary). Returns the latent labels and each rater's confusion."""
    missing = {"item", "rater", "score"} - set(labels.columns)
    if missing:
        raise CalibrationError(f"latent labels need columns item, rater, score: {sorted(missing)}")
    frame = labels.dropna(subset=["score"])
    if frame.duplicated(["item", "rater"]).any():
        raise CalibrationError("latent labels: a rater labelled an item twice")
    if frame["rater"].nunique() < 2:
        raise CalibrationError("latent labels need two or more raters (judges)")
    items, item_codes = np.unique(frame["item"].astype(str), return_inverse=True)
    raters, rater_codes = np.unique(frame["rater"].astype(str), return_inverse=True)
    values, answer_codes = np.unique(frame["score"].to_numpy(), return_inverse=True)
    resp = np.column_stack([item_codes, rater_codes, answer_codes])
    shape = (len(raters), len(values))
    used = np.zeros(shape, dtype=bool)
    used[rater_codes, answer_codes] = True
    # The majority vote's label shares per item (ties keep every tied label's share).
    probas = np.zeros((len(items), len(values)))
    np.add.at(probas, (item_codes, answer_codes), 1.0)
    probas /= probas.sum(axis=1, keepdims=True)
    priors = probas.mean(axis=0)
    errors = _m_step(resp, used, probas, shape)
    loss, rounds = -np.inf, 0
    for rounds in range(1, n_iter + 1):  # noqa: B007 (rounds is reported)
        probas = _e_step(resp, errors, priors, len(items))
        priors = probas.mean(axis=0)
        errors = _m_step(resp, used, probas, shape)
        new_loss = _elbo(resp, probas, priors, errors) / len(resp)
        if new_loss - loss < tol:
            break
        loss = new_loss
    label_index = pd.Index(values, name="label")
    table = pd.DataFrame(probas, index=pd.Index(items, name="item"), columns=label_index)
    confusion = {
        str(r): pd.DataFrame(
            errors[j], index=pd.Index(values, name="answered"), columns=label_index
        )
        for j, r in enumerate(raters)
    }
    return LatentResult(
        labels=table.idxmax(axis=1).rename("label"),
        probas=table,
        priors=pd.Series(priors, index=label_index, name="prior"),
        confusion=confusion,
        n_iter=rounds,
    )


def error_correlation(judges: pd.DataFrame, truth: pd.Series) -> pd.DataFrame:
    """Pearson correlation of the judges' errors (1 wrong, 0 right) on the items that have a
    human label. `judges`: items × judges labels; `truth`: item → the human label."""
    common = judges.index.intersection(truth.dropna().index)
    if len(common) < 3:
        raise CalibrationError("the judges' error correlation needs three human-labelled items")
    wrong: Any = judges.loc[common].ne(truth.loc[common], axis=0).astype(float)
    wrong = wrong.where(judges.loc[common].notna())
    return wrong.corr(min_periods=3)
