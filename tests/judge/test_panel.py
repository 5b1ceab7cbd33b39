"""Panels, samples and aggregation through `judge.ascore` with a scripted completion function
per judge (the engine takes it as a parameter); the same over real HTTP is in
test_panel_http.py."""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

import judge
from judge.aggregate.records import aggregate
from judge.judging.engine import Completion, TransientError
from judge.load.rubric import load_rubric

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
RUBRIC = load_rubric("ddx")
LLM_IDS = [c.id for c in RUBRIC.llm_criteria]
# Computed, not judged, when the chosen answer is correct (miss_harm).
SETTLED = {c.id for c in RUBRIC.llm_criteria if c.if_correct is not None}


class Panel:
    """A completion function whose verdict depends on the judge and sample (from the cache
    key's `sample` the engine does not pass, so samples are told apart by call order)."""

    def __init__(self, scores: dict[str, list[int]], fail: set[str] | None = None):
        self.scores = scores  # judge -> its score on every criterion, one per sample
        self.fail = fail or set()
        self.calls: dict[str, int] = defaultdict(int)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.peak: dict[str, int] = defaultdict(int)

    async def __call__(self, *, model: str, **_: Any) -> Completion:
        provider = model.split("/")[0]
        self.in_flight[provider] += 1
        self.peak[provider] = max(self.peak[provider], self.in_flight[provider])
        try:
            await asyncio.sleep(0.01)
            if model in self.fail:
                raise TransientError("503 from the provider")
            k = self.calls[model] % len(self.scores[model])
            self.calls[model] += 1
            value = self.scores[model][k]
            verdict = {
                c.id: {
                    "score": min(value, 1) if c.scale.type == "binary" else value,
                    "rationale": "r",
                }
                for c in RUBRIC.llm_criteria
            }
            return Completion(verdict=verdict, tokens_in=100, tokens_out=20)
        finally:
            self.in_flight[provider] -= 1


async def _run(panel: Panel, judges: list[str], **options: Any) -> judge.run.RunResult:
    return await judge.ascore(
        PREDICTIONS, "ddx", complete=panel, judges=judges, cache=False, attempts=1, **options
    )


@pytest.mark.parametrize(
    ("method", "expected"), [("mean", 3.6667), ("median", 4), ("majority", 4), ("auto", 3.6667)]
)
async def test_panel_score_by_method_and_independent_of_order(method: str, expected: Any) -> None:
    scores = {"x/a": [3], "x/b": [4], "y/c": [4]}
    results = [
        await _run(Panel(scores), order, aggregate=method)
        for order in (["x/a", "x/b", "y/c"], ["y/c", "x/a", "x/b"])
    ]
    first, second = ([r.scores for r in res.records] for res in results)
    assert {r["coherence"] for r in first} == {expected}
    assert sorted(map(str, first)) == sorted(map(str, second))
    record = results[0].records[0]
    assert len([j for j in record.judgments if j.criterion == "coherence"]) == 3


async def test_a_tied_majority_is_no_score_with_the_tie_visible() -> None:
    result = await _run(Panel({"x/a": [3], "x/b": [4]}), ["x/a", "x/b"], aggregate="majority")
    assert {r.scores["coherence"] for r in result.records} == {None}
    assert {r.scores["hallucination"] for r in result.records} == {1}  # both said 1


async def test_a_failing_judge_shrinks_the_panel_and_the_record_says_so() -> None:
    panel = Panel({"x/a": [2], "x/b": [4], "y/c": [5]}, fail={"x/b"})
    result = await _run(panel, ["x/a", "x/b", "y/c"])
    for record in result.records:
        assert record.scores["coherence"] == 3.5  # mean of the two judges left
        correct = record.scores["final_answer"] == 1
        asked = [c for c in LLM_IDS if not (correct and c in SETTLED)]
        assert record.missing == {c: ["x/b"] for c in asked}
        assert record.status == "scored"
    assert result.summary.failed_calls == {"x/b": len(result.records)}


async def test_samples_are_aggregated_per_judge_first_and_their_spread_reported() -> None:
    # a: samples 1 and 5 (its mean 3); b: 4 and 4. The panel mean is 3.5, not (1+5+4+4)/4.
    panel = Panel({"x/a": [1, 5], "x/b": [4, 4]})
    result = await _run(panel, ["x/a", "x/b"], samples=2, temperature=0.7)
    assert {r.scores["coherence"] for r in result.records} == {3.5}
    assert panel.calls == {"x/a": 6, "x/b": 6}  # 3 items × 2 samples each
    by_id = {c.id: c for c in result.summary.criteria}
    # sd of (1, 5) is 2.83 for judge a, 0 for judge b: mean 1.41 over item × judge
    assert by_id["coherence"].spread == pytest.approx(math.sqrt(8) / 2)
    assert by_id["final_answer"].spread is None


async def test_the_summary_reports_alpha_among_judges() -> None:
    agreeing = await _run(Panel({"x/a": [2], "x/b": [2]}), ["x/a", "x/b"])
    alphas = {c.id: c.alpha for c in agreeing.summary.criteria}
    assert alphas["final_answer"] is None  # computed, not judged
    assert math.isnan(alphas["coherence"])  # no variation at all: α undefined
    single = await _run(Panel({"x/a": [2]}), ["x/a"])
    assert {c.alpha for c in single.summary.criteria} == {None}


async def test_per_provider_concurrency_is_shared_by_its_judges() -> None:
    panel = Panel({"x/a": [3], "x/b": [3], "y/c": [3]})
    await _run(panel, ["x/a", "x/b", "y/c"], samples=4, concurrency=32, judge_concurrency={"x": 2})
    assert panel.peak["x"] == 2 and panel.peak["y"] > 2


async def test_unknown_judge_in_judge_concurrency_is_an_error() -> None:
    with pytest.raises(judge.JudgeError, match="not in the panel"):
        await _run(Panel({"x/a": [3]}), ["x/a"], judge_concurrency={"x/zzz": 2})


def test_aggregate_ignores_unscored_judgments() -> None:
    from judge.contracts import Judgment

    criterion = RUBRIC.criterion("coherence")
    scored = [
        Judgment(criterion="coherence", judge=j, status="scored", score=s)
        for j, s in (("a", 2), ("b", 5))
    ]
    failed = Judgment(criterion="coherence", judge="c", status="unscored", reason="timeout")
    assert aggregate(criterion, [*scored, failed], "mean") == 3.5
    assert aggregate(criterion, [failed], "median") is None
