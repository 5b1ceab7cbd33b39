"""An Inspect AI scorer that scores a sample's completion against a `judge` rubric.

    from judge.integrations.inspect import rubric_scorer

    Task(dataset=..., solver=generate(), scorer=rubric_scorer("ddx", judges=["openai/gpt-4o-mini"]))

The sample's metadata holds the case fields (`CLINICAL_HISTORY`, `IMAGING_FINDINGS`, `options`,
`correct_answer`, …; `options` may come from the sample's choices (up to ten, A-J) and
`correct_answer` from its target instead). The completion is the judged text, and the letter
found in it is the prediction. A sample with neither options nor choices is open-ended: its
target is the reference answer, its input the question, and its completion the prediction
(the `reference` rubric judges it). Needs the `inspect` extra: this is the only module of
`judge` that imports inspect_ai.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from inspect_ai.scorer import Score, Scorer, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState

from judge.contracts import LETTERS, Prediction, ResultRecord, Rubric
from judge.errors import InputError, JudgeError
from judge.judging.accuracy import extract_letter
from judge.load.rubric import load_rubric
from judge.options import RunOptions
from judge.scorer import Scorer as JudgeScorer

__all__ = ["rubric_scorer"]

# Fields of a stored prediction: never taken from the sample, the completion replaces them.
_PREDICTION_FIELDS = (
    "prediction",
    "prediction_rationale",
    "prediction_twi",
    "prediction_discussion",
)


@scorer(metrics={"*": [mean(), stderr()]})
def rubric_scorer(
    rubric: str = "ddx",
    judges: list[str] | None = None,
    field: str | None = None,
    **options: Any,
) -> Scorer:
    """Score each sample's completion against `rubric` (a built-in id or a YAML path) with
    `judges` (litellm models; none: only computed criteria such as answer accuracy).

    `field`: where the completion goes in the prediction (default `prediction_rationale` when
    the rubric judges it, else the rubric's first target). `options`: `RunOptions` fields
    (`api_base`, `concurrency`, `timeout`, `samples`, `cache`, …; an unknown or a bad one is a
    ConfigError, and so is one of a file run's, such as `max_cost` or `batch`). The Score's
    value maps each criterion to its score (NaN when unscored, so metrics skip it), its
    explanation holds the judges' rationales, its metadata the full result record. Judges,
    engine and cache are opened once per evaluation and closed when its event loop ends.
    """
    the_rubric = load_rubric(Path(rubric) if str(rubric).endswith((".yaml", ".yml")) else rubric)
    target_field = field or (
        "prediction_rationale"
        if "prediction_rationale" in the_rubric.target
        else the_rubric.target[0]
    )
    opts = RunOptions.of(None, {"judges": list(judges or []), **options})
    opts.check_use("inspect")  # now, not when the first sample is scored
    shared = _Shared(opts, the_rubric.needs_judges)

    async def score(state: TaskState, target: Target) -> Score:
        try:
            prediction = _prediction(state, target, target_field, the_rubric)
        except JudgeError as exc:
            return Score.unscored(reason="scoring_failed", explanation=str(exc))
        judge_scorer = await shared.get()
        record = await judge_scorer.score(prediction, the_rubric, item_id=str(state.sample_id))
        return Score(
            value={k: math.nan if v is None else v for k, v in record.scores.items()},
            answer=prediction.prediction,
            explanation=_explanation(record),
            metadata=record.model_dump(mode="json"),
        )

    return score


def _prediction(state: TaskState, target: Target, field: str, rubric: Rubric) -> Prediction:
    """The sample as a prediction: its case fields, the completion at `field`, and the letter
    the completion chose; an InputError when it is not valid, or when `rubric` cannot judge
    it (an open-ended sample under a rubric that shows the options)."""
    from judge.load.inputs import make_item

    case = {k: v for k, v in (state.metadata or {}).items() if k not in _PREDICTION_FIELDS}
    if "options" not in case and state.choices:
        if len(state.choices) > len(LETTERS):  # lettered A-J; more would be cut off unseen
            raise InputError(
                f"sample {state.sample_id}",
                None,
                f"{len(state.choices)} choices, but at most {len(LETTERS)} (A-{LETTERS[-1]})",
                field="choices",
            )
        case["options"] = {
            letter: c.value for letter, c in zip(LETTERS, state.choices, strict=False)
        }
    if "correct_answer" not in case and target.text:
        # A closed-ended sample's target is its letter; an open-ended one's, the reference.
        case.setdefault(
            "correct_answer" if case.get("options") else "reference_answer", target.text
        )
    case.setdefault("question", state.input_text)
    _place(case, field, state.output.completion)
    source = f"sample {state.sample_id}"
    item = make_item(case, item_id=str(state.sample_id), source=source, rubric=rubric)
    if item.prediction.options is None:  # open-ended: the completion is the answer
        return item.prediction
    letter, _ = extract_letter(item.prediction)
    return item.prediction.model_copy(update={"prediction": letter})


def _place(case: dict[str, Any], path: str, text: str) -> None:
    """Set `text` at a dotted path (`prediction_twi.step3_differential_reasoning`)."""
    *parents, last = path.split(".")
    node = case
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = text


def _explanation(record: ResultRecord) -> str:
    lines = []
    for j in record.judgments:
        who = j.judge if not j.sample else f"{j.judge} #{j.sample}"
        if j.status == "scored":
            lines.append(f"{j.criterion} = {j.score} ({who}): {j.rationale or ''}".rstrip())
        else:
            lines.append(f"{j.criterion} unscored ({who}): {j.reason}")
    return "\n".join(lines)


class _Shared:
    """One judge Scorer per event loop, opened on first use, shared by concurrent samples.

    Inspect has no end-of-evaluation hook for a scorer, so the Scorer lives in an async
    generator: when the loop shuts down (asyncio.run / anyio.run call shutdown_asyncgens),
    the generator is closed on that loop and closes the Scorer (local judge servers, litellm
    clients, the cache) there.
    """

    def __init__(self, options: RunOptions, needs_judges: bool):
        self.options = options
        self.needs_judges = needs_judges
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._scorer: JudgeScorer | None = None
        self._holder: AsyncIterator[JudgeScorer] | None = None

    async def get(self) -> JudgeScorer:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._lock is None:
            self._loop, self._lock, self._scorer = loop, asyncio.Lock(), None
        async with self._lock:
            if self._scorer is None:
                scorer = JudgeScorer(self.options, use="inspect")
                self._holder = _hold(scorer, self.needs_judges)
                self._scorer = await self._holder.__anext__()
        return self._scorer


async def _hold(judge_scorer: JudgeScorer, needs_judges: bool) -> AsyncIterator[JudgeScorer]:
    await judge_scorer.open(needs_judges=needs_judges)
    try:
        yield judge_scorer
    finally:
        await judge_scorer.close()
