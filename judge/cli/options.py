"""Click options shared by the commands that call judges (`score`, `serve`): one
declaration, so their names, defaults and help cannot drift apart. Imports only click."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["judge_call_options"]

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option(
        "--judge",
        "-j",
        "judges",
        multiple=True,
        help="A litellm model (openai/gpt-4o-mini, hosted_vllm/…, local/smollm2-135m).",
    ),
    click.option("--api-base", help="Send judge calls to this OpenAI-compatible server."),
    click.option(
        "--concurrency",
        "-c",
        default=16,
        show_default=True,
        type=click.IntRange(1),
        help="Judge calls in flight, all judges together.",
    ),
    click.option("--timeout", default=120.0, show_default=True, help="Seconds per judge call."),
    click.option(
        "--attempts",
        default=4,
        show_default=True,
        type=click.IntRange(1),
        help="Tries per call on 429s, 5xx and timeouts.",
    ),
    click.option(
        "--mode",
        default="tools",
        show_default=True,
        type=click.Choice(["tools", "json_schema", "json", "md_json"]),
        help="How instructor asks for structured output.",
    ),
    click.option("--no-cache", is_flag=True, help="Neither read nor write the call cache."),
]


def judge_call_options(command: F) -> F:
    """Add --judge, --api-base, --concurrency, --timeout, --attempts, --mode, --no-cache."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
