"""The MedThinkVQA step-3 agreement (benluwang/MedThinkVQA data_processing/step3_agreement.py:
`_agreement`, `_phi_mcc`, `_cohens_kappa`, `_confusion_counts`), pinned on cases computed by
hand with those functions' formulas."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from calibration.step_protocol import protocol_agreement, step_protocol_table

# gold (human) and pred (judge) on 8 steps: TP 4, TN 2, FP 1, FN 1.
GOLD = [True, True, True, False, False, True, False, True]
PRED = [True, True, False, False, True, True, False, True]


def test_the_protocols_statistics_on_a_hand_computed_case() -> None:
    got = protocol_agreement(GOLD, PRED)
    assert (got["tp"], got["tn"], got["fp"], got["fn"]) == (4, 2, 1, 1)
    assert got["n_pairs"] == 8
    # agreement = (tp + tn) / n = 6 / 8.
    assert got["agreement"] == pytest.approx(0.75)
    # phi = (tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)) = (8 - 1) / sqrt(5*5*3*3) = 7/15.
    assert got["phi_mcc"] == pytest.approx(7 / 15)
    # kappa: po = 6/8, p_true = p_pred = 5/8, pe = 25/64 + 9/64 = 34/64 -> (48-34)/(64-34).
    assert got["cohens_kappa"] == pytest.approx(14 / 30)


def test_undefined_where_the_protocol_says_nan() -> None:
    # Every step factual for both: the protocol's phi denominator and 1 - pe are 0 -> NaN
    # (sklearn's matthews_corrcoef alone would report 0.0 here).
    got = protocol_agreement([True] * 4, [True] * 4)
    assert got["agreement"] == 1.0
    assert math.isnan(got["phi_mcc"]) and math.isnan(got["cohens_kappa"])
    # One rater constant, the other not: phi is NaN (an empty margin), kappa is 0.
    mixed = protocol_agreement([True, False, True, False], [True] * 4)
    assert math.isnan(mixed["phi_mcc"]) and mixed["cohens_kappa"] == pytest.approx(0.0)
    assert math.isnan(protocol_agreement([], [])["agreement"])


def test_the_table_pairs_each_judge_with_the_human_majority_per_step() -> None:
    rows = []
    for i, (g, p) in enumerate(zip(GOLD, PRED, strict=True)):
        item, step = f"case{i // 4}", i % 4 + 1
        rows.append(("judge-a", "judge", item, step, float(p)))
        for rater in ("dr_a", "dr_b", "dr_c"):  # dr_c dissents on step 1 of case0 only
            dissent = rater == "dr_c" and (item, step) == ("case0", 1)
            rows.append((rater, "human", item, step, float(g != dissent)))
    long = pd.DataFrame(rows, columns=["rater", "rater_kind", "item", "step", "score"])
    long["criterion"] = "is_factual"
    table = step_protocol_table(long)
    assert len(table) == 1
    row = table.iloc[0]
    assert row["judge"] == "judge-a" and row["n_pairs"] == 8
    assert row["phi_mcc"] == pytest.approx(7 / 15)
    assert row["cohens_kappa"] == pytest.approx(14 / 30)
