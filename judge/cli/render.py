"""Terminal rendering with rich: the progress bar and the tables the CLI prints.

Model text is printed through `rich.markup.escape` or as plain `Text`, never as markup, so a
prediction holding `[bold]` or control sequences cannot restyle the terminal.
"""

from __future__ import annotations

import math
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

from judge.aggregate.summary import Summary
from judge.contracts import (
    CategoricalScale,
    ContinuousScale,
    Criterion,
    LabelsScale,
    ResultRecord,
    Rubric,
    Scale,
)
from judge.run import Plan, RunResult

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
    """The summary of a run: per-criterion statistics, per-judge costs, notices and skips."""
    summary = result.summary
    for notice in result.notices:
        err_console.print(f"[yellow]note:[/] {escape(notice)}")
    console.print(_criteria_table(summary))
    if summary.by is not None:
        console.print(_slices_table(summary))
    if len(summary.judges) > 1 or any(j.cost_usd for j in summary.judges):
        console.print(_judges_table(summary))
    cost = f"${summary.cost_usd:.4f}" if summary.cost_usd is not None else "unknown"
    console.print(
        f"calls: {summary.calls} ({summary.cached_calls} from cache), "
        f"tokens in/out: {summary.tokens_in}/{summary.tokens_out}, cost: {cost}; "
        f"this run judged {result.judged}, kept {result.resumed} from before"
    )
    for judge, n in summary.failed_calls.items():
        console.print(f"[red]failed calls[/] {escape(judge)}: {n}")
    if result.stopped:
        err_console.print(f"[yellow]stopped early:[/] {escape(result.stopped)}")
    if result.skipped:
        err_console.print(f"[yellow]skipped {len(result.skipped)} invalid lines:[/]")
        for problem in result.skipped[:20]:
            err_console.print(f"  {escape(str(problem))}")
    if result.out is not None:
        console.print(f"results: {escape(str(result.out))}")


def render_plan(plan: Plan) -> None:
    """A dry run: what would be judged and what it should cost."""
    for notice in plan.notices:
        err_console.print(f"[yellow]note:[/] {escape(notice)}")
    e = plan.estimate
    cost = f"${e.cost_usd:.4f}" if e.cost_usd is not None else "unknown"
    console.print(
        f"dry run: {plan.n_items - plan.n_done} of {plan.n_items} items to judge "
        f"({plan.n_done} kept from the results file, {plan.invalid} invalid lines); "
        f"{e.calls} calls, {e.cached} answered by the cache; "
        f"about {e.tokens_in} tokens in, {e.tokens_out} out; estimated cost {cost}"
    )
    if e.unpriced:
        err_console.print("[yellow]no price known for:[/] " + escape(", ".join(sorted(e.unpriced))))


def _criteria_table(summary: Summary) -> Table:
    table = Table(
        title=f"rubric {summary.rubric} — {summary.n_records} records ({_status(summary.status)})"
    )
    panel = any(c.alpha is not None for c in summary.criteria)
    spread = any(c.spread is not None for c in summary.criteria)
    pooled = any(c.pooled is not None for c in summary.criteria)
    table.add_column("criterion", no_wrap=True)
    table.add_column("scale")
    for column in ("mean", "std", "n scored", "n unscored"):
        table.add_column(column, justify="right")
    if panel:
        table.add_column("α judges", justify="right")
    if spread:
        table.add_column("sample sd", justify="right")
    if pooled:
        table.add_column("pooled", justify="right")
    table.add_column("top reason unscored", overflow="fold")
    for c in summary.criteria:
        extra = [_num(c.alpha)] if panel else []
        extra += [_num(c.spread)] if spread else []
        extra += [_num(c.pooled)] if pooled else []
        reason = next(iter(c.reasons), "")[:40]
        table.add_row(
            c.id,
            c.scale,
            _num(c.mean),
            _num(c.std),
            str(c.n_scored),
            str(c.n_unscored),
            *extra,
            escape(reason),
        )
    return table


def _slices_table(summary: Summary) -> Table:
    table = Table(title=f"by {escape(summary.by or '')} (mean per criterion)")
    table.add_column(escape(summary.by or ""), no_wrap=True)
    table.add_column("n", justify="right")
    for c in summary.criteria:
        table.add_column(c.id, justify="right")
    for piece in summary.slices:
        means = [_num(piece.means.get(c.id)) for c in summary.criteria]
        table.add_row(escape(piece.value), str(piece.n), *means)
    return table


def _judges_table(summary: Summary) -> Table:
    table = Table(title="judges")
    table.add_column("judge", no_wrap=True)
    for column in ("calls", "cached", "failed", "tokens in", "tokens out", "cost", "per call"):
        table.add_column(column, justify="right")
    for j in summary.judges:
        table.add_row(
            escape(j.judge),
            str(j.calls),
            str(j.cached),
            str(j.failed),
            str(j.tokens_in),
            str(j.tokens_out),
            _usd(j.cost_usd),
            _usd(j.cost_per_call),
        )
    return table


def _usd(value: float | None) -> str:
    return f"${value:.4f}" if value is not None else "—"


def render_rubric_list() -> None:
    from judge.load.rubric import builtin_rubrics, load_rubric

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
    for stage in rubric.stages:
        console.print(f"\n[bold]stage {escape(stage.id)}[/] ({stage.kind}): ", end="")
        console.print(escape(stage.instructions.strip()))
        if stage.context is not None:
            console.print(f"  sees only: {escape(', '.join(stage.context) or 'nothing')}")
        _render_criteria(stage.criteria, indent="  ")
    _render_criteria(rubric.criteria)


def _render_criteria(criteria: list[Criterion], indent: str = "") -> None:
    for c in criteria:
        when = f" when {c.when}" if c.when else ""
        console.print(
            f"\n{indent}[bold]{escape(c.id)}[/] ({c.scale.type}, {c.method}{escape(when)}, "
            f"weight {c.weight:g}): {escape(c.question)}"
        )
        for level, meaning in _levels(c.scale).items():
            console.print(f"{indent}  {level}: {escape(meaning)}")


def _levels(scale: Scale) -> dict[Any, str]:
    """What each level means; a continuous scale has a range and one description instead."""
    if isinstance(scale, ContinuousScale):
        return {f"{scale.min:g}–{scale.max:g}": scale.description}
    if isinstance(scale, CategoricalScale | LabelsScale):
        return dict(scale.labels)
    return dict(scale.anchors)


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return "undefined" if math.isnan(value) else f"{value:.2f}"


def _status(status: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(status.items())) or "none"
