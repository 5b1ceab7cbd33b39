"""The run summary: n scored per criterion, and no per-value table for continuous scores."""

from __future__ import annotations

from pathlib import Path

import judge

STRONG = Path(__file__).parents[2] / "examples" / "predictions" / "strong.jsonl"


def test_continuous_scores_are_counted_without_a_per_value_table() -> None:
    result = judge.score(STRONG, "twi")
    by_id = {c.id: c for c in result.summary.criteria}
    step2 = by_id["step2_rouge1"]
    assert step2.n_scored + step2.n_unscored == 12
    assert step2.n_scored > 0 and step2.counts == {}
    assert step2.mean is not None and 0 < step2.mean < 1


def test_discrete_scores_keep_their_level_counts() -> None:
    result = judge.score(STRONG, "ddx")
    final = next(c for c in result.summary.criteria if c.id == "final_answer")
    assert final.n_scored == 12 and final.counts == {"1": 12}
