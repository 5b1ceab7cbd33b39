#!/usr/bin/env python3
"""Write `examples/keys.jsonl`, the case keys of the 12 bundled cases, from the hand-written
`examples/keys.source.yaml`.

The keys are written by hand in the YAML file; this script only checks them and adds what a
person should not compute: each key's `case_hash` (the material of the case as
`examples/predictions/strong.jsonl` has it, the same in every bundled predictions file) and
its `content_hash`. Run it from anywhere: ``python examples/make_keys.py``. The output is
deterministic (the times are the source's), so a rerun is byte-identical.

It refuses to write when a key does not validate as `judge.contracts.case_keys.CaseKey`, when
a bundled case has no key or a key names no bundled case, or when a key lacks what the
bundled keys promise (`shape_problems`).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from judge.contracts import Prediction  # noqa: E402
from judge.contracts.case_keys import CaseKey, case_material_hash  # noqa: E402

SOURCE = HERE / "keys.source.yaml"
CASES = HERE / "predictions" / "strong.jsonl"
OUT = HERE / "keys.jsonl"
# The source's sections after the discriminators, in the order their items are written, and
# the kind of their items.
_SECTIONS = {
    "findings": "finding",
    "must_not_miss": "must_not_miss",
    "urgent_action": "urgent_action",
    "teaching_points": "teaching_point",
    "unsafe_actions": "unsafe_action",
}


def bundled_cases() -> dict[str, Prediction]:
    """The bundled cases by title, in file order."""
    lines = CASES.read_text(encoding="utf-8").splitlines()
    cases = [Prediction.model_validate(json.loads(line)) for line in lines]
    return {case.title: case for case in cases}


def shape_problems(key: CaseKey, case: Prediction) -> list[str]:
    """What a bundled key lacks: a discriminator for every option, one must-not-miss (a
    distractor), one urgent action, 3-8 teaching points and at least one unsafe action."""
    kinds = Counter(item.kind for item in key.items)
    problems = []
    covered = {i.option for i in key.items if i.kind == "discriminator"}
    if missing := sorted(set(case.options) - covered):
        problems.append(f"no discriminator for option(s) {', '.join(missing)}")
    if kinds["must_not_miss"] != 1 or kinds["urgent_action"] != 1:
        problems.append("not exactly one must_not_miss and one urgent_action")
    if any(i.kind == "must_not_miss" and i.option == case.correct_answer for i in key.items):
        problems.append("the must-not-miss names the correct answer, not an alternative")
    if not 3 <= kinds["teaching_point"] <= 8:
        problems.append(f"{kinds['teaching_point']} teaching points, not 3-8")
    if kinds["unsafe_action"] < 1:
        problems.append("no unsafe_action")
    return problems


def _items(entry: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for option, found in sorted(entry.get("discriminators", {}).items()):
        items += [{"kind": "discriminator", "option": option, **item} for item in found]
    for section, kind in _SECTIONS.items():
        found = entry.get(section, [])
        items += [
            {"kind": kind, **item} for item in (found if isinstance(found, list) else [found])
        ]
    return items


def build() -> list[CaseKey]:
    """The keys of the source, checked against the bundled cases, in the cases' order."""
    source = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))
    cases = bundled_cases()
    author = source["author"]
    keys: dict[str, CaseKey] = {}
    problems: list[str] = []
    for n, entry in enumerate(source["keys"], start=1):
        title = entry["case"]
        where = f"{SOURCE.name}: key {n} ({title!r})"
        if title not in cases or title in keys:
            problems.append(f"{where}: not a bundled case, or keyed twice")
            continue
        if unknown := sorted(set(entry) - {"case", "discriminators", *_SECTIONS}):
            problems.append(f"{where}: unknown section(s) {', '.join(unknown)}")
        key = CaseKey.model_validate(
            {
                "case": title,
                "case_hash": case_material_hash(cases[title]),
                "items": _items(entry),
                "drafted": {"by": f"hand:{author}", "at": source["drafted_at"]},
                "status": "reviewed",
                "review": {"reviewer": author, "role": "author", "at": source["reviewed_at"]},
            }
        ).stamped()
        problems += [f"{where}: {p}" for p in shape_problems(key, cases[title])]
        keys[title] = key
    problems += [f"{SOURCE.name}: no key for bundled case {t!r}" for t in cases if t not in keys]
    if problems:
        raise SystemExit("\n".join(["the keys failed their checks:", *problems]))
    return [keys[title] for title in cases]


def render(keys: list[CaseKey]) -> str:
    """The keys file's text: one key per line, fields in the contract's order."""
    return "".join(
        json.dumps(key.model_dump(mode="json", exclude_none=True), ensure_ascii=False) + "\n"
        for key in keys
    )


def main() -> None:
    keys = build()
    OUT.write_text(render(keys), encoding="utf-8", newline="\n")
    print(f"{OUT.relative_to(ROOT)}: {len(keys)} keys, {sum(len(k.items) for k in keys)} items")


if __name__ == "__main__":
    main()
