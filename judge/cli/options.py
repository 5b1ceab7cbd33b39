"""Click options derived from the run options' one declaration (judge.options): `judge score`
and `judge serve` each take the options that apply to them, so their names, defaults and help
cannot drift from `RunOptions`. Imports only click and judge.options.

Values are checked by `RunOptions` itself, not by click, so a bad value gets the same message
on the command line as from Python or serve's settings.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import click

from judge.options import RunOptions, allowed, declared, info, kind

__all__ = ["RunOption", "interval_options", "options_from", "run_option", "run_options"]

F = TypeVar("F", bound=Callable[..., Any])


class RunOption(click.Option):
    """A click option that sets a RunOptions field (its parameter name is the field's)."""


def run_options(use: str, without: frozenset[str] = frozenset()) -> Callable[[F], F]:
    """Add the click option of every run option that applies to `use` ("file", "serve"),
    except those named in `without` (a command that runs a file in its own way)."""

    def decorate(command: F) -> F:
        for f in reversed(declared(use)):
            if info(f).flags and f.name not in without:
                command = _click_option(f)(command)
        return command

    return decorate


def run_option(name: str) -> Callable[[F], F]:
    """The click option of one run option, for a command that is not a scoring front end
    (`judge annotate --cases`): its flag, help and default still come from `RunOptions`."""
    return _click_option(next(f for f in declared() if f.name == name))


def _click_option(f: Any) -> Callable[[F], F]:
    option = info(f)
    kwargs: dict[str, Any] = {"cls": RunOption, "help": option.help}
    if option.metavar:
        kwargs["metavar"] = option.metavar
    if option.is_flag:
        kwargs.update(is_flag=True, flag_value=option.flag_value, default=f.default)
    elif option.multiple:
        kwargs.update(multiple=True)
    else:
        kwargs.update(_typed(f))
    return click.option(*option.flags, f.name, **kwargs)


def _typed(f: Any) -> dict[str, Any]:
    """Click's type (conversion only: RunOptions checks the value), the default, and what is
    allowed, in the help."""
    base, _ = kind(f)
    kwargs: dict[str, Any] = {"default": f.default, "show_default": f.default is not None}
    if typing.get_origin(base) is Literal:
        kwargs["metavar"] = "[" + "|".join(typing.get_args(base)) + "]"
    else:
        kwargs["type"] = {int: click.INT, float: click.FLOAT}.get(base, click.STRING)
        if info(f).minimum is not None:
            bounds = allowed(f).split(" ", 1)[1].removesuffix(", or none")  # "integer at least 1"
            kwargs["help"] = f"{info(f).help} ({bounds})"
    return kwargs


def options_from(values: dict[str, Any]) -> RunOptions:
    """The RunOptions a command's click values give (values of other parameters are ignored)."""
    return RunOptions.from_cli({k: v for k, v in values.items() if k in _NAMES})


_NAMES = frozenset(f.name for f in declared())


def interval_options(command: F) -> F:
    """--ci, --n-boot and --seed: the confidence level and the bootstrap behind intervals."""
    command = click.option(
        "--seed", type=int, default=0, show_default=True, help="Bootstrap seed."
    )(command)
    command = click.option(
        "--n-boot",
        type=click.IntRange(min=0),
        default=1000,
        show_default=True,
        help="Bootstrap resamples (0: no intervals).",
    )(command)
    return click.option(
        "--ci",
        type=click.FloatRange(0, 1, min_open=True, max_open=True),
        default=0.95,
        show_default=True,
        help="Confidence level of the intervals.",
    )(command)
