"""Rating a staged rubric's units (the reasoning steps of `ddx-steps`) by hand.

The rater sees the steps the judges rated: the segmentation stored in a judged run's results
(`--results`, each record's `segments`) or, for an item no record splits, the sentence split
the judge itself falls back to (`split_sentences` + `fit_units`). The units are stored per
item in the annotation database the first time, so a restart shows the same steps.

Each step is rated on its judge stage's criteria: binary ones by radio buttons, `labels` ones
by checkboxes, and a criterion with `when:` (error types, when the step is not factual) only
when the step's answers meet it. A submitted item must answer every step (server-side).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from judge.annotate.page import FormError, LevelView
from judge.annotate.store import Answer, StepLevel, StepUnits
from judge.contracts import Criterion, Rubric, Stage
from judge.errors import ConfigError
from judge.judging.prompts import target_text
from judge.judging.sentences import fit_units, split_sentences
from judge.load.inputs import Item
from judge.store.results import iter_records

__all__ = [
    "StepCriterionView",
    "StepPlan",
    "StepView",
    "find_units",
    "read_step_answers",
    "step_field",
    "step_plan",
    "step_views",
]

# Where a unit list came from, as stored: a judged run's segmentation, or the sentence split.
FROM_RESULTS = "results"
FROM_SENTENCES = "sentences"


@dataclass(frozen=True)
class StepPlan:
    """Which stage makes the units and which stage's criteria people rate on each."""

    segment: Stage
    judge: Stage

    @property
    def criteria(self) -> list[Criterion]:
        return self.judge.criteria


@dataclass(frozen=True)
class StepCriterionView:
    id: str
    field: str
    question: str
    kind: str
    multiple: bool  # checkboxes (a labels scale) rather than radio buttons
    levels: list[LevelView]
    # `when:` as (field of the criterion it depends on, level): the page's script hides the
    # question until it applies; without the script every question shows, and the server
    # drops an answer whose `when:` is not met.
    when: list[tuple[str, str]]


@dataclass(frozen=True)
class StepView:
    number: int
    text: str
    criteria: list[StepCriterionView]


def step_plan(rubric: Rubric) -> StepPlan | None:
    """The stages a rater follows, or None for a single-stage rubric."""
    if not rubric.stages:
        return None
    judges = [s for s in rubric.stages if s.kind == "judge"]
    if len(judges) != 1:
        raise ConfigError(
            f"rubric {rubric.id}: the annotation app rates one judge stage, found {len(judges)}"
        )
    for c in judges[0].criteria:
        _levels(c)  # refuses a scale that cannot be rated per step, before serving
    return StepPlan(segment=rubric.stage(judges[0].per or ""), judge=judges[0])


def find_units(
    items: Mapping[str, Item],
    rubric: Rubric,
    plan: StepPlan,
    known: set[str],
    results: str | Path | None,
) -> dict[str, StepUnits]:
    """Units for the items not in `known`: the results' segmentation, else a sentence split.
    An item with no text to split gets none (the caller refuses it)."""
    judged = _results_units(results, rubric, plan.segment.id) if results is not None else {}
    found: dict[str, StepUnits] = {}
    for item_id, item in items.items():
        if item_id in known:
            continue
        if item_id in judged:
            found[item_id] = StepUnits(judged[item_id], FROM_RESULTS)
            continue
        text = target_text(rubric, item.prediction)[1] or ""
        units = fit_units(split_sentences(text), plan.segment.max_units)
        if units:
            found[item_id] = StepUnits(units, FROM_SENTENCES)
    return found


def _results_units(path: str | Path, rubric: Rubric, stage: str) -> dict[str, list[str]]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--results {path}: no such file")
    found: dict[str, list[str]] = {}
    for record in iter_records(path):
        if record.rubric.id != rubric.id:
            raise ConfigError(
                f"--results {path}: item {record.id} was judged with rubric "
                f"{record.rubric.id}, not {rubric.id}"
            )
        segments = record.segments.get(stage)
        if segments is not None and segments.units:
            found[record.id] = segments.units
    return found


def step_field(step: int, criterion: Criterion | str) -> str:
    """The form field of one criterion on one step."""
    name = criterion if isinstance(criterion, str) else criterion.id
    return f"step{step}_{name}"


def step_views(plan: StepPlan, units: Sequence[str], answer: Answer) -> list[StepView]:
    """Each step with its criteria, the rater's earlier answers checked."""
    views = []
    for number, text in enumerate(units, start=1):
        given = answer.steps.get(number, {})
        criteria = []
        for c in plan.criteria:
            chosen = given.get(c.id)
            picked = set(chosen) if isinstance(chosen, list) else {chosen}
            levels = [
                LevelView(str(level), key, anchor, level in picked)
                for level, key, anchor in _levels(c)
            ]
            when = [(step_field(number, other), str(level)) for other, level in _when(c)]
            multiple = c.scale.type == "labels"
            field = step_field(number, c)
            view = StepCriterionView(c.id, field, c.question, c.scale.type, multiple, levels, when)
            criteria.append(view)
        views.append(StepView(number, text, criteria))
    return views


def read_step_answers(
    plan: StepPlan, n_units: int, form: Mapping[str, list[str]]
) -> dict[int, dict[str, StepLevel]]:
    """Every step's answers from a submitted form (field → every value it was sent with).

    A radio criterion is required on every step; a `labels` criterion is a set (none
    checked is the empty set) except under `when:`, where the rubric asks for at least one
    label (error types of a non-factual step); a criterion whose `when:` is not met is
    left out. FormError names the first step and criterion missing.
    """
    steps: dict[int, dict[str, StepLevel]] = {}
    for step in range(1, n_units + 1):
        levels: dict[str, StepLevel] = {}
        for c in plan.criteria:
            if not all(levels.get(other) == level for other, level in _when(c)):
                continue
            raw = [v for v in form.get(step_field(step, c), []) if v != ""]
            known = {str(level): level for level, _, _ in _levels(c)}
            unknown = [v for v in raw if v not in known]
            if unknown:
                raise FormError(f"step {step}: {unknown[0]!r} is not a level of {c.id}")
            if c.scale.type == "labels":
                if not raw and c.when:
                    raise FormError(f"step {step}: {c.id} needs at least one label")
                levels[c.id] = sorted({str(known[v]) for v in raw})
            elif len(raw) != 1:
                raise FormError(f"step {step}: answer {c.id} (one level)")
            else:
                levels[c.id] = known[raw[0]]
        steps[step] = levels
    return steps


def _levels(c: Criterion) -> list[tuple[int | str, str, str]]:
    """(level, keyboard key, anchor): ordinal and binary levels are typed as themselves,
    labels by their position (as on a single-stage page)."""
    scale = c.scale
    if scale.type == "labels":
        return [(label, str(n), text) for n, (label, text) in enumerate(scale.labels.items(), 1)]
    if scale.type in ("ordinal", "binary"):
        return [(level, str(level), scale.anchors[level]) for level in scale.levels]
    raise ConfigError(f"criterion {c.id}: a {scale.type} scale cannot be rated per step")


def _when(c: Criterion) -> list[tuple[str, int | str]]:
    return list((c.when or {}).items())
