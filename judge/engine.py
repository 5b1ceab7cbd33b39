"""Moved to `judge.judging.engine`; this name stays importable because the README documents
`judge.engine.CompleteFn` for custom completion functions."""

from judge.judging.engine import (
    CallResult,
    CompleteFn,
    Completion,
    Engine,
    InvalidReplyError,
    JudgeSpec,
    PermanentError,
    RetryPolicy,
    TransientError,
)

__all__ = [
    "CallResult",
    "CompleteFn",
    "Completion",
    "Engine",
    "InvalidReplyError",
    "JudgeSpec",
    "PermanentError",
    "RetryPolicy",
    "TransientError",
]
