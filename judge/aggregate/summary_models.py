"""What a run's summary holds (judge.aggregate.summary builds it): per criterion, per judge,
per slice and per HealthBench score key."""

from __future__ import annotations

from dataclasses import dataclass, field

from judge.contracts import CallUsage

__all__ = ["ClippedScore", "CriterionSummary", "JudgeSummary", "SliceSummary", "Summary"]


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
    # Krippendorff's α among the panel's judges (first sample each); None without a panel,
    # NaN when undefined (no variation).
    alpha: float | None = None
    # Mean standard deviation of a judge's K samples on one item (None unless K > 1).
    spread: float | None = None
    # A step measure pooled over all units of all items, as the MedThinkVQA protocol reports
    # it (a ratio: matching units over units with a verdict; a count: the total); None for
    # other criteria.
    pooled: float | None = None


@dataclass
class JudgeSummary:
    """One judge across a run: calls, failures, tokens and money."""

    judge: str
    calls: int = 0
    cached: int = 0
    failed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None

    def add(self, call: CallUsage) -> None:
        self.calls += 1
        self.cached += call.cached
        self.failed += call.error is not None
        self.tokens_in += call.tokens_in or 0
        self.tokens_out += call.tokens_out or 0
        if call.cost_usd is not None and not call.cached:
            self.cost_usd = (self.cost_usd or 0.0) + call.cost_usd

    @property
    def cost_per_call(self) -> float | None:
        paid = self.calls - self.cached
        return self.cost_usd / paid if self.cost_usd is not None and paid else None


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
    judges: list[JudgeSummary] = field(default_factory=list)
    # With `by`: per value of that metadata field, n and the mean of each criterion.
    by: str | None = None
    slices: list[SliceSummary] = field(default_factory=list)
    # With a cases file: the ids of the cases no prediction joined (none are dropped silently).
    missing: list[str] = field(default_factory=list)
    # A rubric with `items: case` (healthbench): per score key (`overall`, then each tag),
    # HealthBench's run score (judge.aggregate.case_items).
    clipped: list[ClippedScore] = field(default_factory=list)


@dataclass
class ClippedScore:
    """One score key over a run, as HealthBench reports it: the mean over the records that
    have it, clipped to [0, 1], and the bootstrap standard deviation of that clipped mean."""

    key: str
    n: int
    mean: float
    bootstrap_std: float


@dataclass
class SliceSummary:
    """The records whose metadata field `by` has one value."""

    value: str
    n: int
    means: dict[str, float | None]
