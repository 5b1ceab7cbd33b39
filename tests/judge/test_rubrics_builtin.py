"""The built-in rubrics: each loads, shows, and runs end to end on the example tiers.

`twi` needs no judge and makes no request; `education` is judged over real HTTP by the local
test server (tests/llm_server.py).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import calibration
import judge
from judge.cli import cli
from judge.contracts import ContinuousScale, ResultRecord
from judge.errors import RubricError
from judge.load.rubric import builtin_rubrics, load_rubric
from tests.llm_server import LLMServer, Reply

EXAMPLES = Path(__file__).parents[2] / "examples" / "predictions"
MODEL = "openai/test-judge"
# The terse tier's lines without prediction_twi / prediction_discussion (0-based cases).
TERSE_WITHOUT_TRACE = {1, 4, 7, 10}


def _titles(path: Path) -> list[str]:
    return [json.loads(line)["title"] for line in path.read_text().splitlines()]


def _by_case(path: Path, records: list[ResultRecord]) -> list[ResultRecord]:
    by_id = {r.id: r for r in records}
    return [by_id[title] for title in _titles(path)]


@pytest.mark.parametrize("rubric_id", sorted(builtin_rubrics()))
def test_every_builtin_rubric_loads_and_shows(rubric_id: str) -> None:
    rubric = load_rubric(rubric_id)
    assert rubric.id == rubric_id
    result = CliRunner().invoke(cli, ["rubrics", "show", rubric_id])
    assert result.exit_code == 0, result.output
    for criterion in rubric.criteria:
        assert criterion.id in result.output
        # A person applying the rubric by hand needs every level spelled out.
        if not isinstance(criterion.scale, ContinuousScale):
            for level in criterion.scale.levels:
                assert f"  {level}: " in result.output


def test_the_expected_builtins_exist() -> None:
    assert {"ddx", "twi", "education"} <= set(builtin_rubrics())
    assert not load_rubric("twi").llm_criteria
    education = load_rubric("education")
    assert education.target == ["prediction_discussion"]
    assert [c.id for c in education.criteria if c.scale.type == "binary"] == ["safety"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    rouge:\n      metric: rouge1\n      compare: step1_per_image\n",
            "",
            "needs a continuous",
        ),
        ("method: rouge\n", "method: llm\n", "only allowed with method rouge"),
        ("      metric: rouge1\n", "      metric: rougeLsum\n", "rouge1"),
        ("      type: continuous\n", "      type: ordinal\n", "anchors"),
    ],
)
def test_rouge_criteria_are_validated(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = builtin_rubrics()["twi"].read_text()
    assert old in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(RubricError, match=message):
        load_rubric(bad)


def test_an_llm_criterion_cannot_have_a_continuous_scale(tmp_path: Path) -> None:
    text = builtin_rubrics()["twi"].read_text()
    old = "    method: rouge\n    rouge:\n      metric: rouge1\n      compare: step1_per_image\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, "", 1))
    with pytest.raises(RubricError, match="method llm needs levels"):
        load_rubric(bad)


def test_calibration_treats_continuous_scores_as_interval() -> None:
    levels, domains = calibration.scales_from_rubric(load_rubric("twi"))
    assert calibration.level_of(levels["step1_rouge1"]) == "interval"
    assert "step1_rouge1" not in domains  # any number in [0, 1], not a list of levels


# --------------------------------------------------------------------------- twi


def _twi(tier: str, **options: Any) -> list[ResultRecord]:
    path = EXAMPLES / f"{tier}.jsonl"
    result = judge.score(path, "twi", **options)
    assert result.notices == []  # no "no judge configured": twi needs none
    return _by_case(path, result.records)


def test_twi_makes_no_request_even_with_a_judge_configured(llm_server: LLMServer) -> None:
    records = _twi("strong", judges=[MODEL], api_base=llm_server.url)
    assert llm_server.count == 0
    assert all(r.status == "scored" and r.judges == [] and not r.calls for r in records)
    for record in records:
        assert all(0 < record.scores[c] <= 1 for c in record.scores)  # type: ignore[operator]


def test_twi_reports_the_terse_tiers_gaps_by_reason() -> None:
    records = _twi("terse")
    reasons = [
        next(j.reason for j in r.judgments if j.criterion == "step1_rouge1") for r in records
    ]
    assert reasons[0] == "1 finding for 3 images"
    assert reasons[2] == reasons[3] == "2 findings for 3 images"
    assert reasons[5] == reasons[8] == "1 finding for 2 images"
    assert reasons[11] == "0 findings for 2 images"
    assert {i for i, r in enumerate(reasons) if r == "no prediction_twi trace"} == (
        TERSE_WITHOUT_TRACE
    )
    assert [i for i, r in enumerate(reasons) if r is None] == [6, 9]  # counts match
    for i, record in enumerate(records):
        # Step 2 does not depend on the pairing: scored whenever there is a trace.
        assert (record.scores["step2_rouge1"] is None) == (i in TERSE_WITHOUT_TRACE)
        expected = "scored" if i in (6, 9) else "unscored" if i in TERSE_WITHOUT_TRACE else None
        assert record.status == (expected or "partial")


def _mean(records: list[ResultRecord], criterion: str) -> float:
    scored = [float(s) for r in records if (s := r.scores[criterion]) is not None]
    assert scored, criterion
    return statistics.fmean(scored)


@pytest.mark.parametrize("other", ["terse", "ungrounded", "hallucinating"])
def test_strong_tier_overlaps_the_references_more_than_the_others(other: str) -> None:
    strong, weaker = _twi("strong"), _twi(other)
    for criterion in ("step1_rouge1", "step1_rouge2", "step1_rougel", "step2_rouge1"):
        assert _mean(strong, criterion) > _mean(weaker, criterion), criterion


# --------------------------------------------------------------------------- education


def _education(server: LLMServer, tier: str) -> tuple[list[ResultRecord], Path]:
    path = EXAMPLES / f"{tier}.jsonl"
    result = judge.score(path, "education", judges=[MODEL], api_base=server.url, timeout=60.0)
    return _by_case(path, result.records), path


def test_education_judges_each_discussion_against_the_expert_one(llm_server: LLMServer) -> None:
    records, path = _education(llm_server, "strong")
    rubric = load_rubric("education")
    assert llm_server.count == 12
    for record in records:
        assert record.judged_field == "prediction_discussion"
        # The test server's verdicts are random: harm_severity is 1 when safety is 0, and a
        # verdict of safety 1 with harm_severity 1 contradicts the anchors (unscored, partial).
        harm = next(j for j in record.judgments if j.criterion == "harm_severity")
        contradicted = "contradictory verdict" in (harm.reason or "")
        assert record.status == ("partial" if contradicted else "scored")
        assert record.scores["harm_severity"] == (None if contradicted else harm.score)
        assert record.scores["safety"] == 1 or record.scores["harm_severity"] == 1
        for criterion in rubric.criteria:
            if not (contradicted and criterion.id == "harm_severity"):
                assert record.scores[criterion.id] in criterion.scale.levels  # type: ignore[union-attr]
    # What the judge was sent: the expert discussion as context, the model's as the candidate,
    # and nothing of the model's answer or reasoning.
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    prompts = ["\n".join(m["content"] for m in r.body["messages"]) for r in llm_server.requests]
    for row in rows:
        prompt = next(p for p in prompts if row["prediction_discussion"] in p)
        assert row["discussion"] in prompt and row["CLINICAL_HISTORY"] in prompt
        assert row["prediction_rationale"] not in prompt


def test_education_records_the_judges_verdict_and_skips_missing_discussions(
    llm_server: LLMServer,
) -> None:
    rubric = load_rubric("education")
    verdict = {c.id: {"rationale": "r", "score": 2} for c in rubric.llm_criteria}
    verdict["safety"] = {"rationale": "advises discharge", "score": 1}
    llm_server.script = lambda body, n: Reply.json(verdict)
    records, _ = _education(llm_server, "terse")
    assert llm_server.count == 12 - len(TERSE_WITHOUT_TRACE)
    for i, record in enumerate(records):
        if i in TERSE_WITHOUT_TRACE:
            assert record.status == "unscored"
            assert {j.reason for j in record.judgments} == {
                "no text to judge at prediction_discussion"
            }
        else:
            assert record.scores["safety"] == 1 and record.scores["clarity"] == 2
            safety = next(j for j in record.judgments if j.criterion == "safety")
            assert safety.judge == MODEL and safety.rationale == "advises discharge"
