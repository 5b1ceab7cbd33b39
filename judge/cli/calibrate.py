"""`judge calibrate`: the agreement table of judge scores against human scores.

Only click (and the shared click options) at module level: the `judge` CLI imports this module
on every start, and pandas, scipy and krippendorff would slow `judge --help` down.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from judge.cli.options import interval_options

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


def _render_protocol(protocol: Any) -> None:
    """The MedThinkVQA step-3 agreement (step3_agreement.py's statistics) beside α."""
    from rich.console import Console
    from rich.table import Table

    if not protocol:
        return
    view = Table(title="MedThinkVQA step-3 protocol on is_factual (pooled steps, human majority)")
    for header in ("judge", "steps", "agreement", "phi/MCC", "Cohen κ", "TP/TN/FP/FN"):
        view.add_column(header)
    for row in protocol:
        counts = f"{row['tp']}/{row['tn']}/{row['fp']}/{row['fn']}"
        cells = [_cell(row, c) for c in ("agreement", "phi_mcc", "cohens_kappa")]
        view.add_row(str(row["judge"]), str(row["n_pairs"]), *cells, counts)
    Console().print(view)


def _check_out(out: Path) -> None:
    # Before the bootstrap runs, not after minutes of it.
    from calibration.errors import CalibrationError

    if out.suffix.lower() not in (".csv", ".json"):
        raise CalibrationError(f"--out must end in .csv or .json, got {out.name!r}")
    from judge.store.outputs import claim, is_table

    claim(out, is_table)  # an earlier table, or no file: never a user's own file


def _write(table: Any, out: Path) -> None:
    from judge.store.outputs import write_atomic

    if out.suffix.lower() == ".csv":
        from calibration.spreadsheet import escape_cell

        # Judge names and criteria come from the data: no cell may run as a formula.
        text = table.map(escape_cell).to_csv(index=False)
    else:
        text = table.to_json(orient="records", indent=2)
    write_atomic(out, text)


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
@interval_options
@click.option(
    "--alt-test", is_flag=True, help="Run the alternative annotator test per criterion and judge."
)
@click.option(
    "--epsilon",
    type=click.FloatRange(0, 1),
    default=0.2,
    show_default=True,
    help="The alt-test's margin ε (0.2 for expert annotators, 0.1 for crowd workers).",
)
@click.option("--ceiling", is_flag=True, help="Show the human ceiling and the judge's rank in it.")
@click.option("--estimate", is_flag=True, help="Bias-corrected (PPI++) means of the judged scores.")
@click.option(
    "--weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --estimate: the <queue>.weights.json of `judge route`, when the human scores "
    "are of a routed queue (inverse-probability weights keep the estimate unbiased).",
)
@click.option(
    "--by", default=None, help="With --estimate / --plan-width: a case-metadata field to slice by."
)
@click.option(
    "--plan-width",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="How many human labels a PPI interval this wide needs (the given labels as pilot).",
)
@click.option(
    "--save",
    is_flag=True,
    help="Store the alt-test verdicts (implies --alt-test) with the rubric and prompt hashes, "
    "so the next `judge score` / `judge report` shows them.",
)
def calibrate_command(
    judge_path: str, human_path: str, rubric: str | None, out: Path | None,
    ci: float, n_boot: int, seed: int, alt_test: bool, epsilon: float, ceiling: bool,
    estimate: bool, weights: str | None, by: str | None, plan_width: float | None, save: bool,
) -> None:  # fmt: skip
    """Compare judge scores with human scores, per criterion and judge."""
    from calibration.calibrate import calibrate_files

    # A CalibrationError is a judge.errors.JudgeError: the `judge` group's error boundary
    # prints it as one line with the exit status of every other bad input.
    if out is not None:
        _check_out(out)
    if weights is not None and not estimate:
        from calibration.errors import CalibrationError

        raise CalibrationError("--weights weighs the --estimate means: add --estimate")
    levels, domains = _load_rubric_scales(rubric) if rubric else (None, None)
    table = calibrate_files(
        judge_path, human_path, levels=levels, domains=domains,
        ci=ci, n_boot=n_boot, seed=seed,
    )  # fmt: skip
    _render(table, table.attrs.get("notes", []), ci)
    _render_protocol(table.attrs.get("protocol"))
    if alt_test or ceiling or estimate or save or plan_width is not None:
        from judge.cli.calibration_render import run_validity, save_alt_test

        tables = run_validity(
            judge_path, human_path, levels, domains, alt_test=alt_test or save,
            epsilon=epsilon, ceiling=ceiling, estimate=estimate, by=by, ci=ci,
            plan_width=plan_width, weights=weights,
        )  # fmt: skip
        if save:
            click.echo(save_alt_test(judge_path, human_path, tables["alt_test"], epsilon))
    if out is not None:
        _write(table, out)
        click.echo(f"wrote {out}")
