"""`judge report`: write the HTML report of a results file.

Only click is imported at module level: the `judge` CLI imports this module on every start.
"""

from __future__ import annotations

from pathlib import Path

import click

from judge.cli.options import run_option

__all__ = ["report_command"]


@click.command("report")
@click.argument("results", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--human",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Human scores (CSV/TSV/JSONL/JSON, long or wide): adds the agreement tables.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write (default: RESULTS with .html).",
)
@click.option(
    "--rubric",
    "-r",
    help="The rubric id or YAML file the results were scored with (default: the records').",
)
@click.option(
    "--lowest",
    default=10,
    show_default=True,
    type=click.IntRange(0),
    help="How many of the lowest-scoring items to show with their rationales.",
)
@click.option(
    "--latent",
    type=click.Choice(["dawid-skene", "mace"]),
    default=None,
    help="Add the latent-truth panel: each judge's confusion matrix and accuracy on the "
    "binary and categorical criteria, fitted over the run's own panel (no human labels).",
)
@run_option("ci")
@run_option("cluster")
def report_command(
    results: Path,
    human: Path | None,
    out: Path | None,
    rubric: str | None,
    lowest: int,
    latent: str | None,
    ci: float,
    cluster: str | None,
) -> None:
    """One self-contained HTML report of RESULTS (a `judge score` results file)."""
    from judge.options import RunOptions
    from judge.report.html import write_report

    checked = RunOptions(ci=ci, cluster=cluster)  # checked as `judge score` checks them
    written = write_report(
        results,
        out or results.with_suffix(".html"),
        human,
        rubric=rubric,
        lowest=lowest,
        ci=checked.ci,
        cluster=checked.cluster,
        latent=latent,
    )
    click.echo(f"report: {written}")
    from judge.cli.calibration_render import print_results_status

    print_results_status(results)
