"""How a run option's value is checked and worded, one field at a time: what it allows, the
message naming it, its default. `judge.options.RunOptions` checks every assignment through
these. Standard library only, so `judge --help` stays fast."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal

from judge.option_info import OptionInfo, number_ok

__all__ = [
    "allowed",
    "default_value",
    "info",
    "is_valid",
    "kind",
    "label",
    "problem",
    "resolve_types",
]


def info(f: dataclasses.Field[Any]) -> OptionInfo:
    """A RunOptions field's declaration."""
    found: OptionInfo = f.metadata["option"]
    return found


def allowed(f: dataclasses.Field[Any]) -> str:
    """What a field allows, in words (the command-line help shows it too)."""
    option = info(f)
    if option.allowed:
        return option.allowed
    base, optional = kind(f)
    if typing.get_origin(base) is Literal:
        text = "one of " + ", ".join(str(a) for a in typing.get_args(base))
    else:
        text = {int: "an integer", float: "a number", str: "text", bool: "true or false"}[base]
    if option.minimum is not None:
        text += f" {'above' if option.above else 'at least'} {option.minimum:g}"
    return f"{text}, or none" if optional else text


def label(f: dataclasses.Field[Any]) -> str:
    flags = info(f).flags
    return f"{f.name} ({flags[0]})" if flags else f.name


def problem(f: dataclasses.Field[Any], value: Any) -> str:
    return f"{label(f)} must be {allowed(f)}, not {value!r}"


def default_value(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


_TYPES: dict[str, tuple[Any, bool]] = {}


def resolve_types(hints: dict[str, Any]) -> None:
    """Record each field's type without None, and whether None is allowed (judge.options
    gives RunOptions' type hints once, when it is imported)."""
    for name, hint in hints.items():
        args = typing.get_args(hint)
        optional = isinstance(hint, types.UnionType) and type(None) in args
        rest = [a for a in args if a is not type(None)] if optional else [hint]
        _TYPES[name] = (rest[0] if len(rest) == 1 else hint, optional)


def kind(f: dataclasses.Field[Any]) -> tuple[Any, bool]:
    """A field's type without None, and whether None is allowed."""
    return _TYPES[f.name]


def is_valid(f: dataclasses.Field[Any], value: Any) -> bool:
    base, optional = kind(f)
    option = info(f)
    if value is None:
        return optional
    if f.name == "cases":
        return isinstance(value, str | Path) and str(value).strip() != ""
    if f.name == "cache":
        return isinstance(value, bool | str | Path) and value != ""
    if f.name in ("images", "export_batch", "import_batch", "keys"):
        return isinstance(value, str | Path) and bool(str(value).strip())
    if f.name == "judges":
        return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    if f.name == "judge_concurrency":
        return isinstance(value, dict) and all(
            isinstance(k, str) and k and number_ok(v, int, option) for k, v in value.items()
        )
    if f.name == "ci":  # a confidence level: strictly between 0 and 1
        return number_ok(value, base, option) and value < 1
    if typing.get_origin(base) is Literal:
        return value in typing.get_args(base)
    if base is str:
        return isinstance(value, str) and bool(value.strip())
    if base is bool:
        return isinstance(value, bool)
    return number_ok(value, base, option)
