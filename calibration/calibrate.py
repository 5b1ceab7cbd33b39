"""From files to the agreement table: what `judge calibrate` runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from calibration.agreement_table import agreement
from calibration.data import unit_ids
from calibration.errors import CalibrationError
from calibration.loaders import ITEM_CRITERION, load_human_scores, load_judge_results
from calibration.step_protocol import step_protocol_table

__all__ = ["calibrate_files", "check_overlap", "scales_from_rubric"]


def scales_from_rubric(rubric: Any) -> tuple[dict[str, str], dict[str, list[Any]]]:
    """Criterion → scale type, and criterion → ordered levels, from a `judge` Rubric.

    Duck-typed (each criterion has `.id`, `.scale.type`, and `.scale.levels` unless the scale
    is continuous), so this module never imports the judge package. A continuous criterion
    gets no domain: its values are whatever numbers were scored.
    """
    # A multi-stage rubric's per-unit criteria (is_factual per step) are rated too.
    criteria = [*rubric.criteria, *(c for s in getattr(rubric, "stages", []) for c in s.criteria)]
    levels = {c.id: c.scale.type for c in criteria}
    domains = {
        c.id: list(c.scale.levels)
        for c in criteria
        if hasattr(c.scale, "levels") and c.scale.type != "labels"
    }
    if getattr(rubric, "items", None):  # each case item's met / not met (`items: case`)
        levels[ITEM_CRITERION], domains[ITEM_CRITERION] = "binary", [0, 1]
    return levels, domains


def _examples(ids: Sequence[str]) -> str:
    return ", ".join(repr(i) for i in sorted(ids)[:3])


def check_overlap(judged: pd.DataFrame, human: pd.DataFrame) -> list[str]:
    """Refuse files that share no (item, criterion); describe partial mismatches."""
    j_units, h_units = set(unit_ids(judged)), set(unit_ids(human))
    if not j_units & h_units:
        raise CalibrationError(
            "the judge and human files share no item id: judge ids look like "
            f"{_examples(list(j_units))}, human ids like {_examples(list(h_units))}"
        )
    j_crit, h_crit = set(judged["criterion"]), set(human["criterion"])
    if not j_crit & h_crit:
        raise CalibrationError(
            f"the judge and human files share no criterion: judge {sorted(j_crit)}, "
            f"human {sorted(h_crit)}"
        )
    notes = []
    if j_units - h_units:
        only = sorted(j_units - h_units)
        notes.append(f"{len(only)} judged item(s) have no human score (e.g. {_examples(only)})")
    if h_units - j_units:
        only = sorted(h_units - j_units)
        notes.append(f"{len(only)} human-scored item(s) were not judged (e.g. {_examples(only)})")
    for name in sorted(j_crit ^ h_crit):
        side = "judge" if name in j_crit else "human"
        notes.append(f"criterion {name!r} is only in the {side} file")
    return notes


def calibrate_files(
    judge_path: str | Path,
    human_path: str | Path,
    levels: Mapping[str, str] | None = None,
    domains: Mapping[str, Sequence[Any]] | None = None,
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """The agreement table of a `judge score` results file against a human score file.

    File-level findings (unscored judgments skipped, unmatched ids) are in
    ``table.attrs["notes"]``; with step-level scores, the MedThinkVQA protocol's agreement on
    `is_factual` (one dict per judge) is in ``table.attrs["protocol"]``.
    """
    judged = load_judge_results(judge_path)
    human = load_human_scores(human_path, judge_results=judge_path)
    if judged.empty:
        raise CalibrationError(f"{judge_path}: holds no scored judgment")
    notes = check_overlap(judged, human)
    if human.attrs.get("unmatched"):
        notes.append(f"{human.attrs['unmatched']} labelled rubric item(s) were not judged")
    if judged.attrs.get("unscored"):
        notes.insert(0, f"{judged.attrs['unscored']} unscored judgment(s) skipped")
    if judged.attrs.get("torn_line"):
        line = judged.attrs["torn_line"]
        notes.insert(0, f"{judge_path}:{line}: left out a torn last line (a killed run)")
    both = pd.concat([judged, human], ignore_index=True)
    table = agreement(
        both, levels=levels, domains=domains, ci=ci, n_boot=n_boot, seed=seed,
    )  # fmt: skip
    table.attrs["notes"] = notes
    # Records, not a frame: pandas compares attrs when it combines frames.
    table.attrs["protocol"] = step_protocol_table(both).to_dict("records")
    return table
