"""The run summary: n scored per criterion, and no per-value table for continuous scores."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_by_slices_match_an_independent_count(tmp_path: Path) -> None:
    import json

    fixture = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
    base = json.loads(fixture.read_text().splitlines()[0])
    plan = [("CT", "A"), ("CT", "B"), ("CT", "C"), ("MRI", "A"), ("MRI", base["correct_answer"])]
    rows = [
        {**base, "title": f"case {i}", "modality": modality, "prediction": letter}
        for i, (modality, letter) in enumerate(plan)
    ]
    rows.append({**base, "title": "no modality", "prediction": base["correct_answer"]})
    result = judge.score(rows, "ddx", by="modality")
    correct = base["correct_answer"]
    expected = {
        "CT": (3, sum(letter == correct for _, letter in plan[:3]) / 3),
        "MRI": (2, sum(letter == correct for _, letter in plan[3:]) / 2),
        "(missing)": (1, 1.0),
    }
    got = {s.value: (s.n, s.means["final_answer"]) for s in result.summary.slices}
    assert got.keys() == expected.keys()
    for value, (n, mean) in expected.items():
        assert got[value][0] == n and got[value][1] == pytest.approx(mean)


def test_reasons_quoting_each_item_stay_bounded(tmp_path: Path) -> None:
    import json

    from judge.aggregate.summary import MAX_REASONS, OTHER_REASONS
    from judge.judging.engine import PermanentError

    rows = [json.loads(line) for line in STRONG.read_text().splitlines()]
    n = MAX_REASONS + 100
    items = tmp_path / "many.jsonl"
    items.write_text("".join(json.dumps(_variant(rows[i % len(rows)], i)) + "\n" for i in range(n)))
    calls = 0

    async def refuse(**_: object) -> None:
        nonlocal calls
        calls += 1
        raise PermanentError(f"bad request (request id {calls:06d})")  # unique per call

    result = judge.score(
        items,
        "ddx",
        complete=refuse,
        judges=["x/a"],
        attempts=1,
        cache=False,  # type: ignore[arg-type]
    )
    row = next(c for c in result.summary.criteria if c.id == "evidence_grounding")
    assert row.n_unscored == n
    assert row.reasons[OTHER_REASONS] == n - MAX_REASONS  # the rest share one entry


def _variant(row: dict[str, object], i: int) -> dict[str, object]:
    # A distinct prompt per item, so no two items share one call.
    return {**row, "title": f"case {i}", "CLINICAL_HISTORY": f"{row['CLINICAL_HISTORY']} ({i})"}


def test_the_run_summary_and_the_report_agree_on_each_criterions_alpha() -> None:
    """One mapping of scale type to α level (calibration.levels): the terminal summary's α
    among judges equals the report's, on an ordinal and a binary criterion."""
    import random

    from judge.aggregate.summary import SummaryBuilder
    from judge.contracts import Judgment, ResultRecord
    from judge.contracts.results import RubricRef
    from judge.frame import records_frame
    from judge.load.rubric import load_rubric
    from judge.report.data import criteria_of, judge_alpha

    rubric = load_rubric("ddx")
    shown = {"coherence": [1, 2, 3, 4, 5], "hallucination": [0, 1]}
    rng = random.Random(5)
    builder = SummaryBuilder(rubric)
    records = []
    for n in range(40):
        judgments = []
        for criterion, levels in shown.items():
            truth = rng.choice(levels)
            for judge_id in ("openai/a", "openai/b", "openai/c"):
                score = truth if rng.random() < 0.7 else rng.choice(levels)
                judgments.append(
                    Judgment(criterion=criterion, judge=judge_id, status="scored", score=score)
                )
        record = ResultRecord(
            id=f"case-{n}",
            line=n + 1,
            status="partial",
            scores={c: None for c in shown},
            judgments=judgments,
            judges=["openai/a", "openai/b", "openai/c"],
            rubric=RubricRef(id="ddx", version=rubric.version, hash="x"),
            prompt_hash="p",
            judge_version="0",
            created_at="2026-01-01T00:00:00Z",
        )
        builder.add(record)
        records.append(record)
    summary = {c.id: c.alpha for c in builder.build().criteria}
    report = judge_alpha(records_frame(records), criteria_of(records, rubric), n_boot=0)
    levels = dict(zip(report["criterion"], report["level"], strict=True))
    assert levels == {"coherence": "ordinal", "hallucination": "nominal"}
    for row in report.to_dict("records"):
        assert summary[row["criterion"]] == pytest.approx(row["alpha"], abs=1e-12)
