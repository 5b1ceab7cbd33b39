"""The `judge` command line: each command parses options, calls one library function and
renders the result with rich. Heavy modules (the engine, litellm, pandas) are imported inside
the commands, so `judge --help` starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from judge import __version__
from judge.cli.exits import ExitStatus
from judge.cli.options import judge_call_options
from judge.errors import JudgeError

__all__ = ["cli", "main"]


class _Group(click.Group):
    """The CLI's one error boundary, for every subcommand: a JudgeError (calibration's errors
    included) is one line on stderr and exit status 2, Ctrl-C is status 130 (click would say
    "Aborted!" and exit 1, the status of a bug). Other exceptions keep their traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JudgeError as exc:
            from judge.errors import redact

            click.echo(f"error: {redact(str(exc))}", err=True)
            sys.exit(ExitStatus.USER_ERROR)
        except KeyboardInterrupt:
            # What was written stays written: a results file resumes, a server shut down first.
            click.echo("interrupted", err=True)
            sys.exit(ExitStatus.INTERRUPTED)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="judge")
def cli() -> None:
    """Score medical reasoning with rubrics, by LLM judges and by people."""


@cli.command()
@click.argument("predictions", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--rubric",
    "-r",
    default="ddx",
    show_default=True,
    help="A built-in rubric id or a rubric YAML file.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Results JSONL (default: <predictions>.<rubric>.results.jsonl here).",
)
@click.option(
    "--judge-concurrency",
    "judge_concurrency",
    multiple=True,
    metavar="JUDGE=N",
    help="Calls in flight for one judge (openai/gpt-4o-mini=8) or one provider shared by "
    "its judges (anthropic=4). Repeatable.",
)
@click.option(
    "--samples",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Judgments per judge and item (use --temperature > 0); their spread is reported.",
)
@click.option(
    "--aggregate",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "mean", "median", "majority"]),
    help="Panel score of ordinal criteria (binary and categorical: always majority).",
)
@click.option("--max-cost", type=click.FloatRange(0), help="Stop before spending more USD.")
@click.option("--dry-run", is_flag=True, help="Count calls and estimate the cost; call no judge.")
@click.option("--temperature", default=0.0, show_default=True, type=float)
@click.option("--max-tokens", type=click.IntRange(1))
@click.option("--seed", type=int, help="Passed to providers that take one.")
@click.option(
    "--id-field",
    default="title",
    show_default=True,
    help="The field that identifies an item (unique).",
)
@click.option(
    "--by",
    metavar="FIELD",
    help="Also summarise per value of this case metadata field (modality, icd10_chapter, …).",
)
@click.option("--skip-invalid", is_flag=True, help="Score the valid lines, list the rest.")
@click.option(
    "--retry-unscored",
    is_flag=True,
    help="Judge again items an earlier run left (partly) unscored.",
)
@click.option(
    "--batch",
    is_flag=True,
    help="Send the calls through the judges' batch APIs first (openai, azure, litellm_proxy: "
    "about half price, no rate limit; others run live). A rerun picks up a pending batch.",
)
@click.option(
    "--batch-poll",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    metavar="SECONDS",
    help="With --batch: how often to ask whether a batch has ended.",
)
@click.option(
    "--batch-wait",
    type=click.FloatRange(0),
    metavar="SECONDS",
    help="With --batch: stop waiting after this long (exit status 3); rerun to pick it up.",
)
@judge_call_options
def score(
    predictions: Path,
    rubric: str,
    judges: tuple[str, ...],
    api_base: str | None,
    out: Path | None,
    concurrency: int,
    judge_concurrency: tuple[str, ...],
    samples: int,
    aggregate: str,
    max_cost: float | None,
    dry_run: bool,
    timeout: float,
    attempts: int,
    mode: str,
    temperature: float,
    max_tokens: int | None,
    seed: int | None,
    id_field: str,
    by: str | None,
    skip_invalid: bool,
    retry_unscored: bool,
    batch: bool,
    batch_poll: float,
    batch_wait: float | None,
    no_cache: bool,
) -> None:
    """Score every prediction in PREDICTIONS (JSONL) against a rubric."""
    from judge.batch import BatchPending
    from judge.cli.render import ProgressBar, render_plan, render_run
    from judge.run import plan as run_plan
    from judge.run import score as run_score

    if out is None:
        out = Path(f"{predictions.stem}.{Path(rubric).stem}.results.jsonl")
    options: dict[str, Any] = {
        "judges": list(judges),
        "api_base": api_base,
        "mode": mode,
        "concurrency": concurrency,
        "judge_concurrency": _limits(judge_concurrency),
        "samples": samples,
        "aggregate": aggregate,
        "max_cost": max_cost,
        "timeout": timeout,
        "attempts": attempts,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "seed": seed,
        "id_field": id_field,
        "by": by,
        "skip_invalid": skip_invalid,
        "retry_unscored": retry_unscored,
        "cache": not no_cache,
        "batch": batch,
        "batch_poll": batch_poll,
        "batch_wait": batch_wait,
    }
    if dry_run:
        render_plan(run_plan(predictions, rubric, out=out, **options))
        return
    try:
        with ProgressBar() as progress:
            if batch:  # inside the bar, whose display prints stderr's lines above it
                _show_batch_progress()
            result = run_score(predictions, rubric, out=out, progress=progress, **options)
    except BatchPending as exc:  # a batch still running: a pause, not an error
        click.echo(str(exc), err=True)
        sys.exit(ExitStatus.STOPPED)
    render_run(result)
    if result.stopped:
        sys.exit(ExitStatus.STOPPED)


def _show_batch_progress() -> None:
    """Batches take minutes to hours: say on stderr what is submitted and awaited."""
    import logging

    log = logging.getLogger("judge.batch")
    for old in [h for h in log.handlers if h.get_name() == "judge-cli"]:
        log.removeHandler(old)  # an earlier command in this process (tests) left its own
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("judge-cli")
    handler.setFormatter(logging.Formatter("batch: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def _limits(values: tuple[str, ...]) -> dict[str, int]:
    limits = {}
    for value in values:
        key, _, number = value.rpartition("=")
        if not key or not number.isdigit() or int(number) < 1:
            raise click.BadParameter(f"{value!r}: expected JUDGE=N with N >= 1")
        limits[key] = int(number)
    return limits


@cli.group()
def rubrics() -> None:
    """List, show and validate rubrics."""


@rubrics.command("list")
def rubrics_list() -> None:
    """The built-in rubrics."""
    from judge.cli.render import render_rubric_list

    render_rubric_list()


@rubrics.command("show")
@click.argument("rubric")
def rubrics_show(rubric: str) -> None:
    """Every criterion and level anchor of RUBRIC (an id or a file)."""
    from judge.cli.render import render_rubric
    from judge.load.rubric import load_rubric

    render_rubric(load_rubric(rubric))


@rubrics.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def rubrics_validate(path: Path) -> None:
    """Check a rubric file; name the line of the first mistake."""
    from judge.load.rubric import load_rubric, rubric_hash

    loaded = load_rubric(path)
    click.echo(
        f"{path}: ok — rubric {loaded.id} v{loaded.version}, "
        f"{len(loaded.criteria)} criteria, hash {rubric_hash(loaded)}"
    )


# The calibration package ships in the same wheel; its command imports pandas lazily.
from calibration.cli import calibrate_command  # noqa: E402

cli.add_command(calibrate_command, "calibrate")

# Each command module imports only click at module level; its app loads when it runs.
from judge.annotate.command import annotate  # noqa: E402

cli.add_command(annotate)

from judge.report.command import report_command  # noqa: E402

cli.add_command(report_command, "report")

from judge.serve.command import serve  # noqa: E402

cli.add_command(serve)


def main() -> None:
    cli()
