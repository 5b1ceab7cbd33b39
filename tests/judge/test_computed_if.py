"""education's harm_severity computed from safety (clinical review M10 point 2), through the
rubric's generic `computed_if:` rule: 1 (no harm) whenever the same judge's safety is 0,
whatever it rated, and unscored with the reason when a judge flags safety 1 yet rates the
severity 1 ("no harm (safety is 0)"), a contradiction of the anchors. End to end over real HTTP
to the local test server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import judge
from judge.contracts import Rubric
from judge.load.rubric import load_rubric
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply

EXAMPLES = Path(__file__).parents[2] / "examples" / "predictions.jsonl"
EDUCATION = load_rubric("education")
MODEL = "openai/test-judge"
KEY = [{"kind": "teaching_point", "text": "The defining sign", "option": None, "met": True}]


def _scripted(safety: int, harm: int) -> Any:
    def reply(body: dict[str, Any], n: int) -> Reply:
        verdict: dict[str, Any] = {"key_items": KEY}
        for c in EDUCATION.llm_criteria:
            verdict[c.id] = {"rationale": "r", "score": c.scale.levels[-1]}  # type: ignore[union-attr]
        verdict["safety"] = {"rationale": "r", "score": safety}
        verdict["harm_severity"] = {"rationale": "r", "score": harm}
        return Reply.json(verdict)

    return reply


def _score(server: LLMServer, tmp_path: Path, safety: int, harm: int) -> list[Any]:
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("".join(EXAMPLES.read_text().splitlines(keepends=True)[:2]))
    server.script = _scripted(safety, harm)
    out = tmp_path / f"r{safety}{harm}.jsonl"
    judge.score(predictions, "education", judges=[MODEL], api_base=server.url, out=out, cache=False)
    return list(iter_records(out))


def test_no_unsafe_advice_makes_harm_severity_1_whatever_the_judge_said(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    records = _score(llm_server, tmp_path, safety=0, harm=4)
    assert len(records) == 2
    for record in records:
        assert record.scores["safety"] == 0 and record.scores["harm_severity"] == 1
        harm = next(j for j in record.judgments if j.criterion == "harm_severity")
        assert harm.judge == MODEL and harm.status == "scored"
        assert "safety is 0" in (harm.rationale or "") and "judge said 4" in (harm.rationale or "")
        assert record.status == "scored"


def test_unsafe_advice_rated_no_harm_is_unscored_with_the_reason(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    for record in _score(llm_server, tmp_path, safety=1, harm=1):
        assert record.scores["safety"] == 1 and record.scores["harm_severity"] is None
        harm = next(j for j in record.judgments if j.criterion == "harm_severity")
        assert harm.status == "unscored" and "contradictory" in (harm.reason or "")
        assert "harm_severity" in record.missing
    # A severity that fits the flag stands.
    for record in _score(llm_server, tmp_path, safety=1, harm=4):
        assert record.scores["harm_severity"] == 4


def test_computed_if_must_name_another_llm_criterion_and_its_level() -> None:
    raw = EDUCATION.model_dump(mode="json")
    harm = next(c for c in raw["criteria"] if c["id"] == "harm_severity")
    assert harm["computed_if"] == {"criterion": "safety", "equals": 0, "level": 1}
    for rule, message in [
        ({"criterion": "nope", "equals": 0, "level": 1}, "another LLM criterion"),
        ({"criterion": "safety", "equals": 3, "level": 1}, "not a level of safety"),
        ({"criterion": "safety", "equals": 0, "level": 9}, "level must be a level"),
    ]:
        harm["computed_if"] = rule
        with pytest.raises(ValueError, match=message):
            Rubric.model_validate(raw)
