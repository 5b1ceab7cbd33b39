"""α from pattern counts equals the krippendorff package's α on the expanded table."""

from __future__ import annotations

import math
from collections import Counter

import krippendorff
import numpy as np
import pytest

from calibration import CalibrationError, alpha_from_patterns


def _expanded(patterns: Counter[tuple]) -> np.ndarray:
    rows = [p for p, n in patterns.items() for _ in range(n)]
    return np.array([[np.nan if s is None else s for s in row] for row in rows], dtype=float).T


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_matches_the_package_on_random_tables(level: str) -> None:
    rng = np.random.default_rng(7)
    truth = rng.integers(1, 6, size=400)
    table = np.clip(truth[:, None] + rng.integers(-1, 2, size=(400, 3)), 1, 5).astype(object)
    table[rng.random(table.shape) < 0.1] = None
    patterns = Counter(tuple(None if v is None else int(v) for v in row) for row in table)
    expected = krippendorff.alpha(
        reliability_data=_expanded(patterns),
        level_of_measurement=level,
        value_domain=[1, 2, 3, 4, 5],
    )
    assert alpha_from_patterns(patterns, [1, 2, 3, 4, 5], level) == pytest.approx(expected)


def test_text_labels_are_coded_by_position_at_the_nominal_level() -> None:
    patterns = Counter({("yes", "yes"): 5, ("no", "no"): 4, ("yes", "no"): 1})
    coded = Counter({(1.0, 1.0): 5, (0.0, 0.0): 4, (1.0, 0.0): 1})
    expected = krippendorff.alpha(reliability_data=_expanded(coded), level_of_measurement="nominal")
    assert alpha_from_patterns(patterns, ["no", "yes"], "nominal") == pytest.approx(expected)


def test_undefined_and_bad_input() -> None:
    assert math.isnan(alpha_from_patterns(Counter({(3, 3): 10}), [1, 2, 3, 4, 5]))
    assert math.isnan(alpha_from_patterns(Counter(), [1, 2]))
    with pytest.raises(CalibrationError, match="not in the scale"):
        alpha_from_patterns(Counter({(7, 1): 1}), [1, 2, 3])
    with pytest.raises(CalibrationError, match="one score per rater"):
        alpha_from_patterns(Counter({(1, 1): 1, (1,): 1}), [1, 2])
