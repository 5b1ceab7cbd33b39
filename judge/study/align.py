"""`judge align`: show the judge clinicians' corrections as worked examples, and measure
whether that helps (issue #18 §2).

The measurement is k-fold cross-validation by case: the cases with human ratings are dealt
into folds; for each fold the examples are chosen from the other folds' items only, the
judge re-judges the fold's items with that fold's variant (through `judge.run`, so the call
cache, `--max-cost` and resume apply: each fold's results file lives in `<out>.folds/`), and
agreement with the clinicians is computed on the held-out items, before (the original
records) and after, with calibration's agreement table. No example is ever evaluated on its
own item or case. The variant written to `--out` takes its examples from every item.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from calibration.agreement_table import agreement
from calibration.loaders import load_judge_results
from calibration.tables import is_table, table_text
from judge.contracts import Rubric
from judge.errors import ConfigError
from judge.judging.engine import CompleteFn
from judge.load.inputs import Item, items_by_id
from judge.load.rubric import builtin_rubrics, load_rubric
from judge.options import RunOptions
from judge.run import score
from judge.store.outputs import claim, write_atomic
from judge.store.results import iter_records
from judge.study.corrections import Corrections, read_corrections, select_examples, variant

__all__ = ["MARK", "AlignResult", "Fold", "align", "folds_dir"]

# The first line of every rubric `judge align` writes: how a later run knows the file is ours.
MARK = "# Written by `judge align`"
# The agreement measures shown before and after (calibration's agreement table columns).
MEASURES = (("exact", "exact"), ("alpha_with_judge", "alpha"))


@dataclass(frozen=True)
class Fold:
    """One fold: its held-out items, the items its examples came from, and its run."""

    number: int
    cases: list[str]
    held_out: list[str]
    example_items: list[str]
    results: Path


@dataclass
class AlignResult:
    """What `align` wrote and measured."""

    rubric: Rubric
    out: Path
    table: pd.DataFrame
    folds: list[Fold]
    notes: list[str] = field(default_factory=list)
    # Why the re-judging stopped before every fold was judged (a --max-cost budget), or None.
    stopped: str | None = None


def folds_dir(out: Path) -> Path:
    """Where the folds' rubrics and results files live: `<out>.folds/` beside `out`."""
    return out.with_name(out.name + ".folds")


def align(
    results: str | Path,
    predictions: str | Path,
    human: str | Path,
    rubric: str | Path | Rubric,
    out: str | Path,
    *,
    folds: int = 5,
    example_tokens: int = 1500,
    case_field: str = "title",
    seed: int = 0,
    n_boot: int = 0,
    ci: float = 0.95,
    table_out: str | Path | None = None,
    options: RunOptions | None = None,
    complete: CompleteFn | None = None,
) -> AlignResult:
    """Write `rubric`'s aligned variant to `out` and measure it by k-fold cross-validation.

    `predictions` is the file `results` was judged from (records do not hold the texts);
    items are dealt into folds by `case_field` (items of one case stay together). Raises a
    ConfigError before any judge call for files that are not ours or inputs that share
    nothing.
    """
    opts = options or RunOptions()
    out = Path(out)
    base = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    _check_out(out, rubric, table_out)
    if base.stages or not base.llm_criteria:
        raise ConfigError(f"rubric {base.id}: examples are for single-call rubrics with judges")
    if not opts.judges:
        raise ConfigError("align re-judges the held-out items: name the judge (--judge MODEL)")
    corrections = read_corrections(results, human, base)
    notes = list(corrections.notes) + _check_records(results, base)
    earlier = sorted(set(corrections.judged["rater"]))
    if earlier != sorted(opts.judges):
        notes.append(
            f"the records were judged by {', '.join(earlier)}, the re-judging is by "
            f"{', '.join(sorted(opts.judges))}: before and after compare different judges"
        )
    items = _items(predictions, opts, corrections, notes)
    cases = _cases(items, case_field)
    rated = sorted(i for i in items if i in corrections.disagreement)
    by_case = sorted({cases[i] for i in rated})
    if len(by_case) < 2:
        raise ConfigError(
            f"{human}: rated items of {len(by_case)} case(s) were judged; cross-validation "
            "by case needs at least 2"
        )
    final = variant(base, select_examples(corrections, items, rated, base, example_tokens))
    if not final.examples:
        raise ConfigError(
            f"{human}: no item where the judge disagreed with the clinicians has a comment "
            "(an example's reason); nothing to align on"
        )
    work = folds_dir(out)
    plan = _deal(by_case, min(folds, len(by_case)), seed)
    done, before, after, stopped = [], [], [], None
    spent = 0.0
    for number, fold_cases in enumerate(plan, start=1):
        held = [i for i in rated if cases[i] in fold_cases]
        train = [i for i in rated if cases[i] not in fold_cases]
        examples = select_examples(corrections, items, train, base, example_tokens)
        leak = {e.item for e in examples} & set(held)
        assert not leak, f"fold {number}: examples from held-out items {leak}"  # by construction
        fold_rubric = variant(base, examples)
        fold = Fold(number, fold_cases, held, [str(e.item) for e in examples],
                    work / f"fold-{number}.results.jsonl")  # fmt: skip
        _write_rubric(work / f"fold-{number}.yaml", fold_rubric, f"fold {number} of {len(plan)}")
        # The items carry their case already (joined when read): no second join.
        run_opts = RunOptions.of(opts, {"cases": None})
        if opts.max_cost is not None:
            run_opts = RunOptions.of(run_opts, {"max_cost": max(opts.max_cost - spent, 0.0)})
        paid = _paid(fold.results)
        run = score([items[i].prediction for i in held], fold_rubric, out=fold.results,
                    options=run_opts, complete=complete)  # fmt: skip
        spent += _paid(fold.results) - paid
        notes.extend(n for n in run.notices if n not in notes)
        if run.stopped:
            stopped = f"fold {number}: {run.stopped}"
            break
        rejudged = _rejudged(fold.results, held, run.rubric_hash)
        done.append(fold)
        before.append(corrections.judged[corrections.judged["item"].isin(set(rejudged["item"]))])
        after.append(rejudged)
    if stopped and done:
        notes.append(f"before/after over folds 1-{len(done)} of {len(plan)} only (stopped)")
    table = _before_after(corrections, before, after, base, n_boot=n_boot, ci=ci, seed=seed)
    _write_rubric(out, final, f"from {Path(results).name} and {Path(human).name}")
    if table_out is not None:
        write_atomic(Path(table_out), table_text(table, ".csv", "align"))
    return AlignResult(final, out, table, done, notes, stopped)


def _check_out(out: Path, rubric: str | Path | Rubric, table_out: str | Path | None) -> None:
    """Refuse, before any work, an --out that is not a YAML file of ours (the base rubric,
    a built-in one, a user's file) and a --table that is not a table of ours."""
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise ConfigError(f"--out {out}: a rubric is written as a .yaml file")
    sources = [*builtin_rubrics().values()]
    if not isinstance(rubric, Rubric) and Path(rubric).is_file():
        sources.append(Path(rubric))
    if out.exists() and any(os.path.samefile(out, s) for s in sources if s.exists()):
        raise ConfigError(f"--out {out}: that is the base rubric's file; choose another --out")
    claim(out, lambda head: head.startswith(MARK.encode()))
    work = folds_dir(out)
    if work.exists() and not work.is_dir():
        raise ConfigError(f"{work}: not a directory (align keeps its folds' runs there)")
    if table_out is not None:
        if Path(table_out).suffix.lower() != ".csv":
            raise ConfigError(f"--table {table_out}: the table is written as a .csv file")
        claim(Path(table_out), is_table, "--table")


def _check_records(results: str | Path, base: Rubric) -> list[str]:
    """Refuse records of another rubric (their criteria mean other things); note another
    version of this one (the 'before' then measures that version)."""
    versions = set()
    for record in iter_records(results):
        if record.rubric.id != base.id:
            raise ConfigError(
                f"{results}: item {record.id!r} was judged with rubric {record.rubric.id}, "
                f"not {base.id}; align the rubric the results were judged with"
            )
        versions.add(record.rubric.version)
    other = sorted(versions - {base.version})
    if not other:
        return []
    return [f"{results}: judged with {base.id} version(s) {other}, not {base.version}"]


def _items(
    predictions: str | Path, opts: RunOptions, corrections: Corrections, notes: list[str]
) -> dict[str, Item]:
    """The predictions of the rated, judged items (their texts are what is re-judged)."""
    items, missing = items_by_id(predictions, set(corrections.disagreement), opts)
    if missing:
        notes.append(f"{len(missing)} rated item(s) are not in {predictions}: {missing[:3]}")
    return items


def _cases(items: dict[str, Item], case_field: str) -> dict[str, str]:
    """Each item's case: its `case_field` value (the item's id when it has none)."""
    found = {}
    for item_id, item in items.items():
        value = getattr(item.prediction, case_field, None)
        if value is None:
            value = (item.prediction.model_extra or {}).get(case_field)
        found[item_id] = str(value) if value not in (None, "") else item_id
    return found


def _deal(cases: list[str], k: int, seed: int) -> list[list[str]]:
    """The cases shuffled by `seed`, then dealt round-robin into k folds."""
    order = list(cases)
    random.Random(seed).shuffle(order)
    return [sorted(order[f::k]) for f in range(k)]


def _paid(path: Path) -> float:
    """What the calls recorded in a results file cost (cache hits are free)."""
    if not path.is_file():
        return 0.0
    return sum(c.cost_usd or 0.0 for r in iter_records(path) for c in r.calls if not c.cached)


def _rejudged(path: Path, held: list[str], hash_: str) -> pd.DataFrame:
    """The fold run's scored judgments of its held-out items (calibration's long rows)."""
    ours = {r.id for r in iter_records(path) if r.rubric.hash == hash_ and r.id in held}
    rows = load_judge_results(path)
    return rows[rows["item"].isin(ours)].reset_index(drop=True)


def _before_after(
    corrections: Corrections,
    before: list[pd.DataFrame],
    after: list[pd.DataFrame],
    rubric: Rubric,
    **settings: Any,
) -> pd.DataFrame:
    """Agreement with the clinicians on the held-out items, per criterion and judge: the
    original records beside the re-judged ones, with calibration's agreement table."""
    levels = {c.id: c.scale.type for c in rubric.llm_criteria}
    domains = {c.id: list(getattr(c.scale, "levels", [])) for c in rubric.llm_criteria}
    tables = []
    for name, parts in (("before", before), ("after", after)):
        judged = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if judged.empty:
            continue
        held = corrections.human[corrections.human["item"].isin(set(judged["item"]))]
        both = pd.concat([judged, held.drop(columns="comment", errors="ignore")])
        table = agreement(both, levels=levels, domains=domains, **settings)
        table = table[table["judge"].notna()]
        shown = {"n_items": f"n_{name}", **{c: f"{h}_{name}" for c, h in MEASURES}}
        tables.append(table[["criterion", "judge", *shown]].rename(columns=shown))
    if len(tables) < 2:
        return pd.DataFrame(columns=["criterion", "judge"])
    merged = tables[0].merge(tables[1], on=["criterion", "judge"], how="outer")
    for _, header in MEASURES:
        merged[f"{header}_change"] = merged[f"{header}_after"] - merged[f"{header}_before"]
    return merged.sort_values(["criterion", "judge"]).reset_index(drop=True)


def _write_rubric(path: Path, rubric: Rubric, what: str) -> None:
    """The variant as a complete rubric file, under the mark that makes it ours."""
    claim(path, lambda head: head.startswith(MARK.encode()))
    assert rubric.base is not None
    head = (
        f"{MARK} ({what}): rubric {rubric.base.id} {rubric.base.version} with "
        f"{len(rubric.examples)} worked example(s) from clinicians' ratings.\n"
        "# A complete rubric: edit it freely (its hash changes with any edit); a later\n"
        "# `judge align` with this --out replaces it.\n"
    )
    content = rubric.model_dump(mode="json", exclude_defaults=True)
    body = yaml.dump(content, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    write_atomic(path, head + body)


class _Dumper(yaml.SafeDumper):
    """Safe YAML with a text of several lines as a literal block, as a person writes it."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)
