"""Latent-truth labels for a panel of judges, fitted over a whole run: Dawid & Skene (1979) and
MACE (Hovy et al., NAACL 2013).

The model: each item has one true label z with prior p; each judge j answers label k on an item
whose true label is c with probability e_j[k, c], its confusion (error) matrix. EM alternates the
posterior of every item's true label (E-step) with the priors and the confusion matrices
(M-step). The algorithm here is crowd-kit 1.4.2's `DawidSkene` step for step: initialised from
the majority vote's label shares, confusion counts floored at 1e-10 before they are normalised,
stopped when the evidence lower bound per response gains less than `tol` (1e-5) or after
`n_iter` (100) rounds. tests/calibration/test_latent.py pins it to crowd-kit's output.

MACE models each judge as either knowing the true label or, with probability 1 − θ, "spamming"
a label from its own distribution ξ. The algorithm is crowd-kit 1.4.2's `MACE` (variational
Bayes: Beta(0.5, 0.5) on θ, Dirichlet(10) on ξ; 50 rounds; the same seeded start for every
restart, so one run gives its result). One divergence: crowd-kit numbers judges and labels in
order of first appearance but reads its expected counts back in sorted order, so on data not
sorted that way it mixes judges up; here both are sorted. The tests pin it on sorted data.

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

__all__ = ["LatentResult", "dawid_skene", "error_correlation", "mace"]

_EPS = 1e-10


@dataclass
class LatentResult:
    """`labels`: item → most probable true label; `probas`: items × labels posteriors;
    `priors`: label → prior; `confusion`: judge → labels (answered, rows) × labels (true,
    columns), each column summing to 1 over the labels the judge used; `n_iter`: rounds run;
    `competence` (MACE only): judge → the probability that it knows the true label."""

    labels: pd.Series
    probas: pd.DataFrame
    priors: pd.Series
    confusion: dict[str, pd.DataFrame]
    n_iter: int
    competence: dict[str, float] | None = None


def _coded(labels: pd.DataFrame) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Responses as (item, rater, answer) codes, each numbered in sorted order."""
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
    return np.column_stack([item_codes, rater_codes, answer_codes]), (items, raters, values)


def _table(probas: np.ndarray, items: np.ndarray, values: np.ndarray):
    label_index = pd.Index(values, name="label")
    return pd.DataFrame(
        probas, index=pd.Index(items, name="item"), columns=label_index
    ), label_index


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
    resp, (items, raters, values) = _coded(labels)
    item_codes, rater_codes, answer_codes = resp.T
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
    table, label_index = _table(probas, items, values)
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


def _mace_e_step(resp: np.ndarray, spam: np.ndarray, theta: np.ndarray, n_items: int):
    """Item posteriors (unnormalised, as crowd-kit keeps them), the log marginal likelihood,
    and the expected counts of answering from ξ (per judge and label) and of knowing."""
    t, w, a = resp.T
    n_labels = theta.shape[1]
    spammed = spam[w, 0] * theta[w, a]  # the answer drawn from the judge's ξ
    per_label = spammed[:, None] + spam[w, 1][:, None] * (a[:, None] == np.arange(n_labels))
    gold = np.ones((n_items, n_labels))
    np.multiply.at(gold, t, per_label)
    gold /= n_labels
    instance = gold.sum(axis=1)
    log_likelihood = float(np.log(instance + 1e-08).sum())
    strategy = (gold[t] / per_label).sum(axis=1) * spammed / instance[t]
    strategy_counts = np.zeros_like(theta)
    np.add.at(strategy_counts, (w, a), strategy)
    knowing = gold[t, a] * spam[w, 1] / (spammed + spam[w, 1]) / instance[t]
    counts = np.zeros_like(spam)
    np.add.at(counts[:, 0], w, strategy)
    np.add.at(counts[:, 1], w, knowing)
    return gold, log_likelihood, strategy_counts, counts


def _variational(counts: np.ndarray, priors: np.ndarray) -> np.ndarray:
    from scipy.special import digamma

    return (
        np.exp(digamma(counts + priors)) / np.exp(digamma((counts + priors).sum(axis=1)))[:, None]
    )


def mace(
    labels: pd.DataFrame,
    n_iter: int = 50,
    default_noise: float = 0.5,
    alpha: float = 0.5,
    beta: float = 0.5,
    seed: int = 0,
) -> LatentResult:
    """Fit MACE (variational Bayes) to long labels with columns item, rater, score. Each judge's
    `confusion` is the one its competence and spamming distribution imply; `competence` is
    P(knows); `priors` is uniform (MACE has none to fit)."""
    import scipy.stats as sps

    resp, (items, raters, values) = _coded(labels)
    n_raters, n_labels = len(raters), len(values)
    start = sps.uniform(1, 1 + default_noise)
    spam = start.rvs(size=(n_raters, 2), random_state=seed)
    theta = start.rvs(size=(n_raters, n_labels), random_state=seed)
    spam, theta = spam / spam.sum(axis=1, keepdims=True), theta / theta.sum(axis=1, keepdims=True)
    theta_priors = np.tile([alpha, beta], (n_raters, 1))
    strategy_priors = np.full((n_raters, n_labels), 10.0)
    _, _, strategy_counts, counts = _mace_e_step(resp, spam, theta, len(items))
    for _ in range(n_iter):
        spam = _variational(counts, theta_priors)
        theta = _variational(strategy_counts, strategy_priors)
        _, _, strategy_counts, counts = _mace_e_step(resp, spam, theta, len(items))
    gold, _, _, _ = _mace_e_step(resp, spam, theta, len(items))
    table, label_index = _table(gold / gold.sum(axis=1, keepdims=True), items, values)
    # crowd-kit's spamming_ columns: 0 the weight of answering from ξ, 1 of knowing (VB leaves
    # them unnormalised). The confusion they imply: P(answer k | true c) = P(knows)·[k = c] +
    # P(spams)·ξ(k).
    knows = spam[:, 1] / spam.sum(axis=1)
    xi = theta / theta.sum(axis=1, keepdims=True)
    confusion = {
        str(r): pd.DataFrame(
            knows[j] * np.eye(n_labels) + (1 - knows[j]) * xi[j][:, None],
            index=pd.Index(values, name="answered"),
            columns=label_index,
        )
        for j, r in enumerate(raters)
    }
    return LatentResult(
        labels=table.idxmax(axis=1).rename("label"),
        probas=table,
        priors=pd.Series(np.full(n_labels, 1 / n_labels), index=label_index, name="prior"),
        confusion=confusion,
        n_iter=n_iter,
        competence=dict(zip(map(str, raters), map(float, knows), strict=True)),
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
