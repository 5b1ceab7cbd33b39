"""Two things a judge can now say besides a level (ddx 1.1, review M8 and M18), end to end
over real HTTP to the local test server:

- "N/A" on a criterion with `not_applicable:` (ddx's medical_accuracy when the reasoning
  states no general medical knowledge): unscored with that sentence, never a default 5, and
  the record is not partial for it;
- its own key list (`key_items`: the key findings, the must-not-miss alternative...), stored
  in each judgment's `details` under judge.contracts.KeyItems.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import judge
from judge.contracts import NOT_APPLICABLE, KeyItems
from judge.errors import RubricError
from judge.judging.prompts import render_prompt, response_model
from judge.load.rubric import builtin_rubrics, load_rubric
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
MODEL = "openai/test-judge"
KEY = [
    {"kind": "finding", "text": "Non-compressible 9 mm appendix", "option": None, "met": True},
    {"kind": "must_not_miss", "text": "Ovarian torsion", "option": "B", "met": False},
]


def _reply(body: dict[str, Any], n: int) -> Reply:
    verdict: dict[str, Any] = {"key_items": KEY}
    for criterion in load_rubric("ddx").llm_criteria:
        verdict[criterion.id] = {"rationale": "r", "score": criterion.scale.levels[0]}  # type: ignore[union-attr]
    verdict["medical_accuracy"] = {"rationale": "Only case facts.", "score": NOT_APPLICABLE}
    return Reply.json(verdict)


def test_na_is_unscored_and_the_judges_key_is_stored(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.script = _reply
    out = tmp_path / "r.jsonl"
    judge.score(PREDICTIONS, "ddx", judges=[MODEL], api_base=llm_server.url, out=out)
    records = list(iter_records(out))
    assert len(records) == 3
    for record in records:
        assert record.scores["medical_accuracy"] is None
        na = next(j for j in record.judgments if j.criterion == "medical_accuracy")
        assert na.status == "unscored" and na.reason is not None
        assert na.reason.startswith("not applicable: The reasoning states no general")
        # N/A is not a failure: the other LLM criteria are scored, nothing is partial for it.
        assert record.scores["coherence"] == 1 and "medical_accuracy" not in record.missing
        judged = [j for j in record.judgments if j.judge == MODEL and j.status == "scored"]
        assert judged and all(j.details == {"key_items": KEY} for j in judged)
        assert KeyItems.model_validate(judged[0].details).key_items[1].option == "B"


def test_the_judge_is_told_na_and_the_list_and_may_answer_na_only_where_allowed() -> None:
    ddx = load_rubric("ddx")
    schema = response_model(ddx).model_json_schema()
    assert next(iter(schema["properties"])) == "key_items"  # listed before it scores
    defs = schema["$defs"]
    assert NOT_APPLICABLE in defs["MedicalAccuracyVerdict"]["properties"]["score"]["enum"]
    assert NOT_APPLICABLE not in defs["CoherenceVerdict"]["properties"]["score"]["enum"]
    row = PREDICTIONS.read_text().splitlines()[0]
    prompt = render_prompt(ddx, judge.contracts.Prediction.model_validate_json(row))
    assert prompt is not None
    system = prompt.messages[0]["content"]
    assert "- N/A: The reasoning states no general medical knowledge" in system
    assert "## key_items (list them first)" in system


def test_na_needs_an_optional_llm_criterion(tmp_path: Path) -> None:
    text = builtin_rubrics()["ddx"].read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("    required: false\n    not_applicable:", "    not_applicable:"))
    with pytest.raises(RubricError, match="not_applicable"):
        load_rubric(bad)


def test_a_key_list_is_for_single_call_rubrics_and_its_items_are_checked(
    tmp_path: Path,
) -> None:
    text = builtin_rubrics()["ddx-steps"].read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("\ncriteria:\n", "\nkey_items: The key findings.\ncriteria:\n", 1))
    with pytest.raises(RubricError, match="key_items"):
        load_rubric(bad)
    # A model's list is untrusted: an unknown kind or a letter beyond J is refused.
    for item in ({**KEY[0], "kind": "guess"}, {**KEY[1], "option": "Z"}):
        with pytest.raises(ValueError):
            KeyItems.model_validate({"key_items": [item]})
