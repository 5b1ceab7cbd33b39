"""Balanced assignment of items to raters: each item to `per_item` distinct raters, every
rater's load within one item of every other's.

Each item takes the least-loaded raters; ties go to the raters after the last one picked
(round robin), so on a fresh study the pairs of raters who share items also come out even,
which the agreement statistics like. Existing assignments are kept and only topped up, so a
restart with more items, more raters or a larger `per_item` never moves work already done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from judge.errors import ConfigError

__all__ = ["assign"]


def assign(
    items: Sequence[str],
    raters: Sequence[str],
    per_item: int,
    existing: Mapping[str, Sequence[str]] | None = None,
) -> list[tuple[str, str]]:
    """The new (item, rater) pairs that give each item `per_item` raters.

    `existing` maps item ids to raters already assigned (loads count them, including
    raters not in `raters` any more); only raters in `raters` get new work.
    """
    if per_item < 1:
        raise ConfigError(f"--per-item must be at least 1, got {per_item}")
    if per_item > len(raters):
        raise ConfigError(
            f"--per-item {per_item} needs at least {per_item} raters, got {len(raters)}"
        )
    existing = existing or {}
    load = {rater: 0 for rater in raters}
    for assigned in existing.values():
        for rater in assigned:
            if rater in load:
                load[rater] += 1
    order = {rater: i for i, rater in enumerate(raters)}
    cursor = 0
    pairs: list[tuple[str, str]] = []
    for item in items:
        have = set(existing.get(item, ()))
        need = per_item - len(have & set(raters))
        if need <= 0:
            continue
        free = [r for r in raters if r not in have]
        chosen = sorted(free, key=lambda r: (load[r], (order[r] - cursor) % len(raters)))[:need]
        for rater in chosen:
            load[rater] += 1
            pairs.append((item, rater))
        cursor = (order[chosen[-1]] + 1) % len(raters)
    return pairs
