"""`judge calibrate`: the agreement table of judge scores against human scores.

Only click is imported at module level: the `judge` CLI imports this module on every start,
and pandas, scipy and krippendorff would slow `judge --help` down.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

__all__ = ["calibrate_command"]

# The columns worth a terminal's width; --out writes all of them.
_SHOWN = (
    ("criterion", "criterion"),
    ("judge", "judge"),
    ("n_items", "n"),
    ("alpha_humans", "α humans"),
    ("alpha_with_judge", "α +judge"),
    ("spearman", "Spearman"),
    ("kappa_quadratic", "κ quad"),
    ("kappa", "κ"),
    ("bias", "bias"),
    ("exact", "exact"),
)


def _load_rubric_scales(rubric: str) -> tuple[dict[str, str], dict[str, list[Any]]]:
    from calibration.calibrate import scales_from_rubric
    from calibration.errors import CalibrationError

    try:
        from judge.load.rubric import load_rubric
    except ImportError as err:
        raise CalibrationError(f"--rubric needs the judge package's rubric loader ({err})") from err
    # A rubric that does not load raises the judge package's RubricError, a JudgeError like
    # ours: the `judge` CLI prints it as one line (it names the rubric and the line).
    return scales_from_rubric(load_rubric(rubric))


def _cell(row: Any, column: str) -> str:
    value = row.get(column)
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
        if isinstance(low, float) and isinstance(high, float) and not math.isnan(low):
            return f"{value:.2f}\n[{low:.2f}, {high:.2f}]"
        return f"{value:.2f}"
    return "—" if value is None else str(value)


def _render(table: Any, notes: list[str], ci: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    view = Table(title=f"Judge–human agreement ({ci:.0%} intervals in brackets)")
    shown = [(c, h) for c, h in _SHOWN if c in table.columns]
    for _, header in shown:
        view.add_column(header, overflow="fold")
    for row in table.to_dict("records"):
        view.add_row(*(_cell(row, column) for column, _ in shown))
    console.print(view)
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    for row in table.to_dict("records"):
        if row.get("notes"):
            console.print(f"[dim]{row['criterion']} / {row.get('judge') or '—'}: {row['notes']}")


def _check_out(out: Path) -> None:
    # Before the bootstrap runs, not after minutes of it.
    from calibration.errors import CalibrationError

    if out.suffix.lower() not in (".csv", ".json"):
        raise CalibrationError(f"--out must end in .csv or .json, got {out.name!r}")


def _write(table: Any, out: Path) -> None:
    if out.suffix.lower() == ".csv":
        table.to_csv(out, index=False)
    else:
        table.to_json(out, orient="records", indent=2)


@click.command("calibrate")
@click.option(
    "--judge",
    "judge_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Results JSONL written by `judge score`.",
)
@click.option(
    "--human",
    "human_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Human scores: CSV/TSV/JSONL/JSON, long (item, criterion, rater, score) "
    "or wide (item + one column per rater).",
)
@click.option(
    "--rubric",
    default=None,
    help="Rubric id or path; its scale types set each criterion's α level.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the full table to a .csv or .json file.",
)
@click.option(
    "--ci",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="Confidence level of the intervals.",
)
@click.option(
    "--n-boot",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Bootstrap resamples (0: no intervals).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
def calibrate_command(
    judge_path: str, human_path: str, rubric: str | None, out: Path | None,
    ci: float, n_boot: int, seed: int,
) -> None:  # fmt: skip
    """Compare judge scores with human scores, per criterion and judge."""
    from calibration.calibrate import calibrate_files

    # A CalibrationError is a judge.errors.JudgeError: the `judge` group's error boundary
    # prints it as one line with the exit status of every other bad input.
    if out is not None:
        _check_out(out)
    levels, domains = _load_rubric_scales(rubric) if rubric else (None, None)
    table = calibrate_files(
        judge_path, human_path, levels=levels, domains=domains,
        ci=ci, n_boot=n_boot, seed=seed,
    )  # fmt: skip
    _render(table, table.attrs.get("notes", []), ci)
    if out is not None:
        _write(table, out)
        click.echo(f"wrote {out}")
