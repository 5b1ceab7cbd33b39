"""Calibration: do LLM judges agree with human raters well enough, per criterion?

Krippendorff's α with bootstrap intervals, judge-vs-human agreement tables, the alternative
annotator test (may the judge replace a human?), prediction-powered (bias-corrected) means,
the human ceiling (each rater against the others), and loaders for
`judge score` results and human score files. Independent of the judge engine: importing
this package loads neither litellm nor `judge`. Submodules load on first use; the
`judge calibrate` and `judge compare` commands live in `judge/cli/`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calibration.agreement_table import agreement
    from calibration.annotator_test import AltTestResult, alt_test
    from calibration.calibrate import calibrate_files, scales_from_rubric
    from calibration.ceiling import balanced_f1, human_ceiling
    from calibration.data import collapse_repeats, from_wide, normalize_long, to_wide
    from calibration.errors import CalibrationError, InputFileError
    from calibration.escalate import Guarantee, calibrate_cascade, calibrate_guarantee
    from calibration.human_agreement import human_human
    from calibration.latent import LatentResult, dawid_skene, error_correlation, mace
    from calibration.levels import level_of
    from calibration.loaders import load_human_scores, load_judge_results, load_scores
    from calibration.patterns import alpha_from_patterns
    from calibration.ppi import PPIResult, ppi_by, ppi_mean, ppi_paired_difference, ppi_plan
    from calibration.ppi_designs import ppi_mean_clustered, ppi_mean_stratified
    from calibration.reliability import AlphaResult, alpha
    from calibration.routing import load_route_weights
    from calibration.step_protocol import protocol_agreement, step_protocol_table

__all__ = [
    "AlphaResult",
    "AltTestResult",
    "CalibrationError",
    "Guarantee",
    "InputFileError",
    "LatentResult",
    "PPIResult",
    "agreement",
    "alpha",
    "alpha_from_patterns",
    "alt_test",
    "balanced_f1",
    "calibrate_cascade",
    "calibrate_files",
    "calibrate_guarantee",
    "collapse_repeats",
    "dawid_skene",
    "error_correlation",
    "from_wide",
    "human_ceiling",
    "human_human",
    "level_of",
    "load_human_scores",
    "load_judge_results",
    "load_route_weights",
    "load_scores",
    "mace",
    "normalize_long",
    "ppi_by",
    "ppi_mean",
    "ppi_mean_clustered",
    "ppi_mean_stratified",
    "ppi_paired_difference",
    "ppi_plan",
    "protocol_agreement",
    "scales_from_rubric",
    "step_protocol_table",
    "to_wide",
]

_HOMES = {
    "AlphaResult": "reliability",
    "alpha": "reliability",
    "alpha_from_patterns": "patterns",
    "agreement": "agreement_table",
    "level_of": "levels",
    "AltTestResult": "annotator_test",
    "alt_test": "annotator_test",
    "calibrate_files": "calibrate",
    "scales_from_rubric": "calibrate",
    "balanced_f1": "ceiling",
    "human_ceiling": "ceiling",
    "collapse_repeats": "data",
    "from_wide": "data",
    "normalize_long": "data",
    "to_wide": "data",
    "human_human": "human_agreement",
    "LatentResult": "latent",
    "dawid_skene": "latent",
    "error_correlation": "latent",
    "mace": "latent",
    "Guarantee": "escalate",
    "calibrate_cascade": "escalate",
    "calibrate_guarantee": "escalate",
    "ppi_mean_clustered": "ppi_designs",
    "ppi_mean_stratified": "ppi_designs",
    "CalibrationError": "errors",
    "InputFileError": "errors",
    "load_human_scores": "loaders",
    "load_judge_results": "loaders",
    "load_scores": "loaders",
    "load_route_weights": "routing",
    **dict.fromkeys(
        ("PPIResult", "ppi_by", "ppi_mean", "ppi_paired_difference", "ppi_plan"), "ppi"
    ),
    "protocol_agreement": "step_protocol",
    "step_protocol_table": "step_protocol",
}


# A submodule never shares a name with what it exports: importing `calibration.x` sets the
# package attribute `x` to the module, which would hide a lazily loaded function `x`.


def __getattr__(name: str) -> Any:
    # Lazy: pandas, scipy and krippendorff load only when a statistic is asked for.
    if name not in _HOMES:
        raise AttributeError(f"module 'calibration' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"calibration.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
