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


def _load_rubric_scales(
    rubric: str,
) -> tuple[dict[str, str], dict[str, list[Any]], frozenset[str]]:
    """The rubric's levels and domains, and the items whose human labels tuned it (an aligned
    rubric's worked examples, `judge align`)."""
    from calibration.calibrate import scales_from_rubric
    from calibration.errors import CalibrationError

    try:
        from judge.load.rubric import load_rubric
    except ImportError as err:
        raise CalibrationError(f"--rubric needs the judge package's rubric loader ({err})") from err
    # A rubric that does not load raises the judge package's RubricError, a JudgeError like
    # ours: the `judge` CLI prints it as one line (it names the rubric and the line).
    loaded = load_rubric(rubric)
    levels, domains = scales_from_rubric(loaded)
    return levels, domains, frozenset(e.item for e in loaded.examples if e.item)


def _cell(row: Any, column: str) -> str:
    value = row.get(column)
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if column == "n_items":  # a count (float in a column with gaps): 1600, not 1600.00
            return str(int(value))
        low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
        if isinstance(low, float) and isinstance(high, float) and not math.isnan(low):
            return f"{value:.2f}\n[{low:.2f}, {high:.2f}]"
        return f"{value:.2f}"
    return "—" if value is None else str(value)


def _render(table: Any, notes: list[str], ci: float) -> None:
    from rich.table import Table

    from judge.cli.calibration_render import console as make_console

    console = make_console()
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
            judge = _cell(row, "judge")  # a criterion without a judge has NaN: "—", not "nan"
            note = f"{row['criterion']} / {judge}: {row['notes']}"
            console.print(note, style="dim", markup=False, highlight=False)  # data, not markup


def _render_protocol(protocol: Any) -> None:
    """The MedThinkVQA step-3 agreement (step3_agreement.py's statistics) beside α."""
    from rich.table import Table

    from judge.cli.calibration_render import console

    if not protocol:
        return
    view = Table(title="MedThinkVQA step-3 protocol on is_factual (pooled steps, human majority)")
    for header in ("judge", "steps", "agreement", "phi/MCC", "Cohen κ", "TP/TN/FP/FN"):
        view.add_column(header)
    for row in protocol:
        counts = f"{row['tp']}/{row['tn']}/{row['fp']}/{row['fn']}"
        cells = [_cell(row, c) for c in ("agreement", "phi_mcc", "cohens_kappa")]
        view.add_row(str(row["judge"]), str(row["n_pairs"]), *cells, counts)
    console().print(view)


def _check_out(out: Path, inputs: tuple[str | None, ...]) -> None:
    # Before the bootstrap runs, not after minutes of it.
    from calibration.errors import CalibrationError

    if out.suffix.lower() not in (".csv", ".json"):
        raise CalibrationError(f"--out must end in .csv or .json, got {out.name!r}")
    from calibration.tables import is_table
    from judge.store.outputs import claim

    # An earlier table (by its mark), or no file: never a user's own file, nor an input.
    claim(out, is_table, inputs=inputs)


def _write(table: Any, out: Path) -> None:
    from calibration.tables import table_text
    from judge.store.outputs import write_atomic

    write_atomic(out, table_text(table, out.suffix, "calibrate"))


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
    help="Store the alt-test verdicts (implies --alt-test) and the --guarantee thresholds with "
    "the rubric and prompt hashes, so the next `judge score` / `judge report` / `judge route "
    "--escalate` use them.",
)
@click.option(
    "--level",
    "level",
    multiple=True,
    help="LEVEL or CRITERION=LEVEL (nominal, ordinal, interval, ratio); repeatable. Overrides "
    "the rubric's scales; text labels are nominal by default.",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write every table computed as CSV (agreement, human_human, alt_test, ceiling, "
    "estimate, plan, guarantee, latent…) plus run.json with the inputs and settings.",
)
@click.option(
    "--cluster",
    default=None,
    help="A case-metadata field grouping items that are not independent (a case's steps, "
    "several models on one case): intervals resample whole clusters; --estimate is "
    "cluster-robust.",
)
@click.option(
    "--strata", default=None, help="With --estimate: stratified PPI over a case-metadata field."
)
@click.option(
    "--alt-test-pool",
    is_flag=True,
    help="With --alt-test: one test per judge over all criteria's items pooled, as the "
    "alt-test paper runs it (default: per criterion).",
)
@click.option(
    "--guarantee",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Trust or Escalate: the confidence threshold under which the judges abstain, so that "
    "their agreement with humans on the items kept is at least this (with prob. ≥ 1 − δ).",
)
@click.option(
    "--delta",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.1,
    show_default=True,
    help="With --guarantee: the risk that the guarantee fails.",
)
@click.option(
    "--agree-within",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="With --guarantee: an ordinal score within K levels of the humans' counts as agreeing.",
)
@click.option(
    "--latent",
    type=click.Choice(["dawid-skene", "mace"]),
    default=None,
    help="Latent-truth labels of a panel (binary and categorical criteria), with each judge's "
    "confusion matrix and the correlation of the judges' errors.",
)
def calibrate_command(
    judge_path: str, human_path: str, rubric: str | None, out: Path | None,
    ci: float, n_boot: int, seed: int, alt_test: bool, epsilon: float, ceiling: bool,
    estimate: bool, weights: str | None, by: str | None, plan_width: float | None, save: bool,
    level: tuple[str, ...], out_dir: Path | None, cluster: str | None, strata: str | None,
    alt_test_pool: bool, guarantee: float | None, delta: float, agree_within: int,
    latent: str | None,
) -> None:  # fmt: skip
    """Compare judge scores with human scores, per criterion and judge.

    JUDGE is a `judge score` results file, or another tool's scores as a long table (CSV, TSV,
    JSONL or JSON with columns item, criterion, judge, score)."""
    from calibration.errors import CalibrationError
    from calibration.study import StudySettings, load_study, run_study, undefined

    # A CalibrationError is a judge.errors.JudgeError: the `judge` group's error boundary
    # prints it as one line with the exit status of every other bad input.
    if out is not None:
        _check_out(out, (judge_path, human_path, weights))
    if weights is not None and not estimate:
        raise CalibrationError("--weights weighs the --estimate means: add --estimate")
    if strata is not None and not estimate:
        raise CalibrationError("--strata stratifies the --estimate means: add --estimate")
    if alt_test_pool and not (alt_test or save):
        raise CalibrationError("--alt-test-pool pools the alt-test: add --alt-test")
    levels, domains, tuned = _load_rubric_scales(rubric) if rubric else (None, None, frozenset())
    routed = None
    if weights is not None:
        from calibration.routing import load_route_weights

        routed = load_route_weights(weights)
    settings = StudySettings(
        levels=levels, domains=domains, level=level, ci=ci, n_boot=n_boot, seed=seed,
        cluster=cluster, strata=strata, alt_test=alt_test or save, alt_test_pool=alt_test_pool,
        epsilon=epsilon, ceiling=ceiling, estimate=estimate, weights=routed, by=by,
        plan_width=plan_width, guarantee=guarantee, delta=delta, agree_within=agree_within,
        latent=latent, tuned_items=tuned,
    )  # fmt: skip
    if out_dir is not None:
        from judge.cli.calibration_tables import claim_out_dir

        claim_out_dir(out_dir, (judge_path, human_path, weights))
    study = load_study(judge_path, human_path)
    tables = run_study(study, settings)
    table = tables["agreement"]
    _render(table, table.attrs.get("notes", []), ci)
    _render_protocol(table.attrs.get("protocol"))
    from judge.cli.calibration_render import render_study

    render_study(tables, settings)
    if undefined(tables):
        reasons = sorted({n for t in tables.values() if "notes" in t for n in t["notes"] if n})
        raise CalibrationError(
            "every table is undefined: "
            + ("; ".join(reasons[:3]) or "no statistic could be computed")
        )
    if save:
        from judge.cli.calibration_render import save_alt_test, save_guarantee

        click.echo(save_alt_test(judge_path, human_path, tables["alt_test"], epsilon))
        if "guarantee" in tables:
            click.echo(save_guarantee(judge_path, tables["guarantee"]))
    if out is not None:
        _write(table, out)
        click.echo(f"wrote {out}")
    if out_dir is not None:
        from judge.cli.calibration_tables import write_out_dir

        inputs = {"judge": judge_path, "human": human_path, "rubric": rubric, "weights": weights}
        written = write_out_dir(out_dir, tables, settings, inputs)
        click.echo(f"wrote {len(written)} files to {out_dir}: {', '.join(written)}")
