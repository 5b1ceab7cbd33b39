"""Terminal rendering of `judge calibrate --alt-test / --ceiling / --estimate` (rich tables)."""

from __future__ import annotations

import math
from typing import Any

import click

__all__ = [
    "console",
    "count",
    "number",
    "print_results_status",
    "print_run_status",
    "print_table",
    "render_alt_test",
    "render_ceiling",
    "render_difference",
    "render_estimate",
    "render_plan",
    "render_study",
    "save_alt_test",
    "save_guarantee",
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


def count(value: Any) -> str:
    """A count for the terminal: 1600, not 1600.00 (a column of counts with a gap is float)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return number(value)


def print_table(title: str, headers: list[str], rows: list[list[str]]) -> None:
    from rich.table import Table

    view = Table(title=title)
    for header in headers:
        view.add_column(header, overflow="fold")
    for row in rows:
        view.add_row(*row)
    console().print(view)


def _notes(table: Any) -> None:
    out = console()
    for row in table.to_dict("records"):
        if row.get("notes"):
            keys = ("criterion", "judge", "slice")
            where = " / ".join(number(row.get(k)) for k in keys if number(row.get(k)) != "—")
            # The notes are data (names, errors): shown as text, dim, never as markup.
            out.print(f"{where}: {row['notes']}", style="dim", markup=False, highlight=False)


def render_alt_test(table: Any, epsilon: float, q: float) -> None:
    rows = [
        [
            str(r["criterion"]),
            str(r["judge"]),
            number(r.get("omega")),
            number(r.get("advantage")),
            str(r["verdict"]),
            f"{count(r.get('tested'))} tested, {count(r.get('skipped'))} skipped",
            r["metric"],
        ]
        for r in table.to_dict("records")
    ]
    headers = ["criterion", "judge", "ω", "advantage", "verdict", "annotators", "metric"]
    print_table(
        f"Alternative annotator test (ε = {epsilon}, BY q = {q}; pass at ω ≥ 0.5)", headers, rows
    )
    computed = table.attrs.get("computed")
    if computed:  # once, not a "cannot pass" row per criterion for a judge that is not one
        names = ", ".join(computed)
        console().print(
            f"{names}: computed scores, not an LLM judge's: left out of the alt-test (the "
            "agreement table compares them with the humans as computed values)",
            markup=False, highlight=False,
        )  # fmt: skip
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
                number(r.get("slice")),
                ppi,
                number(r.get("naive"), 3),
                classical,
                f"{count(r.get('n'))} / {count(r.get('N'))}",
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
            f"{count(r.get('n'))} / {count(r.get('N'))}",
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
            number(r.get("slice")),
            count(r.get("n_pilot")),
            number(r.get("ppi_corr")),
            count(r.get("labels_needed")),
            number(r.get("classical_needed"), 0),
            count(r.get("N")),
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


def render_study(tables: dict[str, Any], settings: Any) -> None:
    """Print the tables `run_study` computed beyond the agreement table, in a fixed order."""
    if "human_human" in tables:
        render_human_human(tables["human_human"])
    if "alt_test" in tables:
        render_alt_test(tables["alt_test"], settings.epsilon, 0.05)
    if "ceiling" in tables:
        render_ceiling(tables["ceiling"])
    if "estimate" in tables:
        render_estimate(tables["estimate"], settings.ci, routed=settings.weights is not None)
    if "plan" in tables:
        render_plan(tables["plan"], settings.plan_width, settings.ci)
    if "guarantee" in tables:
        render_guarantee(tables["guarantee"])
    if "latent" in tables:
        render_latent(tables)


def render_human_human(table: Any) -> None:
    if table.empty or (table["n_humans"] < 2).all():
        return
    columns = ("agree", "kappa_pairwise", "mae", "pearson", "fleiss_kappa", "alpha")
    rows = [
        [str(r["criterion"]), number(r["n_humans"]), number(r["n_items"]),
         *(number(r.get(c)) for c in columns)]
        for r in table.to_dict("records")
    ]  # fmt: skip
    headers = ["criterion", "humans", "items", "agree", "mean κ", "MAE", "Pearson", "Fleiss κ", "α"]
    print_table("Human–human agreement (the ceiling any judge is read against)", headers, rows)
    _notes(table)


def render_guarantee(table: Any) -> None:
    rows = [
        [
            str(r["criterion"]),
            number(r.get("threshold"), 3),
            number(r.get("coverage")),
            number(r.get("agreement")),
            number(r.get("bound"), 3),
            number(r.get("guaranteed")),
            f"{number(r.get('n_kept'))} / {number(r.get('n'))}",
        ]
        for r in table.to_dict("records")
    ]
    headers = ["criterion", "threshold", "coverage", "agreement", "risk bound", "guaranteed",
               "kept / items"]  # fmt: skip
    target = (
        table["target"].dropna().iloc[0]
        if "target" in table and table["target"].notna().any()
        else None
    )
    what = f"agreement ≥ {target:g}" if target is not None else "agreement"
    print_table(f"Trust or Escalate: confidence threshold for {what}", headers, rows)
    _notes(table)


def render_latent(tables: dict[str, Any]) -> None:
    confusion = tables.get("confusion")
    if confusion is None or confusion.empty:
        console().print("latent labels: no binary or categorical criterion with two judges")
        return
    rows = []
    for (criterion, judge), sub in confusion.groupby(["criterion", "judge"], sort=True):
        diagonal = sub[sub["answered"] == sub["true"]]["probability"]
        rows.append([str(criterion), str(judge), number(float(diagonal.mean()))])
    print_table("Latent-truth panel: each judge's mean P(answer = truth)",
                ["criterion", "judge", "accuracy"], rows)  # fmt: skip
    correlation = tables.get("error_correlation")
    if correlation is not None and not correlation.empty:
        rows = [
            [
                str(r["criterion"]),
                f"{r['judge_a']} / {r['judge_b']}",
                number(r["error_correlation"]),
            ]
            for r in correlation.to_dict("records")
        ]
        print_table("Correlation of the judges' errors on human-labelled items",
                    ["criterion", "judges", "r"], rows)  # fmt: skip


def console() -> Any:
    """A rich console that does not wrap tables at 80 columns when piped to a file."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


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


def save_guarantee(judge_path: str, table: Any) -> str:
    """Store the guarantee thresholds with the run's hashes and panel; the line to print."""
    from calibration.errors import CalibrationError
    from calibration.record import save_guarantees
    from calibration.runs import load_run

    run = load_run(judge_path)
    if len(run.rubric_hashes) != 1 or len(run.prompt_hashes) != 1:
        raise CalibrationError(
            f"{judge_path} mixes rubric or prompt versions; --save needs one of each"
        )
    db = calibration_db()
    n = save_guarantees(
        db, table, rubric_hash=next(iter(run.rubric_hashes)),
        prompt_hash=next(iter(run.prompt_hashes)), rubric=", ".join(sorted(run.rubrics)),
        judges=sorted(run.judges),
    )  # fmt: skip
    return f"saved {n} guarantee threshold(s) to {db}"


def print_run_status(
    *, rubric_hash: str, prompt_hash: str, criteria: list[str], judges: list[str]
) -> None:
    """Print the calibration and qualification lines of a run that just ended (`judge score`):
    from what the run knows, without reading its results file again."""
    from calibration.record import qualification_lines, status_lines

    what = {"rubric_hash": rubric_hash, "prompt_hash": prompt_hash}
    for line in status_lines(calibration_db(), **what, criteria=criteria, judges=judges):
        click.echo(f"calibration: {line}")
    for line in qualification_lines(calibration_db(), **what, criteria=criteria, judges=judges):
        click.echo(f"qualification: {line}")


def print_results_status(results: Any) -> None:
    """Print the calibration and qualification lines of a results file (for `judge score` and
    `judge report`)."""
    from calibration.errors import CalibrationError
    from calibration.record import results_qualification, results_status

    try:
        lines = results_status(results, calibration_db())
        qualified = results_qualification(results, calibration_db())
    except CalibrationError as err:  # an unreadable results file: the run's own report said so
        lines, qualified = [f"calibration: {err}"], []
    for line in lines:
        click.echo(line if line.startswith("calibration:") else f"calibration: {line}")
    for line in qualified:
        click.echo(f"qualification: {line}")
