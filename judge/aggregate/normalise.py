"""A criterion's score on [0, 1], 1 the best answer: the one rule that the report's ranking of
the lowest items and promptfoo's grade (`judge serve`) both apply.

(score - low) / (high - low) on the scale's range (0..1 for binary), clipped to [0, 1], and
reversed, 1 - that, on a criterion whose `higher_is_better` is false (the hallucination flag,
where 1 means a finding was invented). Categorical and labels scales have no order.
"""

from __future__ import annotations

from judge.contracts import CategoricalScale, Criterion, LabelsScale

__all__ = ["higher_is_better", "normalise", "scale_range", "unit_score"]


def higher_is_better(criterion: Criterion) -> bool:
    """Whether a higher score is a better answer on this criterion (the rubric says it, so no
    criterion id is special-cased)."""
    return criterion.higher_is_better


def scale_range(criterion: Criterion) -> tuple[float, float]:
    """The lowest and highest score of an ordered scale; ValueError for one with no order."""
    scale = criterion.scale
    if isinstance(scale, CategoricalScale | LabelsScale):
        raise ValueError(f"{criterion.id}: a {scale.type} scale has no order")
    return (0.0, 1.0) if scale.type == "binary" else (float(scale.min), float(scale.max))


def unit_score(score: float, low: float, high: float, better_high: bool = True) -> float:
    """`score` on [0, 1] between `low` and `high` (a zero span counts as 1), 1 the best."""
    value = min(max((float(score) - low) / ((high - low) or 1.0), 0.0), 1.0)
    return value if better_high else 1.0 - value


def normalise(criterion: Criterion, score: float, better_high: bool | None = None) -> float:
    """A score on [0, 1], 1 the best answer, by the criterion's scale and direction
    (`better_high` overrides the criterion's `higher_is_better`)."""
    low, high = scale_range(criterion)
    if better_high is None:
        better_high = higher_is_better(criterion)
    return unit_score(score, low, high, better_high)
