"""`judge report`: a self-contained HTML report of a results file, and the aggregations behind
it (`judge.report.data`), reusable in a terminal or a notebook.

Imported lazily: `judge.cli.report` is loaded by the CLI on every start, so this package
must not pull in pandas or matplotlib until a report is built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["build_report", "slice_scores", "write_report"]

_HOMES = {"build_report": "html", "write_report": "html", "slice_scores": "data"}

if TYPE_CHECKING:
    from judge.report.data import slice_scores
    from judge.report.html import build_report, write_report


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'judge.report' has no attribute {name!r}")
    return getattr(importlib.import_module(f"judge.report.{_HOMES[name]}"), name)
