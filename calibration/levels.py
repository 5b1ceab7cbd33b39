"""Krippendorff's levels of measurement, and the one mapping of a rubric's scale types onto
them, used by `judge calibrate`, the report's judge-vs-judge α and the run summary's α.

Standard library only (plus calibration's errors), so the judge package's summary can use it
without loading pandas.
"""

from __future__ import annotations

from calibration.errors import CalibrationError

__all__ = ["LEVELS", "SCALE_LEVELS", "level_of", "parse_levels"]

# The levels the `krippendorff` package computes α at (its `level_of_measurement`).
LEVELS = ("nominal", "ordinal", "interval", "ratio")

# Rubric scale types (judge.contracts.rubrics) and their level of measurement.
SCALE_LEVELS = {
    "ordinal": "ordinal",
    "binary": "nominal",
    # A set of labels (error types) compares as one nominal value: the same set or not.
    "labels": "nominal",
    "categorical": "nominal",
    # A computed score in a range (ROUGE F1): differences are meaningful, ratios are not.
    "continuous": "interval",
}


def level_of(kind: str) -> str:
    """The α level for a level name or a rubric scale type (binary/categorical → nominal,
    continuous → interval)."""
    level = SCALE_LEVELS.get(kind, kind)
    if level not in LEVELS:
        raise CalibrationError(f"unknown scale level {kind!r}; use one of {LEVELS}")
    return level


def parse_levels(specs: tuple[str, ...] | list[str]) -> tuple[str | None, dict[str, str]]:
    """`--level` values: `LEVEL` (every criterion) or `CRITERION=LEVEL` (one), any number.
    Returns the default level (None when not given) and the per-criterion ones."""
    default: str | None = None
    per: dict[str, str] = {}
    for spec in specs:
        name, sep, level = spec.rpartition("=")
        if level not in LEVELS:
            raise CalibrationError(
                f"--level {spec!r}: the level must be one of {', '.join(LEVELS)}"
            )
        if not sep:
            if default is not None and default != level:
                raise CalibrationError(
                    f"--level given twice for every criterion: {default}, {level}"
                )
            default = level
        elif not name.strip():
            raise CalibrationError(f"--level {spec!r}: name a criterion before '='")
        elif per.get(name, level) != level:
            raise CalibrationError(f"--level given twice for {name!r}: {per[name]}, {level}")
        else:
            per[name] = level
    return default, per
