"""Every statistic against a published worked example; the source is cited beside each value.

The expected numbers are the ones printed in the sources, to the precision printed there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import calibration
from calibration.multirater import fleiss, icc
from calibration.pairwise import kappas

NAN = np.nan

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
# Communication, University of Pennsylvania. The worked example "nominal data, any number of
# observers, missing data": 4 observers × 12 units, values 1–5; the paper reuses the same
# matrix for its ordinal, interval and ratio examples. (The `krippendorff` package's own tests pin
# 0.743, 0.815 and 0.797 on this matrix.) Rows = observers A–D, columns = units 1–12.
KRIPPENDORFF_2011_C = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("nominal", 0.743),  # Krippendorff (2011), nominal example: α = 0.743
        ("ordinal", 0.815),  # Krippendorff (2011), same data, ordinal metric: α = 0.815
        ("interval", 0.849),  # Krippendorff (2011), same data, interval metric: α = 0.849
        ("ratio", 0.797),  # Krippendorff (2011), same data, ratio metric: α = 0.797
    ],
)
def test_alpha_krippendorff_2011(level: str, expected: float) -> None:
    wide = pd.DataFrame(KRIPPENDORFF_2011_C.T, columns=["A", "B", "C", "D"])
    result = calibration.alpha(wide, level=level, n_boot=200)
    assert round(result.value, 3) == expected
    # Unit 12 has one value (not pairable), so 11 units enter; 4 observers.
    assert (result.n_items, result.n_raters) == (11, 4)
    assert result.low <= result.value <= result.high


def test_alpha_krippendorff_2011_binary() -> None:
    # Krippendorff (2011), worked example "binary data, two observers, no missing data":
    # observers A and B on 10 units; α = 0.095.
    wide = pd.DataFrame({"A": [0, 1, 0, 0, 0, 0, 0, 0, 1, 0], "B": [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]})
    assert round(calibration.alpha(wide, level="nominal", n_boot=0).value, 3) == 0.095


# Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
# Bulletin 76(5), 378–382, Table 1: 30 patients, 6 psychiatrists, 5 diagnoses (1 depression,
# 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other). Rows as transcribed in
# statsmodels' test_inter_rater.py (`diagnoses`); the paper reports κ = .430.
FLEISS_1971 = np.array(
    [
        [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
    ],
    dtype=float,
)  # fmt: skip


def test_fleiss_kappa_fleiss_1971() -> None:
    result = fleiss(FLEISS_1971)
    assert result.reason is None and result.n_items == 30
    assert round(result.value, 3) == 0.430  # Fleiss (1971), overall κ for Table 1: .430


# Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
# reliability. Psychological Bulletin 86(2), 420–428, Table 2: 6 targets × 4 judges.
SHROUT_FLEISS_1979 = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    dtype=float,
)


def test_icc_shrout_fleiss_1979() -> None:
    result = icc(SHROUT_FLEISS_1979)
    assert result.reason is None and result.n_items == 6
    forms = result.values
    # Shrout & Fleiss (1979): the six ICCs the paper reports for its Table 2 data.
    expected = {"icc1": 0.17, "icc2": 0.29, "icc3": 0.71,
                "icc1k": 0.44, "icc2k": 0.62, "icc3k": 0.91}  # fmt: skip
    assert {k: round(v, 2) for k, v in forms.items()} == expected


def _from_table(table: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Rater-B and rater-A labels (1..g) reconstructed from a g × g frequency table."""
    a, b = [], []
    for i, row in enumerate(table, start=1):
        for j, count in enumerate(row, start=1):
            a += [i] * count
            b += [j] * count
    return np.array(b, dtype=float), np.array(a, dtype=float)


def test_cohen_kappa_altman_radiologists() -> None:
    # Altman, D. G. (1991). Practical Statistics for Medical Research. Chapman & Hall.
    # Table 14.2: 85 xeromammograms, radiologist A (rows) × B (columns), categories normal,
    # benign, suspected cancer, cancer (Boyd et al., 1982). Section 14.3.1: κ = 0.47;
    # section 14.3.3: weighted κ_w = 0.57 with weights 1 − |i − j| / (g − 1) (linear).
    table = [[21, 12, 0, 0], [4, 17, 1, 0], [3, 9, 15, 2], [0, 0, 0, 1]]
    judge, human = _from_table(table)
    stats, _ = kappas(judge, human, labels=[1.0, 2.0, 3.0, 4.0], ordered=True)
    assert round(stats["kappa"], 2) == 0.47
    assert round(stats["kappa_linear"], 2) == 0.57


def test_cohen_kappa_altman_mast_rast() -> None:
    # Altman (1991), Table 14.3: MAST (rows) × RAST (columns) allergy tests on 363 sera,
    # five ordered grades. Section 14.3.1: κ = 0.32; section 14.3.3: κ_w = 0.56 (linear).
    table = [[86, 3, 14, 0, 2], [26, 0, 10, 4, 0], [20, 2, 22, 4, 1],
             [11, 1, 37, 16, 14], [3, 0, 15, 24, 48]]  # fmt: skip
    judge, human = _from_table(table)
    stats, _ = kappas(judge, human, labels=[1.0, 2.0, 3.0, 4.0, 5.0], ordered=True)
    assert round(stats["kappa"], 2) == 0.32
    assert round(stats["kappa_linear"], 2) == 0.56


def test_quadratic_kappa_matches_statsmodels() -> None:
    # No printed quadratic value in the sources above, so this one is a cross-check of
    # sklearn (used by calibration) against statsmodels' independent implementation.
    from statsmodels.stats.inter_rater import cohens_kappa

    table = [[21, 12, 0, 0], [4, 17, 1, 0], [3, 9, 15, 2], [0, 0, 0, 1]]
    judge, human = _from_table(table)
    stats, _ = kappas(judge, human, labels=[1.0, 2.0, 3.0, 4.0], ordered=True)
    reference = cohens_kappa(np.array(table), wt="quadratic").kappa
    assert stats["kappa_quadratic"] == pytest.approx(reference, abs=1e-12)
