"""Aggregate a run: per-criterion mean, std, n scored and n unscored, and what the run cost.

Built incrementally (Welford's running mean and variance), so a run of a million records
summarises in constant memory.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from judge.contracts import ResultRecord, Rubric

__all__ = ["CriterionSummary", "Summary", "SummaryBuilder"]


@dataclass
class CriterionSummary:
    """One criterion across a run. `mean`/`std` are None when nothing numeric was scored."""

    id: str
    scale: str
    n_scored: int = 0
    n_unscored: int = 0
    mean: float | None = None
    std: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class Summary:
    """What a run produced and what it cost."""

    rubric: str
    n_records: int
    status: dict[str, int]
    criteria: list[CriterionSummary]
    calls: int = 0
    cached_calls: int = 0
    failed_calls: dict[str, int] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None


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

    def __init__(self, rubric: Rubric):
        self.rubric = rubric
        self._status: Counter[str] = Counter()
        self._running = {c.id: _Running() for c in rubric.criteria}
        self._continuous = {c.id for c in rubric.criteria if c.scale.type == "continuous"}
        self._unscored: Counter[str] = Counter()
        self._scored: Counter[str] = Counter()
        self._counts: dict[str, Counter[str]] = {c.id: Counter() for c in rubric.criteria}
        self._reasons: dict[str, Counter[str]] = {c.id: Counter() for c in rubric.criteria}
        self._calls = 0
        self._cached = 0
        self._failed: Counter[str] = Counter()
        self._tokens = [0, 0]
        self._cost: float | None = None

    def add(self, record: ResultRecord) -> None:
        self._status[record.status] += 1
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
                # Per-level counts for discrete scales only: a continuous score (ROUGE F1)
                # would add one entry per distinct value and grow with the run.
                if criterion_id not in self._continuous:
                    self._counts[criterion_id][_label(value)] += 1
        for judgment in record.judgments:
            if judgment.status == "unscored" and judgment.reason:
                self._reasons[judgment.criterion][judgment.reason[:80]] += 1
        for call in record.calls:
            self._calls += 1
            self._cached += call.cached
            if call.error:
                self._failed[call.judge] += 1
            self._tokens[0] += call.tokens_in or 0
            self._tokens[1] += call.tokens_out or 0
            if call.cost_usd is not None and not call.cached:
                self._cost = (self._cost or 0.0) + call.cost_usd

    def build(self) -> Summary:
        criteria = []
        for c in self.rubric.criteria:
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
                )
            )
        return Summary(
            rubric=self.rubric.id,
            n_records=sum(self._status.values()),
            status=dict(self._status),
            criteria=criteria,
            calls=self._calls,
            cached_calls=self._cached,
            failed_calls=dict(self._failed),
            tokens_in=self._tokens[0],
            tokens_out=self._tokens[1],
            cost_usd=self._cost,
        )


def _label(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
