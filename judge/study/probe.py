"""Bias probes: re-judge a seeded sample of a run's items with one thing changed, and say per
criterion whether the judge's scores moved.

Every judgment goes through the real engine (`judge.run.ascore`: cache, `--max-cost`, retries,
limits), as one run, so a rerun of the same probe is answered by the cache. The kinds:

- `length`: the judged text padded with clinical boilerplate (judge.study.perturb.pad);
  shift = padded − unchanged.
- `order`: the options reordered and every letter remapped (judge.study.perturb.remap_options).
  A position bias moves scores both ways when the order is random, so each item is judged
  twice: with the option the candidate chose (else the correct one) shown first, and shown
  last, the four others in the same seeded order both times; shift = first − last. An item
  whose chosen letter, mapped back, is not its own in both presentations (a letter mention in
  a form the remap does not read) is left out, with a notice.
- `injection`: the judged text carrying an instruction to the judge (perturb.plant); shift =
  planted − unchanged, and `up` counts the items whose score rose toward the scale's top.
- `self`: nothing is changed; the judge's scores of predictions its own family generated
  (the predictions' `generator` field) minus its scores of the others' (see `family`).

The unchanged baseline (length, injection, self) is the results file's own record when that
record was made by exactly this judge alone, with this rubric hash and prompt hash, and holds
no transport failure (`fresh_baseline=True` re-judges it anyway: the reuse does not check
which temperature or samples made the records); otherwise it is judged again with the treated
items.

Statistics, on each criterion's [0, 1] scale (judge.aggregate.normalise: 1 the best answer)
and in its own units: the mean paired shift with a percentile bootstrap interval over items
(`calibration.compare.paired_interval`, the one `judge compare` reports; Efron & Tibshirani
1993, ch. 13); for `self`, the difference of means with Welch's t interval
(`scipy.stats.ttest_ind(equal_var=False)`; Welch 1947). Verdict: "biased" when the interval
excludes 0 and |shift| ≥ `min_effect`; "no bias" when the whole interval lies within
±`min_effect`; otherwise "inconclusive" (also with fewer than two items).
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.contracts import Criterion, Prediction, ResultRecord, Rubric
from judge.errors import ConfigError, InputError
from judge.judging.accuracy import extract_letter
from judge.judging.engine import CompleteFn
from judge.judging.prompts import rubric_templates, target_text, template_hash
from judge.judging.scheduler import run_blocking
from judge.load.inputs import Item, items_by_id
from judge.load.rubric import load_rubric, rubric_hash
from judge.options import RunOptions
from judge.store.results import iter_records
from judge.study import perturb
from judge.study.shift import MIN_EFFECT, Shift, is_score, paired_shift, unpaired_shift

__all__ = ["KINDS", "MIN_EFFECT", "ProbeResult", "Shift", "aprobe", "family", "probe"]

KINDS = ("length", "order", "self", "injection")
DEFAULT_SAMPLE = 50
# The id field of the probe's own run: "<arm>:<item id>", so both arms of an item are judged
# in one run without touching any field a prompt shows.
_PROBE_ID = "probe_item"
# What each kind compares: (treated arm, control arm).
_ARMS = {
    "length": ("padded", "baseline"),
    "injection": ("planted", "baseline"),
    "order": ("first", "last"),
    "self": ("baseline", "baseline"),
}


@dataclass
class ProbeResult:
    """A probe's table (one Shift per criterion) and what happened on the way."""

    kind: str
    judge: str
    rubric: str
    items: int
    shifts: list[Shift]
    compares: str
    reused_baseline: int = 0
    # injection: items whose score rose toward its scale's top on at least one criterion.
    moved_to_top: int | None = None
    # The sampled items' ids (an order item left out is not among them).
    ids: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    stopped: str | None = None


def family(model: str) -> str:
    """A model's family: the leading letters of its name after the last "/", lower case
    ("openai/gpt-4o-mini" and "gpt-4.1" are "gpt", "anthropic/claude-3-5-haiku" is "claude",
    "hosted_vllm/Qwen2.5-7B" is "qwen", "meta-llama/Llama-3.1-8B" is "llama"); OpenAI's
    o-series ("o1", "o3-mini") counts as "gpt"."""
    name = model.rstrip("/").rsplit("/", 1)[-1].lower()
    match = re.match(r"[a-z]+", name)
    stem = match.group(0) if match else name
    return {"o": "gpt", "chatgpt": "gpt"}.get(stem, stem)


def probe(
    results: str | Path,
    predictions: str | Path,
    rubric: str | Path | Rubric = "ddx",
    *,
    kind: str,
    sample: int | None = DEFAULT_SAMPLE,
    seed: int = 0,
    min_effect: float = MIN_EFFECT,
    fresh_baseline: bool = False,
    complete: CompleteFn | None = None,
    options: RunOptions | None = None,
    **overrides: Any,
) -> ProbeResult:
    """Probe one judge for a bias (blocking). See `aprobe`."""
    return run_blocking(
        aprobe(
            results,
            predictions,
            rubric,
            kind=kind,
            sample=sample,
            seed=seed,
            min_effect=min_effect,
            fresh_baseline=fresh_baseline,
            complete=complete,
            options=options,
            **overrides,
        )
    )


async def aprobe(
    results: str | Path,
    predictions: str | Path,
    rubric: str | Path | Rubric = "ddx",
    *,
    kind: str,
    sample: int | None = DEFAULT_SAMPLE,
    seed: int = 0,
    min_effect: float = MIN_EFFECT,
    fresh_baseline: bool = False,
    complete: CompleteFn | None = None,
    options: RunOptions | None = None,
    **overrides: Any,
) -> ProbeResult:
    """Re-judge `sample` items of the results file `results` (None: all), whose predictions
    are in `predictions`, with one thing changed (`kind`, one of KINDS), by the one judge of
    `options` / `overrides` (RunOptions fields, as for `judge.score`)."""
    from judge.run import ascore

    opts = RunOptions.of(options, overrides)
    if kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if len(opts.judges) != 1:
        raise ConfigError(f"a probe measures one judge: give one --judge, not {len(opts.judges)}")
    the_rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    criteria = [c for c in the_rubric.llm_criteria if c.scale.type in ("binary", "ordinal")]
    if not criteria:
        raise ConfigError(
            f"rubric {the_rubric.id} has no judged criterion with an ordered scale to probe"
            + (" (a staged rubric's steps are not probed)" if the_rubric.stages else "")
        )
    judge = opts.judges[0]
    out = ProbeResult(kind, judge, the_rubric.id, 0, [], _compares(kind))
    records = _records(Path(results), opts.id_field)
    ids = _sample(sorted(records), sample, seed, out.notices)
    items = _items(predictions, opts, set(ids), Path(results))
    if kind == "self":
        _need_generators(items, ids, str(predictions))

    # order compares two reorderings, never the unchanged item: it has no baseline to reuse.
    baseline = not fresh_baseline and kind != "order"
    reusable = _reusable(records, ids, the_rubric, judge) if baseline else {}
    out.reused_baseline = len(reusable)
    rows, arms = _arms(kind, the_rubric, items, ids, seed, reusable, out.notices)
    # The rows carry their case already (joined when read): no second join by the private id.
    run_opts = RunOptions.of(opts, {"id_field": _PROBE_ID, "cases": None})
    scored: dict[str, ResultRecord] = {}
    if rows:
        run = await ascore(rows, the_rubric, complete=complete, options=run_opts)
        out.stopped = run.stopped
        out.notices.extend(run.notices)
        scored = {r.id: r for r in run.records}
    treated, control = _ARMS[kind]

    def scores(arm: str, item_id: str) -> dict[str, Any] | None:
        if arm == "baseline" and item_id in reusable:
            return _judged(reusable[item_id], judge)
        found = scored.get(f"{arm}:{item_id}")
        return _judged(found, judge) if found is not None else None

    kept = [i for i in ids if i in arms]
    out.items, out.ids = len(kept), kept
    if kind == "self":
        mine = family(judge)
        groups = [family(str(_field(items[i], "generator"))) == mine for i in kept]
        out.shifts = [
            unpaired_shift(c, [scores("baseline", i) for i in kept], groups, min_effect)
            for c in criteria
        ]
        return out
    pairs = [(scores(treated, i), scores(control, i)) for i in kept]
    out.shifts = [paired_shift(c, pairs, min_effect, seed) for c in criteria]
    if kind == "injection":
        out.moved_to_top = sum(1 for t, c in pairs if _rose(criteria, t, c))
    return out


def _compares(kind: str) -> str:
    return {
        "length": "padded − unchanged",
        "injection": "planted instruction − unchanged",
        "order": "chosen option shown first − shown last",
        "self": "own family's predictions − other families'",
    }[kind]


def _records(path: Path, id_field: str) -> dict[str, ResultRecord]:
    """The results file's records by id (the first of an id), refusing a file that holds
    none or was keyed by another id field."""
    if not path.is_file():
        raise InputError(str(path), None, "no such file")
    found: dict[str, ResultRecord] = {}
    for record in iter_records(path):
        if record.id_field not in (None, id_field):
            raise InputError(
                str(path),
                None,
                f"its records are keyed by {record.id_field!r}: give --id-field {record.id_field}",
            )
        found.setdefault(record.id, record)
    if not found:
        raise InputError(str(path), None, "holds no result record (is it a results file?)")
    return found


def _sample(ids: list[str], n: int | None, seed: int, notices: list[str]) -> list[str]:
    """`n` of `ids`, drawn with `seed` (all of them when n is None or not smaller)."""
    if n is not None and n < 1:
        raise ConfigError(f"--sample must be at least 1, not {n}")
    if n is None or n >= len(ids):
        if n is not None and n > len(ids):
            notices.append(
                f"the results file holds {len(ids)} items, fewer than --sample {n}: probing all"
            )
        return ids
    return sorted(random.Random(seed).sample(ids, n))


def _items(
    predictions: str | Path, opts: RunOptions, wanted: set[str], results: Path
) -> dict[str, Item]:
    found, missing = items_by_id(predictions, wanted, opts)
    if missing:
        raise InputError(
            str(results),
            None,
            f"item {missing[0]!r} is not in {predictions}"
            + (f" (nor are {len(missing) - 1} more)" if len(missing) > 1 else "")
            + "; give the predictions file this run judged",
        )
    return found


def _field(item: Item, name: str) -> Any:
    return (item.prediction.model_extra or {}).get(name)


def _need_generators(items: dict[str, Item], ids: list[str], path: str) -> None:
    for item_id in ids:
        value = _field(items[item_id], "generator")
        if not isinstance(value, str) or not value.strip():
            raise InputError(
                path,
                items[item_id].line,
                "missing: the self probe needs the model that wrote each prediction",
                field="generator",
            )


def _reusable(
    records: dict[str, ResultRecord], ids: list[str], rubric: Rubric, judge: str
) -> dict[str, ResultRecord]:
    """The sampled items whose record in the results file is this judge's unchanged baseline."""
    hashes = (rubric_hash(rubric), template_hash(rubric_templates(rubric)))
    return {
        i: r
        for i in ids
        if (r := records[i]).judges == [judge]
        and (r.rubric.hash, r.prompt_hash) == hashes
        and not r.retryable
    }


def _arms(
    kind: str,
    rubric: Rubric,
    items: dict[str, Item],
    ids: list[str],
    seed: int,
    reusable: dict[str, ResultRecord],
    notices: list[str],
) -> tuple[list[dict[str, Any]], set[str]]:
    """The rows to judge (each arm's row of each item, its id "<arm>:<item id>") and the items
    kept for comparison."""
    rows: list[dict[str, Any]] = []
    kept: set[str] = set()
    unmapped = 0
    for item_id in ids:
        item = items[item_id]
        row = item.prediction.model_dump(mode="json")
        rng = random.Random(f"{seed}|{kind}|{item_id}")  # per item: the sample's order is moot
        treated, control = _ARMS[kind]
        if kind == "order":
            arms = _orders(item.prediction, row, rng)
            if arms is None:
                unmapped += 1
                continue
        else:
            arms = {}
            if kind != "self":
                path, _ = target_text(rubric, item.prediction)
                change = functools.partial(perturb.pad if kind == "length" else _planted, rng=rng)
                arms[treated] = perturb.with_text(row, path, change)
            if item_id not in reusable:
                arms[control] = row
        kept.add(item_id)
        rows.extend({**r, _PROBE_ID: f"{arm}:{item_id}"} for arm, r in arms.items())
    if unmapped:
        notices.append(
            f"{unmapped} item(s) left out: the chosen letter, mapped back from the reordered "
            "options, was not the item's own (a letter mention the remap does not read)"
        )
    return rows, kept


def _judged(record: ResultRecord, judge: str) -> dict[str, Any]:
    """The record's scores that the judge gave: not those computed in its place (ddx's
    `miss_harm` when the chosen letter is correct), which no change to the text could move."""
    by_judge = {j.criterion for j in record.judgments if j.judge == judge and j.status == "scored"}
    return {c: v for c, v in record.scores.items() if c in by_judge}


def _planted(text: str, rng: random.Random) -> str:
    return perturb.plant(text, rng)[0]


def _orders(
    prediction: Prediction, row: dict[str, Any], rng: random.Random
) -> dict[str, dict[str, Any]] | None:
    """The item with its chosen option (else the correct one) first, and last; None when the
    chosen letter of either, mapped back, is not the item's own."""
    original, _ = extract_letter(prediction)
    anchor = original or prediction.correct_answer
    # The case's own letters (a case may have fewer or more than five options).
    letters = sorted(prediction.options or {})
    if anchor is None or anchor not in letters:
        return None
    others = [letter for letter in letters if letter != anchor]
    rng.shuffle(others)
    arms = {}
    for arm, order in (("first", [anchor, *others]), ("last", [*others, anchor])):
        mapping = {old: letters[i] for i, old in enumerate(order)}
        moved = perturb.remap_options(row, mapping)
        found, _ = extract_letter(Prediction.model_validate(moved))
        if (found and perturb.inverse(mapping)[found]) != original:
            return None
        arms[arm] = moved
    return arms


def _rose(
    criteria: Iterable[Criterion], treated: dict[str, Any] | None, control: dict[str, Any] | None
) -> bool:
    """Whether any criterion's score rose toward its scale's top (its highest level)."""
    if treated is None or control is None:
        return False
    for c in criteria:
        t: Any = treated.get(c.id)
        b: Any = control.get(c.id)
        if is_score(t) and is_score(b) and t > b:
            return True
    return False
