"""Trust or Escalate against the authors' code and in simulation.

The reference values were printed by jaehunjung1/cascaded-selective-evaluation's
`SelectiveClassificationUtil` (cascaded_evaluation/util.py at 1b969f2, torch 2.13) on the
draws below: `lambda_hat(alpha)` and `selective_risk_upper_bound` at it."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.errors import CalibrationError
from calibration.escalate import (
    agreement_confidence,
    calibrate_cascade,
    calibrate_guarantee,
    simulated_annotator_confidence,
)


def _draw(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Confidences on a 1/64 grid (exact in float32, as the authors' tensors are) and
    agreement that rises with confidence."""
    rng = np.random.default_rng(seed)
    conf = np.round(rng.beta(5, 2, n) * 64) / 64
    agrees = rng.random(n) < np.minimum(1, 0.2 + 0.85 * conf)
    return conf, agrees


@pytest.mark.parametrize(
    ("seed", "n", "target", "delta", "threshold", "bound"),
    [
        (1, 500, 0.9, 0.1, 0.703141, 0.09900635856822128),
        (1, 500, 0.8, 0.05, 0.390678, 0.1961934237454622),
        (2, 200, 0.8, 0.05, 0.593919, 0.19538935429417173),
    ],
)
def test_the_threshold_is_the_authors(seed, n, target, delta, threshold, bound) -> None:
    result = calibrate_guarantee(*_draw(seed, n), target=target, delta=delta)
    assert result.guaranteed
    assert result.threshold == pytest.approx(threshold, abs=1e-6)
    assert result.bound == pytest.approx(bound, rel=1e-9)
    assert result.bound <= 1 - target


@pytest.mark.parametrize(("seed", "n", "target"), [(1, 500, 0.95), (2, 200, 0.9), (3, 60, 0.9)])
def test_where_no_threshold_carries_the_guarantee_it_is_said(seed, n, target) -> None:
    # The authors' code returns its highest candidate here (0.937387, 0.874975, 0.74995) with
    # an upper bound above 1 − target (0.0603, 0.1038, 0.2278): a threshold without the
    # guarantee. The divergence: no threshold, and the reason.
    result = calibrate_guarantee(*_draw(seed, n), target=target, delta=0.1)
    assert not result.guaranteed and result.threshold is None
    assert "cannot guarantee" in result.notes[0]


def test_the_guarantee_holds_on_held_out_draws() -> None:
    """Over many calibration draws, the judge's true agreement on the items it keeps is at
    least the target in at least 1 − δ of them (the population agreement above a threshold
    comes from a large held-out sample)."""
    population_conf, population_agrees = _draw(10_000, 400_000)
    target, delta, sims = 0.85, 0.1, 150
    held = reached = 0
    for seed in range(sims):
        result = calibrate_guarantee(*_draw(seed + 20, 400), target=target, delta=delta)
        if not result.guaranteed:
            continue
        reached += 1
        kept = population_conf >= result.threshold
        held += population_agrees[kept].mean() >= target
    assert reached >= 0.8 * sims
    assert held / reached >= 1 - delta


def test_a_cascade_calibrates_each_judge_on_what_the_earlier_left() -> None:
    conf_a, agrees_a = _draw(1, 500)
    rng = np.random.default_rng(5)
    conf_b = np.round(rng.beta(8, 2, 500) * 64) / 64
    agrees_b = rng.random(500) < np.minimum(1, 0.1 + 0.95 * conf_b)
    first, second = calibrate_cascade([conf_a, conf_b], [agrees_a, agrees_b], target=0.9)
    assert first.threshold == pytest.approx(0.703141, abs=1e-6)  # the single-judge value
    left = conf_a < first.threshold
    assert second.n == int(left.sum())
    alone = calibrate_guarantee(conf_b[left], agrees_b[left], target=0.9)
    assert second.threshold == alone.threshold


def test_confidences() -> None:
    # two simulated annotators × two orders, two labels
    probs = np.array([[[0.9, 0.1], [0.7, 0.3], [0.8, 0.2], [0.6, 0.4]]])
    assert simulated_annotator_confidence(probs) == pytest.approx([0.75])
    labels = np.array([["a", "a", "b"], ["b", None, "b"]], dtype=object)
    assert agreement_confidence(labels) == pytest.approx([2 / 3, 1.0])


def test_bad_inputs() -> None:
    with pytest.raises(CalibrationError, match="one value per item"):
        calibrate_guarantee(np.ones(3), np.ones(4, dtype=bool))
    with pytest.raises(CalibrationError, match="lie in"):
        calibrate_guarantee(np.ones(3), np.ones(3, dtype=bool), target=1.2)
    with pytest.raises(CalibrationError, match="confidence"):
        calibrate_guarantee(np.array([0.5, np.nan]), np.ones(2, dtype=bool))
