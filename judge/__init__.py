"""judge: LLM-as-judge and human-rubric scoring for medical reasoning.

The public API is imported lazily so that `judge --help` and `import judge` stay fast:
nothing here pulls in litellm or instructor until a judge is actually called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from judge.version import __version__

__all__ = [
    "Case",
    "Criterion",
    "JudgeError",
    "Judgment",
    "Prediction",
    "ResultRecord",
    "Rubric",
    "RunOptions",
    "__version__",
    "ascore",
    "ascore_frame",
    "load_results",
    "load_rubric",
    "score",
    "score_frame",
]

_LAZY = {
    "Case": "judge.contracts",
    "Criterion": "judge.contracts",
    "Judgment": "judge.contracts",
    "Prediction": "judge.contracts",
    "ResultRecord": "judge.contracts",
    "Rubric": "judge.contracts",
    "RunOptions": "judge.options",
    "JudgeError": "judge.errors",
    "load_rubric": "judge.load.rubric",
    "score": "judge.run",
    "ascore": "judge.run",
    "load_results": "judge.frame",
    "score_frame": "judge.frame",
    "ascore_frame": "judge.frame",
}

if TYPE_CHECKING:
    from judge.contracts import Case, Criterion, Judgment, Prediction, ResultRecord, Rubric
    from judge.errors import JudgeError
    from judge.frame import ascore_frame, load_results, score_frame
    from judge.load.rubric import load_rubric
    from judge.options import RunOptions
    from judge.run import ascore, score


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'judge' has no attribute {name!r}")
