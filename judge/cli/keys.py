"""`judge keys`: case keys, one reviewed checklist per case (issue #25).

    judge keys schema                                   the format, as a JSON Schema
    judge keys build preds.jsonl --judge M --out keys.jsonl
    judge keys review keys.jsonl --cases cases.jsonl --raters ana:clinician
    judge keys export --out reviewed.jsonl

Only click and the run options' declaration are imported at module level; the library
(judge.study.key_writer, judge.annotate.key_app) loads when a command runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from judge.cli.annotate import app_options, db_option
from judge.cli.options import options_from, run_option, run_options

__all__ = ["keys"]

# Run options build does not take: a key is one writer's, drafted once per case, not scored.
_NOT_HERE = frozenset(
    {"by", "cluster", "ci", "skip_invalid", "retry_unscored", "batch", "batch_poll",
     "batch_wait", "export_batch", "import_batch", "no_live", "images", "samples",
     "aggregate", "judge_concurrency"}
)  # fmt: skip


@click.group()
def keys() -> None:
    """Case keys: one checklist per case, drafted from the case material, reviewed by a
    clinician, ticked by every judge and rater."""


@keys.command("schema")
def schema() -> None:
    """Print the JSON Schema of a case key (one line of a keys file)."""
    from judge.contracts.case_keys import CaseKey

    click.echo(json.dumps(CaseKey.model_json_schema(), indent=2, ensure_ascii=False))


@keys.command("build")
@click.argument("cases_file", metavar="CASES", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The keys file (JSONL); an earlier build's is resumed.",
)
@click.option("--dry-run", is_flag=True, help="Count the calls and estimate the cost only.")
@run_options("file", without=_NOT_HERE)
def build(cases_file: str | None, out: Path, dry_run: bool, **values: Any) -> None:
    """Draft a key for each case of CASES (a predictions file; or, without it, the --cases
    file) with one judge model. The writer sees the case material only, never an answer."""
    from judge.cli.exits import ExitStatus
    from judge.study.key_writer import build_keys

    options = options_from(values)
    result = build_keys(cases_file, out, options=options, dry_run=dry_run, on_plan=_print_plan)
    for notice in result.notices:
        click.echo(f"notice: {notice}", err=True)
    if dry_run:
        return
    click.echo(
        f"{out}: {result.drafted} keys drafted (${result.spent_usd:.4f}), "
        f"{len(result.failed)} failed"
    )
    if result.failed:
        click.echo(
            f"no key for {', '.join(result.failed[:5])}"
            + (" …" if len(result.failed) > 5 else "")
            + ": the writer's reply failed; the same command retries them",
            err=True,
        )
    if result.stopped:
        click.echo(result.stopped, err=True)
        sys.exit(ExitStatus.STOPPED)


@keys.command("review")
@click.argument("keys_file", metavar="KEYS", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--raters",
    required=True,
    help="Comma-separated reviewers with their role: ana:clinician,bob:author.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The review database (default: <keys>.annotations.sqlite beside it).",
)
@click.option(
    "--per-key",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="How many reviewers see each key (they share its one state; the last to finish is "
    "its reviewer).",
)
@app_options
@click.option("--id-field", default="title", show_default=True, help="The field naming a case.")
@click.option(
    "--predictions",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A predictions file holding the cases (instead of, or joined to, --cases).",
)
@run_option("cases")
def review(
    keys_file: Path,
    raters: str,
    db: Path | None,
    per_key: int,
    host: str,
    port: int,
    allow_remote: bool,
    id_field: str,
    predictions: Path | None,
    cases: str | None,
) -> None:
    """Review KEYS in a local web app: each reviewer reads the case and its drafted items,
    accepts, edits, deletes or adds items and sets their points; every edit is recorded."""
    from judge.annotate.key_app import run_review

    run_review(
        keys_file,
        raters,
        host=host,
        port=port,
        allow_remote=allow_remote,
        on_ready=_print_links,
        predictions=predictions,
        cases=cases,
        id_field=id_field,
        db=db,
        per_key=per_key,
    )


@keys.command("export")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The reviewed keys file (JSONL).",
)
@db_option("review")
def export(out: Path, db: Path | None) -> None:
    """Write the keys as reviewed: edited items, the edits, and who finished each review."""
    from judge.annotate.export import find_db
    from judge.annotate.key_export import export_keys

    summary = export_keys(db if db is not None else find_db(), out)
    click.echo(
        f"{summary.path}: {summary.keys} keys, {summary.reviewed} reviewed "
        f"({summary.edits} edits) from {summary.db}"
    )


def _print_plan(result: Any) -> None:
    """What the build will do and cost, before any call."""
    cost = result.estimate.cost_usd
    priced = "unknown (no price)" if cost is None else f"${cost:.4f}"
    todo = result.cases - result.kept
    click.echo(
        f"{result.cases} cases: {result.kept} keyed already, {todo} to draft "
        f"({result.estimate.cached} calls cached); estimated cost {priced}"
    )


def _print_links(review: Any, links: dict[str, str]) -> None:
    # Plain lines: links must stay whole to be copied.
    click.echo(f"judge keys review: {len(review.keys)} keys; edits in {review.store.path}")
    for name, link in links.items():
        role = review.roles[name]
        click.echo(f"  {name:<12} {role:<9} {len(review.queues[name]):>4} keys  {link}")
    click.echo("Each link is personal (it carries the reviewer's token). Ctrl-C stops the app.")
