"""A mean's confidence interval, built incrementally in bounded memory as the run summary's
means are (the statistics are calibration.intervals').

What is kept per criterion (and per `--by` slice and criterion):
- unclustered: how many times each distinct score was given (a handful of levels for binary
  and ordinal scales); past `MAX_LEVELS` distinct values (a continuous score), one float per
  score (8 bytes an item);
- clustered by a case field: a sum and a count per cluster, bounded by the field's values;
- a step criterion's units, clustered by their item: a sum and a count per item (16 bytes),
  appended as each record's units arrive together, so no lookup table is kept.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Hashable

from judge.aggregate.summary_models import Interval

__all__ = ["N_BOOT", "SEED", "MeanInterval"]

# Resamples and seed of every bootstrap interval in a run summary: fixed, so a summary is
# deterministic (`judge compare` and `judge calibrate` take --n-boot and --seed; a summary's
# interval is a description, not a test).
N_BOOT = 1000
SEED = 0
# Distinct values counted before falling back to one float per score.
MAX_LEVELS = 256


class MeanInterval:
    """Feed scores with `add`; `interval(ci)` any time. `binary`: a 0/1 criterion (Wilson's
    interval unless clustered). `clustered`: each `add` names the score's cluster;
    `contiguous`: a cluster's scores arrive together (a record's units), so none is looked up."""

    def __init__(self, binary: bool, clustered: bool = False, contiguous: bool = False):
        self.binary = binary
        self.clustered = clustered or contiguous
        self.contiguous = contiguous
        self.n = 0
        self._levels: Counter[float] | None = Counter()
        self._values = array("d")
        self._sums = array("d")
        self._counts = array("d")
        self._slot: dict[Hashable, int] = {}
        self._last: Hashable = object()

    def add(self, value: float, cluster: Hashable = None) -> None:
        self.n += 1
        if self.clustered:
            self._add_clustered(value, cluster)
        elif self._levels is not None:
            self._levels[value] += 1
            if len(self._levels) > MAX_LEVELS:
                for level, times in self._levels.items():
                    self._values.extend([level] * times)
                self._levels = None
        else:
            self._values.append(value)

    def _add_clustered(self, value: float, cluster: Hashable) -> None:
        if self.contiguous:
            if cluster != self._last:
                self._last = cluster
                self._sums.append(0.0)
                self._counts.append(0.0)
            slot = len(self._sums) - 1
        else:
            slot = self._slot.setdefault(cluster, len(self._slot))
            if slot == len(self._sums):
                self._sums.append(0.0)
                self._counts.append(0.0)
        self._sums[slot] += value
        self._counts[slot] += 1

    def interval(self, ci: float) -> Interval | None:
        """The mean's interval at level `ci`; None when nothing was scored."""
        if not self.n:
            return None
        from calibration import intervals

        nan = float("nan")
        if self.clustered:
            k = len(self._sums)
            low, high = (
                intervals.cluster_bootstrap(
                    *intervals.canonical(self._sums, self._counts), ci, N_BOOT, SEED
                )
                if k > 1
                else (nan, nan)
            )
            return Interval(low, high, self.n, ci, "cluster bootstrap", clusters=k)
        if self._levels is not None and self.binary and set(self._levels) <= {0.0, 1.0}:
            low, high = intervals.wilson(int(self._levels[1.0]), self.n, ci)
            return Interval(low, high, self.n, ci, "wilson")
        if self.n < 2:
            return Interval(nan, nan, self.n, ci, "bootstrap")
        import numpy as np

        if self._levels is not None:
            values = np.array(list(self._levels), dtype=float)
            counts = np.array(list(self._levels.values()), dtype=float)
        else:
            values, times = np.unique(np.frombuffer(self._values), return_counts=True)
            counts = times.astype(float)
        low, high = intervals.value_bootstrap(values, counts, ci, N_BOOT, SEED)
        return Interval(low, high, self.n, ci, "bootstrap")
