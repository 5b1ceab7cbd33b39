"""`judge rubrics list|show|validate`: the built-in rubrics and checking a rubric file."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["rubrics"]


@click.group()
def rubrics() -> None:
    """List, show and validate rubrics."""


@rubrics.command("list")
def rubrics_list() -> None:
    """The built-in rubrics."""
    from judge.cli.render import render_rubric_list

    render_rubric_list()


@rubrics.command("show")
@click.argument("rubric")
def rubrics_show(rubric: str) -> None:
    """Every criterion and level anchor of RUBRIC (an id or a file)."""
    from judge.cli.render import render_rubric
    from judge.load.rubric import load_rubric

    render_rubric(load_rubric(rubric))


@rubrics.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def rubrics_validate(path: Path) -> None:
    """Check a rubric file; name the line of the first mistake."""
    from judge.load.rubric import load_rubric, rubric_hash

    loaded = load_rubric(path)
    variant = f", {len(loaded.examples)} examples, base {loaded.base.id}" if loaded.base else ""
    click.echo(
        f"{path}: ok — rubric {loaded.id} v{loaded.version}, "
        f"{len(loaded.criteria)} criteria{variant}, hash {rubric_hash(loaded)}"
    )
