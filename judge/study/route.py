"""Which judged items to route to clinicians: a queue of `budget` item ids for
`judge annotate --queue`, with each item's inclusion probability, so that the PPI estimate of
`judge calibrate --estimate --weights` stays unbiased (inverse-probability weights; Zrnic, T. &
Candès, E. J. (2024). *Active Statistical Inference.* ICML 2024, arXiv:2403.03208).

What goes in the queue, in this order:

1. `disagreement`: up to half the budget (rounded down), the items where the panel disagreed
   most. An item's spread is the largest, over its criteria (and steps), of max − min of every
   scored judgment on that criterion, each judge's every sample, on the normalised [0, 1]
   scale (judge/aggregate/normalise.py), so criteria of different scales compare: it covers
   the spread between judges and between one judge's samples. A categorical or labels
   criterion has no order: its spread is 1 when two judgments differ, else 0. Only items with
   a spread above 0 qualify; ties go in the predictions file's order (the records' `line`).
2. `unscored`: unscored and partial records, in the predictions file's order.
3. `random`: the rest of the budget, drawn at random from the remaining scored records,
   stratified by a case-metadata field (`by`; a missing value is its own stratum `(none)`).
   When the remainder covers every stratum, each gets at least one item; the rest is shared
   in proportion to the strata's sizes (largest remainders). The draw is seeded (`seed`).

Items picked deterministically (1, 2) have inclusion probability 1; a random one
n_picked / n_available of its stratum. A stratum that got no item is not represented, and
the summary says so. The queue file's `# ` header lines list every item's probability; the
sidecar `<queue>.weights.json` holds the same for `judge calibrate --weights`.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from judge.aggregate.normalise import normalise
from judge.contracts import CategoricalScale, Criterion, LabelsScale, ResultRecord, Rubric
from judge.errors import ConfigError, InputError
from judge.load.lines import regular
from judge.load.rubric import rubric_of_records
from judge.store.outputs import claim, write_atomic
from judge.store.results import iter_records

__all__ = [
    "QUEUE_MARK",
    "WEIGHTS_FORMAT",
    "Pick",
    "Queue",
    "Stratum",
    "claim_outputs",
    "route",
    "route_file",
    "spread",
    "weights_path",
    "write_queue",
]

Reason = Literal["disagreement", "unscored", "random", "escalated", "audit"]
REASONS: tuple[Reason, ...] = ("disagreement", "unscored", "random", "escalated", "audit")
# The first bytes of every queue file `judge route` writes: how a later run knows it as ours.
QUEUE_MARK = "# judge route queue"
# The sidecar's `format` (written first), which `calibration` checks when it reads the weights.
WEIGHTS_FORMAT = "judge route weights"
_NONE = "(none)"
_ALL = "(all)"


@dataclass(frozen=True)
class Pick:
    """One queued item: why, and its inclusion probability (1 unless drawn at random)."""

    id: str
    reason: Reason
    probability: float
    stratum: str | None = None  # the `by` value of a random pick
    spread: float | None = None  # the panel's spread of a disagreement pick
    criterion: str | None = None  # the criterion where that spread was largest


@dataclass(frozen=True)
class Stratum:
    """One stratum of the random draw: its scored items left after steps 1 and 2."""

    name: str
    available: int
    picked: int

    @property
    def probability(self) -> float:
        return self.picked / self.available if self.available else 0.0


@dataclass(frozen=True)
class Queue:
    """The routed queue and what it was drawn from."""

    source: str
    budget: int
    seed: int
    by: str | None
    n_items: int  # distinct items in the results file
    picks: list[Pick]
    strata: list[Stratum] = field(default_factory=list)
    # Unscored and partial records the budget had no room for (not queued, probability 0).
    unscored_left: int = 0
    # What this kind of queue picks for (`judge route --escalate`: escalated and audit).
    reasons: tuple[Reason, ...] = ("disagreement", "unscored", "random")

    def count(self, reason: Reason) -> int:
        return sum(p.reason == reason for p in self.picks)

    @property
    def unrepresented(self) -> list[str]:
        """Strata that got no random item (their items have inclusion probability 0)."""
        return [s.name for s in self.strata if s.available and not s.picked]


def weights_path(out: str | Path) -> Path:
    """The sidecar of a queue file: `queue.txt` → `queue.txt.weights.json`."""
    out = Path(out)
    return out.with_name(f"{out.name}.weights.json")


def spread(record: ResultRecord, criteria: dict[str, Criterion]) -> tuple[float, str | None]:
    """The panel's largest spread on the [0, 1] scale over the record's criteria (and steps),
    and the criterion it was on; (0.0, None) when no criterion has two judgments that differ."""
    groups: dict[tuple[str, int | None], list[Any]] = {}
    for j in record.judgments:
        if j.status == "scored" and j.score is not None:
            groups.setdefault((j.criterion, j.step), []).append(j.score)
    best, where = 0.0, None
    for (criterion_id, _), scores in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)
    ):
        if len(scores) < 2:
            continue
        value = _range(criteria.get(criterion_id), scores)
        if value > best:
            best, where = value, criterion_id
    return best, where


def _range(criterion: Criterion | None, scores: list[Any]) -> float:
    ordered = criterion is not None and not isinstance(
        criterion.scale, CategoricalScale | LabelsScale
    )
    if ordered and criterion is not None:
        try:
            units = [normalise(criterion, float(s)) for s in scores]
        except (TypeError, ValueError):  # a non-numeric score on an ordered scale: compare as is
            pass
        else:
            return round(max(units) - min(units), 6)
    distinct = {tuple(s) if isinstance(s, list) else s for s in scores}
    return 1.0 if len(distinct) > 1 else 0.0


def _read(results: Path) -> list[ResultRecord]:
    """The file's records, the first of each id (as a resumed run keeps them)."""
    records: dict[str, ResultRecord] = {}
    regular(results, str(results))  # a FIFO would block the read until a writer came
    for record in iter_records(results):
        records.setdefault(record.id, record)
    if not records:
        raise InputError(str(results), None, "holds no result records")
    # In the predictions' order, not the order calls finished in: the same predictions give
    # the same queue whichever run wrote the file.
    return sorted(records.values(), key=lambda r: (r.line, r.id))


def _stratum_of(record: ResultRecord, by: str | None) -> str:
    if by is None:
        return _ALL
    value = record.meta.get(by)
    return _NONE if value is None else str(value)


def _allocate(sizes: dict[str, int], total: int) -> dict[str, int]:
    """`total` items shared among strata of `sizes`: one each when `total` covers them all,
    the rest in proportion to what each has left (largest remainders, ties by name)."""
    total = min(total, sum(sizes.values()))
    alloc = dict.fromkeys(sizes, 0)
    if total >= len(sizes):
        alloc = {s: 1 for s in sizes}
    left = total - sum(alloc.values())
    room = {s: sizes[s] - alloc[s] for s in sizes}
    if left <= 0 or not sum(room.values()):
        return alloc
    quota = {s: left * room[s] / sum(room.values()) for s in sizes}
    for s in sizes:
        alloc[s] += math.floor(quota[s])
    rest = left - sum(math.floor(q) for q in quota.values())
    for s in sorted(sizes, key=lambda s: (-(quota[s] - math.floor(quota[s])), s))[:rest]:
        alloc[s] += 1
    return alloc


def route(
    results: str | Path,
    budget: int,
    *,
    by: str | None = None,
    seed: int = 0,
    rubric: str | Path | Rubric | None = None,
) -> Queue:
    """The queue of at most `budget` item ids to route to people (see the module docstring).

    `rubric`: the rubric the records were judged with (id or file), needed to put criteria
    on one scale; default the built-in rubric the records name."""
    if budget < 1:
        raise ConfigError(f"--budget must be at least 1, got {budget}")
    results = Path(results)
    records = _read(results)
    the_rubric = rubric_of_records((r.rubric.id for r in records), rubric, str(results))
    if the_rubric is None:
        raise ConfigError(
            f"{results}: its rubric {records[0].rubric.id!r} is not built in; pass --rubric "
            "(the rubric file it was judged with)"
        )
    if by is not None and not any(by in r.meta for r in records):
        fields = sorted({k for r in records for k in r.meta}) or ["none"]
        raise ConfigError(
            f"--by {by}: no record of {results} carries that case-metadata field "
            f"(fields: {', '.join(fields)})"
        )
    criteria = {c.id: c for c in the_rubric.criteria}
    picks: list[Pick] = []
    spreads = [(spread(r, criteria), r) for r in records]
    ranked = sorted((s for s in spreads if s[0][0] > 0), key=lambda s: -s[0][0])  # stable
    for (value, criterion), record in ranked[: budget // 2]:
        picks.append(Pick(record.id, "disagreement", 1.0, spread=value, criterion=criterion))
    taken = {p.id for p in picks}
    for record in records:
        if len(picks) < budget and record.status != "scored" and record.id not in taken:
            picks.append(Pick(record.id, "unscored", 1.0))
    taken = {p.id for p in picks}
    left = sum(r.status != "scored" and r.id not in taken for r in records)
    pool: dict[str, list[str]] = {}
    for record in records:
        if record.id not in taken and record.status == "scored":
            pool.setdefault(_stratum_of(record, by), []).append(record.id)
    names = sorted(pool)
    alloc = _allocate({s: len(pool[s]) for s in names}, budget - len(picks))
    rng = random.Random(seed)
    strata = []
    for name in names:
        drawn = rng.sample(pool[name], alloc[name])
        stratum = Stratum(name, len(pool[name]), len(drawn))
        strata.append(stratum)
        p = stratum.probability
        picks.extend(Pick(i, "random", p, stratum=name if by else None) for i in drawn)
    return Queue(str(results), budget, seed, by, len(records), picks, strata, left)


def _checked_id(item: str) -> str:
    # `judge annotate --queue` reads one id a line, stripped, `#` lines being comments; its
    # lines are Python's (U+2028, NEL, a form feed… end one too). Such an id is refused, not
    # escaped: the queue stays a plain list of the ids as the predictions file spells them.
    if item != item.strip() or item.splitlines() != [item] or item.startswith("#"):
        raise ConfigError(
            f"item id {item!r} cannot be written as a queue line (it starts with '#', or has "
            "a line break or line separator, or surrounding spaces)"
        )
    return item


def _one_line(text: str) -> str:
    # Metadata values and paths are data: a line break in one must not end a header line.
    return " ".join(text.splitlines())


def _queue_text(queue: Queue, sidecar: str) -> str:
    counts = ", ".join(f"{queue.count(r)} {r}" for r in queue.reasons)
    by = f", by {_one_line(queue.by)}" if queue.by else ""
    lines = [
        f"{QUEUE_MARK}: {len(queue.picks)} of {queue.n_items} items of {_one_line(queue.source)} "
        f"(budget {queue.budget}, seed {queue.seed}{by})",
        f"# picked: {counts} (unscored: unscored or partial records)",
        f"# inclusion probabilities: {sidecar}; each item's below (probability, reason, id)",
    ]
    for s in queue.strata:
        lines.append(
            f"# stratum {_one_line(s.name)}: {s.picked} of {s.available} drawn at random "
            f"(probability {s.probability:.6g})"
        )
    lines += [f"# {p.probability:.6g}\t{p.reason}\t{p.id}" for p in queue.picks]
    lines += [_checked_id(p.id) for p in queue.picks]
    return "\n".join(lines) + "\n"


def _weights_json(queue: Queue, queue_name: str) -> str:
    document = {
        "format": WEIGHTS_FORMAT,  # first: how a later run knows the file as ours
        "version": 1,
        "queue": queue_name,
        "results": queue.source,
        "budget": queue.budget,
        "seed": queue.seed,
        "by": queue.by,
        "counts": {r: queue.count(r) for r in queue.reasons},
        "unscored_left": queue.unscored_left,
        "strata": [
            {
                "stratum": s.name,
                "available": s.available,
                "picked": s.picked,
                "probability": s.probability,
            }
            for s in queue.strata
        ],
        "items": [
            {k: v for k, v in vars(p).items() if v is not None or k == "probability"}
            for p in queue.picks
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _is_queue(head: bytes) -> bool:
    return head.startswith(QUEUE_MARK.encode())


def _is_weights(head: bytes) -> bool:
    return head.lstrip().startswith(b'{\n  "format": "' + WEIGHTS_FORMAT.encode() + b'"')


def claim_outputs(out: Path) -> None:
    """Refuse (nothing written) a queue or sidecar path holding a file that is not ours."""
    claim(out, _is_queue)
    claim(weights_path(out), _is_weights, option="--out's weights sidecar")


def write_queue(queue: Queue, out: str | Path) -> Path:
    """Write the queue file and its sidecar (each atomically; the sidecar first, so a queue
    is never left without its weights); returns the sidecar's path."""
    out = Path(out)
    sidecar = weights_path(out)
    claim_outputs(out)
    text = _queue_text(queue, sidecar.name)  # checks the ids before anything is written
    write_atomic(sidecar, _weights_json(queue, out.name))
    write_atomic(out, text)
    return sidecar


def route_file(
    results: str | Path,
    budget: int,
    out: str | Path,
    *,
    by: str | None = None,
    seed: int = 0,
    rubric: str | Path | Rubric | None = None,
) -> Queue:
    """`judge route`: refuse an `out` that is not ours first, then route and write."""
    claim_outputs(Path(out))
    queue = route(results, budget, by=by, seed=seed, rubric=rubric)
    write_queue(queue, out)
    return queue
