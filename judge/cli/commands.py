"""The `judge` command line: each command parses options, calls one library function and
renders the result with rich. Heavy modules (the engine, litellm, pandas) are imported inside
the commands, so `judge --help` starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from judge.cli.exits import ExitStatus
from judge.cli.options import options_from, run_options
from judge.errors import JudgeError
from judge.version import __version__

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
@click.option("--dry-run", is_flag=True, help="Count calls and estimate the cost; call no judge.")
@run_options("file")
def score(predictions: Path, rubric: str, out: Path | None, dry_run: bool, **values: Any) -> None:
    """Score every prediction in PREDICTIONS (JSONL) against a rubric."""
    from judge.batch import BatchPending
    from judge.cli.render import ProgressBar, render_plan, render_run
    from judge.run import plan as run_plan
    from judge.run import score as run_score

    if out is None:
        out = Path(f"{predictions.stem}.{Path(rubric).stem}.results.jsonl")
    options = options_from(values)
    if dry_run:
        render_plan(run_plan(predictions, rubric, out=out, options=options))
        return
    try:
        with ProgressBar() as progress:
            if options.batch:  # inside the bar, whose display prints stderr's lines above it
                _show_batch_progress()
            result = run_score(predictions, rubric, out=out, progress=progress, options=options)
    except BatchPending as exc:  # a batch still running: a pause, not an error
        click.echo(str(exc), err=True)
        sys.exit(ExitStatus.STOPPED)
    render_run(result)
    if result.out is not None and result.judges:  # the latest alt-test verdicts on record
        from calibration.validity_cli import print_run_status

        print_run_status(
            rubric_hash=result.rubric_hash,
            prompt_hash=result.prompt_hash,
            criteria=result.judged_criteria,
            judges=result.judges,
        )
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
    variant = f", {len(loaded.examples)} examples, base {loaded.base.id}" if loaded.base else ""
    click.echo(
        f"{path}: ok — rubric {loaded.id} v{loaded.version}, "
        f"{len(loaded.criteria)} criteria{variant}, hash {rubric_hash(loaded)}"
    )


# The calibration package ships in the same wheel; its command imports pandas lazily.
from calibration.cli import calibrate_command  # noqa: E402

cli.add_command(calibrate_command, "calibrate")

from calibration.compare_cli import compare_command  # noqa: E402

cli.add_command(compare_command, "compare")

# Each command module imports only click at module level; its app loads when it runs.
from judge.annotate.command import annotate  # noqa: E402

cli.add_command(annotate)

from judge.report.command import report_command  # noqa: E402

cli.add_command(report_command, "report")

from judge.serve.command import serve  # noqa: E402

cli.add_command(serve)

from judge.study.route_command import route_command  # noqa: E402

cli.add_command(route_command, "route")

from judge.study.probe_cli import probe_command  # noqa: E402

cli.add_command(probe_command, "probe")

from judge.study.align_cli import align_command  # noqa: E402

cli.add_command(align_command, "align")

from judge.cli.qualify import qualify_command  # noqa: E402

cli.add_command(qualify_command, "qualify")


def main() -> None:
    cli()
