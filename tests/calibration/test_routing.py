"""PPI with the inverse-probability weights of a routed queue (Zrnic & Candès 2024, "Active
Statistical Inference"): pinned to ppi_py's weighted estimate, and unbiased where the
unweighted one is not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import ppi_py
import pytest

import calibration
from calibration.errors import CalibrationError, InputFileError

# A fixed set: 12 judged items, 6 rated; items a-c were picked for certain (π = 1), d-f drawn
# at random with π = 1/3 from the 9 others.
ITEMS = list("abcdefghijkl")
JUDGE = pd.Series([4.0, 1.0, 5.0, 3.0, 4.0, 2.0, 3.0, 4.0, 3.0, 5.0, 2.0, 4.0], index=ITEMS)
HUMAN = pd.Series([2.0, 3.0, 3.0, 3.0, 4.0, 1.0], index=list("abcdef"))
PROBABILITY = pd.Series([1, 1, 1, 1 / 3, 1 / 3, 1 / 3], index=list("abcdef"))
WEIGHTS = 1 / PROBABILITY


def _arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    y = HUMAN.to_numpy()
    yhat = JUDGE[HUMAN.index].to_numpy()
    return y, yhat, JUDGE.to_numpy(), WEIGHTS.to_numpy()


@pytest.mark.parametrize("power_tuning", [True, False])
def test_routed_ppi_is_ppi_pys_weighted_estimate(power_tuning: bool) -> None:
    y, yhat, pool, w = _arrays()
    lam = None if power_tuning else 1.0
    result = calibration.ppi_mean(JUDGE, HUMAN, weights=WEIGHTS, power_tuning=power_tuning)
    expected = ppi_py.ppi_mean_pointestimate(y, yhat, pool, lam=lam, w=w)
    low, high = ppi_py.ppi_mean_ci(y, yhat, pool, alpha=0.05, lam=lam, w=w)
    assert result.estimate == pytest.approx(float(np.ravel(expected)[0]), abs=1e-12)
    assert (result.low, result.high) == pytest.approx((float(low[0]), float(high[0])), abs=1e-12)
    assert (result.n, result.N) == (6, 12)
    assert any("routed" in note for note in result.notes)


def test_plain_routed_ppi_is_zrnic_and_candes_estimator() -> None:
    # λ = 1: the judge's mean over the whole pool plus the weighted mean of Y − Ŷ over the
    # rated items (the Hájek form: weights divided by their sum, as ppi_py rescales them).
    y, yhat, pool, w = _arrays()
    by_hand = pool.mean() + (w * (y - yhat)).sum() / w.sum()
    result = calibration.ppi_mean(JUDGE, HUMAN, weights=WEIGHTS, power_tuning=False)
    assert result.estimate == pytest.approx(by_hand, abs=1e-12)
    # The human-only figure is weighted too: Σ w·y / Σ w.
    assert result.classical == pytest.approx((w * y).sum() / w.sum(), abs=1e-12)


def test_equal_weights_are_the_unweighted_estimate_over_the_same_pool() -> None:
    y, yhat, pool, _ = _arrays()
    for constant in (1.0, 7.0):
        result = calibration.ppi_mean(JUDGE, HUMAN, weights=pd.Series(constant, index=ITEMS))
        plain = ppi_py.ppi_mean_pointestimate(y, yhat, pool)
        assert result.estimate == pytest.approx(float(np.ravel(plain)[0]), abs=1e-12)
    # Unequal weights do move it (the test above could fail).
    assert calibration.ppi_mean(JUDGE, HUMAN, weights=WEIGHTS).estimate != pytest.approx(
        result.estimate
    )


def test_weighted_estimate_is_closer_to_the_truth_on_a_routed_sample() -> None:
    """1,000 items; on the 100 hard ones (the panel disagreed) the judge reads 2 high, on the
    rest 0.2. The queue takes every hard item (π = 1) and a random 10% of the others. The
    unweighted estimate over-corrects by the hard items' bias; the weighted one does not."""
    rng = np.random.default_rng(2024)
    errors: dict[str, list[float]] = {"weighted": [], "unweighted": []}
    for _ in range(60):
        items = [f"c{i}" for i in range(1000)]
        truth = pd.Series(rng.normal(3.0, 1.0, 1000), index=items)
        hard = np.arange(1000) < 100
        judge = truth + np.where(hard, 2.0, 0.2) + rng.normal(0, 0.3, 1000)
        easy = np.flatnonzero(~hard)
        rated = np.concatenate([np.flatnonzero(hard), rng.choice(easy, 90, replace=False)])
        human = truth.iloc[rated]
        weights = pd.Series(np.where(hard[rated], 1.0, 900 / 90), index=human.index)
        target = truth.mean()
        weighted = calibration.ppi_mean(judge, human, weights=weights).estimate
        errors["weighted"].append(weighted - target)
        errors["unweighted"].append(calibration.ppi_mean(judge, human).estimate - target)
    bias = {k: float(np.mean(v)) for k, v in errors.items()}
    rmse = {k: float(np.sqrt(np.mean(np.square(v)))) for k, v in errors.items()}
    assert abs(bias["weighted"]) < 0.05 < abs(bias["unweighted"])
    assert rmse["weighted"] < rmse["unweighted"] / 3


def test_routed_interval_covers_the_pool_mean() -> None:
    """ppi_py's weighted interval adds the judge term's and the rectifier's variances although
    the rated items are in the pool too: on routed samples it must still cover at its level."""
    rng = np.random.default_rng(99)
    covered, unweighted = [], []
    for _ in range(120):
        truth = pd.Series(rng.normal(3.0, 1.0, 600), index=[f"c{i}" for i in range(600)])
        hard = np.arange(600) < 60
        noise = rng.normal(0, 1.0, 600) * np.where(hard, 3.0, 1.0)
        judge = truth + np.where(hard, 1.0, 0.2) + noise
        rated = np.concatenate([np.flatnonzero(hard), rng.choice(np.flatnonzero(~hard), 54, False)])
        weights = pd.Series(np.where(hard[rated], 1.0, 540 / 54), index=truth.index[rated])
        result = calibration.ppi_mean(judge, truth.iloc[rated], weights=weights, ci=0.9)
        covered.append(result.low <= truth.mean() <= result.high)
        plain = calibration.ppi_mean(judge, truth.iloc[rated], ci=0.9)
        unweighted.append(plain.low <= truth.mean() <= plain.high)
    assert np.mean(covered) >= 0.85  # nominal 0.9; 120 draws: a 0.03 standard error
    assert np.mean(unweighted) < 0.85  # the same routed samples without their weights


def test_a_rated_item_outside_the_queue_is_refused() -> None:
    with pytest.raises(CalibrationError, match=r"not in the routed queue's weights.*'f'"):
        calibration.ppi_mean(JUDGE, HUMAN, weights=WEIGHTS.drop("f"))


def test_weights_per_slice() -> None:
    by = pd.Series(["x"] * 6 + ["y"] * 6, index=ITEMS)
    table = calibration.ppi_by(JUDGE, HUMAN, by, weights=WEIGHTS)
    whole = calibration.ppi_mean(JUDGE, HUMAN, weights=WEIGHTS)
    assert table.loc[0, "estimate"] == pytest.approx(whole.estimate)
    # Slice y has no rated item: too few for PPI, said in its row.
    assert "at least 2" in table.set_index("slice").loc["y", "notes"]


def _sidecar(path: Path, items: list[dict]) -> Path:
    path.write_text(json.dumps({"format": "judge route weights", "version": 1, "items": items}))
    return path


def test_load_route_weights(tmp_path: Path) -> None:
    items = [{"id": "a", "probability": 1.0}, {"id": "d", "probability": 0.25}]
    weights = calibration.load_route_weights(_sidecar(tmp_path / "q.weights.json", items))
    assert weights.to_dict() == {"a": 1.0, "d": 4.0}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a JSON file"),
        ('{"format": "other"}', "not a weights file of `judge route`"),
        ('{"format": "judge route weights"}', "no list of items"),
        (
            '{"format": "judge route weights", "items": [{"id": "a", "probability": 0}]}',
            r"item 'a': the probability must be in \(0, 1\]",
        ),
        (
            '{"format": "judge route weights", "items": [{"id": "a", "probability": 1}, '
            '{"id": "a", "probability": 1}]}',
            "listed twice",
        ),
    ],
)
def test_a_bad_weights_file_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "w.json"
    path.write_text(content)
    with pytest.raises(InputFileError, match=message) as caught:
        calibration.load_route_weights(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_queued_items_left_unrated_are_noted() -> None:
    queued = pd.concat([WEIGHTS, pd.Series({"g": 3.0, "h": 3.0})])
    result = calibration.ppi_mean(JUDGE, HUMAN, weights=queued)
    assert any(note.startswith("2 queued item(s) have no human score") for note in result.notes)
    assert not any("queued" in n for n in calibration.ppi_mean(JUDGE, HUMAN, weights=WEIGHTS).notes)
