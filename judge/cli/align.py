"""`judge align`: the command line of judge.study.align (click only at module level)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import click

from judge.cli.exits import ExitStatus
from judge.cli.options import options_from, run_options

__all__ = ["align_command"]


@click.command("align")
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--predictions",
    "-p",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The predictions file RESULTS was judged from (the texts to show and re-judge).",
)
@click.option(
    "--human",
    "human_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Human ratings, as `judge calibrate --human` reads them; the comments are reasons.",
)
@click.option("--rubric", "-r", default="ddx", show_default=True, help="The base rubric.")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The aligned rubric to write (.yaml); never over a file align did not write.",
)
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True,
              help="Cross-validation folds (by case).")  # fmt: skip
@click.option("--example-tokens", type=click.IntRange(min=1), default=1500, show_default=True,
              help="Cap on the examples' prompt block (≈4 characters a token).")  # fmt: skip
@click.option("--case-field", default="title", show_default=True,
              help="The field naming an item's case: a case's items share a fold.")  # fmt: skip
@click.option("--table", "table_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the before/after table as CSV.")  # fmt: skip
@click.option("--fold-seed", type=int, default=0, show_default=True, help="Seed of the folds.")
@run_options("file")
def align_command(
    results: Path, predictions: Path, human_path: Path, rubric: str, out: Path, folds: int,
    example_tokens: int, case_field: str, table_out: Path | None, fold_seed: int, **values: Any,
) -> None:  # fmt: skip
    """Align a rubric's judge with clinicians' corrections, measured on held-out cases.

    Writes OUT, RUBRIC with worked examples from the items where the judge of RESULTS
    disagreed most with the clinicians, and shows agreement before and after on held-out
    items (k-fold cross-validation by case: every fold is re-judged with examples from the
    other folds only).
    """
    from judge.study.align import align

    result = align(
        results, predictions, human_path, rubric, out, folds=folds,
        example_tokens=example_tokens, case_field=case_field, seed=fold_seed,
        table_out=table_out, options=options_from(values),
    )  # fmt: skip
    _render(result)
    click.echo(f"wrote {result.out} ({len(result.rubric.examples)} examples)")
    if table_out is not None:
        click.echo(f"wrote {table_out}")
    if result.stopped:
        click.echo(result.stopped, err=True)
        sys.exit(ExitStatus.STOPPED)


def _render(result: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    view = Table(title="Agreement with clinicians on held-out items, before → after alignment")
    for header in ("criterion", "judge", "n", "exact", "α"):
        view.add_column(header, overflow="fold")
    for row in result.table.to_dict("records"):
        n = f"{_number(row.get('n_before'), 0)} / {_number(row.get('n_after'), 0)}"
        cells = [f"{_number(row.get(f'{m}_before'))} → {_number(row.get(f'{m}_after'))}"
                 for m in ("exact", "alpha")]  # fmt: skip
        view.add_row(escape(str(row["criterion"])), escape(str(row["judge"])), n, *cells)
    console.print(view)
    for fold in result.folds:
        console.print(
            f"[dim]fold {fold.number}: {len(fold.held_out)} held-out item(s) of "
            f"{len(fold.cases)} case(s), {len(fold.example_items)} example(s) from other folds"
        )
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")


def _number(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}" if digits else str(int(value))
