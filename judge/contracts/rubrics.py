"""Rubrics: the one contract shared by human raters and LLM judges.

User-authored, so every model forbids unknown keys: a typo is an error, not a silent default.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from judge.contracts.criteria import (
    NOT_APPLICABLE,
    ComputedIf,
    Criterion,
    RougeSpec,
    Stage,
    UnitMeasure,
)
from judge.contracts.gates import Gate
from judge.contracts.scales import (
    BinaryScale,
    CategoricalScale,
    ContinuousScale,
    LabelsScale,
    Level,
    OrdinalScale,
    Scale,
    _Strict,
)

__all__ = [
    "NOT_APPLICABLE",
    "BaseRef",
    "BinaryScale",
    "CategoricalScale",
    "ComputedIf",
    "ContinuousScale",
    "Criterion",
    "Gate",
    "LabelsScale",
    "Level",
    "OrdinalScale",
    "RougeSpec",
    "Rubric",
    "RubricExample",
    "Scale",
    "Stage",
    "UnitMeasure",
]

_SLUG = r"^[a-z][a-z0-9_\-]*$"
# Caps on a worked example's texts (characters): examples travel in every prompt.
EXAMPLE_CASE_MAX = 2000
EXAMPLE_TEXT_MAX = 4000
EXAMPLE_REASON_MAX = 500


class RubricExample(_Strict):
    """A worked example the judge sees in its prompt: a case excerpt, the text that was
    judged, the clinicians' (gold) level of some of the rubric's LLM criteria and their reason.

    `item` records the results item it was taken from (provenance; `judge align` never
    evaluates an example on its own item)."""

    item: str | None = Field(default=None, max_length=200)
    case: str = Field(min_length=1, max_length=EXAMPLE_CASE_MAX)
    text: str = Field(min_length=1, max_length=EXAMPLE_TEXT_MAX)
    gold: dict[str, Level] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=EXAMPLE_REASON_MAX)


class BaseRef(_Strict):
    """The rubric a variant was made from (provenance): its id, version and hash when made."""

    id: str = Field(pattern=_SLUG)
    version: str
    hash: str = Field(pattern=r"^[0-9a-f]{16}$")

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


class Rubric(_Strict):
    """A scoring rubric: the one contract shared by human raters and LLM judges."""

    id: str = Field(pattern=_SLUG)
    version: str
    description: str
    # Dotted paths into the prediction; the first one holding text is what is judged.
    target: list[str] = Field(min_length=1)
    # Case fields the judge may see. `options`, `correct_answer` and `image_captions` are
    # rendered specially, and two are computed: `chosen_answer` (the option the candidate
    # chose, or that it hedged) and `final_diagnosis` (the correct option's text, no letter,
    # as the MedThinkVQA step judge is shown it); any other name is a case field shown as is.
    context: list[str] = Field(default_factory=list)
    instructions: str | None = None
    criteria: list[Criterion] = Field(min_length=1)
    # More than one call per item (split the reasoning, then judge each step); without
    # stages, one call asks every `llm` criterion.
    stages: list[Stage] = Field(default_factory=list)
    # A variant (`judge align`'s `ddx-aligned`) records the rubric it was made from.
    base: BaseRef | None = None
    # Worked examples shown to the judge (single-call rubrics only).
    examples: list[RubricExample] = Field(default_factory=list)
    # `case`: the items judged come from each case's own checklist (its `rubrics`, in
    # HealthBench's format), one met / not met call per item; the rubric's one `case_items`
    # criterion holds the score. A case without items is an input error. `key`: the items
    # are each case's key (`--keys`, judge.contracts.case_keys), judged the same way.
    items: Literal["case", "key"] | None = None
    # The number of options its anchors count ("all four distractors" is five options): a
    # case with another number is refused before judging. None: any number.
    option_count: int | None = Field(default=None, ge=2, le=10)
    # Conditions that fail an item whatever its mean (safety): judge.contracts.gates.
    gates: list[Gate] = Field(default_factory=list)
    # What the judge lists before it scores (judge.contracts.KeyItems: the key findings, the
    # must-not-miss alternative...), each ticked met or not; returned with its verdict and
    # stored in each judgment's `details`. Single-call rubrics only.
    key_items: str | None = Field(default=None, min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("gates")
    @classmethod
    def _gates_fit(cls, value: list[Gate], info: ValidationInfo) -> list[Gate]:
        # Checked here, so an error names the `gates:` line: the criterion exists, the value
        # is on its scale.
        criteria = {c.id: c for c in info.data.get("criteria", [])}
        for gate in value:
            problem = gate.problem(criteria.get(gate.criterion))
            if problem:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _key_items_in_one_call(self) -> Rubric:
        if self.key_items is not None and (self.stages or self.items):
            raise ValueError("`key_items:` is for a single-call rubric (no stages, no items)")
        return self

    @model_validator(mode="after")
    def _computed_if_fits(self) -> Rubric:
        # The criterion it reads is asked in the same call (a single-call rubric's LLM
        # criterion), and the value is one of its levels.
        asked = {c.id: c for c in self.llm_criteria}
        for c in self.criteria:
            rule = c.computed_if
            if rule is None:
                continue
            other = asked.get(rule.criterion)
            if other is None or other.id == c.id:
                raise ValueError(
                    f"criterion {c.id}: `computed_if` must name another LLM criterion of this "
                    f"rubric ({', '.join(x for x in asked if x != c.id) or 'none'})"
                )
            if not other.allows(rule.equals):
                raise ValueError(
                    f"criterion {c.id}: `computed_if` {rule.criterion}={rule.equals!r} is not a "
                    f"level of {rule.criterion}"
                )
        return self

    @model_validator(mode="after")
    def _unique_criteria(self) -> Rubric:
        ids = [c.id for c in self.criteria]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"criterion ids must be unique, repeated: {dupes}")
        return self

    @field_validator("base")
    @classmethod
    def _base_is_another(cls, value: BaseRef | None, info: ValidationInfo) -> BaseRef | None:
        if value is not None and value.id == info.data.get("id"):
            raise ValueError(f"a variant needs an id of its own, not its base's ({value.id})")
        return value

    @field_validator("examples")
    @classmethod
    def _examples_fit(cls, value: list[RubricExample], info: ValidationInfo) -> list[RubricExample]:
        # Checked here, not on the whole rubric, so an error names the `examples:` line.
        if value and info.data.get("stages"):
            raise ValueError("`examples` are shown to single-call rubrics only, not to stages")
        asked = {c.id: c for c in info.data.get("criteria", []) if c.method == "llm"}
        for n, example in enumerate(value, start=1):
            for name, level in example.gold.items():
                if name not in asked:
                    raise ValueError(
                        f"example {n}: {name!r} is not an LLM criterion of this rubric "
                        f"({', '.join(asked) or 'none'})"
                    )
                if not asked[name].allows(level):
                    raise ValueError(f"example {n}: {name}={level!r} is not a level of {name}")
        return value

    @model_validator(mode="after")
    def _items_fit(self) -> Rubric:
        computed = [c.id for c in self.criteria if c.method == "case_items"]
        if self.items is None:
            if computed:
                raise ValueError(f"method case_items ({computed[0]}) needs `items: case`")
            return self
        if len(computed) != 1 or self.llm_criteria or self.stages:
            raise ValueError(
                "a rubric with `items: case` has one criterion of method case_items, and no "
                "other criterion asked of the judges and no stages"
            )
        return self

    @model_validator(mode="after")
    def _stages_fit(self) -> Rubric:
        if not self.stages:
            if any(c.scale.type == "labels" or c.when for c in self.criteria):
                raise ValueError("`labels` scales and `when` belong to a stage's criteria")
            if any(c.method == "measure" for c in self.criteria):
                raise ValueError("method measure needs a judge stage to measure")
            return self
        if self.llm_criteria:
            raise ValueError("with stages, the judges' criteria belong to a judge stage")
        names = [s.id for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage ids must be unique, got {names}")
        unit_ids = [c.id for s in self.stages for c in s.criteria]
        if len(set(unit_ids) | {c.id for c in self.criteria}) != len(unit_ids) + len(self.criteria):
            raise ValueError("criterion ids must be unique across the rubric and its stages")
        for i, stage in enumerate(self.stages):
            earlier = {s.id for s in self.stages[:i] if s.kind == "segment"}
            if stage.kind == "judge" and stage.per not in earlier:
                raise ValueError(f"stage {stage.id}: `per` must name an earlier segment stage")
        for c in self.criteria:
            if c.measure is not None:
                self._check_measure(c.id, c.measure)
        return self

    def _check_measure(self, criterion_id: str, measure: UnitMeasure) -> None:
        stage = next((s for s in self.stages if s.id == measure.stage), None)
        if stage is None or stage.kind != "judge":
            raise ValueError(f"criterion {criterion_id}: measure.stage must name a judge stage")
        for name, level in measure.where.items():
            if not any(c.id == name and c.allows(level) for c in stage.criteria):
                raise ValueError(
                    f"criterion {criterion_id}: `where` {name}={level!r} is not a level of a "
                    f"criterion of stage {stage.id}"
                )
        if measure.of is not None and not any(
            c.id == measure.of and c.scale.type == "labels" for c in stage.criteria
        ):
            raise ValueError(
                f"criterion {criterion_id}: `of` must name a labels criterion of stage {stage.id}"
            )

    def option_problem(self, letters: tuple[str, ...]) -> str | None:
        """Why a case with these option letters (none: open-ended) cannot be judged with this
        rubric, or None. Judges shown the options or the correct answer (`context`), and a
        count of the distractors addressed, need a closed-ended case; that count also needs a
        label for each of the case's letters; anchors written for `option_count` options need
        that many. The computed letter criteria (answer accuracy, letter consistency) need no
        check: an open-ended case leaves them unscored, with the reason."""
        shown = {*self.context, *(n for s in self.stages for n in s.context or ())}
        needs = sorted(shown & {"options", "correct_answer", "chosen_answer", "final_diagnosis"})
        counts = [c.measure for c in self.criteria if c.measure and c.measure.of]
        if not letters and (needs or counts):
            what = f"shows the judges the {' and '.join(needs)}" if needs else "counts distractors"
            return (
                f"open-ended case (no options), but rubric {self.id} {what}; "
                "judge it with a rubric that does not (reference)"
            )
        if self.option_count is not None and letters and len(letters) != self.option_count:
            return (
                f"the case has {len(letters)} options ({letters[0]}-{letters[-1]}), but rubric "
                f"{self.id}'s anchors count the distractors of {self.option_count} "
                "(option_count); judge it with a rubric written for its number of options"
            )
        for measure in counts:
            labels = self.stage(measure.stage).criteria
            of = next(c for c in labels if c.id == measure.of)
            missing = [x for x in letters if not of.allows(x)]
            if missing:
                return (
                    f"the case has options {letters[0]}-{letters[-1]}, but rubric {self.id}'s "
                    f"{of.id} labels no {', '.join(missing)}"
                )
        return None

    @property
    def uses_keys(self) -> bool:
        """Whether a case key (`--keys`) changes what the judges are asked: ddx's and
        education's list of key items, or the items a `keys` rubric judges."""
        return self.key_items is not None or self.items == "key"

    @property
    def needs_judges(self) -> bool:
        """Whether scoring with this rubric asks an LLM at all (twi does not)."""
        return bool(self.llm_criteria or self.stages or self.items)

    def stage(self, stage_id: str) -> Stage:
        return next(s for s in self.stages if s.id == stage_id)

    @property
    def llm_criteria(self) -> list[Criterion]:
        return [c for c in self.criteria if c.method == "llm"]

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)
