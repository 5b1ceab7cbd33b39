"""A keys file (JSONL of `judge.contracts.case_keys.CaseKey`), read and checked against a
run's cases before any call: every problem is a one-line error naming the file, the line and
the field.

- `load_keys`: each line validates; a case is keyed once.
- `Keys.check`: every case of the run has a key, every key a case of the run, and each case's
  material is what its key was built from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from judge.contracts.case_keys import CaseKey, case_material_hash
from judge.contracts.cases import Case
from judge.errors import InputError
from judge.load.lines import first_problem, jsonl_rows, regular

__all__ = ["Keys", "load_keys"]


@dataclass(frozen=True)
class Keys:
    """A keys file's keys by case id, with the line each came from."""

    path: str
    by_case: Mapping[str, CaseKey]
    lines: Mapping[str, int]

    def __len__(self) -> int:
        return len(self.by_case)

    def key(self, case: str) -> CaseKey | None:
        """The key of case `case`, or None."""
        return self.by_case.get(case)

    def check(self, cases: Iterable[tuple[str, Case, str, int]]) -> None:
        """Raise the InputError of the first case without a key, key without a case, or key
        built from other case material. `cases`: (case id, case, the file it came from, its
        line) for every case of the run."""
        seen: set[str] = set()
        for case_id, case, name, line in cases:
            if case_id in seen:
                continue
            seen.add(case_id)
            key = self.by_case.get(case_id)
            if key is None:
                raise InputError(
                    name, line, f"no key for case {case_id!r} in {self.path}", field="case"
                )
            if key.case_hash != case_material_hash(case):
                raise InputError(
                    self.path,
                    self.lines[case_id],
                    f"case {case_id!r} changed since its key was built (its history, findings, "
                    f"captions, options, answer or discussion differ from what the key was built "
                    f"from, {name}:{line}): rebuild or re-review the key",
                    field="case_hash",
                )
        for case_id, line in self.lines.items():
            if case_id not in seen:
                raise InputError(
                    self.path, line, f"case {case_id!r} is not a case of this run", field="case"
                )

    def reviewed(self) -> dict[str, int]:
        """How many keys are drafts, and how many are reviewed by a clinician and by their
        author: {"draft": n, "clinician": n, "author": n}."""
        counts = {"draft": 0, "clinician": 0, "author": 0}
        for key in self.by_case.values():
            counts[key.review.role if key.review else "draft"] += 1
        return counts


def load_keys(path: str | Path) -> Keys:
    """Read a keys file; raise the InputError naming the file, line and field of its first
    problem (not JSON, a field that does not validate, a case keyed twice, an empty file)."""
    file = Path(path)
    name = str(path)
    regular(file, name)
    by_case: dict[str, CaseKey] = {}
    lines: dict[str, int] = {}
    for line, row in jsonl_rows(file):
        if isinstance(row, InputError):
            raise row
        if not isinstance(row, dict):
            raise InputError(name, line, f"a key is a JSON object, got {type(row).__name__}")
        try:
            key = CaseKey.model_validate(row)
        except ValidationError as exc:
            raise first_problem(name, line, exc) from None
        if key.case in lines:
            raise InputError(
                name,
                line,
                f"case {key.case!r} already has a key on line {lines[key.case]}",
                field="case",
            )
        by_case[key.case] = key
        lines[key.case] = line
    if not by_case:
        raise InputError(name, None, "no keys: the file has no line")
    return Keys(name, by_case, lines)
