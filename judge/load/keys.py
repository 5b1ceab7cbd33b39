"""A keys file (JSONL of `judge.contracts.case_keys.CaseKey`), read and checked against a
run's cases before any call: every problem is a one-line error naming the file, the line and
the field.

- `load_keys`: each line validates; a case is keyed once.
- `Keys.check`: every case of the run has a key, every key a case of the run, and each case's
  material is what its key was built from.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from judge.contracts import Rubric
from judge.contracts.case_keys import CaseKey, case_material_hash
from judge.contracts.cases import Case
from judge.errors import ConfigError, InputError
from judge.load.cases import Cases
from judge.load.images import ImageRoot
from judge.load.inputs import Item, iter_items
from judge.load.lines import first_problem, jsonl_rows, regular
from judge.options import RunOptions

__all__ = ["Keys", "checked_keys", "keys_needed", "keys_or_none", "load_keys", "run_keys"]


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

    def key_for(self, case_id: str, case: Case, name: str, line: int) -> CaseKey:
        """The key of case `case_id` (read from `name`:`line`), or the InputError of a case
        without a key or whose material changed since its key was built."""
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
        return key

    def check(
        self, cases: Iterable[tuple[str, Case, str, int]], known: Container[str] = ()
    ) -> None:
        """Raise the InputError of the first case without a key, key without a case, or key
        built from other case material. `cases`: (case id, case, the file it came from, its
        line) for every case of the run; `known`: ids of other cases (a cases file's rows no
        prediction names), whose keys are not unknown, and not checked."""
        seen: set[str] = set()
        for case_id, case, name, line in cases:
            if case_id in seen:
                continue
            seen.add(case_id)
            self.key_for(case_id, case, name, line)
        for case_id, line in self.lines.items():
            if case_id not in seen and case_id not in known:
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

    def block(self) -> dict[str, Any]:
        """The counts a run's summary carries (`Summary.keys`; `judge methods` reads them)."""
        counts = self.reviewed()
        return {
            "file": self.path,
            "keys": len(self),
            "reviewed_by_clinician": counts["clinician"],
            "reviewed_by_author": counts["author"],
            "draft": counts["draft"],
        }


def run_keys(
    source: str | Path | Iterable[Any],
    opts: RunOptions,
    rubric: Rubric,
    cases: Cases | None,
    images: ImageRoot | None,
    skipped: bool = False,
) -> Keys | None:
    """A file run's keys (`--keys`; None without), checked against every case it judges
    before any call (see `checked_keys`). `skipped`: --skip-invalid skipped lines, so a key
    without a case of the run may be a skipped line's, and is not refused."""
    name = str(source) if isinstance(source, str | Path) else "<records>"
    found = iter_items(source, opts.id_field, cases, images, fmt=opts.format, rubric=rubric)
    run = ((i.id, i.prediction, name, i.line) for i in found if isinstance(i, Item))
    # A cases file's rows no line predicts are cases of the run too: their keys are known.
    known = cases.rows if cases is not None else ()
    return checked_keys(opts, rubric, run, known, every_key_known=skipped)


def checked_keys(
    opts: RunOptions,
    rubric: Rubric,
    cases: Iterable[tuple[str, Case, str, int]],
    known: Container[str] = (),
    *,
    every_key_known: bool = False,
) -> Keys | None:
    """The keys `opts` names (None without), checked against `cases` as `Keys.check` checks
    them (`every_key_known`: no key is refused for having no case). A rubric that judges
    keys needs them; one that uses none refuses them (a ConfigError), not ignoring them."""
    if opts.keys is None:
        if rubric.items == "key":
            raise keys_needed(rubric)
        return None
    if not rubric.uses_keys:
        raise ConfigError(
            f"--keys: rubric {rubric.id} uses no case key (ddx, education and keys use them)"
        )
    keys = load_keys(opts.keys)
    keys.check(cases, known=keys.by_case if every_key_known else known)
    return keys


def keys_needed(rubric: Rubric) -> ConfigError:
    """The error of a rubric that judges keys run without them."""
    return ConfigError(f"rubric {rubric.id} judges each case's key: give --keys FILE")


def keys_or_none(path: str | Path | None) -> Keys | None:
    """The keys file `path` (`--keys`), loaded, or None when none is given."""
    return None if path is None else load_keys(path)


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
