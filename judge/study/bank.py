"""Load a rubric's test bank (`rubrics/bank/<rubric>.yaml`, or a file), validated against the
rubric: every mistake is a RubricError at the bank file's line.

Beyond the contract (judge/contracts/bank.py), the loader checks what needs the rubric: each
criterion a pair names exists in the rubric and is judged by an LLM; each pair declares every
judged criterion; each judged criterion has at least `min_pairs` pairs targeting it; each case
is a valid predictions line; each edit's `old` text occurs exactly once where it points; an
order control's letters are the case's own, and the chosen letter survives the reordering.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from judge.contracts import Prediction, Rubric
from judge.contracts.bank import Bank, BankControl, BankPair, Edit
from judge.errors import RubricError
from judge.load.rubric import builtin_dir, line_of, load_rubric, load_yaml_model
from judge.study.perturb import remap_options

__all__ = [
    "LoadedBank",
    "apply_edits",
    "bank_path",
    "builtin_banks",
    "load_bank",
    "reordered",
    "staged_refusal",
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


def staged_refusal(rubric: Rubric) -> str | None:
    """Why no bank can qualify a judge on a staged rubric yet (None: a single-call rubric).

    Its judged criteria are verdicts per unit (a reasoning step), while a bank compares one
    whole-item score per criterion, moved worse or not, between a base and its defect."""
    stage = next((s for s in rubric.stages if s.kind == "judge"), None)
    if stage is None:
        return None
    unit = rubric.stage(stage.per).unit if stage.per else "unit"
    names = ", ".join(c.id for c in stage.criteria)
    asked = "; ".join(
        f"{c.id} only when {', '.join(f'{k}={v}' for k, v in c.when.items())}"
        for c in stage.criteria
        if c.when
    )
    return (
        f"rubric {rubric.id} judges {names} per {unit} (stage {stage.id}), not once per item, "
        "and a test bank compares one whole-item score per criterion, moved worse or not, "
        "between a base and its defect: no bank can qualify a judge on it yet. A staged bank "
        f"would need (1) pairs naming the {unit} their defect is planted in, found again on "
        f"both sides (each side is split anew, so {unit} numbers shift); (2) expected values "
        f"per {unit}, not a direction: labels such as whether a {unit} is critical or which "
        f"options it addresses describe it rather than grade it, and a defect changes which "
        f"are asked ({asked or 'none conditional'}); (3) `judge qualify` comparing {unit} "
        f"verdicts. Until then, compare the judge's {unit} labels with people's: judge "
        f"calibrate --rubric {rubric.id}"
    )


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
    refusal = staged_refusal(rubric)
    if refusal:
        raise fail(("rubric",), refusal)
    judged = [c.id for c in rubric.llm_criteria]
    if not judged:
        raise fail(("rubric",), f"rubric {rubric.id} has no LLM criterion a bank could test")
    _check_ids(bank, fail)
    items = _check_cases(bank, rubric, fail)
    for i, pair in enumerate(bank.pairs):
        _check_pair(i, pair, judged, fail)
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
