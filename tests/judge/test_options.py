"""One declaration of the run options: the CLI, Python, serve and Inspect take the same options
and refuse a bad value with the same message."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd
import pytest
from click.testing import CliRunner

import judge
from judge.aggregate.records import aggregate
from judge.cli import cli
from judge.contracts import Judgment
from judge.errors import ConfigError
from judge.judging.engine import Completion
from judge.load.rubric import load_rubric
from judge.scorer import RunOptions, Scorer
from judge.serve.app import create_app

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
RUBRIC = load_rubric("ddx")


async def _never(**_: Any) -> Completion:
    raise AssertionError("a refused option must stop before any call")


def _command(name: str) -> click.Command:
    command = cli.commands.get(name)
    assert command is not None
    return command


@pytest.mark.parametrize(("command", "use"), [("score", "file"), ("serve", "serve")])
def test_the_commands_and_run_options_list_the_same_options(command: str, use: str) -> None:
    from judge.cli.options import RunOption
    from judge.options import declared, info

    params = _command(command).params
    from_options = {p.name: p for p in params if isinstance(p, RunOption)}
    # Every option that applies to this command, and only those, from the declaration.
    assert set(from_options) == {f.name for f in declared(use)}
    assert {f.name for f in declared()} == {f.name for f in dataclasses.fields(judge.RunOptions)}
    # The command's own parameters (--out, --host, …) are no run option under another name.
    own = {p.name for p in params} - set(from_options)
    assert not own & {f.name for f in declared()}
    help_text = CliRunner().invoke(cli, [command, "--help"]).output
    defaults = judge.RunOptions()
    for f in declared(use):
        param = from_options[f.name]
        assert info(f).flags[0] in help_text
        if not info(f).multiple and not info(f).is_flag:  # the same default as Python's
            assert param.default == getattr(defaults, f.name)


def test_serve_takes_the_panel_options() -> None:
    from judge.options import declared

    serve_options = {f.name for f in declared("serve")}
    assert {"samples", "aggregate", "temperature", "seed", "max_tokens"} <= serve_options
    assert not {"batch", "max_cost", "by", "skip_invalid", "retry_unscored"} & serve_options


def test_serve_passes_its_panel_options_to_the_scorer() -> None:
    from judge.cli.options import options_from

    argv = ["--samples", "2", "--aggregate", "median", "--seed", "3", "--max-tokens", "50"]
    argv += ["--temperature", "0.7", "--judge-concurrency", "openai=2", "--no-cache"]
    context = _command("serve").make_context("serve", argv)
    options = options_from(context.params)
    assert (options.samples, options.aggregate, options.seed, options.max_tokens) == (
        2,
        "median",
        3,
        50,
    )
    assert options.temperature == 0.7 and options.judge_concurrency == {"openai": 2}
    assert options.cache is False


BAD = [
    ("aggregate", "avg", ["--aggregate", "avg"]),
    ("aggregate", "MEAN", ["--aggregate", "MEAN"]),
    ("mode", "xml", ["--mode", "xml"]),
    ("attempts", 0, ["--attempts", "0"]),
    ("timeout", 0.0, ["--timeout", "0"]),
    ("concurrency", 0, ["--concurrency", "0"]),
    ("samples", 0, ["--samples", "0"]),
    ("temperature", -0.5, ["--temperature", "-0.5"]),
    ("judge_concurrency", {"openai": 0}, ["--judge-concurrency", "openai=0"]),
]


@pytest.mark.parametrize(("name", "value", "argv"), BAD, ids=[f"{b[0]}={b[1]}" for b in BAD])
def test_a_bad_value_gets_one_message_everywhere(name: str, value: Any, argv: list[str]) -> None:
    with pytest.raises(ConfigError) as typed:
        judge.RunOptions(**{name: value})
    message = str(typed.value)
    assert message.startswith(f"{name} (--") and "must be" in message
    with pytest.raises(ConfigError) as keyword:
        judge.score(PREDICTIONS, RUBRIC, complete=_never, **{name: value})
    assert str(keyword.value) == message
    runner = CliRunner()
    for command in (["score", str(PREDICTIONS)], ["serve"]):
        result = runner.invoke(cli, [*command, *argv])
        assert result.exit_code == 2, result.output
        assert f"error: {message}" in result.output
    pytest.importorskip("inspect_ai")
    from judge.integrations.inspect import rubric_scorer

    with pytest.raises(ConfigError) as inspect_error:
        rubric_scorer("ddx", **{name: value})
    assert str(inspect_error.value) == message


def test_a_bad_value_in_overrides_of_good_options_is_refused() -> None:
    expected = r"^attempts \(--attempts\) must be an integer at least 1"
    with pytest.raises(ConfigError, match=expected):
        RunOptions.of(RunOptions(judges=["x/a"]), {"attempts": 0})


def test_attempts_zero_is_a_config_error_not_an_assertion() -> None:
    # Before: the engine's retry loop never ran and ended in `AssertionError: unreachable`.
    with pytest.raises(ConfigError, match="attempts"):
        judge.score(PREDICTIONS, RUBRIC, judges=["x/a"], complete=_never, attempts=0, cache=False)


@pytest.mark.parametrize("method", ["avg", "MEAN", "majority "])
def test_an_unknown_aggregate_method_is_never_majority(method: str) -> None:
    with pytest.raises(ConfigError, match="aggregate"):
        judge.RunOptions(aggregate=method)
    # Reached past the options, it is a bug: raised, not silently a majority vote.
    ordinal = next(c for c in RUBRIC.llm_criteria if c.scale.type == "ordinal")
    judgments = [
        Judgment(criterion=ordinal.id, judge=name, status="scored", score=score)
        for name, score in (("a", 1), ("b", 1), ("c", 5))
    ]
    assert aggregate(ordinal, judgments, "mean") == pytest.approx(7 / 3, abs=1e-4)
    with pytest.raises(ValueError, match="unknown aggregate method"):
        aggregate(ordinal, judgments, method)


def test_an_unknown_option_is_a_config_error_from_the_constructor_too() -> None:
    with pytest.raises(ConfigError, match=r"unknown run option\(s\) judge; options are: judges"):
        judge.RunOptions(judge=["x/a"])  # type: ignore[call-arg]


def test_the_inspect_scorer_refuses_an_unknown_option_with_a_config_error() -> None:
    # Before: a TypeError from RunOptions' constructor.
    pytest.importorskip("inspect_ai")
    from judge.integrations.inspect import rubric_scorer

    with pytest.raises(ConfigError, match=r"unknown run option\(s\) sample; options are: "):
        rubric_scorer("ddx", judges=["x/a"], sample=2)


# ---------------------------------------------------------------- where each option applies


FILE_ONLY = [
    ("max_cost", 1.0),
    ("batch", True),
    ("by", "modality"),
    ("skip_invalid", True),
    ("retry_unscored", True),
    ("batch_wait", 10.0),
]


@pytest.mark.parametrize(("name", "value"), FILE_ONLY, ids=[f[0] for f in FILE_ONLY])
def test_a_file_run_option_is_refused_where_it_would_be_ignored(name: str, value: Any) -> None:
    expected = rf"^{name} \(--[a-z-]+\) applies to a file run \(judge score, judge.score\), not to "
    frame = pd.DataFrame([json.loads(line) for line in PREDICTIONS.read_text().splitlines()])
    with pytest.raises(ConfigError, match=expected + "score_frame"):
        judge.score_frame(frame, RUBRIC, complete=_never, **{name: value})
    with pytest.raises(ConfigError, match=expected + r"Scorer\.score"):
        Scorer(RunOptions(**{name: value}))
    with pytest.raises(ConfigError, match=expected + "judge serve"):
        create_app(RunOptions(**{name: value}))
    # and the option's default is no refusal
    Scorer(RunOptions(**{name: _default(name)}))
    pytest.importorskip("inspect_ai")
    from judge.integrations.inspect import rubric_scorer

    with pytest.raises(ConfigError, match=expected + "the Inspect scorer"):
        rubric_scorer("ddx", **{name: value})


def _default(name: str) -> Any:
    return getattr(RunOptions(), name)


# ---------------------------------------------------------------- inside a running event loop


class _Fixed:
    async def __call__(self, **_: Any) -> Completion:
        verdict = {
            c.id: {"score": 1 if c.scale.type == "binary" else 4, "rationale": "r"}
            for c in RUBRIC.llm_criteria
        }
        return Completion(verdict=verdict)


async def test_score_and_plan_work_inside_a_running_loop() -> None:
    # A notebook's cell runs in an event loop, where asyncio.run refuses to start another.
    result = judge.score(PREDICTIONS, RUBRIC, judges=["x/a"], complete=_Fixed(), cache=False)
    assert result.summary.status["scored"] == 3
    from judge.run import plan

    planned = plan(PREDICTIONS, RUBRIC, judges=["x/a"], complete=_Fixed(), cache=False)
    assert planned.n_items == 3 and planned.estimate.calls == 3


def test_an_assignment_is_checked_too() -> None:
    options = RunOptions(judges=["x/a"])
    with pytest.raises(ConfigError, match=r"^attempts \(--attempts\) must be"):
        options.attempts = 0
    assert options.attempts == 4
    with pytest.raises(ConfigError, match="unknown run option"):
        options.sample = 2  # type: ignore[attr-defined]


def test_the_declaration_is_cheap_to_import() -> None:
    # `judge --help` derives its options from it: no litellm, pandas, pydantic or the engine.
    code = (
        "import sys, judge.options\n"
        "heavy = {'litellm', 'pandas', 'pydantic', 'judge.scorer', 'judge.judging.engine'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
