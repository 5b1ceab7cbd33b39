"""`judge qualify --rubric R --judge M`: run a rubric's test bank against one judge
(judge/study/qualify.py), print per criterion the evidence and the verdict, and keep the
verdict on record beside the calibrations. Only click is imported at module level (the `judge`
CLI imports this on every start).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from judge.cli.options import options_from, run_options

if TYPE_CHECKING:
    from judge.study.qualify import Qualification

__all__ = ["qualify_command", "record_rows", "render"]

# Run options qualify does not take: they shape a results file's run, which qualify does not
# write, or read the items, which the bank holds; a panel's vote is not one judge's.
_NOT_HERE = frozenset(
    {"by", "skip_invalid", "retry_unscored", "batch", "batch_poll", "batch_wait", "cases",
     "id_field", "images", "format", "aggregate"}
)  # fmt: skip


@click.command("qualify")
@click.option("--rubric", "-r", default="ddx", show_default=True, help="A rubric id or file.")
@click.option(
    "--bank",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A test bank file (default: the rubric's built-in bank, rubrics/bank/<rubric>.yaml).",
)
@click.option(
    "--criteria",
    help="Run only these criteria's pairs (comma-separated): a sample, stated in the verdict.",
)
@click.option(
    "--pairs",
    type=click.IntRange(min=1),
    help="Run at most N pairs per criterion (the bank's first): a sample, stated in the verdict.",
)
@click.option("--strict", is_flag=True, help="Exit 4 when a criterion is not qualified.")
@click.option("--no-save", is_flag=True, help="Do not keep the verdict on record.")
@run_options("file", without=_NOT_HERE)
def qualify_command(
    rubric: str,
    bank: Path | None,
    criteria: str | None,
    pairs: int | None,
    strict: bool,
    no_save: bool,
    **values: Any,
) -> None:
    """Run RUBRIC's test bank (single-defect pairs, controls, a noise floor) against one
    judge and say, per criterion, whether the judge is qualified to score it."""
    from judge.cli.exits import ExitStatus
    from judge.study.qualify import qualify

    names = [c.strip() for c in criteria.split(",") if c.strip()] if criteria else None
    result = qualify(rubric, bank=bank, options=options_from(values), criteria=names, pairs=pairs)
    for notice in result.notices:
        click.echo(f"notice: {notice}", err=True)
    if result.stopped:
        click.echo(result.stopped, err=True)
        sys.exit(ExitStatus.STOPPED)
    click.echo(render(result), nl=False)
    if not no_save:
        from calibration.record import save_qualification
        from judge.cli.calibration_render import calibration_db

        db = calibration_db()
        saved = save_qualification(db, record_rows(result))
        click.echo(f"qualification on record: {saved} criteria in {db}")
    if strict and result.count("not qualified"):
        sys.exit(ExitStatus.NOT_QUALIFIED)


def _share(k: int, n: int) -> str:
    return f"{k}/{n}" if n else "-"


def render(result: Qualification) -> str:
    """The qualification as plain text: one line per criterion, then the judge's standing."""
    from judge.study.qualify import SAMPLE

    width = max([24, *(len(c.criterion) for c in result.criteria)])
    lines = [
        f"qualify: judge {result.judge}, rubric {result.rubric} v{result.rubric_version}, "
        f"bank v{result.bank_version} ({result.bank}); noise floor: {result.samples} samples "
        f"at temperature {result.temperature}",
        *([f"run on {result.subset}"] if result.subset else []),
        f"{'criterion':<{width}} {'detected':>8} {'95% CI':>12} {'false':>7} {'controls':>8} "
        f"{'noise':>7} {'unscored':>8}  verdict",
    ]
    for c in result.criteria:
        interval = "-" if math.isnan(c.low) else f"{c.low:.2f}-{c.high:.2f}"
        lines.append(
            f"{c.criterion:<{width}} {_share(c.detected, c.pairs):>8} {interval:>12} "
            f"{_share(c.false_moves, c.false_total):>7} "
            f"{_share(c.control_moves, c.control_total):>8} "
            f"{_share(c.noise_moves, c.noise_total):>7} {c.unscored:>8}  {c.verdict}: {c.reason}"
            + (" (a sample)" if result.subset and c.verdict != SAMPLE else "")
        )
    n = len(result.criteria)
    bad, good = result.count("not qualified"), result.count("qualified")
    sampled = result.count(SAMPLE)
    if sampled:
        # A judge qualified on a sample is not qualified on the bank.
        lines.append(
            f"The judge {result.judge} is NOT QUALIFIED for rubric {result.rubric}: it ran on "
            f"a sample of the bank; qualified on that sample on {sampled} of {n} criteria, not "
            f"qualified on {bad}, inconclusive on {n - sampled - bad}. Run the whole bank to "
            "qualify it."
        )
    elif good == n:
        lines.append(f"The judge {result.judge} is qualified on all {n} criteria.")
    else:
        # A judge is qualified for a rubric only when it is on every criterion it scores.
        lines.append(
            f"The judge {result.judge} is NOT QUALIFIED for rubric {result.rubric}: "
            f"qualified on {good} of {n} criteria, not qualified on {bad}, inconclusive on "
            f"{n - good - bad}"
            + (" (on a sample of the bank)" if result.subset else "")
            + "; do not use its scores where it is not qualified."
        )
    if result.untested:
        lines.append(
            f"Not tested by the bank, so no verdict either way: {', '.join(result.untested)}."
        )
    return "\n".join(lines) + "\n"


def record_rows(result: Qualification) -> list[dict[str, Any]]:
    """The rows `calibration.record.save_qualification` keeps, one per criterion."""
    return [
        {
            "rubric_hash": result.rubric_hash,
            "prompt_hash": result.prompt_hash,
            "rubric": f"{result.rubric} v{result.rubric_version}",
            "criterion": c.criterion,
            "judge": result.judge,
            "verdict": c.verdict,
            "reason": c.reason,
            "pairs": c.pairs,
            "detected": c.detected,
            "low": c.low,
            "high": c.high,
            "false_moves": c.false_moves,
            "false_total": c.false_total,
            "noise_moves": c.noise_moves,
            "noise_total": c.noise_total,
            "noise_samples": result.samples,
            "noise_temperature": result.temperature,
            "bank": result.bank + (f" ({result.subset})" if result.subset else ""),
            "bank_version": result.bank_version,
            "bank_hash": result.bank_hash,
        }
        for c in result.criteria
    ]
