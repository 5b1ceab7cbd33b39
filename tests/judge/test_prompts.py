"""Prompt layout: what is the same for every item (instructions, rubric, a stage's task and
fields) is the system message, and what differs (the case, the candidate and the fence derived
from it) is the user message, so that providers' prefix caches (OpenAI's and Anthropic's
prompt caching, the local llama.cpp server's slots) reuse the rubric from item to item."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.contracts import Prediction
from judge.judging.prompts import render_prompt, render_stage_prompt
from judge.load.rubric import load_rubric

ROWS = [
    json.loads(line)
    for line in (Path(__file__).parents[1] / "fixtures" / "predictions.jsonl")
    .read_text()
    .splitlines()[:2]
]


@pytest.mark.parametrize("rubric_id", ["ddx", "education", "twi"])
def test_the_system_message_is_the_same_for_every_item_and_holds_the_rubric(
    rubric_id: str,
) -> None:
    rubric = load_rubric(rubric_id)
    if not rubric.llm_criteria:
        pytest.skip(f"{rubric_id} asks no LLM")
    # Every rubric's target field filled (education judges the teaching discussion).
    rows = [row | {"prediction_discussion": f"Teaching point {i}."} for i, row in enumerate(ROWS)]
    prompts = [render_prompt(rubric, Prediction(**row)) for row in rows]
    assert all(p is not None for p in prompts)
    first, second = (p.messages for p in prompts if p is not None)
    assert first[0]["content"] == second[0]["content"]
    assert first[1]["content"] != second[1]["content"]
    system = first[0]["content"]
    for criterion in rubric.llm_criteria:
        assert f"## {criterion.id}" in system
        assert f"## {criterion.id}" not in first[1]["content"]
    # The candidate and its fence are in the user message only.
    candidate = first[1]["content"].split(">>>\n", 1)[1].split("\n<<<END CANDIDATE", 1)[0]
    fence = first[1]["content"].split("<<<CANDIDATE ", 1)[1].split(">>>", 1)[0]
    assert candidate.strip() and candidate not in system and fence not in system
    # The rubric is most of the prompt: the part a prefix cache saves.
    assert len(system) > len(first[1]["content"]) / 2


def test_a_stages_task_and_fields_are_the_same_for_every_item() -> None:
    rubric = load_rubric("ddx-steps")
    for stage in rubric.stages:
        units = ["The history points to one diagnosis.", "Option B does not fit."]
        prompts = [
            render_stage_prompt(rubric, stage, Prediction(**row), units if stage.per else None)
            for row in ROWS
        ]
        first, second = (p.messages for p in prompts if p is not None)
        assert first[0]["content"] == second[0]["content"], stage.id
        assert stage.instructions.strip()[:60] in first[0]["content"]
        for criterion in stage.criteria:
            assert f"## {criterion.id}" in first[0]["content"]
        if stage.per:
            # The unit count is said where the units are.
            assert "one verdict for each of the 2 steps" in first[1]["content"]
