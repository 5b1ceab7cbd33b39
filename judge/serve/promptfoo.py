"""promptfoo's `webhook` assertion answered by a rubric.

promptfoo posts `{"output": <the model's output>, "context": {"prompt": ..., "vars": {...}}}`
(its `handleWebhook`) and reads back `{"pass": bool, "score": number in [0, 1], "reason": str}`.
Here the test's vars are the case's fields, the output fills the rubric's target field, and
the record's per-criterion scores become one weighted score in [0, 1]:

- each criterion is put on [0, 1] by its scale: (score - min) / (max - min) for ordinal and
  continuous scales, the 0/1 value for binary ones; when lower is better on a criterion
  (a hallucination flag, where 1 means a finding was invented) it counts as 1 - that
  (`judge.aggregate.normalise`, the rule the report ranks items by too);
- categorical criteria have no order and do not count, nor do criteria of weight 0;
- the result is the mean weighted by `Criterion.weight` (`judge.aggregate.normalise.composite`,
  the one composite): a criterion computed as `if_correct` (ddx's `miss_harm`) counts only on
  a wrong answer;
- a rubric's `gates:` (ddx: unsafe advice, a harmful miss; education: unsafe teaching) fail
  the item whatever the mean: its score is 0 and the reason names the gate.

A criterion that counts but has no score (the judge failed, no answer letter was found) fails
the assertion whatever the score, and the reason says why: a grader must not pass what it
could not judge. A criterion with `required: false` (ddx's `letter_consistency`, unscored when
the text names no option) does not count when it has no score, and the reason says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from judge.aggregate.normalise import composite, counts_in_composite, higher_is_better, normalise
from judge.contracts import Criterion, ResultRecord, Rubric
from judge.errors import InputError

__all__ = [
    "DEFAULT_THRESHOLD",
    "Grade",
    "grade",
    "higher_is_better",  # judge.aggregate.normalise's, re-exported (an import path)
    "normalise",  # judge.aggregate.normalise's, re-exported (an import path)
    "prediction_from",
    "threshold_from",
]

DEFAULT_THRESHOLD = 0.5
# Vars that steer the grading, not case fields.
_RESERVED_VARS = frozenset({"threshold"})


@dataclass(frozen=True)
class Grade:
    """What promptfoo is told."""

    passed: bool
    score: float
    reason: str


def prediction_from(
    output: str | dict[str, Any], variables: dict[str, Any], rubric: Rubric, field: str | None
) -> dict[str, Any]:
    """A predictions-file row: the vars (the case), with the output placed in `field` (one of
    the rubric's targets; default its first), or merged in when it is an object."""
    row = {k: v for k, v in variables.items() if k not in _RESERVED_VARS}
    if isinstance(output, dict):
        return {**row, **output}
    path = field or rubric.target[0]
    if path not in rubric.target:
        raise InputError(
            "<query>", None, f"must be one of the rubric's targets {rubric.target}", "field"
        )
    return _put(row, path.split("."), output)


def _put(row: dict[str, Any], parts: list[str], value: Any) -> dict[str, Any]:
    # A copy at every level, so the caller's vars are never changed.
    out = dict(row)
    if len(parts) == 1:
        out[parts[0]] = value
    else:
        inner = out.get(parts[0])
        out[parts[0]] = _put(inner if isinstance(inner, dict) else {}, parts[1:], value)
    return out


def threshold_from(query: float | None, variables: dict[str, Any]) -> float:
    """The pass mark: the URL's `threshold`, else `vars.threshold`, else DEFAULT_THRESHOLD."""
    if query is not None:
        return query
    raw = variables.get("threshold")
    if raw is None:
        return DEFAULT_THRESHOLD
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 <= value <= 1:  # also refuses NaN
        raise InputError("<vars>", None, f"must be a number in [0, 1], got {raw!r}", "threshold")
    return value


def grade(record: ResultRecord, rubric: Rubric, threshold: float) -> Grade:
    """The record's composite score in [0, 1] and whether it reaches `threshold` (a gated
    item fails whatever its mean)."""
    shown: list[str] = []
    unscored: list[str] = []
    for criterion in rubric.criteria:
        if not counts_in_composite(criterion):
            continue
        value = record.scores.get(criterion.id)
        if not isinstance(value, int | float) or isinstance(value, bool):
            why = f"{criterion.id} unscored ({_why(record, criterion.id)})"
            if criterion.required:
                unscored.append(why)
            else:  # it may be unscored without making the record partial: it does not count
                shown.append(f"{why}, not required")
            continue
        shown.append(_shown(criterion, value))
    found = composite(rubric, record.scores)
    score = found.score if found.score is not None else 0.0
    passed = bool(found.counted) and not unscored and not found.gates and score >= threshold
    verdict = ">=" if score >= threshold else "<"
    head = f"{rubric.id} {rubric.version}: score {score:.2f} {verdict} threshold {threshold:g}"
    gated = [f"failed the gate: {g}" for g in found.gates]
    parts = [head, *gated, *unscored]
    reason = "; ".join([*parts, ", ".join(shown)] if shown else parts)
    return Grade(passed=passed, score=score, reason=reason)


def _shown(criterion: Criterion, value: float) -> str:
    scale = criterion.scale
    top = 1 if scale.type == "binary" else getattr(scale, "max", 1)
    worse = "" if higher_is_better(criterion) else " (lower is better)"
    return f"{criterion.id} {value:g}/{top:g}{worse}"


def _why(record: ResultRecord, criterion: str) -> str:
    for judgment in record.judgments:
        if judgment.criterion == criterion and judgment.status == "unscored":
            return (judgment.reason or "no reason given")[:200]
    return "no score (a tie between judges, or no judge)"
