"""`judge methods RESULTS`: the methods paragraph of a run, with every number traced, to
stdout or `--out` (judge/report/methods_text.py). Only click is imported at module level (the
`judge` CLI imports this module on every start).
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["methods_command"]


@click.command("methods")
@click.argument("results", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--tables",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The folder a `judge calibrate --out-dir` run wrote: agreement, alt-test, human "
    "ceiling and PPI figures.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (default: stdout); an earlier `judge methods` file is replaced, "
    "any other file is refused.",
)
@click.option("--latex", is_flag=True, help="LaTeX instead of Markdown.")
@click.option(
    "--rubric",
    "-r",
    help="The rubric id or YAML file the results were scored with (default: the records').",
)
def methods_command(
    results: Path, tables: Path | None, out: Path | None, latex: bool, rubric: str | None
) -> None:
    """Write the methods paragraph of RESULTS (a `judge score` results file): judges and the
    models their providers served, rubric and prompt hashes, items scored, cost, each mean
    with its interval, and what is on record of calibration, qualification and case keys."""
    from judge.cli.calibration_render import calibration_db
    from judge.report.methods_text import write_methods

    text = write_methods(
        results, out, tables=tables, db=calibration_db(), rubric=rubric, latex=latex
    )
    if out is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"methods: {out}", err=True)
