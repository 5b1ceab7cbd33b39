"""Multi-stage rubrics (ddx-steps) end to end over real HTTP to the local test server: the
split, the per-step verdicts, the measures, the fallback, a panel, resume and calibration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import krippendorff
import pandas as pd
import pytest

import judge
from calibration import agreement, load_judge_results
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply, find_schema

FIXTURES = Path(__file__).parents[1] / "fixtures"
PREDICTIONS = FIXTURES / "predictions.jsonl"
MODEL = "openai/test-judge"
STEPS = [
    "Papilloedema and headache suggest raised intracranial pressure.",
    "The MRI shows a ring-enhancing lesion in the left frontal lobe.",
    "Meningioma is ruled out because the lesion is intra-axial.",
]
FACTUAL, NONFACTUAL, MISSING = "factual", "nonfactual", "missing"


def verdict(step: int, kind: str) -> dict[str, Any]:
    factual = kind == FACTUAL
    return {
        "step": step,
        "explanation": "Supported." if factual else "Not in the case.",
        "is_factual": factual,
        "is_critical": step == 1 or not factual,
        "error_types": [] if factual else ["Image Understanding Err", "Reasoning Err"],
        # Step 1 addresses options A and B, the others C; the correct answer (A) is left out.
        "options_addressed": ["A", "B"] if step == 1 else ["C"],
    }


def is_split(body: dict[str, Any]) -> bool:
    """Whether a request is stage 1's: its reply schema is a list of strings."""
    schema, _ = find_schema(body)
    assert schema is not None
    return schema["properties"]["steps"]["items"].get("type") == "string"


def scripted(plan: list[str], steps: list[str] = STEPS) -> Any:
    """Stage 1 answers `steps`; stage 2 one verdict per step as `plan` says."""

    def reply(body: dict[str, Any], n: int) -> Reply:
        if is_split(body):
            return Reply.json({"steps": steps})
        kinds = [(i + 1, k) for i, k in enumerate(plan) if k != MISSING]
        return Reply.json({"steps": [verdict(i, k) for i, k in kinds]})

    return reply


def _score(server: LLMServer, out: Path, **options: Any) -> judge.run.RunResult:
    options = {"judges": [MODEL], "api_base": server.url, "timeout": 5.0, **options}
    return judge.score(PREDICTIONS, "ddx-steps", out=out, **options)


def _chat(server: LLMServer) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.path.endswith("/chat/completions")]


def test_steps_are_judged_one_by_one_and_measured(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.script = scripted([FACTUAL, NONFACTUAL, FACTUAL])
    out = tmp_path / "results.jsonl"
    result = _score(llm_server, out)
    records = list(iter_records(out))
    assert len(records) == 3 and len(_chat(llm_server)) == 6  # two stages per item
    record = records[0]
    assert record.status == "scored"
    assert record.segments["steps"].units == STEPS
    assert record.segments["steps"].source == MODEL
    steps = {(j.criterion, j.step): j for j in record.judgments if j.step is not None}
    assert steps[("is_factual", 2)].score == 0 and steps[("is_factual", 1)].score == 1
    assert steps[("error_types", 2)].score == ["Image Understanding Err", "Reasoning Err"]
    assert ("error_types", 1) not in steps  # asked only of a step that is not factual
    assert steps[("is_critical", 1)].rationale == "Supported."
    scores = record.scores
    assert scores["step_count"] == 3
    assert scores["factual_ratio"] == pytest.approx(2 / 3, abs=1e-4)
    assert scores["nonfactual_critical_steps"] == 1
    assert scores["image_understanding_errors"] == 1 and scores["reasoning_errors"] == 1
    assert scores["medical_knowledge_errors"] == 0 and scores["clinical_scenario_errors"] == 0
    by_id = {c.id: c for c in result.summary.criteria}
    assert by_id["step_count"].mean == 3 and by_id["step_count"].n_scored == 3


def test_the_judge_sees_the_numbered_steps_in_their_own_fence(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.script = scripted([FACTUAL] * 3)
    _score(llm_server, tmp_path / "r.jsonl")
    second = [b for b in _chat(llm_server) if not is_split(b)]
    user = second[0]["messages"][-1]["content"]
    assert "<<<STEPS " in user and f"3. {STEPS[2]}" in user
    fences = {line.split()[-1] for line in user.splitlines() if line.startswith("<<<")}
    assert len(fences) == 2  # the candidate's fence and the steps' fence differ


def test_a_missing_step_verdict_is_unscored_never_false(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.script = scripted([FACTUAL, MISSING, NONFACTUAL])
    _score(llm_server, tmp_path / "r.jsonl")
    record = next(iter_records(tmp_path / "r.jsonl"))
    missing = [j for j in record.judgments if j.step == 2]
    assert {j.criterion for j in missing} == {
        "is_factual",
        "is_critical",
        "error_types",
        "options_addressed",
    }
    assert all(
        j.status == "unscored" and "no verdict for step 2" in (j.reason or "") for j in missing
    )
    assert record.scores["factual_ratio"] == 0.5  # of the two steps with a verdict
    assert record.scores["step_count"] == 3
    assert record.scores["nonfactual_critical_steps"] is None  # cannot count an unknown step
    assert record.status == "partial"


def test_a_failed_split_falls_back_to_sentences_and_says_so(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    def reply(body: dict[str, Any], n: int) -> Reply:
        if is_split(body):
            return Reply.text("this is not JSON")
        return Reply.json({"steps": [verdict(i, FACTUAL) for i in range(1, 16)]})

    llm_server.script = reply
    _score(llm_server, tmp_path / "r.jsonl", validation_retries=0)
    for record in iter_records(tmp_path / "r.jsonl"):
        segments = record.segments["steps"]
        assert segments.source == "sentences"
        assert MODEL in (segments.reason or "") and "did not split" in (segments.reason or "")
        assert 1 <= len(segments.units) <= 15
        assert record.scores["step_count"] == len(segments.units)
        assert record.scores["factual_ratio"] == 1.0
    rationale = json.loads(PREDICTIONS.read_text().splitlines()[0])
    text = rationale["prediction_twi"]["step3_differential_reasoning"]
    records = iter_records(tmp_path / "r.jsonl")
    first = next(r for r in records if r.line == 1).segments["steps"].units
    assert " ".join(first).split() == text.split()  # every word kept, none added


def test_a_panel_rates_the_same_steps_and_votes_per_step(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    plans = {
        "judge-a": [FACTUAL, FACTUAL, NONFACTUAL],
        "judge-b": [FACTUAL, NONFACTUAL, NONFACTUAL],
    }
    scripts = {name: scripted(plan) for name, plan in plans.items()}
    llm_server.script = lambda body, n: scripts[body["model"]](body, n)
    out = tmp_path / "r.jsonl"
    # Listed in reverse order: the split is still made by the first judge by name.
    result = _score(llm_server, out, judges=["openai/judge-b", "openai/judge-a"])
    splits = [b["model"] for b in _chat(llm_server) if is_split(b)]
    assert splits == ["judge-a"] * 3  # one split per item, shared by the panel
    record = next(iter_records(out))
    assert record.segments["steps"].source == "openai/judge-a"
    assert len([j for j in record.judgments if j.criterion == "is_factual"]) == 6
    # Step 2 is a tie (1 vs 0): no verdict, so it leaves the ratio and unscores the counts.
    assert record.scores["factual_ratio"] == 0.5
    assert record.scores["nonfactual_critical_steps"] is None
    assert record.scores["step_count"] == 3
    # The summary's α among judges on is_factual takes each item x step as a unit.
    factual = next(c for c in result.summary.criteria if c.id == "is_factual")
    expected = krippendorff.alpha(
        reliability_data=[[1, 1, 0] * 3, [1, 0, 0] * 3], level_of_measurement="nominal"
    )
    assert factual.alpha == pytest.approx(expected)
    assert factual.n_scored == 18 and factual.mean == pytest.approx(9 / 18)


def test_rerun_sends_nothing_and_keeps_the_records(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.script = scripted([FACTUAL, NONFACTUAL, FACTUAL])
    out = tmp_path / "r.jsonl"
    _score(llm_server, out)
    sent = len(_chat(llm_server))
    again = _score(llm_server, out)
    assert len(_chat(llm_server)) == sent
    assert again.resumed == 3 and again.judged == 0
    assert len(out.read_text().splitlines()) == 3


def test_step_level_verdicts_feed_calibration(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.script = scripted([FACTUAL, NONFACTUAL, FACTUAL])
    out = tmp_path / "r.jsonl"
    _score(llm_server, out)
    frame = load_judge_results(out)
    factual = frame[frame["criterion"] == "is_factual"].sort_values(["item", "step"])
    assert sorted(factual["step"].unique()) == [1, 2, 3]
    assert len(factual) == 9  # 3 items x 3 steps, each its own unit
    humans = factual.assign(rater="dr_a", rater_kind="human")
    flipped = humans.index[0]
    humans.loc[flipped, "score"] = 1 - humans.loc[flipped, "score"]
    table = agreement(pd.concat([factual, humans]), levels={"is_factual": "nominal"}, n_boot=50)
    # The same α straight from the krippendorff package, units = item x step.
    expected = krippendorff.alpha(
        reliability_data=[factual["score"].to_list(), humans["score"].to_list()],
        level_of_measurement="nominal",
    )
    assert table.loc[table.index[0], "alpha_with_judge"] == pytest.approx(expected)
    assert expected < 1.0


def test_the_splitter_sees_no_options_answer_key_or_discussion(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    # MedThinkVQA step3_splitter.py shows title, history and findings "for referent clarity
    # only"; 0.1 also showed the options, the answer key and the discussion.
    llm_server.script = scripted([FACTUAL] * 3)
    _score(llm_server, tmp_path / "r.jsonl")
    case = json.loads(PREDICTIONS.read_text().splitlines()[0])
    splits = [b for b in _chat(llm_server) if is_split(b)]
    first = next(b for b in splits if case["CLINICAL_HISTORY"] in json.dumps(b))
    sent = "\n".join(m["content"] for m in first["messages"])
    assert case["title"] in sent and case["IMAGING_FINDINGS"] in sent
    for hidden in ("Candidate diagnoses", "Correct answer", "Expert discussion", "captions"):
        assert hidden not in sent
    assert case["discussion"] not in sent
    assert "Mesenteric adenitis" not in sent and "Ectopic pregnancy" not in sent
    # The step judges keep the full context, as in the protocol.
    history = case["CLINICAL_HISTORY"]
    judged = next(b for b in _chat(llm_server) if not is_split(b) and history in json.dumps(b))
    full = "\n".join(m["content"] for m in judged["messages"])
    assert case["discussion"] in full and "Ectopic pregnancy" in full


def test_error_types_are_counted_on_critical_and_noncritical_steps(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    # verdict(): step 1 factual and critical; a non-factual step is critical; step 3 of
    # this plan is factual and not critical. So: reasoning errors 1 (critical), 0 (not).
    llm_server.script = scripted([FACTUAL, NONFACTUAL, FACTUAL])
    out = tmp_path / "r.jsonl"
    result = _score(llm_server, out)
    scores = next(iter(iter_records(out))).scores
    assert scores["reasoning_errors_critical"] == 1
    assert scores["reasoning_errors_noncritical"] == 0
    assert scores["image_understanding_errors_critical"] == 1
    assert scores["medical_knowledge_errors_critical"] == 0
    assert scores["critical_step_ratio"] == pytest.approx(2 / 3, abs=1e-4)
    # Options A, B and C are addressed; A is the correct answer, so 2 of 4 distractors.
    assert scores["distractors_addressed"] == 2
    # The protocol's pooled figures: 9 steps over 3 items, 6 factual, 6 critical.
    by_id = {c.id: c for c in result.summary.criteria}
    assert by_id["factual_ratio"].pooled == pytest.approx(6 / 9, abs=1e-4)
    assert by_id["critical_step_ratio"].pooled == pytest.approx(6 / 9, abs=1e-4)
    assert by_id["reasoning_errors_critical"].pooled == 3
    assert by_id["final_answer"].pooled is None


def test_pooled_and_per_case_ratios_differ_when_step_counts_do(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    # Per case (ours) averages each item's share; pooled (the protocol) divides all factual
    # steps by all steps. Items with 3 and 1 steps: 2/3 and 0/1 -> mean 1/3, pooled 2/4.
    def reply(body: dict[str, Any], n: int) -> Reply:
        text = json.dumps(body)
        one = "periumbilical" in text  # the first fixture case's history
        if is_split(body):
            return Reply.json({"steps": STEPS[:1] if one else STEPS})
        plan = [NONFACTUAL] if one else [FACTUAL, NONFACTUAL, FACTUAL]
        return Reply.json({"steps": [verdict(i + 1, k) for i, k in enumerate(plan)]})

    llm_server.script = reply
    result = _score(llm_server, tmp_path / "r.jsonl")
    ratios = [r.scores["factual_ratio"] for r in iter_records(tmp_path / "r.jsonl")]
    summary = {c.id: c for c in result.summary.criteria}["factual_ratio"]
    steps = [r.scores["step_count"] for r in iter_records(tmp_path / "r.jsonl")]
    factual = sum(round(r * n) for r, n in zip(ratios, steps, strict=True))
    assert summary.pooled == pytest.approx(factual / sum(steps), abs=1e-4)
    assert summary.mean == pytest.approx(sum(ratios) / len(ratios))
    assert summary.pooled != pytest.approx(summary.mean)


def test_calibrate_reports_the_protocols_agreement_beside_alpha(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from judge.cli.calibrate import calibrate_command

    llm_server.script = scripted([FACTUAL, NONFACTUAL, FACTUAL])
    out = tmp_path / "r.jsonl"
    _score(llm_server, out)
    frame = load_judge_results(out)
    factual = frame[frame["criterion"] == "is_factual"].sort_values(["item", "step"])
    humans = factual.assign(rater="dr_a", rater_kind="human")[
        ["item", "step", "criterion", "rater", "score"]
    ]
    humans.loc[humans.index[0], "score"] = 1 - humans.loc[humans.index[0], "score"]
    human_file = tmp_path / "human.csv"
    humans.to_csv(human_file, index=False)
    result = CliRunner().invoke(
        calibrate_command,
        ["--judge", str(out), "--human", str(human_file), "--rubric", "ddx-steps",
         "--n-boot", "0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "MedThinkVQA step-3 protocol" in result.output
    # 9 steps, one flipped: agreement 8/9.
    assert "0.89" in result.output and "α" in result.output
