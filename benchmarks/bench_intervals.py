"""What a run summary's intervals cost at 100,000 items (judge/aggregate/intervals.py): the
time to feed the scores and the time to compute the interval, per criterion, for each kind.

    python benchmarks/bench_intervals.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from judge.aggregate.intervals import MeanInterval

N = 100_000


def _time(name: str, found: MeanInterval, scores: list[float], keys: list[object]) -> None:
    start = time.perf_counter()
    for score, key in zip(scores, keys, strict=True):
        found.add(score, key)
    fed = time.perf_counter()
    interval = found.interval(0.95)
    done = time.perf_counter()
    assert interval is not None
    print(
        f"{name:<44} add {fed - start:6.3f} s, interval {done - fed:6.3f} s "
        f"({interval.method}, [{interval.low:.4f}, {interval.high:.4f}])"
    )


def main() -> None:
    rng = np.random.default_rng(0)
    none: list[object] = [None] * N
    binary = rng.integers(0, 2, N).astype(float).tolist()
    _time("binary (Wilson)", MeanInterval(True), binary, none)
    ordinal = rng.integers(1, 6, N).astype(float).tolist()
    _time("ordinal 1-5 (bootstrap)", MeanInterval(False), ordinal, none)
    continuous = rng.beta(2, 5, N).tolist()
    _time("continuous (bootstrap, 256 bins)", MeanInterval(False), continuous, none)
    cases = [i % 2_000 for i in range(N)]
    _time("binary, --cluster of 2,000 cases", MeanInterval(True, clustered=True), binary, cases)
    items = [i // 3 for i in range(N)]
    _time(
        "step units, 3 per item (33,334 items)", MeanInterval(True, contiguous=True), binary, items
    )


if __name__ == "__main__":
    main()
