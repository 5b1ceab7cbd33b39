"""Multi-stage rubric files: what loads, what is refused (with where), the sentence fallback,
and what a dry run plans for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import judge
from judge import run
from judge.errors import RubricError
from judge.judging.prompts import stage_model
from judge.judging.sentences import fit_units, split_sentences
from judge.load.rubric import load_rubric

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _builtin() -> dict[str, Any]:
    path = Path(judge.__file__).parents[1] / "rubrics" / "ddx-steps.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def _load(tmp_path: Path, data: dict[str, Any]) -> Any:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_rubric(path)


def test_the_builtin_asks_exactly_the_protocols_fields() -> None:
    rubric = load_rubric("ddx-steps")
    verdict = stage_model(rubric, rubric.stage("verdicts")).model_json_schema()
    fields = verdict["$defs"]["StepVerdict"]["properties"]
    protocol = {"step", "explanation", "is_factual", "is_critical", "error_types"}
    # options_addressed (the coverage measure) and verifiable (the third state, review M16)
    # are ours, documented divergences 7 and 10.
    assert set(fields) == protocol | {"options_addressed", "verifiable"}
    critical = next(c for c in rubric.stage("verdicts").criteria if c.id == "is_critical")
    assert "chosen answer rest" in critical.question  # the candidate's own choice
    assert rubric.stage("steps").context == ["title", "CLINICAL_HISTORY", "IMAGING_FINDINGS"]
    assert fields["explanation"]["minLength"] == 2 and fields["explanation"]["maxLength"] == 300
    # Not asked of a step the text cannot verify: true, false, or null.
    assert {t["type"] for t in fields["is_factual"]["anyOf"]} == {"boolean", "null"}
    assert fields["error_types"]["items"]["enum"] == [
        "Reasoning Err",
        "Image Understanding Err",
        "Clinical Scenario Err",
        "Medical Knowledge Err",
    ]
    split = stage_model(rubric, rubric.stage("steps")).model_json_schema()
    assert split["properties"]["steps"]["minItems"] == 1
    assert split["properties"]["steps"]["maxItems"] == 15


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["stages"][1].update(per="nope"), "per"),
        (lambda d: d["stages"][1]["criteria"][3].update(when={"is_factual": 7}), "when"),
        (lambda d: d["criteria"][3]["measure"].update(where={"is_factual": "yes"}), "where"),
        (lambda d: d["criteria"][2]["measure"].update(stage="steps"), "judge stage"),
        (lambda d: d["criteria"][3]["measure"].pop("where"), "ratio needs"),
        (lambda d: d["stages"][0].update(criteria=d["stages"][1]["criteria"]), "segment"),
        (lambda d: d["stages"][1]["criteria"][2].update(id="final_answer"), "unique"),
        (lambda d: d["stages"].reverse(), "earlier segment"),
    ],
)
def test_a_broken_stage_rubric_is_refused_saying_what(
    tmp_path: Path, change: Any, message: str
) -> None:
    data = _builtin()
    change(data)
    with pytest.raises(RubricError, match=message):
        _load(tmp_path, data)


def test_labels_and_measures_need_stages(tmp_path: Path) -> None:
    data = _builtin()
    data["criteria"] = [data["criteria"][0], data["criteria"][2]]
    del data["stages"]
    with pytest.raises(RubricError, match="measure needs a judge stage"):
        _load(tmp_path, data)


def test_sentence_fallback_keeps_decimals_and_abbreviations_together() -> None:
    text = (
        "A 2.5 cm mass, i.e. a large one, is seen. Dr. Lee agreed!\n"
        "- Option B is unlikely (no fever). 1. Option C fits?"
    )
    assert split_sentences(text) == [
        "A 2.5 cm mass, i.e. a large one, is seen.",
        "Dr. Lee agreed!",
        "Option B is unlikely (no fever).",
        "Option C fits?",  # a list number is a bullet, not a word
    ]


def test_fit_units_joins_neighbours_and_drops_nothing() -> None:
    units = [f"s{i}" for i in range(17)]
    fitted = fit_units(units, 15)
    assert len(fitted) == 15
    assert " ".join(fitted).split() == units
    assert fit_units(units[:3], 15) == units[:3]


def test_a_dry_run_plans_one_split_and_one_verdict_call_per_judge_and_sample() -> None:
    plan = run.plan(
        FIXTURES / "predictions.jsonl",
        "ddx-steps",
        judges=["openai/gpt-4o-mini", "openai/gpt-4o"],
        api_base="http://127.0.0.1:9/v1",
        samples=2,
        cache=False,
    )
    assert plan.n_items == 3
    assert plan.estimate.calls == 3 * (1 + 2 * 2)
    assert plan.estimate.tokens_in > 0 and plan.estimate.cost_usd
