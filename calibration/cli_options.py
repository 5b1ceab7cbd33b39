"""Command-line options shared by `judge calibrate` and `judge compare` (click only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["interval_options"]

F = TypeVar("F", bound=Callable[..., Any])


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
