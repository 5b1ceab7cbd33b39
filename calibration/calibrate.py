"""From files to the agreement table: what `judge calibrate` runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from calibration.agreement_table import agreement
from calibration.loaders import ITEM_CRITERION
from calibration.step_protocol import step_protocol_table
from calibration.study import check_overlap, load_study

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
    study = load_study(judge_path, human_path)
    table = agreement(
        study.long, levels=levels, domains=domains, ci=ci, n_boot=n_boot, seed=seed,
    )  # fmt: skip
    table.attrs["notes"] = study.notes
    # Records, not a frame: pandas compares attrs when it combines frames.
    table.attrs["protocol"] = step_protocol_table(study.long).to_dict("records")
    return table
