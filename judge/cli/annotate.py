"""`judge annotate`: the human-scoring app, and `judge annotate export`.

Both spellings work: `judge annotate predictions.jsonl --rubric ddx --raters alice,bob`
(the group routes a first argument that is not a subcommand to `start`) and
`judge annotate export --out human.csv`. Only click, the standard library and the run options'
declaration (for `--cases`) are imported here; the app's modules load when a command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from judge.cli.options import run_option

__all__ = ["annotate", "app_options", "db_option"]

F = TypeVar("F", bound=Callable[..., Any])


class _DefaultToStart(click.Group):
    """A group whose first argument is a subcommand or, failing that, `start`'s arguments."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        help_names = set(self.get_help_option_names(ctx))
        if args and args[0] not in self.commands and args[0] not in help_names:
            args = ["start", *args]
        return super().parse_args(ctx, args)


def app_options(command: F) -> F:
    """--host, --port and --allow-remote: where the app listens (`judge keys review` too)."""
    command = click.option(
        "--allow-remote",
        is_flag=True,
        help="Allow a --host other machines can reach (plain HTTP: trusted networks only).",
    )(command)
    command = click.option(
        "--port", default=0, show_default="a free port", type=click.IntRange(0, 65535)
    )(command)
    return click.option(
        "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
    )(command)


def db_option(what: str) -> Callable[[F], F]:
    """--db for an export: the database (default: the one *.annotations.sqlite here)."""
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"The {what} database (default: the one *.annotations.sqlite here).",
    )


@click.group(cls=_DefaultToStart)
def annotate() -> None:
    """Score predictions by hand in a local web app, with the rubric the judges use.

    \b
    judge annotate predictions.jsonl --rubric ddx --raters alice,bob,carol --per-item 2
    judge annotate export --out human.csv
    """


@annotate.command("start")
@click.argument("predictions", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rubric", "-r", default="ddx", show_default=True, help="Rubric id or YAML file.")
@click.option("--raters", required=True, help="Comma-separated rater names: alice,bob,carol.")
@click.option(
    "--per-item",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="How many raters score each item (assignment is balanced).",
)
@click.option(
    "--queue",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Annotate only these item ids (one per line), in this order.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The annotation database (default: <predictions>.annotations.sqlite beside it).",
)
@app_options
@click.option("--id-field", default="title", show_default=True, help="The field naming an item.")
@click.option(
    "--results",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A judged run's results: a staged rubric's raters rate the steps its judges rated.",
)
@click.option(
    "--keys",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A keys file (judge keys build): each case's key is shown beside the rubric.",
)
@run_option("cases")
@run_option("images")
def start(
    predictions: Path,
    rubric: str,
    raters: str,
    per_item: int,
    queue: Path | None,
    db: Path | None,
    host: str,
    port: int,
    allow_remote: bool,
    id_field: str,
    results: Path | None,
    keys: Path | None,
    cases: str | None,
    images: str | None,
) -> None:
    """Start the app for PREDICTIONS (JSONL); print one link per rater; Ctrl-C stops it."""
    from judge.annotate.server import run_annotation
    from judge.annotate.study import parse_raters

    run_annotation(
        predictions,
        rubric,
        parse_raters(raters),
        per_item,
        db=db,
        queue=queue,
        host=host,
        port=port,
        allow_remote=allow_remote,
        id_field=id_field,
        on_ready=_print_links,
        results=results,
        cases=cases,
        images=images,
        keys=keys,
    )


@annotate.command("export")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the scores: .csv, .tsv or .jsonl.",
)
@db_option("annotation")
def export(out: Path, db: Path | None) -> None:
    """Write every human score in the long format `judge calibrate --human` reads."""
    from judge.annotate.export import export_scores, find_db

    summary = export_scores(db if db is not None else find_db(), out)
    click.echo(
        f"{summary.path}: {summary.rows} scores ({summary.items} items, {summary.raters} "
        f"raters, {summary.criteria} criteria) from {summary.db}"
    )


def _print_links(study: Any, links: dict[str, str]) -> None:
    # Plain lines, not a rich table: links must stay whole to be copied (rich would wrap).
    total = len(study.items)
    click.echo(
        f"judge annotate: {total} items, rubric {study.rubric.id} v{study.rubric.version}, "
        f"{_rated(study)} rated by people; scores in {study.store.path}"
    )
    for notice in study.notices:
        click.echo(f"note: {notice}")
    for name, link in links.items():
        click.echo(f"  {name:<12} {len(study.queues[name]):>4} items  {link}")
    click.echo("Each link is personal (it carries the rater's token). Ctrl-C stops the app.")


def _rated(study: Any) -> str:
    if study.plan is None:
        return f"{len(study.criteria)} criteria"
    steps = sum(len(u) for u in study.units.values())
    return f"{len(study.plan.criteria)} criteria on each of {steps} steps"
