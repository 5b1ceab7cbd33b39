"""Run a multi-stage rubric on one item: each stage's calls see what earlier stages made.

A segment stage splits the judged text into units once per item: the panel's first judge by
name makes the split (so the result never depends on the order judges were listed in), and
every judge then rates the same units, which is what makes step-level agreement measurable.
When the split fails, the rubric's fallback splits sentences instead, and the record says so.
A judge stage asks every judge × sample for one verdict per unit; a unit missing from a
reply, or a verdict that leaves a required field empty, is unscored with the reason, never a
silent "no".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from judge.contracts import CallUsage, Criterion, Judgment, Prediction, Rubric, Segments, Stage
from judge.judging.engine import CallResult, Engine, JudgeSpec
from judge.judging.images import Sight
from judge.judging.prompts import Prompt, render_stage_prompt, target_text, wants_images
from judge.judging.sentences import fit_units, split_sentences

__all__ = ["StageOutcome", "run_stages", "unit_judgments"]

FALLBACK = "sentences"


@dataclass
class StageOutcome:
    """What the stages produced for one item."""

    judgments: list[Judgment] = field(default_factory=list)
    calls: list[CallUsage] = field(default_factory=list)
    segments: dict[str, Segments] = field(default_factory=dict)
    # Why no units were made (every measure is then unscored with it), else None.
    problem: str | None = None
    # Whether that problem is worth a rerun (a transport failure), as for judgments.
    retryable: bool = False


async def run_stages(
    engine: Engine,
    judges: list[JudgeSpec],
    samples: int,
    rubric: Rubric,
    models: dict[str, type[BaseModel]],
    prediction: Prediction,
    sight: Sight | None = None,
) -> StageOutcome:
    """Run `rubric`'s stages in order on `prediction` (`models`: each stage's reply model;
    `sight`: the case's images and the judges sent them, in stages whose context shows them)."""
    run = _Run(engine, judges, samples, rubric, models, prediction, sight or Sight())
    for stage in rubric.stages:
        if stage.kind == "segment":
            await run.segment(stage)
        elif stage.per in run.outcome.segments:
            await run.judge(stage, run.outcome.segments[stage.per])
    return run.outcome


@dataclass
class _Run:
    engine: Engine
    judges: list[JudgeSpec]
    samples: int
    rubric: Rubric
    models: dict[str, type[BaseModel]]
    prediction: Prediction
    sight: Sight
    outcome: StageOutcome = field(default_factory=StageOutcome)

    def sent(self, stage: Stage, prompt: Prompt, judge: JudgeSpec) -> list[dict[str, Any]]:
        if not wants_images(self.rubric, stage):
            return prompt.messages
        return self.sight.messages(prompt.messages, judge.name)

    async def segment(self, stage: Stage) -> None:
        prompt = render_stage_prompt(self.rubric, stage, self.prediction)
        if prompt is None:
            return
        splitter = min(self.judges, key=lambda j: j.name)
        messages = self.sent(stage, prompt, splitter)
        result = await self.engine.call(splitter, messages, self.models[stage.id], 0)
        self.outcome.calls.append(result.usage)
        units = _units_from(result, stage)
        if units:
            self.outcome.segments[stage.id] = Segments(units=units, source=splitter.name)
            return
        why = result.error or "no units in its reply"
        reason = f"{splitter.name} did not split the text: {why}"
        if stage.fallback == FALLBACK:
            text = target_text(self.rubric, self.prediction)[1] or ""
            units = fit_units(split_sentences(text), stage.max_units)
            if units:
                self.outcome.segments[stage.id] = Segments(
                    units=units, source=FALLBACK, reason=reason
                )
                return
        self.outcome.problem, self.outcome.retryable = reason, result.retryable

    async def judge(self, stage: Stage, segments: Segments) -> None:
        prompt = render_stage_prompt(self.rubric, stage, self.prediction, segments.units)
        if prompt is None:
            return
        unit = self.rubric.stage(stage.per or "").unit
        asks = [(j, k) for j in self.judges for k in range(self.samples)]
        model = self.models[stage.id]
        results = await asyncio.gather(
            *(self.engine.call(j, self.sent(stage, prompt, j), model, k) for j, k in asks)
        )
        for (judge, k), result in zip(asks, results, strict=True):
            self.outcome.calls.append(result.usage)
            self.outcome.judgments += unit_judgments(
                stage, unit, len(segments.units), judge.name, k, result
            )


def _units_from(result: CallResult, stage: Stage) -> list[str]:
    if result.verdict is None:
        return []
    raw = result.verdict.get(stage.unit + "s") or []
    return [str(u).strip() for u in raw if str(u).strip()][: stage.max_units]


def unit_judgments(
    stage: Stage, unit: str, n_units: int, judge: str, sample: int, result: CallResult
) -> list[Judgment]:
    """One judgment per unit × criterion from one judge's reply (unscored with the reason
    when the call failed or the reply held no verdict for that unit)."""
    verdicts: dict[int, dict[str, Any]] = {}
    for entry in (result.verdict or {}).get(unit + "s") or []:
        number = entry.get(unit)
        if isinstance(number, int) and 1 <= number <= n_units:
            verdicts.setdefault(number, entry)  # a repeated number: the first one counts
    out = []
    for step in range(1, n_units + 1):
        entry = verdicts.get(step)
        for criterion in stage.criteria:
            made = _one(stage, criterion, entry, judge, sample, step, result, unit)
            if made is not None:
                out.append(made)
    return out


def _one(
    stage: Stage,
    criterion: Criterion,
    entry: dict[str, Any] | None,
    judge: str,
    sample: int,
    step: int,
    result: CallResult,
    unit: str,
) -> Judgment | None:
    base: dict[str, Any] = {"criterion": criterion.id, "judge": judge, "sample": sample}
    base["step"] = step
    if entry is None:
        reason = result.error or f"the judge's reply held no verdict for {unit} {step}"
        return Judgment(**base, status="unscored", reason=reason, retryable=result.retryable)
    if criterion.when and not _holds(criterion.when, entry):
        return None  # not asked of this unit (error types of a factual step)
    value = entry.get(criterion.id)
    if criterion.scale.type == "labels":
        # An empty list is an answer ("addresses no option"), except where the labels are
        # asked because of another verdict (a non-factual step must name its error types).
        value = sorted(set(value or [])) or (None if criterion.when else [])
    elif isinstance(value, bool):
        value = int(value)
    if value is None:
        reason = f"the judge gave no {criterion.id} for {unit} {step}"
        return Judgment(**base, status="unscored", reason=reason)
    return Judgment(**base, status="scored", score=value, rationale=entry.get("explanation"))


def _holds(when: dict[str, Any], entry: dict[str, Any]) -> bool:
    for name, level in when.items():
        value = entry.get(name)
        if isinstance(value, bool):
            value = int(value)
        if value != level:
            return False
    return True
