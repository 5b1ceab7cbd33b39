"""Krippendorff's levels of measurement, and the one mapping of a rubric's scale types onto
them, used by `judge calibrate`, the report's judge-vs-judge α and the run summary's α.

Standard library only (plus calibration's errors), so the judge package's summary can use it
without loading pandas.
"""

from __future__ import annotations

from calibration.errors import CalibrationError

__all__ = ["LEVELS", "SCALE_LEVELS", "level_of"]

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
