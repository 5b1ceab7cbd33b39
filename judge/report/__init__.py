"""`judge report`: a self-contained HTML report of a results file, and the aggregations behind
it (`judge.report.data`), reusable in a terminal or a notebook; `judge methods`: a run's
methods paragraph with every number traced (`judge.report.methods_text`).

Imported lazily: `judge.cli.report` is loaded by the CLI on every start, so this package
must not pull in pandas or matplotlib until a report is built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["build_report", "gather_methods", "slice_scores", "write_methods", "write_report"]

_HOMES = {
    "build_report": "html",
    "write_report": "html",
    "slice_scores": "data",
    "gather_methods": "methods",
    "write_methods": "methods_text",
}

if TYPE_CHECKING:
    from judge.report.data import slice_scores
    from judge.report.html import build_report, write_report
    from judge.report.methods import gather_methods
    from judge.report.methods_text import write_methods


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'judge.report' has no attribute {name!r}")
    return getattr(importlib.import_module(f"judge.report.{_HOMES[name]}"), name)
