"""Terminal rendering with rich: the progress bar and the tables the CLI prints.

Model text is printed through `rich.markup.escape` or as plain `Text`, never as markup, so a
prediction holding `[bold]` or control sequences cannot restyle the terminal.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from judge.contracts import CategoricalScale, ContinuousScale, ResultRecord, Rubric, Scale
from judge.run import RunResult

__all__ = ["ProgressBar", "render_rubric", "render_rubric_list", "render_run"]

console = Console(stderr=False)
err_console = Console(stderr=True)


class ProgressBar:
    """A rich progress bar fed by a run (implements `judge.run.Progress`)."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]scoring"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=False,
        )
        self._task: Any = None
        self._unscored = 0

    def __enter__(self) -> ProgressBar:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def start(self, total: int, done: int) -> None:
        self._task = self._progress.add_task("score", total=total, completed=done, status="")

    def advance(self, record: ResultRecord) -> None:
        self._unscored += record.status != "scored"
        status = f"[yellow]{self._unscored} not fully scored" if self._unscored else ""
        self._progress.update(self._task, advance=1, status=status)


def render_run(result: RunResult) -> None:
    """The summary of a run: per-criterion statistics, then costs, notices and skips."""
    summary = result.summary
    for notice in result.notices:
        err_console.print(f"[yellow]note:[/] {escape(notice)}")
    table = Table(
        title=f"rubric {summary.rubric} — {summary.n_records} records ({_status(summary.status)})"
    )
    table.add_column("criterion", no_wrap=True)
    table.add_column("scale")
    for column in ("mean", "std", "n scored", "n unscored"):
        table.add_column(column, justify="right")
    table.add_column("top reason unscored", overflow="fold")
    for c in summary.criteria:
        reason = next(iter(c.reasons), "")[:40]
        table.add_row(
            c.id,
            c.scale,
            _num(c.mean),
            _num(c.std),
            str(c.n_scored),
            str(c.n_unscored),
            escape(reason),
        )
    console.print(table)
    cost = f"${summary.cost_usd:.4f}" if summary.cost_usd is not None else "unknown"
    console.print(
        f"calls: {summary.calls} ({summary.cached_calls} from cache), "
        f"tokens in/out: {summary.tokens_in}/{summary.tokens_out}, cost: {cost}; "
        f"this run judged {result.judged}, kept {result.resumed} from before"
    )
    for judge, n in summary.failed_calls.items():
        console.print(f"[red]failed calls[/] {escape(judge)}: {n}")
    if result.skipped:
        err_console.print(f"[yellow]skipped {len(result.skipped)} invalid lines:[/]")
        for problem in result.skipped[:20]:
            err_console.print(f"  {escape(str(problem))}")
    if result.out is not None:
        console.print(f"results: {escape(str(result.out))}")


def render_rubric_list() -> None:
    from judge.rubric import builtin_rubrics, load_rubric

    table = Table(title="built-in rubrics")
    for column in ("id", "version", "criteria", "description"):
        table.add_column(column)
    for rubric_id in builtin_rubrics():
        rubric = load_rubric(rubric_id)
        table.add_row(
            rubric.id, rubric.version, str(len(rubric.criteria)), escape(rubric.description)
        )
    console.print(table)


def render_rubric(rubric: Rubric) -> None:
    console.print(
        f"[bold]{escape(rubric.id)}[/] v{escape(rubric.version)}: {escape(rubric.description)}"
    )
    console.print(
        f"judges: {escape(' or '.join(rubric.target))}; "
        f"sees: {escape(', '.join(rubric.context) or 'nothing else')}"
    )
    for c in rubric.criteria:
        console.print(
            f"\n[bold]{escape(c.id)}[/] ({c.scale.type}, {c.method}, "
            f"weight {c.weight:g}): {escape(c.question)}"
        )
        for level, meaning in _levels(c.scale).items():
            console.print(f"  {level}: {escape(meaning)}")


def _levels(scale: Scale) -> dict[Any, str]:
    """What each level means; a continuous scale has a range and one description instead."""
    if isinstance(scale, ContinuousScale):
        return {f"{scale.min:g}–{scale.max:g}": scale.description}
    if isinstance(scale, CategoricalScale):
        return dict(scale.labels)
    return dict(scale.anchors)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _status(status: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(status.items())) or "none"
