"""`judge probe results.jsonl --predictions p.jsonl --judge MODEL --kind length|order|self|
injection`: a bias probe of one judge (judge/study/probe.py), printed and optionally written
as CSV. Only click is imported at module level (the `judge` CLI imports this on every start).
"""

from __future__ import annotations

import csv
import io
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from judge.cli.options import options_from, run_options

if TYPE_CHECKING:
    from judge.study.probe import ProbeResult

__all__ = ["COLUMNS", "probe_command"]

COLUMNS = (
    "criterion",
    "kind",
    "judge",
    "n",
    "shift",
    "low",
    "high",
    "shift_units",
    "low_units",
    "high_units",
    "up",
    "down",
    "n_same",
    "n_other",
    "verdict",
)
# Run options a probe does not take: `--seed` is the probe's own (the sample and the
# perturbations), and the others shape a results file's run, which a probe does not write.
_NOT_HERE = frozenset(
    {"seed", "by", "skip_invalid", "retry_unscored", "batch", "batch_poll", "batch_wait"}
)


@click.command("probe")
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--predictions",
    "-p",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The predictions file RESULTS was judged from.",
)
@click.option("--rubric", "-r", default="ddx", show_default=True, help="A rubric id or file.")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["length", "order", "self", "injection"]),
    help="What to change: pad the text, reorder the options, compare the judge's own model "
    "family with others (needs `generator`), or plant an instruction to the judge.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Items to probe, drawn with --seed (all when there are fewer).",
)
@click.option(
    "--seed",
    "sample_seed",
    type=int,
    default=0,
    show_default=True,
    help="Seeds the sample, the perturbations and the bootstrap.",
)
@click.option(
    "--min-effect",
    type=click.FloatRange(min=0, max=1),
    default=0.05,
    show_default=True,
    help="The smallest shift on the [0, 1] scale called a bias.",
)
@click.option(
    "--fresh-baseline",
    is_flag=True,
    help="Judge the unchanged items again even where RESULTS holds this judge's records.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the table as CSV (never over a file that is not such a table).",
)
@run_options("file", without=_NOT_HERE)
def probe_command(
    results: Path,
    predictions: Path,
    rubric: str,
    kind: str,
    sample: int,
    sample_seed: int,
    min_effect: float,
    fresh_baseline: bool,
    out: Path | None,
    **values: Any,
) -> None:
    """Re-judge a sample of RESULTS' items with one thing changed and report, per criterion,
    the mean score shift with its 95% interval and whether the judge shows that bias."""
    from judge.store.outputs import claim, header_is, write_atomic
    from judge.study.probe import probe

    if out is not None:
        claim(out, header_is(COLUMNS))
    result = probe(
        results,
        predictions,
        rubric,
        kind=kind,
        sample=sample,
        seed=sample_seed,
        min_effect=min_effect,
        fresh_baseline=fresh_baseline,
        options=options_from(values),
    )
    for notice in result.notices:
        click.echo(f"notice: {notice}", err=True)
    click.echo(render(result), nl=False)
    if out is not None:
        write_atomic(out, table_csv(result))
        click.echo(f"wrote {out}")
    if result.stopped:
        from judge.cli.exits import ExitStatus

        click.echo(result.stopped, err=True)
        sys.exit(ExitStatus.STOPPED)


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:+.{digits}f}" if isinstance(value, float) else str(value)


def rows(result: ProbeResult) -> list[dict[str, Any]]:
    """The table as CSV rows (numbers as text; an empty cell where there is none)."""
    found = []
    for s in result.shifts:
        row = {"criterion": s.criterion, "kind": result.kind, "judge": result.judge}
        row.update({k: _number(getattr(s, k)) for k in COLUMNS[3:-1]})
        row.update(n=str(s.n), verdict=s.verdict)
        found.append(row)
    return found


def table_csv(result: ProbeResult) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(result))
    return buffer.getvalue()


def render(result: ProbeResult) -> str:
    """The probe as plain text: what was compared, one line per criterion, the verdicts."""
    lines = [
        f"probe {result.kind}: judge {result.judge}, rubric {result.rubric}, "
        f"{result.items} item(s); shift = {result.compares}",
    ]
    if result.reused_baseline:
        lines.append(f"baseline: {result.reused_baseline} item(s) reused from the results file")
    head = "pairs" if result.kind != "self" else "same/other"
    lines.append(
        f"{'criterion':<24} {head:>10} {'shift [0,1]':>12} {'95% interval':>18} "
        f"{'in units':>9}  verdict"
    )
    for s in result.shifts:
        n = str(s.n) if s.n_same is None else f"{s.n_same}/{s.n_other}"
        interval = f"[{_number(s.low)}, {_number(s.high)}]" if not math.isnan(s.low) else "-"
        lines.append(
            f"{s.criterion:<24} {n:>10} {_number(s.shift):>12} {interval:>18} "
            f"{_number(s.shift_units, 2):>9}  {s.verdict}"
        )
    if result.moved_to_top is not None:
        lines.append(
            f"{result.moved_to_top} of {result.items} item(s) moved toward the top level on at "
            "least one criterion"
        )
    if result.kind == "self":
        lines.append(
            "caveat: the two groups are different predictions, so the difference mixes the "
            "judge's preference for its own family with the quality of each family's answers"
        )
    return "\n".join(lines) + "\n"
