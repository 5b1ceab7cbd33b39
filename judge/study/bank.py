"""Load a rubric's test bank (`rubrics/bank/<rubric>.yaml`, or a file), validated against the
rubric: every mistake is a RubricError at the bank file's line.

Beyond the contract (judge/contracts/bank.py), the loader checks what needs the rubric: each
criterion a pair names exists in the rubric and is one the bank tests (a single-call rubric's
LLM criteria; on a staged rubric, the measures computed from its judge stages that the bank
names in `criteria`); each pair declares every tested criterion; each has at least
`min_pairs` pairs targeting it; each case
is a valid predictions line; each edit's `old` text occurs exactly once where it points; an
order control's letters are the case's own, and the chosen letter survives the reordering.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from judge.contracts import Criterion, Prediction, Rubric
from judge.contracts.bank import Bank, BankControl, BankPair, Edit
from judge.errors import ConfigError, RubricError
from judge.load.rubric import builtin_dir, line_of, load_rubric, load_yaml_model
from judge.study.perturb import remap_options

__all__ = [
    "LoadedBank",
    "apply_edits",
    "bank_hash",
    "bank_path",
    "builtin_banks",
    "load_bank",
    "reordered",
    "sample_bank",
    "staged_measures",
    "tested_criteria",
]


@dataclass(frozen=True)
class LoadedBank:
    """A validated bank, its file, and the rubric it tests."""

    bank: Bank
    path: Path
    rubric: Rubric


def builtin_banks() -> dict[str, Path]:
    """The rubric ids that ship a bank, and its file."""
    return {p.stem: p for p in sorted((builtin_dir() / "bank").glob("*.yaml"))}


def tested_criteria(bank: Bank, rubric: Rubric) -> list[Criterion]:
    """The criteria a bank tests: a single-call rubric's LLM criteria; on a staged rubric, the
    measures the bank names (`criteria:`), each computed from a judge stage's verdicts, so that
    `judge qualify` compares them as a real run computes them."""
    if not rubric.stages:
        return list(rubric.llm_criteria)
    return [rubric.criterion(c) for c in bank.criteria or []]


def staged_measures(rubric: Rubric) -> list[str]:
    """A staged rubric's measures fed by a judge stage (those a bank may test)."""
    judging = {s.id for s in rubric.stages if s.kind == "judge"}
    return [c.id for c in rubric.criteria if c.measure is not None and c.measure.stage in judging]


def bank_path(rubric_id: str) -> Path:
    """The built-in bank of a rubric id, or a RubricError saying which rubrics have one."""
    found = builtin_banks()
    if rubric_id not in found:
        known = ", ".join(found) or "none"
        raise RubricError(rubric_id, None, f"no test bank for this rubric (banks: {known})")
    return found[rubric_id]


def load_bank(path: str | Path, rubric: Rubric | None = None) -> LoadedBank:
    """The bank at `path`, checked against `rubric` (default: the built-in rubric it names)."""
    where = Path(path)
    bank, node = load_yaml_model(where, Bank, "a test bank")

    def fail(loc: tuple[Any, ...], message: str) -> RubricError:
        dotted = ".".join(str(p) for p in loc) or None
        return RubricError(str(where), line_of(node, loc), message, field=dotted)

    if rubric is None:
        try:
            rubric = load_rubric(bank.rubric)
        except RubricError as exc:
            raise fail(("rubric",), exc.message) from exc
    if bank.rubric != rubric.id:
        raise fail(("rubric",), f"the bank is for rubric {bank.rubric!r}, not {rubric.id!r}")
    _check_criteria(bank, rubric, fail)
    judged = [c.id for c in tested_criteria(bank, rubric)]
    if not judged:
        raise fail(("rubric",), f"rubric {rubric.id} has no LLM criterion a bank could test")
    _check_ids(bank, fail)
    items = _check_cases(bank, rubric, fail)
    for i, pair in enumerate(bank.pairs):
        _check_pair(i, pair, judged, fail)
        also = [c for c, m in pair.expect.items() if m == "worse" and c != pair.target]
        if also and not rubric.stages:
            raise fail(
                ("pairs", i, "expect", also[0]),
                f"a single-defect pair is 'worse' on its target only, not also on {also}; "
                "declare a double effect 'either' with the review finding in `because`",
            )
        _check_edits(("pairs", i), pair.edits, items[pair.case], fail)
    for i, control in enumerate(bank.controls):
        _check_control(i, control, items[control.case], fail)
        for name in control.exempt:
            if name not in judged:
                raise fail(
                    ("controls", i, "exempt", name), f"{name!r} is not a judged criterion: {judged}"
                )
    targets = Counter(p.target for p in bank.pairs)
    short = [c for c in judged if targets[c] < bank.min_pairs]
    if short:
        counts = ", ".join(f"{c} {targets[c]}" for c in short)
        raise fail(
            ("pairs",), f"each judged criterion needs {bank.min_pairs} pairs or more: {counts}"
        )
    return LoadedBank(bank, where, rubric)


def _check_criteria(bank: Bank, rubric: Rubric, fail: Any) -> None:
    """A staged rubric's bank names the measures it tests; a single-call rubric's names none."""
    if not rubric.stages:
        if bank.criteria is not None:
            raise fail(
                ("criteria",),
                f"rubric {rubric.id} is judged in one call: its bank tests every LLM criterion "
                "and names none",
            )
        return
    allowed = staged_measures(rubric)
    if not bank.criteria:
        raise fail(
            ("rubric",),
            f"rubric {rubric.id} judges per unit: name the measures the bank tests in "
            f"`criteria` (of {allowed})",
        )
    for i, name in enumerate(bank.criteria):
        if name not in allowed:
            raise fail(
                ("criteria", i),
                f"{name!r} is not a measure computed from a judge stage of {rubric.id}: {allowed}",
            )


def _check_ids(bank: Bank, fail: Any) -> None:
    seen: set[str] = set()
    known = {c.id for c in bank.cases}
    for section in ("cases", "pairs", "controls"):
        for i, entry in enumerate(getattr(bank, section)):
            if entry.id in seen:
                raise fail((section, i, "id"), f"{entry.id!r} is used twice")
            seen.add(entry.id)
            if section != "cases" and entry.case not in known:
                raise fail((section, i, "case"), f"no case {entry.case!r} in `cases`")


def _check_cases(bank: Bank, rubric: Rubric, fail: Any) -> dict[str, dict[str, Any]]:
    items = {}
    for i, case in enumerate(bank.cases):
        try:
            prediction = Prediction.model_validate(case.item)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ("cases", i, "item", *first["loc"])
            raise fail(loc, first["msg"]) from exc
        if rubric.context and "options" in rubric.context and not prediction.options:
            raise fail(("cases", i, "item"), f"rubric {rubric.id} needs the case's options")
        items[case.id] = case.item
    return items


def _check_pair(i: int, pair: BankPair, judged: list[str], fail: Any) -> None:
    if pair.target not in judged:
        raise fail(("pairs", i, "target"), f"{pair.target!r} is not a judged criterion: {judged}")
    for name in pair.expect:
        if name not in judged:
            raise fail(
                ("pairs", i, "expect", name), f"{name!r} is not a judged criterion: {judged}"
            )
    missing = [c for c in judged if c not in pair.expect]
    if missing:
        raise fail(("pairs", i, "expect"), f"declare every judged criterion; missing {missing}")


def _check_edits(
    loc: tuple[Any, ...], edits: list[Edit], item: dict[str, Any], fail: Any
) -> dict[str, Any]:
    try:
        return apply_edits(item, edits)
    except _EditError as exc:
        raise fail((*loc, "edits", exc.index), exc.message) from exc


def _check_control(i: int, control: BankControl, item: dict[str, Any], fail: Any) -> None:
    loc = ("controls", i)
    changed = _check_edits(loc, control.edits, item, fail)
    if control.order is None:
        if changed == item:
            raise fail((*loc, "edits"), "the control changes nothing")
        return
    letters = sorted(str(k) for k in item.get("options") or {})
    if sorted(control.order) != letters or control.order == letters:
        raise fail(
            (*loc, "order"), f"give the case's letters {letters} in another order, once each"
        )
    from judge.judging.accuracy import extract_letter

    chosen, _ = extract_letter(Prediction.model_validate(item))
    moved, _ = extract_letter(Prediction.model_validate(reordered(item, control.order)))
    if chosen is None or moved != dict(zip(control.order, letters, strict=True))[chosen]:
        raise fail(
            (*loc, "order"),
            "the chosen letter does not follow the reordering (write letter mentions as "
            '"option C", "(C)" or "Final answer: C")',
        )


class _EditError(Exception):
    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index, self.message = index, message


def apply_edits(item: dict[str, Any], edits: list[Edit]) -> dict[str, Any]:
    """A copy of `item` with each edit's `old` text, found exactly once at its field, replaced."""
    out = yaml.safe_load(yaml.safe_dump(item))  # a deep copy of plain YAML data
    for index, edit in enumerate(edits):
        *parents, last = edit.field.split(".")
        node = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        text = node.get(last) if isinstance(node, dict) else None
        if not isinstance(text, str):
            raise _EditError(index, f"the case has no text at {edit.field!r}")
        count = text.count(edit.old)
        if count != 1:
            raise _EditError(
                index, f"`old` must occur once in {edit.field}, found {count} times: {edit.old!r}"
            )
        node[last] = text.replace(edit.old, edit.new)
    return out


def reordered(item: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """The item with its options shown in `order` (old letters, new positions A, B, …), every
    letter mention remapped (judge.study.perturb.remap_options)."""
    letters = sorted(order)
    return remap_options(item, dict(zip(order, letters, strict=True)))


def sample_bank(
    loaded: LoadedBank,
    known: list[str],
    judged: list[str],
    criteria: Sequence[str] | None,
    pairs: int | None,
) -> tuple[LoadedBank, str | None]:
    """The part of the bank a subset runs (the pairs of `judged`, at most `pairs` each, their
    cases, and the controls on those cases), and how to state it (None: the whole bank)."""
    if not criteria and pairs is None:
        return loaded, None
    unknown = [c for c in criteria or () if c not in known]
    if unknown:
        raise ConfigError(
            f"--criteria: {', '.join(unknown)} not tested by the bank of {loaded.rubric.id}: "
            f"{known}"
        )
    if pairs is not None and pairs < 1:
        raise ConfigError(f"--pairs must be at least 1, not {pairs}")
    bank = loaded.bank
    taken: dict[str, int] = {}
    kept = []
    for pair in bank.pairs:
        if pair.target in judged and taken.get(pair.target, 0) < (pairs or len(bank.pairs)):
            taken[pair.target] = taken.get(pair.target, 0) + 1
            kept.append(pair)
    cases = {p.case for p in kept}
    part = bank.model_copy(
        update={
            "pairs": kept,
            "cases": [c for c in bank.cases if c.id in cases],
            "controls": [c for c in bank.controls if c.case in cases],
        }
    )
    whole = Counter(p.target for p in bank.pairs)
    said = (
        f"a sample of the bank: {len(kept)} of {len(bank.pairs)} pairs "
        f"({', '.join(f'{c} {taken.get(c, 0)}/{whole[c]}' for c in judged)}), "
        f"{len(part.cases)} of {len(bank.cases)} cases, {len(part.controls)} of "
        f"{len(bank.controls)} controls"
    )
    if len(judged) < len(known):
        said += f"; {len(judged)} of {len(known)} criteria"
    return LoadedBank(part, loaded.path, loaded.rubric), said


def bank_hash(loaded: LoadedBank) -> str:
    """A short hash of the bank's content, recorded beside a `judge qualify` verdict."""
    canonical = json.dumps(loaded.bank.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
