"""A rubric's criteria and the stages of a multi-stage rubric (judge.contracts.rubrics holds
the rubric itself). User-authored, so every model forbids unknown keys."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from judge.contracts.scales import Level, Scale, _Strict

__all__ = ["NOT_APPLICABLE", "ComputedIf", "Criterion", "RougeSpec", "Stage", "UnitMeasure"]

# What a judge answers for a criterion with `not_applicable:` that does not apply.
NOT_APPLICABLE = "N/A"
# Criterion ids become field names of the judge's response model: identifiers only.
_FIELD = r"^[a-z][a-z0-9_]*$"


class RougeSpec(_Strict):
    """Which ROUGE F1 a `rouge` criterion reports, and which texts it compares.

    `step1_per_image`: finding i of `prediction_twi.step1_per_image_findings` against image i's
    caption, averaged over images. `step2_summary`: `prediction_twi.step2_integrated_summary`
    against the case's `IMAGING_FINDINGS`.
    """

    metric: Literal["rouge1", "rouge2", "rougeL"]
    compare: Literal["step1_per_image", "step2_summary"]


class UnitMeasure(_Strict):
    """A number computed from a judge stage's per-unit verdicts (after the panel's vote on
    each unit): how many units match `where`, or what share of them does.

    `where` maps the stage's criteria to a level (for a labels criterion: a label the unit
    carries). A unit whose verdict on a `where` criterion is missing makes a count unscored
    and is left out of a ratio's denominator, rather than counting as a silent "no".
    """

    stage: str
    # `distractors`: how many of the options other than the correct answer at least one unit
    # carries as a label of the labels criterion named by `of` (whose labels are option letters;
    # a case with a letter they lack is refused, one whose options stop short ignores the rest).
    # `ruled_out`: the same, leaving out the chosen option too, counting only units that match
    # `where` (a factual step that addresses an option the candidate did not choose).
    statistic: Literal["count", "ratio", "distractors", "ruled_out"]
    where: dict[str, Level] = Field(default_factory=dict)
    of: str | None = None
    # With `ruled_out`: the case field naming one option (its must-not-miss distractor): 1 when
    # that option is ruled out, 0 when not; unscored for a case that names none.
    option: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @model_validator(mode="after")
    def _ratio_of_something(self) -> UnitMeasure:
        if self.statistic == "ratio" and not self.where:
            raise ValueError("a ratio needs a `where:` condition (the share of units matching it)")
        if (self.statistic in ("distractors", "ruled_out")) != (self.of is not None):
            raise ValueError("`of:` (a labels criterion of option letters) goes with distractors")
        if self.option is not None and self.statistic != "ruled_out":
            raise ValueError("`option:` (a case field naming one option) goes with ruled_out")
        return self


class ComputedIf(_Strict):
    """An LLM criterion settled by another criterion of the same call: when the same judge's
    verdict (same sample) on `criterion` is `equals`, this one is computed at `level`
    (education's harm_severity is 1, no harm, when safety is 0). `level` is reserved for that
    condition: a verdict of `level` when the condition does not hold contradicts the anchors
    and is unscored, with the reason (judge.judging.harm.settle_from_other)."""

    criterion: str = Field(pattern=_FIELD)
    equals: Level
    level: Level


class Criterion(_Strict):
    """One question of a rubric, answered on its scale by a person or a judge."""

    id: str = Field(pattern=_FIELD)
    question: str = Field(min_length=1)
    scale: Scale
    weight: float = Field(default=1.0, ge=0)
    # False when a high score is bad (a hallucination flag): weighted pass/fail scores use it.
    higher_is_better: bool = True
    # `llm`: asked of the judges. `answer_accuracy`, `rouge`: computed, no LLM. `measure`:
    # computed from a stage's per-unit verdicts (the share of factual steps).
    # `letter_consistency`: the chosen letter names the option the reasoning argues for.
    # `case_items`: computed from the case's own checklist, each item judged met / not met in
    # its own call (HealthBench's score); only in a rubric with `items: case`. `answered`:
    # exactly one of the case's options was chosen (the abstention rate beside accuracy).
    method: Literal[
        "llm",
        "answer_accuracy",
        "answered",
        "rouge",
        "measure",
        "letter_consistency",
        "case_items",
    ] = "llm"
    # The ROUGE settings; required by, and only allowed with, method `rouge`.
    rouge: RougeSpec | None = None
    # What a `measure` criterion counts; required by, and only allowed with, method `measure`.
    measure: UnitMeasure | None = None
    # A per-unit criterion asked only when the unit's other criteria have these levels
    # (error types only for a step that is not factual).
    when: dict[str, Level] | None = None
    # False: a criterion that applies only where the text allows it (letter vs argued
    # diagnosis); unscored, it does not make the record `partial`.
    required: bool = True
    # An LLM criterion that is computed, not judged, when the chosen letter is the correct
    # answer: it then takes this level (the harm of a miss is none when nothing was missed).
    if_correct: Level | None = None
    # When it does not apply (a reasoning that states no general medical knowledge): the
    # judge may answer "N/A" instead of a level, which leaves the criterion unscored with
    # this sentence as the reason. Only for an LLM criterion with `required: false`.
    not_applicable: str | None = Field(default=None, min_length=1)
    # Computed from another criterion's verdict in the same call (see ComputedIf).
    computed_if: ComputedIf | None = None

    @model_validator(mode="after")
    def _method_fits_scale(self) -> Criterion:
        if self.method in ("answer_accuracy", "answered", "letter_consistency") and (
            self.scale.type != "binary"
        ):
            raise ValueError(f"method {self.method} needs a binary scale")
        if self.method == "rouge" and (self.scale.type != "continuous" or self.rouge is None):
            raise ValueError("method rouge needs a continuous scale and a `rouge:` setting")
        if self.method != "rouge" and self.rouge is not None:
            raise ValueError("a `rouge:` setting is only allowed with method rouge")
        if self.method == "llm" and self.scale.type == "continuous":
            raise ValueError("method llm needs levels: an ordinal, binary or categorical scale")
        if (self.method == "measure") != (self.measure is not None):
            raise ValueError("method measure needs a `measure:` setting, and only it allows one")
        if self.method in ("measure", "case_items") and self.scale.type != "continuous":
            raise ValueError(f"method {self.method} needs a continuous scale")
        if self.if_correct is not None and (
            self.method != "llm" or not self.allows(self.if_correct)
        ):
            raise ValueError("`if_correct:` must be a level of an LLM criterion's scale")
        if self.computed_if is not None and (
            self.method != "llm" or not self.allows(self.computed_if.level)
        ):
            raise ValueError("`computed_if:` level must be a level of an LLM criterion's scale")
        if self.not_applicable is not None and (self.method != "llm" or self.required):
            raise ValueError("`not_applicable:` needs an LLM criterion with `required: false`")
        return self

    def allows(self, level: Level) -> bool:
        """Whether `level` is one of this criterion's levels (or labels)."""
        return level in getattr(self.scale, "levels", [])


class Stage(_Strict):
    """One call of a multi-stage rubric. Stages run in order; each sees the case, the judged
    text and what the earlier stages produced.

    `segment`: the reply is a list of `min_units`..`max_units` short texts (the reasoning's
    atomic steps), made once per item by the panel's first judge (by name) and shared by all,
    so every judge rates the same units; when that call fails, `fallback: sentences` splits the
    text into sentences instead (the record says which). `judge`: every judge rates each unit
    of the segment stage named by `per` on the stage's criteria, with a short explanation.
    """

    id: str = Field(pattern=_FIELD)
    kind: Literal["segment", "judge"]
    instructions: str = Field(min_length=1)
    # segment
    unit: str = Field(default="step", pattern=_FIELD)
    min_units: int = Field(default=1, ge=1)
    max_units: int = Field(default=15, ge=1)
    unit_max_chars: int = Field(default=400, ge=20)
    fallback: Literal["sentences", "none"] = "sentences"
    # judge
    per: str | None = None
    criteria: list[Criterion] = Field(default_factory=list)
    # The case fields this stage's calls see, when fewer than the rubric's `context` (the
    # MedThinkVQA splitter sees title, history and findings only, never the answer key).
    context: list[str] | None = None
    explanation_min: int = Field(default=2, ge=0)
    explanation_max: int = Field(default=300, ge=1)

    @model_validator(mode="after")
    def _shape(self) -> Stage:
        if self.kind == "segment" and (self.criteria or self.per):
            raise ValueError(f"stage {self.id}: a segment stage has no `criteria` or `per`")
        if self.kind == "judge" and not (self.criteria and self.per):
            raise ValueError(f"stage {self.id}: a judge stage needs `per` and `criteria`")
        if self.max_units < self.min_units:
            raise ValueError(f"stage {self.id}: max_units is below min_units")
        for c in self.criteria:
            if c.method != "llm":
                raise ValueError(f"stage {self.id}: criterion {c.id} must be asked (method llm)")
            if c.computed_if is not None:
                raise ValueError(
                    f"stage {self.id}: criterion {c.id}: `computed_if` is for a single call"
                )
            for other, level in (c.when or {}).items():
                if not any(o.id == other and o.allows(level) for o in self.criteria):
                    raise ValueError(
                        f"stage {self.id}: criterion {c.id}: `when` names {other}={level!r}, "
                        "not a level of a criterion of this stage"
                    )
        return self
