"""A rubric's test bank (`rubrics/bank/<rubric>.yaml`): synthetic cases with single-defect
pairs, negative controls and a noise floor, against which `judge qualify` runs a judge.

A pair is 'worse' on its target alone, or 'either' where the clinical review names a double
effect. On a staged rubric one planted step is counted by several measures (a false premise
lowers `factual_ratio` and raises its error type's count): those are 'worse' too, each with
why in `because`; the loader allows that only on a staged rubric.

User-authored, so every model forbids unknown keys. What needs the rubric (criterion names,
texts that an edit replaces) is checked by the loader, judge/study/bank.py, at file:line.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from judge.contracts.scales import _Strict

__all__ = ["MIN_PAIRS", "Bank", "BankCase", "BankControl", "BankPair", "Edit", "Movement", "Noise"]

Movement = Literal["worse", "same", "either"]
# The fewest single-defect pairs per judged criterion any bank may hold (a bank can ask for
# more with `min_pairs`; ddx's asks for 5).
MIN_PAIRS = 3
# "either" must name the clinical review's finding that predicts the double effect (the
# rubrics-1.0 clinical review's M-numbers: M1-M3 for ddx, M4, M10 and M18 for education).
_FINDING = re.compile(r"^M[0-9]+\b")
_SLUG = r"^[a-z0-9][a-z0-9_\-]*$"


class Edit(_Strict):
    """Replace the one occurrence of `old` in the item's `field` (a dotted path) with `new`."""

    field: str = Field(min_length=1)
    old: str = Field(min_length=1)
    new: str


class BankCase(_Strict):
    """A base case: one predictions-file line (the case and a sound answer to it)."""

    id: str = Field(pattern=_SLUG)
    item: dict[str, Any]


class BankPair(_Strict):
    """The base case and the same answer with one defect planted for `target`; `expect` says
    how every judged criterion should move (defect against base)."""

    id: str = Field(pattern=_SLUG)
    case: str
    target: str
    defect: str = Field(min_length=1)
    edits: list[Edit] = Field(min_length=1)
    expect: dict[str, Movement]
    because: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _declared(self) -> BankPair:
        if self.expect.get(self.target) != "worse":
            raise ValueError(f"the target {self.target!r} must be expected 'worse' in expect")
        worse = sorted(c for c, m in self.expect.items() if m == "worse" and c != self.target)
        unexplained = [c for c in worse if c not in self.because]
        if unexplained:
            raise ValueError(
                f"a single-defect pair is 'worse' on its target only, not also on "
                f"{unexplained}; declare a double effect 'either' with the review finding in "
                "`because` (a staged rubric's measures that count the planted unit too: "
                "'worse', with why in `because`)"
            )
        either = {c for c, m in self.expect.items() if m == "either"}
        if set(self.because) != either | set(worse):
            raise ValueError(
                "`because` names the review finding for each 'either' criterion (and why for "
                "each 'worse' besides the target) and nothing else: 'either' on "
                f"{sorted(either)}, `because` on {sorted(self.because)}"
            )
        return self

    @field_validator("because")
    @classmethod
    def _findings(cls, because: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        expect = info.data.get("expect") or {}
        for criterion, finding in because.items():
            if expect.get(criterion) != "worse" and not _FINDING.match(finding):
                raise ValueError(
                    f"because.{criterion}: name the review's finding (M1, M2, …) that predicts "
                    f"the double effect, not {finding!r}"
                )
        return because


class BankControl(_Strict):
    """A negative control: the base case changed in a way no criterion should notice (a
    paraphrase, true but irrelevant padding, the options in another `order`)."""

    id: str = Field(pattern=_SLUG)
    case: str
    kind: Literal["paraphrase", "padding", "order"]
    edits: list[Edit] = Field(default_factory=list)
    # order: the old letters in their new order (["C", "A", ...] shows option C first, as A).
    order: list[str] | None = None
    # Criteria this control does not test, each with why (education's clarity anchors count
    # padding against an answer, so padding is no control for it).
    exempt: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _shape(self) -> BankControl:
        if self.kind == "order":
            if not self.order or self.edits:
                raise ValueError("an order control gives `order` (the letters) and no edits")
        elif not self.edits or self.order is not None:
            raise ValueError(f"a {self.kind} control gives `edits` and no `order`")
        return self


class Noise(_Strict):
    """The noise floor: each base case judged `samples` times at `temperature`."""

    samples: int = Field(ge=3)
    temperature: float = Field(gt=0, le=2)


class Bank(_Strict):
    """One rubric's test bank."""

    rubric: str
    version: str
    description: str = Field(min_length=1)
    # The criteria the bank tests. A single-call rubric's bank tests every LLM criterion and
    # leaves this out; a staged rubric's names the measures (item-level numbers computed from
    # its judge stages' verdicts per unit) that its pairs move (judge/study/bank.py).
    criteria: list[str] | None = None
    min_pairs: int = Field(default=MIN_PAIRS, ge=MIN_PAIRS)
    noise: Noise
    cases: list[BankCase] = Field(min_length=1)
    pairs: list[BankPair] = Field(min_length=1)
    controls: list[BankControl] = Field(min_length=3)
