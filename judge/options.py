"""Every run option, declared once: name, type, default, allowed values, help, command-line
flag and where it applies.

`RunOptions` is that declaration. `judge score`'s and `judge serve`'s click options
(judge.cli.options), the Python keywords (`judge.score(..., samples=3)`), the Inspect scorer's
keywords and serve's settings are all derived from its fields, and every value is checked
when a `RunOptions` is built, with one message naming the option and what it allows, whatever
the front end. Standard library only, so `judge --help` stays fast.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from judge.errors import ConfigError

__all__ = [
    "USES",
    "Aggregate",
    "Format",
    "OptionInfo",
    "RunOptions",
    "Use",
    "allowed",
    "declared",
    "info",
    "kind",
]

Aggregate = Literal["auto", "mean", "median", "majority"]
Mode = Literal["tools", "json_schema", "json", "md_json"]
Format = Literal["auto", "medthinkvqa", "chat"]

# Where an option can apply: the front ends that drive a Scorer.
Use = Literal["file", "frame", "scorer", "serve", "inspect"]
USES: dict[str, str] = {
    "file": "a file run (judge score, judge.score)",
    "frame": "score_frame",
    "scorer": "Scorer.score",
    "serve": "judge serve",
    "inspect": "the Inspect scorer",
}
_ALL: frozenset[str] = frozenset(USES)
_ONE_ITEM: frozenset[str] = _ALL - {"inspect"}  # where items are identified by a field
_FILE: frozenset[str] = frozenset({"file"})


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


def _option(default: Any = None, *, factory: Callable[[], Any] | None = None, **info: Any) -> Any:
    """A RunOptions field: its default and its OptionInfo (in the field's metadata)."""
    meta = {"option": OptionInfo(**info)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _judge_limits(values: tuple[str, ...]) -> dict[str, Any]:
    """`--judge-concurrency JUDGE=N` values as a mapping (N checked with the others)."""
    limits: dict[str, Any] = {}
    for value in values:
        key, _, number = value.rpartition("=")
        try:
            limits[key] = int(number)
        except ValueError:
            limits[key] = number
        if not key:
            raise ConfigError(_problem(_FIELDS["judge_concurrency"], value))
    return limits


@dataclass
class RunOptions:
    """How to judge: everything except what and where.

    Every field is checked on construction and on assignment (a ConfigError names the option
    and what it allows); an unknown keyword is a ConfigError listing the known ones.
    """

    judges: list[str] = _option(
        factory=list,
        help="A litellm model (openai/gpt-4o-mini, hosted_vllm/…, local/smollm2-135m).",
        applies=_ALL,
        flags=("--judge", "-j"),
        multiple=True,
        from_cli=list,
        metavar="MODEL",
        allowed="a list of model names",
    )
    api_base: str | None = _option(
        help="Send judge calls to this OpenAI-compatible server.",
        applies=_ALL,
        flags=("--api-base",),
        metavar="URL",
    )
    mode: Mode = _option(
        "tools", help="How instructor asks for structured output.", applies=_ALL, flags=("--mode",)
    )
    concurrency: int = _option(
        16,
        help="Judge calls in flight, all judges together.",
        applies=_ALL,
        flags=("--concurrency", "-c"),
        minimum=1,
    )
    timeout: float = _option(
        120.0,
        help="Seconds per judge call.",
        applies=_ALL,
        flags=("--timeout",),
        minimum=0,
        above=True,
    )
    attempts: int = _option(
        4,
        help="Tries per call on 429s, 5xx and timeouts.",
        applies=_ALL,
        flags=("--attempts",),
        minimum=1,
    )
    validation_retries: int = _option(
        2,
        help="Re-asks per call when a judge's reply does not validate.",
        applies=_ALL,
        flags=("--validation-retries",),
        minimum=0,
    )
    temperature: float | None = _option(
        0.0, help="Sampling temperature.", applies=_ALL, flags=("--temperature",), minimum=0
    )
    max_tokens: int | None = _option(
        help="Longest reply, in tokens.", applies=_ALL, flags=("--max-tokens",), minimum=1
    )
    seed: int | None = _option(
        help="Passed to providers that take one.", applies=_ALL, flags=("--seed",)
    )
    # K judgments per judge and item; with temperature > 0 their spread is reported.
    samples: int = _option(
        1,
        help="Judgments per judge and item (use --temperature > 0); their spread is reported.",
        applies=_ALL,
        flags=("--samples",),
        minimum=1,
    )
    # How a panel's judgments become one score (auto: mean for ordinal, majority otherwise).
    aggregate: Aggregate = _option(
        "auto",
        help="Panel score of ordinal criteria (binary and categorical: always majority).",
        applies=_ALL,
        flags=("--aggregate",),
    )
    # Calls in flight per judge (key: a judge's full name) or per provider (key: the prefix
    # before "/", shared by that provider's judges), on top of `concurrency` overall.
    judge_concurrency: dict[str, int] = _option(
        factory=dict,
        help="Calls in flight for one judge (openai/gpt-4o-mini=8) or one provider shared by "
        "its judges (anthropic=4). Repeatable.",
        applies=_ALL,
        flags=("--judge-concurrency",),
        multiple=True,
        from_cli=_judge_limits,
        metavar="JUDGE=N",
        minimum=1,
        allowed="a mapping of a judge or provider to an integer at least 1 (JUDGE=N)",
    )
    # Stop starting items before this many USD would be spent (needs known prices).
    max_cost: float | None = _option(
        help="Stop before spending more USD.",
        applies=_FILE,
        flags=("--max-cost",),
        minimum=0,
        why="a budget stops a run that a rerun resumes",
    )
    id_field: str = _option(
        "title",
        help="The field that identifies an item (unique).",
        applies=_ONE_ITEM,
        flags=("--id-field",),
        allowed="a field name",
        why="each sample is identified by its sample id",
    )
    format: Format = _option(
        "auto",
        help="Rows are chat (`messages`), medthinkvqa (the case inline) or auto (by row).",
        applies=_ONE_ITEM,
        flags=("--format",),
    )
    # Slice the run's summary by this case metadata field (modality, icd10_chapter, …).
    by: str | None = _option(
        help="Also summarise per value of this case metadata field (modality, icd10_chapter, …).",
        applies=_FILE,
        flags=("--by",),
        metavar="FIELD",
        why="it slices a run's summary",
    )
    skip_invalid: bool = _option(
        False,
        help="Score the valid lines, list the rest.",
        applies=_FILE,
        flags=("--skip-invalid",),
        is_flag=True,
        why="it skips invalid lines of a predictions file",
    )
    retry_unscored: bool = _option(
        False,
        help="Judge again items an earlier run left (partly) unscored.",
        applies=_FILE,
        flags=("--retry-unscored",),
        is_flag=True,
        why="it redoes an earlier run's records in a results file",
    )
    cache: bool | str | Path = _option(
        True,
        help="Neither read nor write the call cache.",
        applies=_ALL,
        flags=("--no-cache",),
        is_flag=True,
        flag_value=False,
        allowed="true, false or a cache file path",
    )
    # Send judges' calls through their providers' batch APIs first (judge.batch): poll every
    # `batch_poll` seconds, and stop waiting (to resume later) after `batch_wait` seconds.
    batch: bool = _option(
        False,
        help="Send the calls through the judges' batch APIs first (openai, azure, litellm_proxy: "
        "about half price, no rate limit; others run live). A rerun picks up a pending batch.",
        applies=_FILE,
        flags=("--batch",),
        is_flag=True,
        why="a batch answers a run's calls over minutes to hours, and a rerun picks it up",
    )
    batch_poll: float = _option(
        30.0,
        help="With --batch: how often to ask whether a batch has ended.",
        applies=_FILE,
        flags=("--batch-poll",),
        minimum=0,
        above=True,
        metavar="SECONDS",
        why="it paces --batch",
    )
    batch_wait: float | None = _option(
        help="With --batch: stop waiting after this long (exit status 3); rerun to pick it up.",
        applies=_FILE,
        flags=("--batch-wait",),
        minimum=0,
        metavar="SECONDS",
        why="it paces --batch",
    )

    def __new__(cls, *args: Any, **kwargs: Any) -> RunOptions:
        # Before the generated __init__, whose unknown keyword would be a bare TypeError.
        _refuse_unknown(kwargs)
        return super().__new__(cls)

    def __setattr__(self, name: str, value: Any) -> None:
        # Every assignment, the generated __init__'s included: a RunOptions is never invalid.
        f = _FIELDS.get(name)
        if f is None:
            _refuse_unknown([name])
        elif not _valid(f, value):
            raise ConfigError(_problem(f, value))
        super().__setattr__(name, value)

    @classmethod
    def of(
        cls, options: RunOptions | None = None, overrides: dict[str, Any] | None = None
    ) -> RunOptions:
        """`options` (default: the defaults) with `overrides` set (checked again); an unknown
        name is a ConfigError that lists the known ones."""
        _refuse_unknown(overrides or {})
        return replace(options or cls(), **(overrides or {}))

    @classmethod
    def from_cli(cls, values: dict[str, Any]) -> RunOptions:
        """The options a command line gave (click's values, by option name)."""
        changes = {}
        for f in fields(cls):
            if f.name not in values:
                continue
            value, option = values[f.name], info(f)
            if option.multiple and option.from_cli is not None:
                value = option.from_cli(tuple(value))
            changes[f.name] = value
        return cls(**changes)

    def check_use(self, use: str) -> None:
        """Refuse an option set away from its default where it does not apply: a ConfigError
        that says where it applies (and why), rather than silently ignoring it."""
        for f in fields(self):
            option = info(f)
            if use in option.applies or getattr(self, f.name) == _default(f):
                continue
            where = " and ".join(USES[u] for u in USES if u in option.applies)
            why = f": {option.why}" if option.why else ""
            raise ConfigError(f"{_label(f)} applies to {where}, not to {USES[use]}{why}")

    def params(self) -> dict[str, Any]:
        """The sampling parameters sent with every call (None: the provider's default)."""
        values = {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}
        return {k: v for k, v in values.items() if v is not None}


_FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in fields(RunOptions)}


def info(f: dataclasses.Field[Any]) -> OptionInfo:
    """A RunOptions field's declaration."""
    found: OptionInfo = f.metadata["option"]
    return found


def declared(use: str | None = None) -> list[dataclasses.Field[Any]]:
    """The RunOptions fields, in declaration order (those that apply to `use`, if given)."""
    return [f for f in fields(RunOptions) if use is None or use in info(f).applies]


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


def _refuse_unknown(names: Iterable[str]) -> None:
    known = [f.name for f in fields(RunOptions)]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown run option(s) {', '.join(unknown)}; options are: {', '.join(known)}"
        )


def _label(f: dataclasses.Field[Any]) -> str:
    flags = info(f).flags
    return f"{f.name} ({flags[0]})" if flags else f.name


def _problem(f: dataclasses.Field[Any], value: Any) -> str:
    return f"{_label(f)} must be {allowed(f)}, not {value!r}"


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


_TYPES: dict[str, tuple[Any, bool]] = {}


def kind(f: dataclasses.Field[Any]) -> tuple[Any, bool]:
    """A field's type without None, and whether None is allowed (resolved once)."""
    if not _TYPES:
        hints = typing.get_type_hints(RunOptions)
        for name, hint in hints.items():
            args = typing.get_args(hint)
            optional = isinstance(hint, types.UnionType) and type(None) in args
            rest = [a for a in args if a is not type(None)] if optional else [hint]
            _TYPES[name] = (rest[0] if len(rest) == 1 else hint, optional)
    return _TYPES[f.name]


def _valid(f: dataclasses.Field[Any], value: Any) -> bool:
    base, optional = kind(f)
    option = info(f)
    if value is None:
        return optional
    if f.name == "cache":
        return isinstance(value, bool | str | Path) and value != ""
    if f.name == "judges":
        return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    if f.name == "judge_concurrency":
        return isinstance(value, dict) and all(
            isinstance(k, str) and k and _number_ok(v, int, option) for k, v in value.items()
        )
    if typing.get_origin(base) is Literal:
        return value in typing.get_args(base)
    if base is str:
        return isinstance(value, str) and bool(value.strip())
    if base is bool:
        return isinstance(value, bool)
    return _number_ok(value, base, option)


def _number_ok(value: Any, kind: Any, option: OptionInfo) -> bool:
    # bool is an int to Python, never a count or a number of seconds here.
    if isinstance(value, bool) or not isinstance(value, int if kind is int else int | float):
        return False
    if value != value:  # NaN
        return False
    if option.minimum is None:
        return True
    return value > option.minimum if option.above else value >= option.minimum
