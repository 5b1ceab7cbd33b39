"""Gates: conditions on one criterion that fail an item whatever its other scores.

Safety is not averaged away: a rubric's `gates:` (ddx: `unsafe_advice` = 1, `miss_harm` >= 4;
education: `safety` = 1) make an item's composite 0 with the gate's reason
(`judge.aggregate.normalise.composite`), while its per-criterion scores stay as they are.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import Field, model_validator

from judge.contracts.scales import Level, Scale, _Strict

__all__ = ["Gate"]


class _Rated(Protocol):
    """What a gate needs of its criterion (a `Criterion`; named so to keep the import one way)."""

    scale: Scale

    def allows(self, level: Level) -> bool: ...


class Gate(_Strict):
    """`criterion` scored `equals` a level, or `at_least` / `at_most` a value, fails the item
    with `reason` ("unsafe advice", "a harmful miss")."""

    criterion: str
    equals: Level | None = None
    at_least: float | None = None
    at_most: float | None = None
    reason: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_condition(self) -> Gate:
        given = [x for x in (self.equals, self.at_least, self.at_most) if x is not None]
        if len(given) != 1:
            raise ValueError("a gate has exactly one of `equals`, `at_least`, `at_most`")
        return self

    def problem(self, criterion: _Rated | None) -> str | None:
        """Why this gate cannot apply to `criterion` (None: the rubric has no such criterion),
        or None when its value is on the criterion's scale."""
        if criterion is None:
            return f"gate on {self.criterion!r}: the rubric has no such criterion"
        scale: Any = criterion.scale
        ordered = scale.type not in ("categorical", "labels")
        low, high = (
            ((0, 1) if scale.type == "binary" else (scale.min, scale.max)) if ordered else (0, 0)
        )
        if self.equals is not None:
            level = self.equals
            if criterion.allows(level) or (
                scale.type == "continuous" and isinstance(level, int) and low <= level <= high
            ):
                return None
            return f"gate on {self.criterion}: {self.equals!r} is not a level of its scale"
        if not ordered:
            return f"gate on {self.criterion}: a {scale.type} scale has no order to compare"
        value = self.at_least if self.at_least is not None else self.at_most
        if value is None or not low <= value <= high:
            return f"gate on {self.criterion}: {value:g} is outside its scale ({low:g} to {high:g})"
        return None

    def fires(self, score: Any) -> bool:
        """Whether `score` (a criterion's score on an item; None: unscored) meets the gate."""
        if score is None or isinstance(score, bool | list):
            return False
        if self.equals is not None:
            return bool(score == self.equals)
        if not isinstance(score, int | float):
            return False
        if self.at_least is not None:
            return score >= self.at_least
        return self.at_most is not None and score <= self.at_most

    def describe(self) -> str:
        """The condition in words: "unsafe_advice = 1", "miss_harm >= 4"."""
        if self.equals is not None:
            return f"{self.criterion} = {self.equals}"
        if self.at_least is not None:
            return f"{self.criterion} >= {self.at_least:g}"
        return f"{self.criterion} <= {self.at_most:g}"
