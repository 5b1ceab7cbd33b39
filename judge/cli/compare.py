"""`judge compare a.jsonl b.jsonl`: judge drift or model A against model B, per criterion.

Only click (and the shared click options) at module level (the `judge` CLI imports this module
on every start).
"""

from __future__ import annotations

from pathlib import Path

import click

from judge.cli.options import interval_options

__all__ = ["compare_command"]


def _label(value: object) -> str:
    """A score as the rubric writes it: 5, not 5.0."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


@click.command("compare")
@click.argument("run_a", type=click.Path(dir_okay=False))
@click.argument("run_b", type=click.Path(dir_okay=False))
@click.option(
    "--mode",
    type=click.Choice(["auto", "drift", "models"]),
    default="auto",
    show_default=True,
    help="drift: two judges/prompts/rubrics on the same predictions; models: two "
    "models judged alike on the same cases; auto: drift when judges, prompt or rubric "
    "differ.",
)
@click.option(
    "--allow-rubric-change",
    is_flag=True,
    help="Compare runs of different rubric hashes as the same criteria.",
)
@click.option(
    "--allow-served-change",
    is_flag=True,
    help="Compare runs whose judges the providers served by different models or system "
    "fingerprints (the records' served_model, system_fingerprint).",
)
@click.option(
    "--cluster",
    default=None,
    help="Case-metadata field grouping repeated samples of a case (bootstrap resamples "
    "whole cases).",
)
@click.option(
    "--human-a",
    type=click.Path(dir_okay=False),
    default=None,
    help="Human scores of run a's outputs: with --human-b, the PPI++ corrected "
    "difference a − b per criterion.",
)
@click.option(
    "--human-b",
    type=click.Path(dir_okay=False),
    default=None,
    help="Human scores of run b's outputs (same cases as --human-a).",
)
@interval_options
@click.option(
    "--flips",
    "show_flips",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="How many flipped items to list per criterion.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the per-criterion table (.csv or .json); flips go beside it.",
)
def compare_command(
    run_a: str,
    run_b: str,
    mode: str,
    allow_rubric_change: bool,
    allow_served_change: bool,
    cluster: str | None,
    human_a: str | None,
    human_b: str | None,
    ci: float,
    n_boot: int,
    seed: int,
    show_flips: int,
    out: Path | None,
) -> None:
    """Compare two results files of `judge score` on the items they share."""
    from calibration.compare import compare_runs, ppi_difference_table
    from calibration.errors import CalibrationError
    from calibration.loaders import load_human_scores
    from calibration.runs import load_run
    from judge.cli.calibration_render import number, print_table

    # A CalibrationError is a judge.errors.JudgeError: the `judge` group prints it as one
    # line with exit status 2, like every other bad input.
    if out is not None:
        if out.suffix.lower() not in (".csv", ".json"):
            raise CalibrationError(f"--out must end in .csv or .json, got {out.name!r}")
        from calibration.tables import is_table
        from judge.store.outputs import claim

        inputs = (run_a, run_b, human_a, human_b)
        for path in (out, out.with_name(f"{out.stem}.flips{out.suffix}")):
            claim(path, is_table, inputs=inputs)  # earlier tables of ours, or no files
    if (human_a is None) != (human_b is None):
        raise CalibrationError("give both --human-a and --human-b, or neither")
    a, b = load_run(run_a), load_run(run_b)
    result = compare_runs(
        a,
        b,
        mode=mode,
        allow_rubric_change=allow_rubric_change,
        allow_served_change=allow_served_change,
        cluster=cluster,
        ci=ci,
        n_boot=n_boot,
        seed=seed,
    )
    corrected = None
    if human_a is not None and human_b is not None:
        corrected = ppi_difference_table(
            a, b, load_human_scores(human_a), load_human_scores(human_b), ci=ci,
            cluster=cluster,
        )  # fmt: skip
    click.echo(f"a = {run_a}\nb = {run_b}\nmode: {result.reason}")
    drift = result.mode == "drift"
    name = "shift" if drift else "diff"
    headers = [
        "criterion",
        "n",
        "flips",
        "agreement",
        "κ",
        "mean a",
        "mean b",
        "shift b−a" if drift else "diff a−b",
    ]
    headers += [] if drift else ["wins a / b / ties", "McNemar p"]
    rows = []
    for r in result.table.to_dict("records"):
        row = [
            str(r["criterion"]),
            number(r["n"]),
            number(r["flips"]),
            number(r["agreement"]),
            number(r["kappa"]),
            number(r.get("mean_a"), 3),
            number(r.get("mean_b"), 3),
            f"{number(r.get(name), 3)} [{number(r.get(f'{name}_low'), 3)}, "
            f"{number(r.get(f'{name}_high'), 3)}]",
        ]
        if not drift:
            wins = (
                f"{number(r.get('wins_a'))} / {number(r.get('wins_b'))} / {number(r.get('ties'))}"
            )
            row += [wins, number(r.get("mcnemar_p"), 4)]
        rows.append(row)
    print_table(f"Run comparison ({ci:.0%} paired bootstrap intervals)", headers, rows)
    for note in result.notes:
        click.echo(f"note: {note}")
    if corrected is not None:
        from judge.cli.calibration_render import render_difference

        render_difference(corrected, ci)
    for criterion, sub in result.flips.groupby("criterion", sort=True):
        click.echo(f"flips in {criterion} ({len(sub)}):")
        for flip in sub.head(show_flips).to_dict("records"):
            click.echo(f"  {flip['item']}: {_label(flip['a'])} -> {_label(flip['b'])}")
        if len(sub) > show_flips:
            click.echo(f"  … and {len(sub) - show_flips} more")
    if out is not None:
        flips_path = out.with_name(f"{out.stem}.flips{out.suffix}")
        from calibration.tables import table_text
        from judge.store.outputs import write_atomic

        for frame, path in ((result.table, out), (result.flips, flips_path)):
            write_atomic(path, table_text(frame, out.suffix, "compare"))
        click.echo(f"wrote {out} and {flips_path}")
