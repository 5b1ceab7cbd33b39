"""`ddx-steps-protocol` (review H5): the MedThinkVQA step-3 protocol as its code words it
(benluwang/MedThinkVQA @ efa12d0, data_processing/step3_judge.py), beside ddx-steps, which asks
another question. Its step judge is shown the reference diagnosis as "Final diagnosis" and no
options; it asks exactly the protocol's fields; the splitter is ddx-steps' own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_stages import STEPS, is_split

import judge
from judge.contracts import Prediction
from judge.judging.prompts import render_stage_prompt, stage_model
from judge.load.rubric import load_rubric
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
ROW = Prediction.model_validate_json(PREDICTIONS.read_text().splitlines()[0])


def test_the_step_judge_sees_the_protocols_context() -> None:
    rubric = load_rubric("ddx-steps-protocol")
    prompt = render_stage_prompt(rubric, rubric.stage("verdicts"), ROW, STEPS)
    assert prompt is not None
    system, user = (m["content"] for m in prompt.messages)
    assert ROW.correct_answer and ROW.options
    correct = ROW.options[ROW.correct_answer]
    # The reference diagnosis's text, as the protocol's `_guess_final_diagnosis` gives it.
    assert f"## Final diagnosis\n{correct}\n" in user
    for other in (v for k, v in ROW.options.items() if k != ROW.correct_answer):
        assert other not in user  # no options
    assert "Correct answer" not in user and "chosen answer" not in user
    titles = [line[3:] for line in user.splitlines() if line.startswith("## ")]
    assert titles == [
        "Title",
        "Clinical history",
        "Reference imaging findings",
        "Expert discussion",
        "Final diagnosis",
        "Per-image captions",
    ]
    # The protocol's rule 3 and field descriptions, word for word.
    assert "critical for reaching the final diagnosis" in system
    assert "Whether the step is essential for the final diagnosis." in system
    assert "Mark False only when it is clearly wrong, contradictory, or unsupported." in system


def test_it_asks_exactly_the_protocols_fields_with_ddx_steps_splitter() -> None:
    rubric = load_rubric("ddx-steps-protocol")
    verdict = stage_model(rubric, rubric.stage("verdicts")).model_json_schema()
    fields = verdict["$defs"]["StepVerdict"]["properties"]
    assert set(fields) == {"step", "explanation", "is_factual", "is_critical", "error_types"}
    assert fields["explanation"]["minLength"] == 2 and fields["explanation"]["maxLength"] == 300
    ours = load_rubric("ddx-steps").stage("steps")
    assert rubric.stage("steps") == ours


def _reply(body: dict[str, Any], n: int) -> Reply:
    if is_split(body):
        return Reply.json({"steps": STEPS})
    verdicts = [
        {"step": 1, "explanation": "Supported.", "is_factual": True, "is_critical": True,
         "error_types": []},
        {"step": 2, "explanation": "Not in the case.", "is_factual": False, "is_critical": True,
         "error_types": ["Image Understanding Err"]},
        {"step": 3, "explanation": "Background.", "is_factual": True, "is_critical": False,
         "error_types": []},
    ]  # fmt: skip
    return Reply.json({"steps": verdicts})


def test_it_runs_end_to_end_with_the_protocols_measures(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.script = _reply
    out = tmp_path / "r.jsonl"
    judge.score(
        PREDICTIONS,
        "ddx-steps-protocol",
        judges=["openai/test-judge"],
        api_base=llm_server.url,
        out=out,
        timeout=5.0,
    )
    record = next(iter_records(out))
    assert record.status == "scored"
    assert record.scores["factual_ratio"] == round(2 / 3, 4)
    assert record.scores["critical_step_ratio"] == round(2 / 3, 4)
    assert record.scores["nonfactual_critical_steps"] == 1
    assert record.scores["image_understanding_errors_critical"] == 1
