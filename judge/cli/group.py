"""The `judge` command group: its error boundary, and every command registered, each from its
own module `judge/cli/<command>.py`. A command parses options, calls one library function and
renders the result with rich. Each command module imports only click (and the run options'
declaration) at module level; heavy modules (the engine, litellm, pandas) load inside the
command when it runs, so `judge --help` starts fast.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from judge.cli.align import align_command
from judge.cli.annotate import annotate
from judge.cli.calibrate import calibrate_command
from judge.cli.compare import compare_command
from judge.cli.exits import ExitStatus
from judge.cli.keys import keys
from judge.cli.methods import methods_command
from judge.cli.probe import probe_command
from judge.cli.qualify import qualify_command
from judge.cli.report import report_command
from judge.cli.route import route_command
from judge.cli.rubrics import rubrics
from judge.cli.score import score
from judge.cli.serve import serve
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
            # The cleanup is over: a further Ctrl-C while the process exits is ignored, so it
            # ends with status 130, not killed by the signal mid-exit (-2) on a slow machine.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            click.echo("interrupted", err=True)
            sys.exit(ExitStatus.INTERRUPTED)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="judge")
def cli() -> None:
    """Score medical reasoning with rubrics, by LLM judges and by people."""


cli.add_command(score)
cli.add_command(rubrics)
cli.add_command(calibrate_command, "calibrate")
cli.add_command(compare_command, "compare")
cli.add_command(annotate)
cli.add_command(report_command, "report")
cli.add_command(methods_command, "methods")
cli.add_command(serve)
cli.add_command(route_command, "route")
cli.add_command(probe_command, "probe")
cli.add_command(align_command, "align")
cli.add_command(qualify_command, "qualify")
cli.add_command(keys)


def main() -> None:
    cli()
