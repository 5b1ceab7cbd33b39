"""Case-level numbers from per-unit verdicts: the `measure` criteria of a multi-stage rubric.

Each unit (a reasoning step) first gets the panel's verdict on each criterion, by the same
vote as item-level scores (per judge over its samples, then across judges; a tie is no
verdict). A measure then counts the units matching its `where`, or takes their share. A unit
with no verdict on a `where` criterion is never counted as a "no": it makes a count unscored
and leaves a ratio's denominator. A unit a `where` criterion was not asked of (`when:`) does
not match: a count leaves it out, and so does a ratio's denominator (ddx-steps' factual_ratio
is over the steps verifiable from the text, since is_factual is not asked of the others).
"""

from __future__ import annotations

from typing import Any

from judge.aggregate.records import panel_vote
from judge.contracts import Criterion, Judgment, Level, Prediction, Rubric, Segments
from judge.judging.accuracy import DETERMINISTIC, extract_letter

__all__ = ["measure_judgments", "unit_verdict"]

# A criterion asked only `when` others have some level, on a unit where they do not.
NOT_ASKED = object()


def measure_judgments(
    rubric: Rubric,
    judgments: list[Judgment],
    segments: dict[str, Segments],
    method: str = "auto",
    no_units: str | None = None,
    correct_answer: str | None = None,
    letters: tuple[str, ...] = (),
    chosen: str | None = None,
    prediction: Prediction | None = None,
) -> list[Judgment]:
    """One computed judgment per `measure` criterion. `no_units` is the reason when the
    stages made no units (no judge, no text), so every measure is unscored; `correct_answer`
    (a letter) is what a `distractors` measure leaves out, and `letters` (the case's option
    letters, when given) all it counts: a label E on a four-option case names no option.
    `chosen` (the candidate's letter) is what a `ruled_out` measure leaves out as well.
    `prediction`, when given, supplies all three (its chosen letter read as final_answer
    reads it)."""
    if prediction is not None:
        correct_answer, letters = prediction.correct_answer, prediction.letters
        chosen = extract_letter(prediction)[0]
    out = []
    for criterion in rubric.criteria:
        if criterion.measure is None:
            continue
        stage = rubric.stage(criterion.measure.stage)
        found = segments.get(stage.per or "")
        if found is None:
            out.append(_unscored(criterion, no_units or "the text was not split into units"))
            continue
        asked = {c.id for c in stage.criteria}
        mine = [j for j in judgments if j.criterion in asked]
        if criterion.measure.of is not None:
            left_out = {
                correct_answer,
                chosen if criterion.measure.statistic == "ruled_out" else None,
            }
            counted = _distractors(criterion, stage.criteria, mine, len(found.units), method,
                                   left_out, letters)  # fmt: skip
            out.append(_one_option(criterion, counted, prediction, correct_answer))
            continue
        matches = [
            _matches(stage.criteria, criterion.measure.where, mine, step, method)
            for step in range(1, len(found.units) + 1)
        ]
        out.append(_measured(criterion, matches))
    return out


def unit_verdict(
    criteria: list[Criterion], criterion: Criterion, mine: list[Judgment], step: int, method: str
) -> Any:
    """The panel's verdict on one unit: a level, a list of labels' votes resolved, None when
    no verdict, or NOT_ASKED when the criterion's `when` does not hold on this unit."""
    for name, level in (criterion.when or {}).items():
        other = next(c for c in criteria if c.id == name)
        value = unit_verdict(criteria, other, mine, step, method)
        if value is None:
            return None
        if value is NOT_ASKED or value != level:
            return NOT_ASKED
    votes = [j for j in mine if j.criterion == criterion.id and j.step == step]
    return panel_vote(criterion, votes, method)


def _matches(
    criteria: list[Criterion],
    where: dict[str, Level],
    mine: list[Judgment],
    step: int,
    method: str,
) -> Any:
    """True, False, None (no verdict) or NOT_ASKED (a `where` criterion was not asked)."""
    result: bool | None = True
    for name, level in where.items():
        criterion = next(c for c in criteria if c.id == name)
        value = unit_verdict(criteria, criterion, mine, step, method)
        if value is NOT_ASKED:
            return NOT_ASKED
        if value is None:
            result = None
        elif criterion.scale.type == "labels":
            if level not in value:
                return False
        elif value != level:
            return False
    return result


def _measured(criterion: Criterion, matches: list[Any]) -> Judgment:
    assert criterion.measure is not None
    unknown = sum(m is None for m in matches)
    hits = sum(m is True for m in matches)
    not_asked = sum(m is NOT_ASKED for m in matches)
    known = len(matches) - unknown - not_asked
    details = {"units": len(matches), "matching": hits, "no_verdict": unknown}
    if not_asked:
        details["not_asked"] = not_asked
    if criterion.measure.statistic == "count":
        if unknown:
            return _unscored(
                criterion, f"{unknown} of {len(matches)} units have no verdict", details
            )
        return _scored(criterion, hits, details)
    if not known:
        why = "has a verdict" if not not_asked else f"was asked ({not_asked} not asked)"
        return _unscored(criterion, f"none of {len(matches)} units {why}", details)
    return _scored(criterion, round(hits / known, 4), details)


def _distractors(
    criterion: Criterion,
    criteria: list[Criterion],
    mine: list[Judgment],
    n_units: int,
    method: str,
    left_out: set[str | None],
    letters: tuple[str, ...] = (),
) -> Judgment:
    """How many options other than those `left_out` (the correct one; for `ruled_out` the
    chosen one too) some unit matching `where` addresses (brevity's check: a one-step answer
    can be all factual and still leave every distractor unexamined). `ruled_out` counts the
    options a factual step argues against: a step that addresses an option the candidate did
    not choose is read as arguing against it, and a wrong answer's steps for its own choice no
    longer count, nor do steps voted not factual (review M13)."""
    assert criterion.measure is not None and criterion.measure.of is not None
    of = next(c for c in criteria if c.id == criterion.measure.of)
    where = criterion.measure.where
    seen: set[str] = set()
    unknown = 0
    for step in range(1, n_units + 1):
        value = unit_verdict(criteria, of, mine, step, method)
        matches = _matches(criteria, where, mine, step, method) if where else True
        if value is None or matches is None:
            unknown += 1
        elif value is not NOT_ASKED and matches:
            seen.update(str(v) for v in value)
    seen -= {x for x in left_out if x}
    if letters:
        seen &= set(letters)
    details: dict[str, Any] = {"units": n_units, "matching": len(seen), "no_verdict": unknown}
    details["options"] = sorted(seen)
    if unknown:
        return _unscored(criterion, f"{unknown} of {n_units} units have no verdict", details)
    return _scored(criterion, len(seen), details)


def _one_option(
    criterion: Criterion,
    counted: Judgment,
    prediction: Prediction | None,
    correct_answer: str | None,
) -> Judgment:
    """`counted` as it is, or, for a measure with `option:` (the case field naming its
    must-not-miss distractor, review M17), 1 when that option is among those ruled out and 0
    when not (the candidate chose it, or no factual step argues against it)."""
    field = criterion.measure.option if criterion.measure else None
    if field is None:
        return counted
    named = str((prediction.text_at(field) if prediction else None) or "").strip().upper()
    letters = prediction.letters if prediction else ()
    if named not in letters or named == correct_answer:
        why = "names no option" if named not in letters else "names the correct answer"
        return _unscored(criterion, f"the case's {field} {why}", counted.details)
    details = {**(counted.details or {}), "option": named}
    if counted.status != "scored":
        return counted.model_copy(update={"details": details})
    return _scored(criterion, int(named in details.get("options", [])), details)


def _scored(criterion: Criterion, value: float, details: dict[str, Any]) -> Judgment:
    return Judgment(
        criterion=criterion.id, judge=DETERMINISTIC, status="scored", score=value, details=details
    )


def _unscored(criterion: Criterion, reason: str, details: dict[str, Any] | None = None) -> Judgment:
    return Judgment(
        criterion=criterion.id,
        judge=DETERMINISTIC,
        status="unscored",
        reason=reason,
        details=details,
    )
