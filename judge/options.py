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
import typing
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from judge.errors import ConfigError
from judge.option_checks import (
    allowed,
    default_value,
    info,
    is_valid,
    kind,
    label,
    problem,
    resolve_types,
)
from judge.option_info import ALL, FILE, ONE_ITEM, USES, OptionInfo, Use, option

__all__ = [
    "USES",
    "Aggregate",
    "Client",
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
Client = Literal["auto", "lean", "litellm"]
Format = Literal["auto", "medthinkvqa", "chat"]


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
            raise ConfigError(problem(_FIELDS["judge_concurrency"], value))
    return limits


@dataclass
class RunOptions:
    """How to judge: everything except what and where.

    Every field is checked on construction and on assignment (a ConfigError names the option
    and what it allows); an unknown keyword is a ConfigError listing the known ones.
    """

    judges: list[str] = option(
        factory=list,
        help="A litellm model (openai/gpt-4o-mini, hosted_vllm/…, local/smollm2-135m).",
        applies=ALL,
        flags=("--judge", "-j"),
        multiple=True,
        from_cli=list,
        metavar="MODEL",
        allowed="a list of model names",
    )
    api_base: str | None = option(
        help="Send judge calls to this OpenAI-compatible server.",
        applies=ALL,
        flags=("--api-base",),
        metavar="URL",
    )
    mode: Mode = option(
        "tools", help="How instructor asks for structured output.", applies=ALL, flags=("--mode",)
    )
    # judge/judging/providers/lean.py: aiohttp with response_format json_schema, a fraction of
    # litellm's client CPU per call; litellm (with instructor) serves every other provider.
    client: Client = option(
        "auto",
        help="How OpenAI-compatible judges are called (openai/, hosted_vllm/, --api-base, "
        "local/): lean (aiohttp, response_format json_schema), litellm (with instructor and "
        "--mode), or auto (lean, unless --mode is json or md_json).",
        applies=ALL,
        flags=("--client",),
    )
    concurrency: int = option(
        16,
        help="Judge calls in flight, all judges together.",
        applies=ALL,
        flags=("--concurrency", "-c"),
        minimum=1,
    )
    timeout: float = option(
        120.0,
        help="Seconds per judge call.",
        applies=ALL,
        flags=("--timeout",),
        minimum=0,
        above=True,
    )
    attempts: int = option(
        4,
        help="Tries per call on 429s, 5xx and timeouts.",
        applies=ALL,
        flags=("--attempts",),
        minimum=1,
    )
    validation_retries: int = option(
        2,
        help="Re-asks per call when a judge's reply does not validate.",
        applies=ALL,
        flags=("--validation-retries",),
        minimum=0,
    )
    temperature: float | None = option(
        0.0, help="Sampling temperature.", applies=ALL, flags=("--temperature",), minimum=0
    )
    max_tokens: int | None = option(
        help="Longest reply, in tokens.", applies=ALL, flags=("--max-tokens",), minimum=1
    )
    seed: int | None = option(
        help="Passed to providers that take one.", applies=ALL, flags=("--seed",)
    )
    # K judgments per judge and item; with temperature > 0 their spread is reported.
    samples: int = option(
        1,
        help="Judgments per judge and item (use --temperature > 0); their spread is reported.",
        applies=ALL,
        flags=("--samples",),
        minimum=1,
    )
    # How a panel's judgments become one score (auto: mean for ordinal, majority otherwise).
    aggregate: Aggregate = option(
        "auto",
        help="Panel score of ordinal criteria (binary and categorical: always majority).",
        applies=ALL,
        flags=("--aggregate",),
    )
    # Calls in flight per judge (key: a judge's full name) or per provider (key: the prefix
    # before "/", shared by that provider's judges), on top of `concurrency` overall.
    judge_concurrency: dict[str, int] = option(
        factory=dict,
        help="Calls in flight for one judge (openai/gpt-4o-mini=8) or one provider shared by "
        "its judges (anthropic=4). Repeatable.",
        applies=ALL,
        flags=("--judge-concurrency",),
        multiple=True,
        from_cli=_judge_limits,
        metavar="JUDGE=N",
        minimum=1,
        allowed="a mapping of a judge or provider to an integer at least 1 (JUDGE=N)",
    )
    # Stop starting items before this many USD would be spent (needs known prices).
    max_cost: float | None = option(
        help="Stop before spending more USD.",
        applies=FILE,
        flags=("--max-cost",),
        minimum=0,
        why="a budget stops a run that a rerun resumes",
    )
    id_field: str = option(
        "title",
        help="The field that identifies an item (unique).",
        applies=ONE_ITEM,
        flags=("--id-field",),
        allowed="a field name",
        why="each sample is identified by its sample id",
    )
    # The dataset's rows (judge.load.cases): predictions then carry only ids and outputs.
    cases: str | Path | None = option(
        help="Join each prediction to its case in this file by --id-field (.parquet, .jsonl, "
        ".csv, or a datasets save_to_disk directory).",
        applies=frozenset({"file", "scorer", "serve"}),
        flags=("--cases",),
        metavar="PATH",
        allowed="a cases file or directory path, or none",
        why="a DataFrame's rows or a sample carry their case",
    )
    # One reviewed checklist per case (judge.contracts.case_keys): ddx's and education's
    # counting criteria count against it, the `keys` rubric judges each of its items.
    keys: str | Path | None = option(
        help="Case keys (JSONL, one per case): ddx and education count against each case's "
        "key; the keys rubric judges its items. Checked against the cases before any call.",
        applies=ONE_ITEM,
        flags=("--keys",),
        metavar="PATH",
        allowed="a keys file path, or none",
        why="an Inspect sample's case has no key",
    )
    images: str | Path | None = option(
        help="Resolve image_NN_path under this folder (the dataset root or its images/); a "
        "rubric with `images` in its context sends them to vision judges.",
        applies=ONE_ITEM,
        flags=("--images",),
        metavar="DIR",
        allowed="a folder path",
        why="an Inspect sample carries no dataset image paths",
    )
    format: Format = option(
        "auto",
        help="Rows are chat (`messages`), medthinkvqa (the case inline) or auto (by row).",
        applies=ONE_ITEM,
        flags=("--format",),
    )
    # Slice the run's summary by this case metadata field (modality, icd10_chapter, …).
    by: str | None = option(
        help="Also summarise per value of this case metadata field (modality, icd10_chapter, …).",
        applies=FILE,
        flags=("--by",),
        metavar="FIELD",
        why="it slices a run's summary",
    )
    # Every mean in the summary has its interval: Wilson for a binary rate, else a percentile
    # bootstrap over items, or over whole clusters of this case field (judge.aggregate.intervals).
    cluster: str | None = option(
        help="Case metadata field grouping items (repeated samples of a case): every mean's "
        "interval resamples whole clusters (a cluster bootstrap, binary rates too).",
        applies=FILE,
        flags=("--cluster",),
        metavar="FIELD",
        why="it widens a run summary's intervals",
    )
    ci: float = option(
        0.95,
        help="Confidence level of every mean's interval.",
        applies=FILE,
        flags=("--ci",),
        minimum=0,
        above=True,
        allowed="a number above 0 and below 1",
        why="it sets a run summary's intervals",
    )
    skip_invalid: bool = option(
        False,
        help="Score the valid lines, list the rest.",
        applies=FILE,
        flags=("--skip-invalid",),
        is_flag=True,
        why="it skips invalid lines of a predictions file",
    )
    # A trial run (the README's demo, a new judge tried on a few items): the first N valid
    # items; the lines after them are not read. A rerun without it judges the rest.
    limit: int | None = option(
        help="Judge only the first N valid items of the file; run again without it for the rest.",
        applies=FILE,
        flags=("--limit",),
        minimum=1,
        metavar="N",
        why="it limits a file run",
    )
    retry_unscored: bool = option(
        False,
        help="Judge again items an earlier run left (partly) unscored.",
        applies=FILE,
        flags=("--retry-unscored",),
        is_flag=True,
        why="it redoes an earlier run's records in a results file",
    )
    cache: bool | str | Path = option(
        True,
        help="Neither read nor write the call cache.",
        applies=ALL,
        flags=("--no-cache",),
        is_flag=True,
        flag_value=False,
        allowed="true, false or a cache file path",
    )
    # Send judges' calls through their providers' batch APIs first (judge.batch): poll every
    # `batch_poll` seconds, and stop waiting (to resume later) after `batch_wait` seconds.
    batch: bool = option(
        False,
        help="Send the calls through the judges' batch APIs first (openai, azure, litellm_proxy: "
        "about half price, no rate limit; others run live). A rerun picks up a pending batch.",
        applies=FILE,
        flags=("--batch",),
        is_flag=True,
        why="a batch answers a run's calls over minutes to hours, and a rerun picks it up",
    )
    batch_poll: float = option(
        30.0,
        help="With --batch: how often to ask whether a batch has ended.",
        applies=FILE,
        flags=("--batch-poll",),
        minimum=0,
        above=True,
        metavar="SECONDS",
        why="it paces --batch",
    )
    batch_wait: float | None = option(
        help="With --batch: stop waiting after this long (exit status 3); rerun to pick it up.",
        applies=FILE,
        flags=("--batch-wait",),
        minimum=0,
        metavar="SECONDS",
        why="it paces --batch",
    )
    # Batch files for an engine of the user's (vLLM's run_batch, Ray Data, a provider's batch
    # API): the calls out, the replies in (judge.batch.files).
    export_batch: str | Path | None = option(
        help="Write the calls the run would send now as an OpenAI batch-input JSONL (vLLM's "
        "run_batch, batch APIs); send nothing, score nothing.",
        applies=FILE,
        flags=("--export-batch",),
        metavar="FILE",
        allowed="a file path, or none",
        why="a batch file is a run's calls, answered elsewhere and imported by a rerun",
    )
    import_batch: str | Path | None = option(
        help="Read judges' replies from an OpenAI batch-output JSONL (as --export-batch's "
        "calls were answered); the other calls go live (see --no-live).",
        applies=FILE,
        flags=("--import-batch",),
        metavar="FILE",
        allowed="a file path, or none",
        why="a batch file is a run's calls, answered elsewhere and imported by a rerun",
    )
    no_live: bool = option(
        False,
        help="With --import-batch: send no call; items whose replies are not in the file "
        "wait for a later import (exit status 3).",
        applies=FILE,
        flags=("--no-live",),
        is_flag=True,
        why="it leaves items for a later --import-batch",
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
        elif not is_valid(f, value):
            raise ConfigError(problem(f, value))
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
            if use in option.applies or getattr(self, f.name) == default_value(f):
                continue
            where = " and ".join(USES[u] for u in USES if u in option.applies)
            why = f": {option.why}" if option.why else ""
            raise ConfigError(f"{label(f)} applies to {where}, not to {USES[use]}{why}")

    def params(self) -> dict[str, Any]:
        """The sampling parameters sent with every call (None: the provider's default)."""
        values = {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}
        return {k: v for k, v in values.items() if v is not None}


_FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in fields(RunOptions)}


def declared(use: str | None = None) -> list[dataclasses.Field[Any]]:
    """The RunOptions fields, in declaration order (those that apply to `use`, if given)."""
    return [f for f in fields(RunOptions) if use is None or use in info(f).applies]


def _refuse_unknown(names: Iterable[str]) -> None:
    known = [f.name for f in fields(RunOptions)]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown run option(s) {', '.join(unknown)}; options are: {', '.join(known)}"
        )


# Each field's type, resolved once (judge.option_checks checks values against it).
resolve_types(typing.get_type_hints(RunOptions))
