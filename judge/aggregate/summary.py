"""Aggregate a run: per-criterion mean, std, n scored and n unscored, inter-judge agreement,
sample spread, and what each judge cost.

Built incrementally (Welford's running mean and variance; counts of the panel's rating
patterns for Krippendorff's α), so a run of a million records summarises in constant memory.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import replace
from typing import Any

from judge.aggregate.answers import AnswerTally
from judge.aggregate.case_items import ITEM, bootstrap_std, clipped_mean
from judge.aggregate.intervals import MeanInterval
from judge.aggregate.summary_models import (
    ClippedScore,
    CriterionSummary,
    Interval,
    JudgeSummary,
    SliceSummary,
    Summary,
    add_calls,
)
from judge.contracts import (
    ContinuousScale,
    Criterion,
    Judgment,
    LabelsScale,
    ResultRecord,
    Rubric,
)
from judge.errors import ConfigError

__all__ = [
    "ClippedScore",
    "CriterionSummary",
    "Interval",
    "JudgeSummary",
    "SliceSummary",
    "Summary",
    "SummaryBuilder",
]


# Distinct tags a run's summary keeps (HealthBench has a few dozen): a hostile file cannot
# grow it without bound.
MAX_TAGS = 1000


class _Running:
    """Welford's online mean and variance."""

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    @property
    def std(self) -> float | None:
        # Sample standard deviation; undefined for one value.
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None


class SummaryBuilder:
    """Feed records one at a time; `build()` any time."""

    def __init__(
        self, rubric: Rubric, by: str | None = None, cluster: str | None = None, ci: float = 0.95
    ):
        self.rubric = rubric
        self.by = by
        # Each mean's interval at level `ci`, resampling clusters of the case field `cluster`.
        self.cluster = cluster
        self.ci = ci
        self._cluster_key: Any = None
        # Set by a run with a cases file: the cases no prediction joined.
        self.missing: list[str] = []
        # Set by a run with case keys: the keys file. The counts are the records' own (each
        # record's key review), so a --limit run counts the keys it used, as the report does.
        self.keys_file: str | None = None
        self._key_roles: Counter[str] = Counter()
        # One running mean per (slice value, criterion): bounded by the field's distinct values.
        self._slices: dict[str, dict[str, _Running]] = {}
        self._slice_n: Counter[str] = Counter()
        self._status: Counter[str] = Counter()
        # A multi-stage rubric's per-unit criteria (is_factual per step) are summarised over
        # units: their mean, level counts and α among judges, one pattern per item x step.
        self._units = {c.id: c for stage in rubric.stages for c in stage.criteria}
        # With `items: case`, each case item's met / not met the same way (no α: the items
        # differ from case to case, so there is no fixed set of units to pattern).
        self._items = {ITEM.id: ITEM} if rubric.items else {}
        self._units.update(self._items)
        self._unit_stage = {c.id: s.per or "" for s in rubric.stages for c in s.criteria}
        self._rows = [*rubric.criteria, *self._units.values()]
        self._running = {c.id: _Running() for c in self._rows}
        self._continuous = {c.id for c in rubric.criteria if c.scale.type == "continuous"}
        self._unscored: Counter[str] = Counter()
        self._scored: Counter[str] = Counter()
        self._counts: dict[str, Counter[str]] = {c.id: Counter() for c in self._rows}
        self._reasons: dict[str, Counter[str]] = {c.id: Counter() for c in self._rows}
        self._judges: dict[str, JudgeSummary] = {}
        self._patterns: dict[str, Counter[tuple[Any, ...]]] = {
            c.id: Counter()
            for c in [*rubric.llm_criteria, *self._units.values()]
            if c.id not in self._items
        }
        self._spread = {c.id: _Running() for c in rubric.llm_criteria}
        # Per measure criterion: [matching units, units with a verdict] over scored records.
        self._pooled = {c.id: [0, 0] for c in rubric.criteria if c.measure and c.measure.of is None}
        # With `items: case`: every record's value per score key, for the bootstrap (floats
        # only: a million records hold 8 MB per key).
        self._clipped: dict[str, list[float]] | None = {} if rubric.items else None
        self._answers = AnswerTally(rubric)
        self._intervals = {c.id: self._new_interval(c) for c in self._rows}
        self._slice_intervals: dict[str, dict[str, MeanInterval]] = {}

    def _new_interval(self, criterion: Criterion) -> MeanInterval:
        # A step criterion's units (and a case's items) are resampled with their item when no
        # coarser cluster is given: units of one item are not independent.
        unit = criterion.id in self._units and self.cluster is None
        binary = criterion.scale.type == "binary"
        return MeanInterval(binary, clustered=self.cluster is not None, contiguous=unit)

    def _set_cluster(self, record: ResultRecord) -> None:
        if self.cluster is None:
            self._cluster_key = record.id
            return
        value = record.meta.get(self.cluster)
        if value is None:
            raise ConfigError(
                f"--cluster {self.cluster}: item {record.id!r} has no {self.cluster!r} field "
                "in its case metadata"
            )
        self._cluster_key = str(value)

    def _keys_block(self) -> dict[str, Any] | None:
        # judge.aggregate.key_counts.keys_block's shape.
        if not self._key_roles:
            return None
        roles = self._key_roles
        return {
            "file": self.keys_file,
            "keys": sum(roles.values()),
            "reviewed_by_clinician": roles["clinician"],
            "reviewed_by_author": roles["author"],
            "draft": roles["draft"],
        }

    def add(self, record: ResultRecord) -> None:
        self._set_cluster(record)
        self._status[record.status] += 1
        if record.key_review is not None:
            self._key_roles[record.key_review] += 1
        if self.by is not None:
            self._add_slice(record)
        for criterion_id, value in record.scores.items():
            if criterion_id not in self._running:
                continue
            if value is None:
                self._unscored[criterion_id] += 1
                continue
            self._scored[criterion_id] += 1
            if isinstance(value, str):
                self._counts[criterion_id][value] += 1
            else:
                self._running[criterion_id].add(float(value))
                self._intervals[criterion_id].add(float(value), self._cluster_key)
                # Per-level counts for discrete scales only: a continuous score (ROUGE F1)
                # would add one entry per distinct value and grow with the run.
                if criterion_id not in self._continuous:
                    self._counts[criterion_id][_label(value)] += 1
        for judgment in record.judgments:
            if judgment.step is not None and judgment.criterion in self._units:
                self._add_unit(judgment)
            elif judgment.status == "unscored" and judgment.reason:
                _count_reason(self._reasons[judgment.criterion], judgment.reason[:80])
        self._add_pooled(record)
        self._add_clipped(record)
        self._answers.add(record)
        add_calls(self._judges, record.calls)
        if len(record.judges) > 1:
            self._add_patterns(record)
        self._add_spread(record)

    def _add_unit(self, judgment: Judgment) -> None:
        """One judge's verdict on one unit (first samples and repeats alike)."""
        criterion = judgment.criterion
        if judgment.status != "scored" or judgment.score is None:
            self._unscored[criterion] += 1
            _count_reason(self._reasons[criterion], _unit_reason(judgment.reason or ""))
            return
        self._scored[criterion] += 1
        if isinstance(judgment.score, list):  # labels: how often each was given
            self._counts[criterion].update(judgment.score)
        elif isinstance(judgment.score, int | float):
            self._running[criterion].add(float(judgment.score))
            self._intervals[criterion].add(float(judgment.score), self._cluster_key)
            self._counts[criterion][_label(judgment.score)] += 1
        else:
            self._counts[criterion][str(judgment.score)] += 1

    def _add_pooled(self, record: ResultRecord) -> None:
        for j in record.judgments:
            pool = self._pooled.get(j.criterion)
            if pool is None or j.status != "scored" or not j.details:
                continue
            pool[0] += int(j.details.get("matching", 0))
            pool[1] += int(j.details.get("units", 0)) - int(j.details.get("no_verdict", 0))

    def _pooled_value(self, criterion: Criterion) -> float | None:
        pool = self._pooled.get(criterion.id)
        if pool is None or criterion.measure is None or not pool[1]:
            return None
        if criterion.measure.statistic == "count":
            return float(pool[0])
        return round(pool[0] / pool[1], 4)

    def _add_clipped(self, record: ResultRecord) -> None:
        if self._clipped is None:
            return
        for key, value in record.scores.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            if key not in self._clipped and len(self._clipped) >= MAX_TAGS:
                continue
            self._clipped.setdefault(key, []).append(float(value))

    def _clipped_scores(self) -> list[ClippedScore]:
        found = self._clipped or {}
        keys = sorted(found, key=lambda k: (k != "overall", k))
        return [
            ClippedScore(
                k,
                len(found[k]),
                clipped_mean(found[k]),
                bootstrap_std(found[k]),
                _clipped_interval(found[k], self.ci),
            )
            for k in keys
        ]

    def _add_slice(self, record: ResultRecord) -> None:
        value = record.meta.get(self.by or "")
        key = "(missing)" if value is None else str(value)
        self._slice_n[key] += 1
        running = self._slices.setdefault(key, {c.id: _Running() for c in self.rubric.criteria})
        intervals = self._slice_intervals.setdefault(
            key, {c.id: self._new_interval(c) for c in self.rubric.criteria}
        )
        for criterion_id, score in record.scores.items():
            if isinstance(score, int | float) and criterion_id in running:
                running[criterion_id].add(float(score))
                intervals[criterion_id].add(float(score), self._cluster_key)

    def _add_patterns(self, record: ResultRecord) -> None:
        first: dict[tuple[str, int | None, str], Any] = {
            (j.criterion, j.step, j.judge): j.score
            for j in record.judgments
            if j.sample == 0 and j.status == "scored" and not isinstance(j.score, list)
        }
        for criterion_id, patterns in self._patterns.items():
            for step in self._steps(criterion_id, record):
                key = (criterion_id, step)
                patterns[tuple(first.get((*key, judge)) for judge in record.judges)] += 1

    def _steps(self, criterion_id: str, record: ResultRecord) -> list[int | None]:
        """The units a criterion rates on a record: [None] (the item) or its unit numbers."""
        if criterion_id not in self._units:
            return [None]
        segments = record.segments.get(self._unit_stage[criterion_id])
        return list(range(1, len(segments.units) + 1)) if segments else []

    def _add_spread(self, record: ResultRecord) -> None:
        samples: dict[tuple[str, str], list[float]] = {}
        for j in record.judgments:
            if (
                j.status == "scored"
                and isinstance(j.score, int | float)
                and j.criterion in self._spread
            ):
                samples.setdefault((j.criterion, j.judge), []).append(float(j.score))
        for (criterion_id, _), values in samples.items():
            if len(values) > 1:
                self._spread[criterion_id].add(statistics.stdev(values))

    def build(self) -> Summary:
        criteria = []
        for c in self._rows:
            running = self._running[c.id]
            criteria.append(
                CriterionSummary(
                    id=c.id,
                    scale=c.scale.type,
                    n_scored=self._scored[c.id],
                    n_unscored=self._unscored[c.id],
                    mean=running.mean if running.n else None,
                    std=running.std,
                    counts=dict(self._counts[c.id]),
                    reasons=dict(self._reasons[c.id].most_common(3)),
                    alpha=self._alpha(c),
                    spread=self._spread[c.id].mean
                    if c.id in self._spread and self._spread[c.id].n
                    else None,
                    pooled=self._pooled_value(c),
                    interval=self._intervals[c.id].interval(self.ci),
                )
            )
        judges = [self._judges[name] for name in sorted(self._judges)]
        costs = [j.cost_usd for j in judges if j.cost_usd is not None]
        return Summary(
            rubric=self.rubric.id,
            n_records=sum(self._status.values()),
            status=dict(self._status),
            criteria=criteria,
            calls=sum(j.calls for j in judges),
            cached_calls=sum(j.cached for j in judges),
            failed_calls={j.judge: j.failed for j in judges if j.failed},
            tokens_in=sum(j.tokens_in for j in judges),
            tokens_out=sum(j.tokens_out for j in judges),
            cost_usd=sum(costs) if costs else None,
            judges=judges,
            by=self.by,
            missing=list(self.missing),
            keys=self._keys_block(),
            on_draft_keys=self._key_roles["draft"],
            slices=[
                SliceSummary(
                    value=key,
                    n=self._slice_n[key],
                    means={c: (r.mean if r.n else None) for c, r in self._slices[key].items()},
                    intervals={
                        c: i.interval(self.ci) for c, i in self._slice_intervals[key].items()
                    },
                )
                for key in sorted(self._slices)
            ],
            clipped=self._clipped_scores(),
            answers=self._answers.build(),
            ci=self.ci,
            cluster=self.cluster,
        )

    def _alpha(self, criterion: Criterion) -> float | None:
        patterns = self._patterns.get(criterion.id)
        if not patterns or isinstance(criterion.scale, ContinuousScale | LabelsScale):
            return None
        from calibration import alpha_from_patterns
        from calibration.levels import level_of

        return alpha_from_patterns(patterns, criterion.scale.levels, level_of(criterion.scale.type))


# Distinct reasons kept per criterion (the summary shows the 3 most common): a reason that
# quotes each item (a provider's request id, say) would otherwise grow with the run.
MAX_REASONS = 1000
OTHER_REASONS = "(other reasons)"


def _count_reason(counts: Counter[str], reason: str) -> None:
    if reason not in counts and len(counts) >= MAX_REASONS:
        reason = OTHER_REASONS
    counts[reason] += 1


def _unit_reason(reason: str) -> str:
    # "no verdict for step 3" and "step 5" are one reason, not one per step number.
    return re.sub(r"\b(step|unit) \d+\b", r"\1 N", reason)[:80]


def _label(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _clipped_interval(values: list[float], ci: float) -> Interval | None:
    """The interval of HealthBench's clipped mean: the mean's bootstrap interval, clipped to
    [0, 1] as the mean is (clipping is monotone, so it clips each resample's mean alike)."""
    mean = MeanInterval(binary=False)
    for value in values:
        mean.add(value)
    found = mean.interval(ci)
    if found is None:
        return None
    # min/max keep a NaN bound (no interval from one score) as it is.
    return replace(found, low=min(max(found.low, 0.0), 1.0), high=min(max(found.high, 0.0), 1.0))
