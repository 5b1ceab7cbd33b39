"""`judge qualify`: run a rubric's test bank (judge/study/bank.py) against one judge and say,
per judged criterion, whether the judge measures what the criterion says.

Every judgment goes through the real engine (`judge.run.score`: the call cache, `--max-cost`,
retries, limits), so a rerun is answered by the cache and pays nothing twice. Two runs:

- the bank: each base case, each pair's defect and each control, judged once per sample of
  the run options (default one, at `--temperature`, default 0);
- the noise floor: each base case judged `noise.samples` times at `noise.temperature`
  (the bank's), nothing changed.

A criterion "moves" when its score differs between the two sides; "worse" is a lower score
on the [0, 1] scale (`judge.aggregate.normalise`, 1 the best answer). A side that is unscored
leaves the comparison out (counted in `unscored`). Per criterion:

- sensitivity: of the pairs planted for it (those that expect it "worse"), the share whose
  score moved worse (defect against base), with the Wilson score 95% interval (Wilson 1927,
  JASA 22:209-212; Newcombe 1998, Stat Med 17:857-872, method 3; scipy's
  `binomtest(...).proportion_ci(method="wilson")`);
- false moves: moves on the controls (paraphrase, padding, option order, against the base;
  not those that exempt the criterion) plus moves on the other pairs that declare this
  criterion "same" (a pair that declares it "either" counts nowhere);
- noise moves: moves between any two samples of the same base case.

A score computed in the judge's place (ddx's `miss_harm` on a correct answer) is no evidence
either way: a comparison where the judge was asked on neither side is left out.

The verdict (documented in docs/calibration.md, "Qualifying a judge"):

- not qualified: the noise floor moves in more than MAX_NOISE of its comparisons; or false
  moves are more frequent than the noise floor's moves by more than FALSE_MOVE_MARGIN; or the
  sensitivity interval's upper bound is below TARGET (the judge misses planted defects);
- qualified: none of those, and the interval's lower bound is at least QUALIFY_LOWER;
- inconclusive: anything else (also when no pair or no control could be compared).

With 5 pairs, 5 of 5 detected gives a lower bound of 0.566; with 3 pairs, 3 of 3 gives 0.438:
both reach "qualified"; 4 of 5 (0.376) is inconclusive; 2 of 5 (upper 0.769) and 1 of 3
(upper 0.792) are not qualified.

A staged rubric (ddx-steps: a split into steps, then verdicts per step) is run as `judge
score` runs it (judge/judging/stages.py, then judge.aggregate.measures); its bank tests the
item-level measures it names (`factual_ratio`, error counts, ...), each computed from the
judge's verdicts per step, so a judge wrong on a stage's verdict is not qualified on the
measures that verdict feeds. One planted step counts in several measures: each pair that
expects a measure "worse" is a planted defect for it. The noise floor's samples rate the one
split of their case (a split is made once per item); each sample's measures are computed from
its own verdicts.

A subset (`criteria`, `pairs`: the first N pairs of each criterion, in bank order) runs only
the cases those pairs use, with their controls and noise floor. It is stated in the verdict
("qualified on a sample") and the record: a judge qualified on a sample is not qualified on
the bank.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.aggregate.measures import measure_judgments
from judge.aggregate.normalise import normalise
from judge.contracts import Criterion, Prediction, ResultRecord, Rubric
from judge.errors import ConfigError
from judge.judging.engine import CompleteFn
from judge.judging.prompts import rubric_templates, template_hash
from judge.load.rubric import load_rubric, rubric_hash
from judge.options import RunOptions
from judge.study.bank import (
    LoadedBank,
    apply_edits,
    bank_hash,
    bank_path,
    load_bank,
    reordered,
    sample_bank,
    staged_measures,
    tested_criteria,
)
from judge.study.shift import is_score

__all__ = [
    "CI",
    "FALSE_MOVE_MARGIN",
    "MAX_NOISE",
    "QUALIFY_LOWER",
    "SAMPLE",
    "TARGET",
    "CriterionVerdict",
    "Qualification",
    "qualify",
    "verdict",
    "wilson",
]

CI = 0.95
# The sensitivity a qualified judge should have: it catches 4 planted defects in 5.
TARGET = 0.8
# The lowest lower bound of the sensitivity interval that qualifies: every planted defect
# caught with 3 pairs (0.438) or 5 (0.566), 9 of 10 (0.596); 4 of 5 (0.376) is not enough.
QUALIFY_LOWER = 0.4
# A judge whose score moves in more than a fifth of the repeats of an unchanged answer does
# not measure the answer.
MAX_NOISE = 0.2
# False moves may exceed the noise floor's rate by this much (a paraphrase can honestly
# shift a borderline answer by a level now and then).
FALSE_MOVE_MARGIN = 0.1
_ID = "bank_item"
# The verdict "qualified" becomes this when only a subset of the bank was run.
SAMPLE = "qualified on a sample"


@dataclass(frozen=True)
class CriterionVerdict:
    """One criterion's evidence and verdict."""

    criterion: str
    pairs: int
    detected: int
    low: float
    high: float
    false_moves: int
    false_total: int
    control_moves: int
    control_total: int
    noise_moves: int
    noise_total: int
    unscored: int
    verdict: str
    reason: str

    @property
    def sensitivity(self) -> float | None:
        return self.detected / self.pairs if self.pairs else None


@dataclass
class Qualification:
    """A bank run against one judge: per criterion, the evidence and the verdict."""

    judge: str
    rubric: str
    rubric_version: str
    rubric_hash: str
    prompt_hash: str
    bank: str
    bank_version: str
    bank_hash: str
    samples: int
    temperature: float
    criteria: list[CriterionVerdict] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    stopped: str | None = None
    # What part of the bank ran, when not all of it (None: the whole bank).
    subset: str | None = None
    # A staged rubric's measures its bank does not test (no verdict on them either way).
    untested: list[str] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        return sum(1 for c in self.criteria if c.verdict == verdict)


def wilson(k: int, n: int, ci: float = CI) -> tuple[float, float]:
    """The Wilson score interval of k successes in n (nan, nan for n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    from scipy.stats import binomtest

    interval = binomtest(k, n).proportion_ci(confidence_level=ci, method="wilson")
    return float(interval.low), float(interval.high)


def verdict(
    pairs: int,
    detected: int,
    false_moves: int,
    false_total: int,
    noise_moves: int,
    noise_total: int,
) -> tuple[str, str]:
    """The verdict and its reason, by the rule in this module's docstring."""
    low, high = wilson(detected, pairs)
    noise = noise_moves / noise_total if noise_total else 0.0
    false = false_moves / false_total if false_total else 0.0
    if noise_total and noise > MAX_NOISE:
        return "not qualified", f"moves on an unchanged answer in {noise:.0%} of repeats"
    if false_total and false > noise + FALSE_MOVE_MARGIN:
        return "not qualified", (
            f"moves on changes it should ignore ({false_moves} of {false_total}), more than "
            f"its noise floor ({noise:.0%})"
        )
    if not pairs:
        return "inconclusive", "no planted defect could be compared"
    if high < TARGET:
        return "not qualified", f"misses planted defects ({detected} of {pairs} detected)"
    if not false_total:
        return "inconclusive", "no control could be compared"
    if low >= QUALIFY_LOWER:
        return "qualified", f"{detected} of {pairs} planted defects detected"
    return "inconclusive", f"{detected} of {pairs} detected: too few to tell"


def qualify(
    rubric: str | Path | Rubric = "ddx",
    *,
    bank: str | Path | None = None,
    complete: CompleteFn | None = None,
    options: RunOptions | None = None,
    criteria: Sequence[str] | None = None,
    pairs: int | None = None,
    **overrides: Any,
) -> Qualification:
    """Judge `rubric`'s test bank (`bank`: a file; default the rubric's built-in bank) with the
    one judge of `options` / `overrides` (RunOptions fields, as for `judge.score`), blocking.
    `criteria` and `pairs` (per criterion) run a subset, stated in every verdict."""
    from judge.run import score

    opts = RunOptions.of(options, overrides)
    if len(opts.judges) != 1:
        raise ConfigError(f"qualify measures one judge: give one --judge, not {len(opts.judges)}")
    the_rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    loaded = load_bank(bank if bank is not None else bank_path(the_rubric.id), the_rubric)
    tested = tested_criteria(loaded.bank, the_rubric)
    judged = [c for c in tested if not criteria or c.id in criteria]
    full_hash = bank_hash(loaded)
    loaded, subset = sample_bank(
        loaded, [c.id for c in tested], [c.id for c in judged], criteria, pairs
    )
    judge = opts.judges[0]
    noise = loaded.bank.noise
    out = Qualification(
        judge=judge,
        rubric=the_rubric.id,
        rubric_version=the_rubric.version,
        rubric_hash=rubric_hash(the_rubric),
        prompt_hash=template_hash(rubric_templates(the_rubric)),
        bank=str(loaded.path),
        bank_version=loaded.bank.version,
        bank_hash=full_hash,
        samples=noise.samples,
        temperature=noise.temperature,
        subset=subset,
        untested=[m for m in staged_measures(the_rubric) if m not in {c.id for c in tested}],
    )
    # The rows carry their case: no cases file is joined by the private id.
    main = RunOptions.of(opts, {"id_field": _ID, "cases": None})
    runs = {
        "": (_rows(loaded), main),
        "noise/": (
            _bases(loaded),
            RunOptions.of(main, {"samples": noise.samples, "temperature": noise.temperature}),
        ),
    }
    records: dict[str, ResultRecord] = {}
    spent = 0.0
    for prefix, (rows, run_opts) in runs.items():
        if opts.max_cost is not None:  # one budget for both runs
            run_opts = RunOptions.of(run_opts, {"max_cost": max(opts.max_cost - spent, 0.0)})
        # Each run in its own event loop (blocking `score`), as `judge align` runs its folds.
        run = score(rows, the_rubric, complete=complete, options=run_opts)
        spent += run.summary.cost_usd or 0.0
        out.notices.extend(n for n in run.notices if n not in out.notices)
        if run.stopped:
            out.stopped = run.stopped
            return out
        records.update({prefix + r.id: r for r in run.records})
    out.criteria = [_criterion(c, loaded, records, judge, subset) for c in judged]
    why = _unscored(records)
    if why:  # the comparisons it leaves out are counted per criterion; say why once
        out.notices.append(why)
    return out


def _unscored(records: dict[str, ResultRecord]) -> str | None:
    """Which bank items were left unscored, and the first reason of each (three at most)."""
    failed = {
        key: next((j.reason for j in r.judgments if j.status != "scored" and j.reason), "")
        for key, r in sorted(records.items())
        if r.status != "scored"
    }
    if not failed:
        return None
    shown = "; ".join(f"{k}: {(v or 'no reason given')[:160]}" for k, v in list(failed.items())[:3])
    more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
    return f"{len(failed)} of {len(records)} bank items not fully scored: {shown}{more}"


def _bases(loaded: LoadedBank) -> list[dict[str, Any]]:
    return [{**c.item, _ID: f"base/{c.id}"} for c in loaded.bank.cases]


def _rows(loaded: LoadedBank) -> list[dict[str, Any]]:
    """Every row of the bank run: the bases, each pair's defect, each control."""
    items = {c.id: c.item for c in loaded.bank.cases}
    rows = _bases(loaded)
    for pair in loaded.bank.pairs:
        rows.append({**apply_edits(items[pair.case], pair.edits), _ID: f"pair/{pair.id}"})
    for control in loaded.bank.controls:
        item = apply_edits(items[control.case], control.edits)
        if control.order is not None:
            item = reordered(item, control.order)
        rows.append({**item, _ID: f"control/{control.id}"})
    return rows


def _scores(
    record: ResultRecord | None, judge: str, rubric: Rubric, item: dict[str, Any]
) -> dict[int, dict[str, Any]]:
    """Per sample, this judge's score per criterion (None where that sample was unscored).
    A score computed in the judge's place (ddx's `miss_harm` when the chosen letter is right)
    is not among them: no change to the text could move it, so it is no evidence. On a staged
    rubric, the measures computed from that sample's verdicts alone, as a run computes them
    (judge.aggregate.measures), over the units all samples rated."""
    found: dict[int, dict[str, Any]] = {}
    if record is None:
        return found
    if rubric.stages:
        mine = [j for j in record.judgments if j.judge == judge and j.step is not None]
        prediction = Prediction.model_validate(item)
        for k in sorted({j.sample for j in mine}):
            one = [j for j in mine if j.sample == k]
            measured = measure_judgments(rubric, one, record.segments, prediction=prediction)
            found[k] = {m.criterion: m.score if m.status == "scored" else None for m in measured}
        return found
    for j in record.judgments:
        if j.judge == judge and j.step is None:
            found.setdefault(j.sample, {})[j.criterion] = j.score if j.status == "scored" else None
    return found


def _judged(record: ResultRecord | None, judge: str, rubric: Rubric) -> dict[str, Any] | None:
    """The record's score per criterion the judge was asked about (None where it gave none),
    without those computed in its place (None when the item was not judged). On a staged
    rubric, every measure of its judge stages, as the run computed it."""
    if record is None:
        return None
    if rubric.stages:
        return {c: record.scores.get(c) for c in staged_measures(rubric)}
    asked = {j.criterion for j in record.judgments if j.judge == judge and j.step is None}
    return {c: record.scores.get(c) for c in asked}


def _criterion(
    criterion: Criterion,
    loaded: LoadedBank,
    records: dict[str, ResultRecord],
    judge: str,
    subset: str | None = None,
) -> CriterionVerdict:
    cid = criterion.id
    unscored = 0

    def compare(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
        """b against a on [0, 1] (negative: b is worse); None when either is unscored, or
        when the judge was asked on neither side (computed in its place on both)."""
        nonlocal unscored
        if a is not None and b is not None and cid not in a and cid not in b:
            return None
        x: Any = (a or {}).get(cid)
        y: Any = (b or {}).get(cid)
        if not (is_score(x) and is_score(y)):
            unscored += 1
            return None
        return normalise(criterion, float(y)) - normalise(criterion, float(x))

    rubric = loaded.rubric

    def judged(key: str) -> dict[str, Any] | None:
        return _judged(records.get(key), judge, rubric)

    def base(case: str) -> dict[str, Any] | None:
        return judged(f"base/{case}")

    detected = pairs = false_moves = false_total = 0
    for pair in loaded.bank.pairs:
        move = compare(base(pair.case), judged(f"pair/{pair.id}"))
        if move is None:
            continue
        if pair.expect[cid] == "worse":  # its target, or a measure counting the same unit
            pairs += 1
            detected += move < 0
        elif pair.expect[cid] == "same":
            false_total += 1
            false_moves += move != 0
    control_moves = control_total = 0
    for control in loaded.bank.controls:
        if cid in control.exempt:
            continue
        move = compare(base(control.case), judged(f"control/{control.id}"))
        if move is not None:
            control_total += 1
            control_moves += move != 0
    noise_moves = noise_total = 0
    for case in loaded.bank.cases:
        samples = _scores(records.get(f"noise/base/{case.id}"), judge, rubric, case.item)
        for a, b in itertools.combinations(sorted(samples), 2):
            move = compare(samples[a], samples[b])
            if move is not None:
                noise_total += 1
                noise_moves += move != 0
    low, high = wilson(detected, pairs)
    said, reason = verdict(
        pairs,
        detected,
        false_moves + control_moves,
        false_total + control_total,
        noise_moves,
        noise_total,
    )
    if subset is not None and said == "qualified":
        said, reason = SAMPLE, f"{reason}, on {subset}; not on the whole bank"
    return CriterionVerdict(
        cid,
        pairs,
        detected,
        low,
        high,
        false_moves + control_moves,
        false_total + control_total,
        control_moves,
        control_total,
        noise_moves,
        noise_total,
        unscored,
        said,
        reason,
    )
