"""`calibration.alpha`: input shapes, reproducibility and every undefined case."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import calibration


@pytest.fixture
def wide() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    quality = rng.integers(1, 6, size=60)
    raters = {f"r{k}": np.clip(quality + rng.integers(-1, 2, size=60), 1, 5) for k in range(3)}
    frame = pd.DataFrame(raters, index=[f"item-{i}" for i in range(60)]).astype(float)
    frame.iloc[::7, 1] = np.nan
    return frame


def test_wide_and_long_give_the_same_result(wide: pd.DataFrame) -> None:
    long = calibration.from_wide(wide, criterion="quality")
    a = calibration.alpha(wide, n_boot=300, seed=2)
    b = calibration.alpha(long, n_boot=300, seed=2)
    assert (a.value, a.low, a.high) == (b.value, b.low, b.high)
    assert (a.n_items, a.n_raters) == (60, 3)
    assert a.low < a.value < a.high


def test_same_seed_same_interval_other_seed_other_interval(wide: pd.DataFrame) -> None:
    first = calibration.alpha(wide, seed=1)
    assert first == calibration.alpha(wide, seed=1)
    assert (first.low, first.high) != (
        calibration.alpha(wide, seed=2).low,
        calibration.alpha(wide, seed=2).high,
    )


def test_wider_confidence_gives_a_wider_interval(wide: pd.DataFrame) -> None:
    narrow = calibration.alpha(wide, ci=0.5)
    broad = calibration.alpha(wide, ci=0.99)
    assert broad.low < narrow.low and narrow.high < broad.high


def test_step_level_items_are_distinct_units() -> None:
    long = pd.DataFrame(
        {
            "item": ["c1", "c1", "c1", "c1", "c2", "c2"],
            "step": [1, 1, 2, 2, 1, 1],
            "criterion": "grounding",
            "rater": ["a", "b", "a", "b", "a", "b"],
            "rater_kind": "human",
            "score": [1, 1, 3, 3, 2, 1],
        }
    )
    result = calibration.alpha(long, level="interval", n_boot=0)
    assert result.n_items == 3  # c1#1, c1#2, c2#1
    assert calibration.to_wide(calibration.normalize_long(long)).index.tolist() == [
        "c1#1",
        "c1#2",
        "c2#1",
    ]


def test_nominal_text_labels(wide: pd.DataFrame) -> None:
    labels = wide.map(lambda v: np.nan if np.isnan(v) else ("low", "mid", "high")[int(v) % 3])
    as_codes = wide.map(lambda v: np.nan if np.isnan(v) else float(int(v) % 3))
    text = calibration.alpha(labels, level="nominal", n_boot=0)
    codes = calibration.alpha(as_codes, level="nominal", n_boot=0)
    assert text.value == pytest.approx(codes.value)


@pytest.mark.parametrize(
    ("frame", "level", "reason"),
    [
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), "ordinal", "fewer than two raters"),
        (
            pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, 2.0]}),
            "ordinal",
            "no item was rated by two raters",
        ),
        (pd.DataFrame({"a": [3.0, 3.0], "b": [3.0, 3.0]}), "ordinal", "identical"),
        (pd.DataFrame({"a": ["good", "bad"], "b": ["good", "good"]}), "ordinal", "non-numeric"),
    ],
)
def test_undefined_alpha_is_nan_with_a_reason(frame: pd.DataFrame, level: str, reason: str) -> None:
    result = calibration.alpha(frame, level=level)
    assert math.isnan(result.value) and math.isnan(result.low) and math.isnan(result.high)
    assert result.reason is not None and reason in result.reason
    assert "undefined" in str(result)


def test_bad_arguments_raise_calibration_errors(wide: pd.DataFrame) -> None:
    with pytest.raises(calibration.CalibrationError, match="level must be one of"):
        calibration.alpha(wide, level="cardinal")
    with pytest.raises(calibration.CalibrationError, match="ci must be between"):
        calibration.alpha(wide, ci=95)
    with pytest.raises(ValueError, match="select one criterion"):
        calibration.alpha(pd.concat([calibration.from_wide(wide, criterion=c) for c in "xy"]))


def test_scores_outside_the_given_scale_are_refused(wide: pd.DataFrame) -> None:
    result = calibration.alpha(wide, domain=[1, 2, 3])
    assert math.isnan(result.value)
    assert result.reason is not None and "outside the scale" in result.reason
