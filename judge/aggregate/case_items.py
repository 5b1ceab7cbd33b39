"""HealthBench's scores from a case's own checklist, judged item by item.

Reproduces openai/simple-evals `healthbench_eval.py` (commit
ee3b0318d8d1d9d72755a4120879be65f7c07e9e):
- `calculate_score`: the points of the met items over the sum of the positive points, negative
  items included and nothing clipped (None when no item has positive points);
- per case, `overall` and one score per tag: an example tag (the case's `example_tags`) takes
  the overall score, a rubric tag (an item's `tags`) the same ratio over that tag's items
  (kept only when its items have positive points);
- `_compute_clipped_stats`: over a run, the mean clipped to [0, 1], and its bootstrap standard
  deviation: 1000 resamples with replacement, each resample's mean clipped, then `np.std`
  (ddof 0) of those means.

Each item's verdict is first the panel's vote (per judge over its samples, then across judges,
as every binary criterion; a tie is no verdict). Where HealthBench re-asks until it gets a
verdict, an item may be left without one here: a score over items that include one is None
(unscored), never a ratio that silently drops the item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from judge.aggregate.records import aggregate
from judge.contracts import BinaryScale, Criterion, Judgment, RubricItem
from judge.judging.accuracy import DETERMINISTIC
from judge.judging.case_items import ITEM_CRITERION

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "ITEM",
    "bootstrap_std",
    "case_judgment",
    "case_scores",
    "clipped_mean",
    "item_score",
]

# The judgments of one item's calls: criterion `criteria_met` (HealthBench's reply field),
# `step` the item's 1-based number in the case's list.
ITEM = Criterion(
    id=ITEM_CRITERION,
    question="Does the response meet the rubric item (for a negative item: is the undesirable "
    "behaviour present)?",
    scale=BinaryScale(type="binary", anchors={0: "not met", 1: "met"}),
)
# healthbench_eval.py `_compute_clipped_stats`: `for _ in range(1000)`.
BOOTSTRAP_SAMPLES = 1000


def item_score(items: Sequence[RubricItem], met: Sequence[bool | None]) -> float | None:
    """HealthBench's `calculate_score`: met points over positive points (None when the items
    have no positive points, or when an item has no verdict)."""
    possible = sum(item.points for item in items if item.points > 0)
    if possible == 0 or any(m is None for m in met):
        return None
    achieved = sum(item.points for item, m in zip(items, met, strict=True) if m)
    return achieved / possible


def case_scores(
    items: Sequence[RubricItem], met: Sequence[bool | None], example_tags: Sequence[str] = ()
) -> dict[str, float | None]:
    """`overall`, each example tag (the overall score) and each rubric tag (its items' score),
    as `HealthBenchEval.grade_sample` makes them. A rubric tag whose items have no positive
    points is left out, as there; one with an item lacking a verdict is None."""
    overall = item_score(items, met)
    scores: dict[str, float | None] = {tag: overall for tag in example_tags}
    by_tag: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        for tag in item.tags:
            by_tag.setdefault(tag, []).append(i)
    for tag, where in by_tag.items():
        mine = [items[i] for i in where]
        if sum(item.points for item in mine if item.points > 0) == 0:
            continue
        scores[tag] = item_score(mine, [met[i] for i in where])
    scores.pop("overall", None)  # a tag of that name cannot replace the case's score
    return {"overall": overall, **scores}


def case_judgment(
    criterion: Criterion,
    items: Sequence[RubricItem],
    judgments: list[Judgment],
    example_tags: Sequence[str] = (),
    method: str = "auto",
) -> tuple[Judgment, dict[str, float | None]]:
    """The case's `case_items` judgment (its overall score, with each item's verdict in
    `details`) and its scores by tag, from the items' judgments."""
    votes: list[bool | None] = []
    for step in range(1, len(items) + 1):
        mine = [j for j in judgments if j.criterion == ITEM.id and j.step == step]
        verdict = aggregate(ITEM, mine, method)
        votes.append(None if verdict is None else bool(verdict))
    scores = case_scores(items, votes, example_tags)
    details: dict[str, Any] = {
        "items": [str(item) for item in items],
        "met": votes,
        "tags": {k: v for k, v in scores.items() if k != "overall"},
    }
    base: dict[str, Any] = {"criterion": criterion.id, "judge": DETERMINISTIC}
    unknown = sum(v is None for v in votes)
    if scores["overall"] is not None:
        return Judgment(**base, status="scored", score=scores["overall"], details=details), scores
    reason = (
        f"{unknown} of {len(items)} rubric items have no verdict"
        if unknown
        else "no rubric item has positive points"
    )
    return Judgment(**base, status="unscored", reason=reason, details=details), scores


def clipped_mean(values: Sequence[float]) -> float:
    """HealthBench's run score: the mean, clipped to [0, 1]."""
    return float(np.clip(np.mean(values), 0, 1))


def bootstrap_std(values: Sequence[float], seed: int = 0) -> float:
    """HealthBench's bootstrap standard error of the clipped mean: the standard deviation
    (ddof 0) of the clipped means of 1000 resamples with replacement. HealthBench draws from
    numpy's unseeded global generator; here a `RandomState(seed)` makes the same draws as the
    global one seeded with `seed`, so a run's figure is reproducible."""
    rng = np.random.RandomState(seed)
    data = list(values)
    means = [clipped_mean(list(rng.choice(data, len(data)))) for _ in range(BOOTSTRAP_SAMPLES)]
    return float(np.std(means))
