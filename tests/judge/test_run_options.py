"""Run options for the Python API: typed (`RunOptions`), as keywords, or both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import judge
from judge.errors import ConfigError
from judge.judging.engine import Completion
from judge.load.rubric import load_rubric

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
RUBRIC = load_rubric("ddx")


class Recorder:
    """A completion function that records each call's model and parameters."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, *, model: str, params: dict[str, Any], **_: Any) -> Completion:
        self.calls.append({"model": model, **params})
        verdict = {
            c.id: {"score": 1 if c.scale.type == "binary" else 4, "rationale": "r"}
            for c in RUBRIC.llm_criteria
        }
        return Completion(verdict=verdict)


def test_typed_options_with_keyword_overrides() -> None:
    recorder = Recorder()
    options = judge.RunOptions(judges=["x/a"], temperature=0.0, seed=7, cache=False)
    result = judge.score(
        PREDICTIONS, RUBRIC, complete=recorder, options=options, temperature=0.5, samples=2
    )
    n_items = result.summary.status["scored"]
    assert len(recorder.calls) == 2 * n_items  # samples=2 from the keywords
    assert {c["model"] for c in recorder.calls} == {"x/a"}  # judges from the options
    assert {(c["temperature"], c["seed"]) for c in recorder.calls} == {(0.5, 7)}
    assert options.temperature == 0.0 and options.samples == 1  # the caller's is not changed


def test_an_unknown_option_names_itself_and_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown run option\(s\) judge; .*judges"):
        judge.score(PREDICTIONS, RUBRIC, complete=Recorder(), judge=["x/a"])


def test_options_are_validated_after_the_overrides() -> None:
    expected = r"samples \(--samples\) must be an integer at least 1, not 0"
    with pytest.raises(ConfigError, match=expected):
        judge.score(PREDICTIONS, RUBRIC, options=judge.RunOptions(), samples=0)
