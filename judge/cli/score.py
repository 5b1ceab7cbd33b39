"""`judge score`: score a predictions file against a rubric. Heavy modules (the engine, litellm,
pandas) are imported inside the command, so `judge --help` starts fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from judge.cli.exits import ExitStatus
from judge.cli.options import options_from, run_options

__all__ = ["score"]


@click.command()
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
    "--dry-run",
    is_flag=True,
    help="Check the input as the run does, count calls and estimate the cost; call no judge.",
)
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
    if options.export_batch is not None:  # nothing was judged: what was written is the news
        for notice in result.notices:
            click.echo(notice)
        return
    render_run(result)
    if result.out is not None and result.judges:  # the latest alt-test verdicts on record
        from judge.cli.calibration_render import print_run_status

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
