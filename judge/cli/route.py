"""`judge route`: the queue of items to route to clinicians (judge/study/route.py). Only click is
imported here; the library loads when the command runs."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["route_command"]


@click.command("route")
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--budget", "-n", required=True, type=int, help="How many items people can rate.")
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
def route_command(
    results: Path, budget: int, out: Path, by: str | None, seed: int, rubric: str | None
) -> None:
    """Pick BUDGET items of RESULTS for people to rate: where the panel disagreed most,
    unscored ones, then a recorded random draw."""
    from rich.console import Console
    from rich.table import Table

    from judge.study.route import REASONS, route_file, weights_path

    queue = route_file(results, budget, out, by=by, seed=seed, rubric=rubric)
    view = Table(title=f"{out.name}: {len(queue.picks)} of {queue.n_items} items (budget {budget})")
    for header in ("picked for", "items", "inclusion probability"):
        view.add_column(header)
    why = {
        "disagreement": "panel disagreement",
        "unscored": "unscored or partial",
        "random": f"random, by {by}" if by else "random",
    }
    for reason in REASONS:
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
