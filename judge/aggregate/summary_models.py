"""What a run's summary holds (judge.aggregate.summary builds it): per criterion, per judge,
per slice and per HealthBench score key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from judge.aggregate.answers import AnswerSummary
from judge.contracts import CallUsage

__all__ = [
    "ClippedScore",
    "CriterionSummary",
    "Interval",
    "JudgeSummary",
    "SliceSummary",
    "Summary",
    "add_calls",
]


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
    # The mean's confidence interval (judge.aggregate.intervals); None without a numeric mean.
    interval: Interval | None = None


@dataclass(frozen=True)
class Interval:
    """A mean's confidence interval at `level`, over `n` scores (`clusters` of them when the
    bootstrap resampled clusters). `method`: wilson, bootstrap or cluster bootstrap; `low`
    and `high` are NaN when the data cannot give one (a single cluster or score)."""

    low: float
    high: float
    n: int
    level: float
    method: str
    clusters: int | None = None

    def text(self, digits: int = 2) -> str:
        """`[0.31, 0.81]`, as the summary and the report print it."""
        if self.low != self.low:  # NaN
            return "—"
        return f"[{self.low:.{digits}f}, {self.high:.{digits}f}]"


# Distinct served models or fingerprints a judge's summary counts: a hostile results file
# cannot grow it without bound (more than two already warns).
MAX_SERVED = 20


@dataclass
class JudgeSummary:
    """One judge across a run: calls, failures, tokens and money, and what the provider said
    served the calls (`served`: calls per served model; `fingerprints`: per fingerprint)."""

    judge: str
    calls: int = 0
    cached: int = 0
    failed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    served: dict[str, int] = field(default_factory=dict)
    fingerprints: dict[str, int] = field(default_factory=dict)

    def add(self, call: CallUsage) -> None:
        self.calls += 1
        self.cached += call.cached
        self.failed += call.error is not None
        self.tokens_in += call.tokens_in or 0
        self.tokens_out += call.tokens_out or 0
        if call.cost_usd is not None and not call.cached:
            self.cost_usd = (self.cost_usd or 0.0) + call.cost_usd
        for counts, value in (
            (self.served, call.served_model),
            (self.fingerprints, call.system_fingerprint),
        ):
            if value is not None and (value in counts or len(counts) < MAX_SERVED):
                counts[value] = counts.get(value, 0) + 1

    @property
    def serving_change(self) -> str | None:
        """A warning when the provider served this judge's calls with more than one model or
        system fingerprint (within a run, or across a resume: a summary counts every
        record), else None. Calls that did not say (records of earlier versions) are not
        counted."""
        changed = [
            f"{what} {_counted(counts)}"
            for what, counts in (("models", self.served), ("fingerprints", self.fingerprints))
            if len(counts) > 1
        ]
        if not changed:
            return None
        return (
            f"{self.judge} was served by more than one backend ({'; '.join(changed)}): its "
            "scores may not come from one model"
        )

    @property
    def cost_per_call(self) -> float | None:
        paid = self.calls - self.cached
        return self.cost_usd / paid if self.cost_usd is not None and paid else None


def add_calls(judges: dict[str, JudgeSummary], calls: Iterable[CallUsage]) -> None:
    """Count `calls` into the summary of each one's judge (made on its first call)."""
    for call in calls:
        judges.setdefault(call.judge, JudgeSummary(call.judge)).add(call)


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} ×{n}" for name, n in sorted(counts.items()))


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
    # With case keys (`--keys`): {"file", "keys", "reviewed_by_clinician",
    # "reviewed_by_author", "draft"} (judge.aggregate.key_counts; `judge methods` reads it),
    # and how many records were judged with a draft key.
    keys: dict[str, Any] | None = None
    on_draft_keys: int = 0
    # A rubric with `items: case` (healthbench): per score key (`overall`, then each tag),
    # HealthBench's run score (judge.aggregate.case_items).
    clipped: list[ClippedScore] = field(default_factory=list)
    # With a final-answer criterion: accuracy beside the share answered, and the harm of the
    # misses (judge.aggregate.answers).
    answers: AnswerSummary | None = None
    # The level of every interval, and the case field the bootstrap resampled clusters of.
    ci: float = 0.95
    cluster: str | None = None

    @property
    def serving_changes(self) -> list[str]:
        """A warning per judge the provider served with more than one model or fingerprint."""
        return [w for j in self.judges if (w := j.serving_change) is not None]


@dataclass
class ClippedScore:
    """One score key over a run, as HealthBench reports it: the mean over the records that
    have it, clipped to [0, 1], and the bootstrap standard deviation of that clipped mean; and,
    as every mean in a summary, its interval."""

    key: str
    n: int
    mean: float
    bootstrap_std: float
    # The clipped mean's interval at the run's --ci level (a bootstrap over items, clipped).
    interval: Interval | None = None


@dataclass
class SliceSummary:
    """The records whose metadata field `by` has one value."""

    value: str
    n: int
    means: dict[str, float | None]
    intervals: dict[str, Interval | None] = field(default_factory=dict)
