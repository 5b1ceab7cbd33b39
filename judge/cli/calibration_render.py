"""Terminal rendering of `judge calibrate --alt-test / --ceiling / --estimate` (rich tables)."""

from __future__ import annotations

import math
from typing import Any

import click

__all__ = [
    "number",
    "print_results_status",
    "print_run_status",
    "print_table",
    "render_alt_test",
    "render_ceiling",
    "render_difference",
    "render_estimate",
    "render_plan",
    "run_validity",
    "save_alt_test",
]


def number(value: Any, digits: int = 2) -> str:
    """A figure for the terminal; missing or NaN as an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(title: str, headers: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    view = Table(title=title)
    for header in headers:
        view.add_column(header, overflow="fold")
    for row in rows:
        view.add_row(*row)
    Console().print(view)


def _notes(table: Any) -> None:
    from rich.console import Console

    console = Console()
    for row in table.to_dict("records"):
        if row.get("notes"):
            where = " / ".join(str(row[k]) for k in ("criterion", "judge", "slice") if row.get(k))
            console.print(f"[dim]{where}: {row['notes']}", markup=False, highlight=False)


def render_alt_test(table: Any, epsilon: float, q: float) -> None:
    rows = [
        [
            str(r["criterion"]),
            str(r["judge"]),
            number(r.get("omega")),
            number(r.get("advantage")),
            "passed" if r["passed"] else ("failed" if r.get("tested") else "not tested"),
            f"{number(r.get('tested'))} tested, {number(r.get('skipped'))} skipped",
            r["metric"],
        ]
        for r in table.to_dict("records")
    ]
    headers = ["criterion", "judge", "ω", "advantage", "verdict", "annotators", "metric"]
    print_table(
        f"Alternative annotator test (ε = {epsilon}, BY q = {q}; pass at ω ≥ 0.5)", headers, rows
    )
    _notes(table)


def render_ceiling(table: Any) -> None:
    rows = []
    for r in table.to_dict("records"):
        n = r.get("n_humans")
        rank = f"{r['rank']} of {int(n) + 1}" if isinstance(n, int | float) and n == n else "—"
        spread = f"{number(r.get('humans_min'))}–{number(r.get('humans_max'))}"
        rows.append(
            [
                str(r["criterion"]),
                str(r["judge"]),
                r["metric"] or "—",
                number(r.get("value")),
                rank,
                spread,
                number(r.get("humans_median")),
                number(r.get("within_human_range")),
            ]
        )
    headers = ["criterion", "judge", "statistic", "judge", "rank", "humans", "median", "in range"]
    print_table(
        "Human ceiling: each human against the others, the judge against all", headers, rows
    )
    _notes(table)


def _interval(row: dict[str, Any], value: str, low: str, high: str) -> str:
    return f"{number(row.get(value), 3)} [{number(row.get(low), 3)}, {number(row.get(high), 3)}]"


def render_estimate(table: Any, ci: float, routed: bool = False) -> None:
    rows = []
    for r in table.to_dict("records"):
        ppi = _interval(r, "estimate", "low", "high")
        classical = _interval(r, "classical", "classical_low", "classical_high")
        rows.append(
            [
                str(r["criterion"]),
                str(r["judge"]),
                str(r.get("slice") or "—"),
                ppi,
                number(r.get("naive"), 3),
                classical,
                f"{number(r.get('n'))} / {number(r.get('N'))}",
            ]
        )
    headers = [
        "criterion",
        "judge",
        "slice",
        "PPI++ mean",
        "judge mean",
        "humans only",
        "n rated / N judged" if routed else "n rated / N other",
    ]
    how = "; routed: inverse-probability weights" if routed else ""
    print_table(f"Bias-corrected means ({ci:.0%} intervals{how})", headers, rows)
    _notes(table)


def render_difference(table: Any, ci: float) -> None:
    """`judge compare --human-a/--human-b`: the PPI++ corrected difference a − b."""
    rows = [
        [
            str(r["criterion"]),
            _interval(r, "estimate", "low", "high"),
            number(r.get("naive"), 3),
            _interval(r, "classical", "classical_low", "classical_high"),
            f"{number(r.get('n'))} / {number(r.get('N'))}",
        ]
        for r in table.to_dict("records")
    ]
    headers = ["criterion", "PPI++ a − b", "judge a − b", "humans only", "n rated / N other"]
    print_table(f"Bias-corrected difference a − b ({ci:.0%} intervals)", headers, rows)
    _notes(table)


def render_plan(table: Any, width: float, ci: float) -> None:
    rows = [
        [
            str(r["criterion"]),
            str(r["judge"]),
            str(r.get("slice") or "—"),
            number(r.get("n_pilot")),
            number(r.get("ppi_corr")),
            number(r.get("labels_needed")),
            number(r.get("classical_needed"), 0),
            number(r.get("N")),
            number(r.get("reachable")),
        ]
        for r in table.to_dict("records")
    ]
    headers = [
        "criterion",
        "judge",
        "slice",
        "pilot labels",
        "PPI corr",
        "labels needed",
        "humans only",
        "judged items",
        "reachable",
    ]
    print_table(f"Human labels for a {ci:.0%} interval {width} wide", headers, rows)
    _notes(table)


def run_validity(
    judge_path: str,
    human_path: str,
    levels: Any,
    domains: Any,
    *,
    alt_test: bool,
    epsilon: float,
    ceiling: bool,
    estimate: bool,
    by: str | None,
    ci: float,
    plan_width: float | None = None,
    weights: str | None = None,
) -> dict[str, Any]:
    """Compute and print the asked-for tables; returns them by name (for --out and --save).
    `weights`: a `judge route` weights sidecar, for human scores of a routed queue."""
    import pandas as pd

    from calibration.errors import CalibrationError
    from calibration.loaders import load_human_scores, load_judge_results
    from calibration.runs import load_meta
    from calibration.validity import alt_test_table, ceiling_table, estimate_table, plan_table

    human = load_human_scores(human_path, judge_results=judge_path)
    long = pd.concat([load_judge_results(judge_path), human])
    tables: dict[str, Any] = {}
    if alt_test:
        tables["alt_test"] = alt_test_table(long, levels, epsilon=epsilon)
        render_alt_test(tables["alt_test"], epsilon, 0.05)
    if ceiling:
        tables["ceiling"] = ceiling_table(long, levels, domains)
        render_ceiling(tables["ceiling"])
    slices = None
    if by is not None and (estimate or plan_width is not None):
        meta = load_meta(judge_path)
        if by not in meta.columns:
            raise CalibrationError(f"{judge_path}: no case-metadata field {by!r} for --by")
        slices = meta[by]
    if estimate:
        from calibration.routing import load_route_weights

        routed = None if weights is None else load_route_weights(weights)
        tables["estimate"] = estimate_table(long, levels, ci=ci, by=slices, weights=routed)
        render_estimate(tables["estimate"], ci, routed=routed is not None)
    if plan_width is not None:
        tables["plan"] = plan_table(long, levels, width=plan_width, ci=ci, by=slices)
        render_plan(tables["plan"], plan_width, ci)
    return tables


def calibration_db() -> Any:
    """The project's SQLite home for calibrations (beside `judge`'s call cache)."""
    from calibration.record import DB_NAME

    try:
        from judge.store.cache import judge_home
    except ImportError as err:  # calibration installed without the judge package
        from calibration.errors import CalibrationError

        raise CalibrationError(f"--save needs the judge package's home ({err})") from err
    return judge_home() / DB_NAME


def save_alt_test(judge_path: str, human_path: str, table: Any, epsilon: float) -> str:
    """Store the alt-test rows with what they were measured on; the line to print."""
    from calibration.errors import CalibrationError
    from calibration.loaders import load_human_scores
    from calibration.record import save_verdicts
    from calibration.runs import load_run

    run = load_run(judge_path)
    if len(run.rubric_hashes) != 1 or len(run.prompt_hashes) != 1:
        raise CalibrationError(
            f"{judge_path} mixes rubric or prompt versions; --save needs one of each"
        )
    human = load_human_scores(human_path, judge_results=judge_path)
    judged = set(run.scores["item"])
    counts = {
        str(c): (len(set(sub["item"]) & judged), int(sub["rater"].nunique()))
        for c, sub in human.groupby("criterion")
    }  # fmt: skip
    db = calibration_db()
    n = save_verdicts(
        db, table, rubric_hash=next(iter(run.rubric_hashes)),
        prompt_hash=next(iter(run.prompt_hashes)), rubric=", ".join(sorted(run.rubrics)),
        epsilon=epsilon, counts=counts,
    )  # fmt: skip
    return f"saved {n} alt-test verdict(s) to {db}"


def print_run_status(
    *, rubric_hash: str, prompt_hash: str, criteria: list[str], judges: list[str]
) -> None:
    """Print the calibration lines of a run that just ended (`judge score`): from what the run
    knows, without reading its results file again."""
    from calibration.record import status_lines

    lines = status_lines(
        calibration_db(),
        rubric_hash=rubric_hash,
        prompt_hash=prompt_hash,
        criteria=criteria,
        judges=judges,
    )
    for line in lines:
        click.echo(f"calibration: {line}")


def print_results_status(results: Any) -> None:
    """Print the calibration lines of a results file (for `judge score` and `judge report`)."""
    from calibration.errors import CalibrationError
    from calibration.record import results_status

    try:
        lines = results_status(results, calibration_db())
    except CalibrationError as err:  # an unreadable results file: the run's own report said so
        lines = [f"calibration: {err}"]
    for line in lines:
        click.echo(line if line.startswith("calibration:") else f"calibration: {line}")
