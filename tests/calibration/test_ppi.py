"""calibration.ppi_mean and friends: prediction-powered means through ppi_py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import ppi_py
import pytest

import calibration
from calibration.errors import CalibrationError

TRUE_MEAN = 3.0


@pytest.fixture(scope="module")
def pool() -> tuple[pd.Series, pd.Series]:
    """2,000 judged items whose true score has mean 3; the judge reads 0.5 high with a little
    noise; humans (who see the truth) rated a random 150 of them. Seeded, so fixed."""
    rng = np.random.default_rng(2023)
    items = [f"case-{i:04d}" for i in range(2000)]
    truth = pd.Series(rng.normal(TRUE_MEAN, 1.0, size=2000), index=items)
    judge = truth + 0.5 + rng.normal(0, 0.3, size=2000)
    rated = rng.choice(2000, size=150, replace=False)
    return judge, truth.iloc[rated]


def test_ppi_mean_matches_ppi_py_at_95_percent(pool: tuple[pd.Series, pd.Series]) -> None:
    judge, human = pool
    result = calibration.ppi_mean(judge, human)
    labeled = judge.index.isin(human.index)
    y = human.reindex(judge.index[labeled]).to_numpy()
    yhat, unlabeled = judge[labeled].to_numpy(), judge[~labeled].to_numpy()
    low, high = ppi_py.ppi_mean_ci(y, yhat, unlabeled, alpha=0.05)
    c_low, c_high = ppi_py.classical_mean_ci(y, alpha=0.05)
    assert result.low == pytest.approx(float(low[0]), abs=1e-12)
    assert result.high == pytest.approx(float(high[0]), abs=1e-12)
    assert result.estimate == pytest.approx(
        float(ppi_py.ppi_mean_pointestimate(y, yhat, unlabeled)[0]), abs=1e-12
    )
    assert (result.classical_low, result.classical_high) == pytest.approx((c_low, c_high))
    assert (result.n, result.N) == (150, 1850)
    # The interval covers the true mean, is narrower than the human-only one, and corrects the
    # judge's +0.5 bias, which the naive mean keeps.
    assert result.low < TRUE_MEAN < result.high
    assert result.width < result.classical_width
    assert result.naive > TRUE_MEAN + 0.4 and abs(result.estimate - TRUE_MEAN) < 0.1


def test_ci_is_the_confidence_level_not_ppi_pys_default(pool: tuple[pd.Series, pd.Series]) -> None:
    judge, human = pool
    w95 = calibration.ppi_mean(judge, human, ci=0.95).width
    w90 = calibration.ppi_mean(judge, human, ci=0.90).width
    # Normal intervals: width ∝ z, and z(0.975) / z(0.95) = 1.959964 / 1.644854.
    assert w95 / w90 == pytest.approx(1.959964 / 1.644854, rel=1e-5)


def test_plain_ppi_is_the_judge_mean_plus_the_rectifier(pool: tuple[pd.Series, pd.Series]) -> None:
    judge, human = pool
    result = calibration.ppi_mean(judge, human, power_tuning=False)
    unlabeled = judge[~judge.index.isin(human.index)]
    rectifier = (human - judge[human.index]).mean()
    assert result.estimate == pytest.approx(unlabeled.mean() + rectifier, abs=1e-12)


def test_a_binary_criterion_gives_a_corrected_rate() -> None:
    rng = np.random.default_rng(5)
    truth = pd.Series((rng.random(1000) < 0.3).astype(float), index=[f"i{k}" for k in range(1000)])
    # The judge flags 10% of the negatives too: its naive rate is about 0.37.
    judge = truth.where(truth == 1, (rng.random(1000) < 0.1).astype(float))
    result = calibration.ppi_mean(judge, truth.sample(200, random_state=1))
    assert result.naive > 0.35
    assert result.low < 0.3 < result.high and result.low >= 0 - 1e-9


def test_human_items_the_judge_missed_are_left_out_and_said(
    pool: tuple[pd.Series, pd.Series],
) -> None:
    judge, human = pool
    extra = pd.concat([human, pd.Series([1.0, 2.0], index=["ghost-1", "ghost-2"])])
    result = calibration.ppi_mean(judge, extra)
    assert result.n == 150
    assert result.notes == ("2 human-scored item(s) have no judge score; left out",)


@pytest.mark.parametrize(
    ("judge", "human", "message"),
    [
        (pd.Series([1.0, 2.0], index=["a", "b"]), pd.Series([1.0], index=["a"]), "at least 2"),
        (pd.Series([1.0, 2.0], index=["a", "a"]), pd.Series([1.0], index=["a"]), "more than once"),
        (pd.Series([1.0, 2.0], index=["a", "b"]), pd.Series([1.0, 2.0], index=["a", "b"]),
         "nothing to correct"),
    ],
)  # fmt: skip
def test_unusable_inputs_are_refused(judge: pd.Series, human: pd.Series, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        calibration.ppi_mean(judge, human)


def test_per_slice_rows_and_a_slice_too_small(pool: tuple[pd.Series, pd.Series]) -> None:
    judge, human = pool
    by = pd.Series(np.where(np.arange(2000) % 2 == 0, "CT", "MRI"), index=judge.index)
    by.iloc[:3] = "XR"
    table = calibration.ppi_by(judge, human[~human.index.isin(by.index[:3])], by)
    assert list(table["slice"]) == ["(all)", "CT", "MRI", "XR"]
    ct = table.set_index("slice").loc["CT"]
    ct_items = by.index[by == "CT"]
    expected = calibration.ppi_mean(judge[ct_items], human[human.index.isin(ct_items)])
    assert ct["estimate"] == pytest.approx(expected.estimate)
    assert "at least 2" in table.set_index("slice").loc["XR", "notes"]


def test_paired_difference_of_two_models(pool: tuple[pd.Series, pd.Series]) -> None:
    judge, human = pool
    rng = np.random.default_rng(11)
    # Model b is 0.25 worse on average; the judge sees the gap with noise.
    gap = pd.Series(rng.normal(0.25, 0.3, size=len(judge)), index=judge.index)
    judge_b = judge - gap + rng.normal(0, 0.1, size=len(judge))
    result = calibration.ppi_paired_difference(judge, judge_b, human, human - gap[human.index])
    assert result.low < 0.25 < result.high
    assert result.width < result.classical_width
    assert result.n == 150


def test_the_planner_reaches_the_target_width(pool: tuple[pd.Series, pd.Series]) -> None:
    judge, human = pool
    pilot = human.iloc[:60]
    plan = calibration.ppi_plan(judge, pilot, width=0.2).iloc[0]
    assert plan["reachable"] and plan["labels_needed"] < plan["classical_needed"]
    # Label that many items (from the same population) and the interval is about that wide.
    rng = np.random.default_rng(3)
    truth = judge - 0.5  # the pool's judge minus its bias: close to the truth
    chosen = rng.choice(len(judge), size=int(plan["labels_needed"]), replace=False)
    width = calibration.ppi_mean(judge, truth.iloc[chosen] + rng.normal(0, 0.3, len(chosen))).width
    assert width == pytest.approx(0.2, rel=0.2)


def test_an_unreachable_width_is_said(pool: tuple[pd.Series, pd.Series]) -> None:
    judge, human = pool
    plan = calibration.ppi_plan(judge.iloc[:200], human[human.index.isin(judge.index[:200])], 0.01)
    assert not plan.iloc[0]["reachable"] and "out of reach" in plan.iloc[0]["notes"]
