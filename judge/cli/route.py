"""`judge route`: the queue of items to route to clinicians (judge/study/route.py). Only click is
imported here; the library loads when the command runs."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["route_command"]


@click.command("route")
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--budget", "-n", type=int, default=None, help="How many items people can rate.")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The queue file for `judge annotate --queue` (weights in <out>.weights.json).",
)
@click.option("--by", default=None, help="A case-metadata field to stratify the random draw by.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the random draw.")
@click.option(
    "--rubric",
    "-r",
    default=None,
    help="The rubric RESULTS was judged with (default: the built-in rubric its records name).",
)
@click.option(
    "--escalate",
    is_flag=True,
    help="Queue the items whose panel confidence is under the threshold `judge calibrate "
    "--guarantee --save` recorded (Trust or Escalate), plus an --audit share of the rest.",
)
@click.option(
    "--audit",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.05,
    show_default=True,
    help="With --escalate: the share of kept items queued at random, weighted 1/share.",
)
def route_command(
    results: Path, budget: int | None, out: Path, by: str | None, seed: int,
    rubric: str | None, escalate: bool, audit: float,
) -> None:  # fmt: skip
    """Pick BUDGET items of RESULTS for people to rate: where the panel disagreed most,
    unscored ones, then a recorded random draw. With --escalate: the items under the
    recorded confidence threshold, and an audit draw."""
    from rich.console import Console
    from rich.table import Table

    from judge.errors import ConfigError
    from judge.study.route import REASONS, claim_outputs, route_file, weights_path, write_queue

    if escalate:
        from judge.cli.calibration_render import calibration_db
        from judge.study.escalate import escalate as escalated

        if budget is not None or by is not None:
            raise ConfigError("--escalate queues what the threshold says: no --budget or --by")
        claim_outputs(out)
        queue = escalated(results, calibration_db(), audit=audit, seed=seed)
        write_queue(queue, out)
        click.echo(
            f"{out}: {queue.count('escalated')} escalated (under the guarantee's threshold), "
            f"{queue.count('audit')} audited at random of {queue.n_items} items"
        )
        click.echo(f"wrote {out} and {weights_path(out)}")
        return
    if budget is None:
        raise ConfigError("--budget is needed (or --escalate)")
    queue = route_file(results, budget, out, by=by, seed=seed, rubric=rubric)
    view = Table(title=f"{out.name}: {len(queue.picks)} of {queue.n_items} items (budget {budget})")
    for header in ("picked for", "items", "inclusion probability"):
        view.add_column(header)
    why = {
        "disagreement": "panel disagreement",
        "unscored": "unscored or partial",
        "random": f"random, by {by}" if by else "random",
    }
    for reason in REASONS[:3]:
        probabilities = sorted({p.probability for p in queue.picks if p.reason == reason})
        shown = ", ".join(f"{p:.3g}" for p in probabilities) or "—"
        view.add_row(why[reason], str(queue.count(reason)), shown)
    console = Console()
    console.print(view)
    for stratum in queue.strata if by else ():
        console.print(
            f"  {by} = {stratum.name}: {stratum.picked} of {stratum.available} at random",
            markup=False,
            highlight=False,
        )
    if queue.unrepresented:
        console.print(
            f"note: strata with no item in the queue: {', '.join(queue.unrepresented)} "
            "(a larger budget covers every stratum)",
            markup=False,
        )
    if queue.unscored_left:
        console.print(
            f"note: {queue.unscored_left} unscored or partial records did not fit the budget",
            markup=False,
        )
    click.echo(f"wrote {out} and {weights_path(out)}")
