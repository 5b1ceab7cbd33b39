"""Trust or Escalate: a judge that abstains where its confidence is low, with a guarantee of
agreement with humans on the items it keeps.

Jung, J., Brahman, F. & Choi, Y. (2025). *Trust or Escalate: LLM Judges with Provable
Guarantees for Human Agreement.* ICLR 2025, arXiv:2407.18370. Reference code:
jaehunjung1/cascaded-selective-evaluation (`cascaded_evaluation/util.py`,
`SelectiveClassificationUtil`; `cascaded_classifier.py`, `CascadedClassifier.calibrate`).
The rule here is the authors', step for step:

- candidate thresholds λ: 5,000 points evenly spaced on [0, 1], keeping those with at least 30
  calibration items at or above them;
- the risk at λ is the share of kept items (confidence ≥ λ) where the judge disagrees with the
  humans; its upper bound is the exact binomial (Clopper–Pearson) bound at level δ:
  the r with Binom.cdf(errors; n_λ, r) = δ;
- λ̂ is found scanning down from the highest candidate: the first λ whose next lower value,
  λ − 1/(number of candidates), has a bound above α = 1 − target. Then with probability
  ≥ 1 − δ over the calibration draw, the agreement on kept items is ≥ the target.
- a cascade calibrates each judge in turn on the items no earlier judge kept.

One divergence: where even the highest candidate's bound exceeds α, the authors' code returns
that candidate anyway; here the result says the target cannot be guaranteed (`guaranteed`
False, no threshold), because no λ on the grid carries the guarantee.

Confidence, as the authors define it (`simulated_annotator_confidence`): one judge prompted with
several few-shot sets, each drawn from a different human annotator's labels ("simulated
annotators"), each asked in both option orders; the confidence is the largest of the mean
probabilities the runs give each label. `agreement_confidence` (the share of a panel's judges,
or of one judge's samples, that give the modal label) is offered as well, and is a divergence
from the paper: it is not the quantity the guarantee was studied with, though the guarantee
itself holds for any confidence score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq
from scipy.stats import binom

from calibration.errors import CalibrationError

__all__ = [
    "Guarantee",
    "agreement_confidence",
    "calibrate_cascade",
    "calibrate_guarantee",
    "simulated_annotator_confidence",
]

GRID = 5000
MIN_KEPT = 30  # the authors' floor on calibration items above a candidate threshold


@dataclass(frozen=True)
class Guarantee:
    """A calibrated threshold: keep an item when the judge's confidence ≥ `threshold`.

    `coverage`: the share of calibration items kept; `agreement`: the judge's agreement with
    the humans on them; `bound`: the upper confidence bound on disagreement there (≤ 1 − target
    when `guaranteed`)."""

    threshold: float | None
    target: float
    delta: float
    guaranteed: bool
    coverage: float
    agreement: float
    bound: float
    n: int
    n_kept: int
    notes: tuple[str, ...] = field(default=())

    def as_row(self) -> dict[str, object]:
        return {
            "threshold": self.threshold, "target": self.target, "delta": self.delta,
            "guaranteed": self.guaranteed, "coverage": self.coverage,
            "agreement": self.agreement, "bound": self.bound, "n": self.n,
            "n_kept": self.n_kept, "notes": "; ".join(self.notes),
        }  # fmt: skip


def simulated_annotator_confidence(probs: np.ndarray) -> np.ndarray:
    """Items × runs × labels probabilities (each simulated annotator, each order) → each
    item's confidence: the largest mean probability of a label (the authors' `phats`)."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 3:
        raise CalibrationError("simulated annotators' probabilities: items × runs × labels")
    return np.asarray(np.nanmean(probs, axis=1).max(axis=1))


def agreement_confidence(labels: np.ndarray) -> np.ndarray:
    """Items × raters labels (a panel, or one judge's samples; None/NaN = missing) → the share
    of each item's labels that are its modal label (a divergence from the paper: see above)."""
    out = np.full(len(labels), np.nan)
    for i, row in enumerate(labels):
        given = [v for v in row if v is not None and v == v]
        if given:
            _, counts = np.unique(np.asarray(given, dtype=object).astype(str), return_counts=True)
            out[i] = counts.max() / len(given)
    return out


@lru_cache(maxsize=65536)  # the scan asks for the same (errors, n) at many thresholds
def _bound(errors: int, n: int, delta: float) -> float:
    """Clopper–Pearson upper bound on the error rate: r with Binom.cdf(errors; n, r) = δ."""
    if errors >= n:
        return 1.0
    return float(brentq(lambda r: binom.cdf(errors, n, r) - delta, 0, 0.9999))


class _Selective:
    """The authors' `SelectiveClassificationUtil` over numpy arrays."""

    def __init__(self, confidence: np.ndarray, agrees: np.ndarray, delta: float):
        self.confidence, self.agrees, self.delta = confidence, agrees, delta
        grid = np.linspace(0, 1, GRID, dtype=np.float32).astype(float)  # torch.linspace, float32
        kept = (confidence[None, :] >= grid[:, None]).sum(axis=1)
        self.lambdas = grid[kept >= MIN_KEPT]

    def bound(self, lam: float) -> float:
        kept = self.confidence >= lam
        n = int(kept.sum())
        return _bound(int((~self.agrees[kept]).sum()), n, self.delta) if n else 1.0

    def threshold(self, alpha: float) -> float | None:
        if len(self.lambdas) == 0 or self.bound(self.lambdas[-1]) > alpha:
            return None
        step = 1 / len(self.lambdas)
        for lam in self.lambdas[::-1]:
            if self.bound(lam - step) > alpha:
                return float(lam)
        return float(self.lambdas[0])


def _checked(confidence: np.ndarray, agrees: np.ndarray, target: float, delta: float):
    confidence = np.asarray(confidence, dtype=float)
    agrees = np.asarray(agrees, dtype=bool)
    if confidence.shape != agrees.shape:
        raise CalibrationError("confidence and agreement need one value per item each")
    if not 0 < target < 1 or not 0 < delta < 1:
        raise CalibrationError(f"target and delta must lie in (0, 1), got {target} and {delta}")
    if np.isnan(confidence).any():
        raise CalibrationError("every calibration item needs the judge's confidence")
    return confidence, agrees


def _result(
    confidence: np.ndarray, agrees: np.ndarray, lam: float | None, target: float, delta: float
) -> Guarantee:
    n = len(confidence)
    if lam is None:
        why = (
            f"fewer than {MIN_KEPT} calibration items"
            if n < MIN_KEPT
            else f"no threshold keeps {MIN_KEPT} or more items with agreement ≥ {target:g} "
            f"guaranteed at δ = {delta:g}"
        )
        return Guarantee(None, target, delta, False, 0.0, float("nan"), float("nan"), n, 0,
                         (f"cannot guarantee: {why}",))  # fmt: skip
    kept = confidence >= lam
    n_kept = int(kept.sum())
    errors = int((~agrees[kept]).sum())
    return Guarantee(
        threshold=lam,
        target=target,
        delta=delta,
        guaranteed=True,
        coverage=n_kept / n,
        agreement=1 - errors / n_kept,
        bound=_bound(errors, n_kept, delta),
        n=n,
        n_kept=n_kept,
    )


def calibrate_guarantee(
    confidence: np.ndarray, agrees: np.ndarray, target: float = 0.9, delta: float = 0.1
) -> Guarantee:
    """The threshold under which the judge abstains, so that with probability ≥ 1 − `delta`
    its agreement with humans on the items it keeps is ≥ `target`. `agrees`: per calibration
    item, whether the judge's label matches the humans' (exactly, or within K levels)."""
    confidence, agrees = _checked(confidence, agrees, target, delta)
    lam = _Selective(confidence, agrees, delta).threshold(1 - target)
    return _result(confidence, agrees, lam, target, delta)


def calibrate_cascade(
    confidences: list[np.ndarray],
    agrees: list[np.ndarray],
    target: float = 0.9,
    delta: float = 0.1,
) -> list[Guarantee]:
    """A cascade of judges (cheapest first): each is calibrated on the calibration items no
    earlier judge kept; a judge with no candidate threshold left takes the previous one's (the
    authors' rule). Items kept by none are escalated to people."""
    if len(confidences) != len(agrees) or not confidences:
        raise CalibrationError("a cascade needs each judge's confidence and agreement")
    pending = np.ones(len(confidences[0]), dtype=bool)
    out: list[Guarantee] = []
    previous: float | None = None
    for conf, agree in zip(confidences, agrees, strict=True):
        conf, agree = _checked(conf, agree, target, delta)
        selective = _Selective(conf[pending], agree[pending], delta)
        lam = previous if len(selective.lambdas) == 0 else selective.threshold(1 - target)
        out.append(_result(conf[pending], agree[pending], lam, target, delta))
        if lam is not None:
            pending &= ~(conf >= lam)
            previous = lam
    return out
