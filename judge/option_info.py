"""What a run option declares beyond its name, type and default (`OptionInfo`), and where
options can apply: the vocabulary `judge.options.RunOptions` is declared in. Standard library
only, so `judge --help` stays fast."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ALL", "FILE", "ONE_ITEM", "USES", "OptionInfo", "Use", "number_ok", "option"]

# Where an option can apply: the front ends that drive a Scorer.
Use = Literal["file", "frame", "scorer", "serve", "inspect"]
USES: dict[str, str] = {
    "file": "a file run (judge score, judge.score)",
    "frame": "score_frame",
    "scorer": "Scorer.score",
    "serve": "judge serve",
    "inspect": "the Inspect scorer",
}
ALL: frozenset[str] = frozenset(USES)
ONE_ITEM: frozenset[str] = ALL - {"inspect"}  # where items are identified by a field
FILE: frozenset[str] = frozenset({"file"})


@dataclass(frozen=True)
class OptionInfo:
    """What a RunOptions field declares beyond its name, type and default."""

    help: str
    applies: frozenset[str]
    # Command-line spellings ("--samples", "-s"); empty: not on the command line.
    flags: tuple[str, ...] = ()
    minimum: float | None = None
    # True: the value must be above `minimum`; False: at least `minimum`.
    above: bool = False
    # A bare flag (`--skip-invalid`); `flag_value` is what giving it sets (--no-cache: False).
    is_flag: bool = False
    flag_value: Any = True
    # Repeatable on the command line; `from_cli` turns the values into the option's value.
    multiple: bool = False
    from_cli: Callable[[tuple[str, ...]], Any] | None = None
    metavar: str | None = None
    # Said in place of the derived description of what is allowed.
    allowed: str | None = None
    # Why it applies where it does (said when a front end refuses it).
    why: str = ""


def option(default: Any = None, *, factory: Callable[[], Any] | None = None, **info: Any) -> Any:
    """A RunOptions field: its default and its OptionInfo (in the field's metadata)."""
    meta = {"option": OptionInfo(**info)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def number_ok(value: Any, kind: Any, option: OptionInfo) -> bool:
    # bool is an int to Python, never a count or a number of seconds here.
    if isinstance(value, bool) or not isinstance(value, int if kind is int else int | float):
        return False
    if value != value:  # NaN
        return False
    if option.minimum is None:
        return True
    return value > option.minimum if option.above else value >= option.minimum
