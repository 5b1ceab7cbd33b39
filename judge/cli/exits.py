"""The exit statuses of every `judge` command (docs/exit-statuses.md's table).

One boundary sets them, `judge.cli.group`' group, for every subcommand alike: a
`JudgeError` (anything the user can fix; click's usage errors too) is one line and
`USER_ERROR`; Ctrl-C is `INTERRUPTED`; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitStatus"]


class ExitStatus(IntEnum):
    """What a `judge` command's exit status means."""

    OK = 0
    # An exception nobody raised on purpose: Python prints its traceback and exits 1.
    BUG = 1
    # Bad input, options or configuration (a JudgeError); click's usage errors exit 2 as well.
    USER_ERROR = 2
    # `judge score` stopped early on purpose (--max-cost, --batch-wait, --import-batch
    # --no-live with calls not in the file): rerun to resume.
    STOPPED = 3
    # `judge qualify --strict` ran, and some criterion's verdict is "not qualified".
    NOT_QUALIFIED = 4
    # Ctrl-C: 128 + SIGINT, as a shell reports a process that SIGINT ended.
    INTERRUPTED = 130
