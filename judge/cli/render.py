"""Terminal rendering with rich: the progress bar and the tables the CLI prints.

Model text is printed through `rich.markup.escape` or as plain `Text`, never as markup, so a
prediction holding `[bold]` or control sequences cannot restyle the terminal.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from judge.aggregate.answers import answer_line
from judge.aggregate.key_counts import draft_warning, keys_sentence
from judge.aggregate.summary import Interval, SliceSummary, Summary
from judge.contracts import (
    CategoricalScale,
    ContinuousScale,
    Criterion,
    LabelsScale,
    ResultRecord,
    Rubric,
    Scale,
)
from judge.errors import InputError
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


def render_run(result: RunResult, out: Console | None = None, err: Console | None = None) -> None:
    """The summary of a run: per-criterion statistics, per-judge costs, notices and skips
    (on `out` and `err`, by default the terminal's stdout and stderr)."""
    stdout, stderr = out or console, err or err_console
    summary = result.summary
    for notice in result.notices:
        stderr.print(f"[yellow]note:[/] {escape(notice)}")
    criteria = _criteria_table(summary, stdout.width)
    stdout.print(criteria)
    reasons = _reasons_below(summary) if criteria.caption else []
    for line in ["top unscored reason:", *reasons] if reasons else []:
        stdout.print(line)
    if summary.answers is not None:
        stdout.print(escape(answer_line(summary.answers)))
    if summary.cluster is not None:
        stdout.print(_cluster_note(summary))
    if summary.by is not None:
        for part in _slices(summary, stdout.width):
            stdout.print(part)
    if summary.clipped:
        stdout.print(_clipped_table(summary))
    if len(summary.judges) > 1 or any(j.cost_usd for j in summary.judges):
        stdout.print(_judges_table(summary))
    cost = f"${summary.cost_usd:.4f}" if summary.cost_usd is not None else "unknown"
    stdout.print(
        f"calls: {summary.calls} ({summary.cached_calls} from cache), "
        f"tokens in/out: {summary.tokens_in}/{summary.tokens_out}, cost: {cost}; "
        f"this run judged {result.judged}, kept {result.resumed} from before"
    )
    for judge, n in summary.failed_calls.items():
        stdout.print(f"[red]failed calls[/] {escape(judge)}: {n}")
    if summary.keys is not None:
        stdout.print(escape(keys_sentence(summary.keys)))
    for warning in [*summary.serving_changes, draft_warning(summary.on_draft_keys)]:
        if warning:
            stdout.print(f"[yellow]warning:[/] {escape(warning)}")
    if result.stopped:
        stderr.print(f"[yellow]stopped early:[/] {escape(result.stopped)}")
    _skipped(result.skipped, "skipped", stderr)
    if summary.missing:
        stdout.print(_missing(summary.missing))
    if result.out is not None:
        stdout.print(f"results: {escape(str(result.out))}")


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
    _skipped(plan.skipped, "--skip-invalid would skip", err_console)
    if plan.missing:
        console.print(_missing(plan.missing))


def _skipped(problems: list[InputError], verb: str, stderr: Console) -> None:
    """The invalid lines --skip-invalid skips, the first 20 each named by file, line, field."""
    if problems:
        stderr.print(f"[yellow]{verb} {len(problems)} invalid lines:[/]")
        for problem in problems[:20]:
            stderr.print(f"  {escape(str(problem))}")


# Ids of missing cases listed by name; the rest are counted.
MISSING_SHOWN = 20


def _missing(ids: list[str]) -> str:
    """The cases no prediction names: counted, and the first ones listed."""
    shown = ", ".join(escape(repr(i)) for i in ids[:MISSING_SHOWN])
    more = f" and {len(ids) - MISSING_SHOWN} more" if len(ids) > MISSING_SHOWN else ""
    return f"[yellow]missing:[/] {len(ids)} cases have no prediction: {shown}{more}"


# The reason column is shown only when it gets at least this many characters (its header,
# "top unscored reason", fits in one line); below that the reasons are listed under the table.
REASON_MIN_WIDTH = 24


def _criteria_table(summary: Summary, width: int | None = None) -> Table:
    """Per-criterion statistics. Headers are short and never wrap; when the terminal is too
    narrow, the reason column, then the scale column, then the std (the interval says more)
    are left out and the caption says so (the reasons then follow the table, see
    `_reasons_below`)."""
    if width is None:
        return _criteria_columns(summary, reason=True, scale=True)
    table = _criteria_columns(summary, reason=False, scale=True)
    if _natural_width(table) + REASON_MIN_WIDTH + 1 <= width:
        return _criteria_columns(summary, reason=True, scale=True)
    dropped = ["the reasons: listed below"] if any(c.reasons for c in summary.criteria) else []
    if _natural_width(table) > width:
        table = _criteria_columns(summary, reason=False, scale=False)
        dropped.insert(0, "the scale")
    if _natural_width(table) > width:
        table = _criteria_columns(summary, reason=False, scale=False, std=False)
        dropped.insert(1, "the std")
    if dropped:
        words = " or ".join([", ".join(dropped[:-1]), dropped[-1]] if len(dropped) > 1 else dropped)
        table.caption = f"(no room at {width} columns for {words})"
    return table


def _criteria_columns(summary: Summary, *, reason: bool, scale: bool, std: bool = True) -> Table:
    table = Table(
        title=f"rubric {summary.rubric} — {summary.n_records} records ({_status(summary.status)})"
    )
    panel = any(c.alpha is not None for c in summary.criteria)
    spread = any(c.spread is not None for c in summary.criteria)
    pooled = any(c.pooled is not None for c in summary.criteria)
    table.add_column("criterion", no_wrap=True)
    if scale:
        table.add_column("scale", no_wrap=True)
    # Short headers, so none wraps: n scored, n unscored, Krippendorff's α among the judges,
    # the spread of a judge's samples (docs/panels.md), and a multi-stage
    # rubric's ratios pooled over all units (the MedThinkVQA protocol's figures).
    headers = ["mean", _ci_header(summary), *(["std"] if std else []), "scored", "unscored"]
    headers += ["α"] if panel else []
    headers += ["spread"] if spread else []
    headers += ["pooled"] if pooled else []
    for column in headers:
        table.add_column(column, justify="right", no_wrap=True)
    if reason:
        table.add_column("top unscored reason", overflow="fold", min_width=REASON_MIN_WIDTH)
    for c in summary.criteria:
        cells = [c.id, *([c.scale] if scale else [])]
        cells += [_num(c.mean), _interval(c.interval), *([_num(c.std)] if std else [])]
        cells += [str(c.n_scored), str(c.n_unscored)]
        cells += [_num(c.alpha)] if panel else []
        cells += [_num(c.spread)] if spread else []
        cells += [_num(c.pooled)] if pooled else []
        cells += [escape(_top_reason(c.reasons))] if reason else []
        table.add_row(*cells)
    return table


def _ci_header(summary: Summary) -> str:
    # "95% CI"; a cluster bootstrap says so, as the caption cannot be relied on (it is dropped).
    return f"{summary.ci * 100:g}% CI" + (" (cl.)" if summary.cluster else "")


def _cluster_note(summary: Summary) -> str:
    clusters = max((c.interval.clusters or 0 for c in summary.criteria if c.interval), default=0)
    return (
        f"(cl.): a cluster bootstrap over {clusters} {escape(repr(summary.cluster))} values, "
        "binary rates too"
    )


def _interval(interval: Interval | None) -> str:
    return interval.text() if interval is not None else "—"


def _top_reason(reasons: dict[str, int]) -> str:
    return next(iter(reasons), "")[:40]


def _natural_width(table: Table) -> int:
    """How wide `table` is when nothing in it wraps."""
    wide = Console(width=10_000)
    return Measurement.get(wide, wide.options, table).maximum


def _reasons_below(summary: Summary) -> list[str]:
    """Each top unscored reason with the criteria it was the top one for."""
    criteria: dict[str, list[str]] = {}
    for c in summary.criteria:
        if c.reasons:
            criteria.setdefault(_top_reason(c.reasons), []).append(c.id)
    return [f"  {escape(r)}: {', '.join(ids)}" for r, ids in criteria.items()]


def _slices(summary: Summary, width: int) -> list[Table | str]:
    """The per-slice means with their intervals: a slice per row when that fits the terminal,
    else a row per criterion and slice, the slices numbered and named below (at 80 columns,
    long values such as ICD chapter titles squeezed the criteria's columns to nothing)."""
    by = escape(summary.by or "")
    # Each column's widest cell ("0.75 [0.30, 0.95]") plus rich's 3 characters of padding
    # and border.
    fits = 3 + max((len(p.value) for p in summary.slices), default=0) + 3 + 6
    fits += sum(max(len(c.id), 17) + 3 for c in summary.criteria)
    if fits <= width:
        table = Table(title=f"by {by} (mean [{_ci_header(summary)}] per criterion)")
        table.add_column(by, no_wrap=True)
        table.add_column("n", justify="right")
        for c in summary.criteria:
            table.add_column(c.id, justify="right")
        for piece in summary.slices:
            cells = [_slice_cell(piece, c.id) for c in summary.criteria]
            table.add_row(escape(piece.value), str(piece.n), *cells)
        return [table]
    table = Table(title=f"by {by} (slices numbered below)")
    table.add_column("criterion", no_wrap=True)
    table.add_column("slice", justify="right", no_wrap=True)
    for column in ("n", "mean", _ci_header(summary)):
        table.add_column(column, justify="right", no_wrap=True)
    for c in summary.criteria:
        rows = [(i, p) for i, p in enumerate(summary.slices, 1) if p.means.get(c.id) is not None]
        for k, (i, piece) in enumerate(rows):
            interval = piece.intervals.get(c.id)
            n = str(interval.n) if interval is not None else "—"
            name = escape(c.id) if k == 0 else ""
            table.add_row(name, f"#{i}", n, _num(piece.means.get(c.id)), _interval(interval))
        if rows:
            table.add_section()
    names = [f"  #{i}: {escape(p.value)} (n={p.n})" for i, p in enumerate(summary.slices, 1)]
    return [table, *names]


def _slice_cell(piece: SliceSummary, criterion: str) -> str:
    mean = piece.means.get(criterion)
    interval = piece.intervals.get(criterion)
    shown = mean is not None and interval is not None and interval.low == interval.low
    return _num(mean) + (f" {interval.text()}" if shown and interval else "")


def _clipped_table(summary: Summary) -> Table:
    # HealthBench's run scores: the mean clipped to [0, 1] and its bootstrap std (docs/rubrics.md).
    table = Table(title="HealthBench scores (mean clipped to [0, 1], bootstrap std)")
    table.add_column("score", overflow="fold")
    level = f"{summary.ci:.0%} CI"
    for column in ("mean", level, "bootstrap std", "n"):
        table.add_column(column, justify="right", no_wrap=True)
    for c in summary.clipped:
        shown = c.interval.text() if c.interval is not None else "—"
        table.add_row(escape(c.key), f"{c.mean:.4f}", shown, f"{c.bootstrap_std:.4f}", str(c.n))
    return table


def _judges_table(summary: Summary) -> Table:
    table = Table(title="judges")
    # A long judge name folds within its cell; the short headers never wrap.
    table.add_column("judge", overflow="fold")
    for column in ("calls", "cached", "failed", "in tok", "out tok", "cost", "per call"):
        table.add_column(column, justify="right", no_wrap=True)
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
    for label, text in (("instructions", rubric.instructions), ("lists first", rubric.key_items)):
        if text:
            console.print(f"\n[bold]{label}[/]: {escape(text.strip())}")
    for stage in rubric.stages:
        console.print(f"\n[bold]stage {escape(stage.id)}[/] ({stage.kind}): ", end="")
        console.print(escape(stage.instructions.strip()))
        if stage.context is not None:
            console.print(f"  sees only: {escape(', '.join(stage.context) or 'nothing')}")
        _render_criteria(stage.criteria, indent="  ")
    _render_criteria(rubric.criteria)
    for gate in rubric.gates:
        console.print(f"gate: {escape(gate.describe())} fails the item ({escape(gate.reason)})")
    if rubric.base is not None:
        base = rubric.base
        console.print(f"\nvariant of {escape(base.id)} v{escape(base.version)} ({base.hash})")
    for n, example in enumerate(rubric.examples, start=1):
        gold = ", ".join(f"{k}={v}" for k, v in example.gold.items())
        console.print(f"\n[bold]example {n}[/] ({escape(gold)}): {escape(example.reason)}")


def _render_criteria(criteria: list[Criterion], indent: str = "") -> None:
    for c in criteria:
        when = f" when {c.when}" if c.when else ""
        console.print(
            f"\n{indent}[bold]{escape(c.id)}[/] ({c.scale.type}, {c.method}{escape(when)}, "
            f"weight {c.weight:g}): {escape(c.question)}"
        )
        for level, meaning in _levels(c.scale).items():
            console.print(f"{indent}  {level}: {escape(meaning)}")
        for rule in _rules(c):
            console.print(f"{indent}  {escape(rule)}")


def _rules(c: Criterion) -> list[str]:
    """What the judge may answer besides a level, and when the level is computed instead."""
    rules = [] if c.higher_is_better else ["lower is better"]
    if not c.required:
        rules.append("optional: unscored where the text does not allow it")
    if c.not_applicable:
        rules.append(f"N/A (unscored) when: {c.not_applicable}")
    if c.if_correct is not None:
        rules.append(f"computed as {c.if_correct} when the chosen answer is correct")
    if c.computed_if is not None:
        rule = c.computed_if
        rules.append(
            f"computed as {rule.level} when {rule.criterion} = {rule.equals}; "
            f"{rule.level} otherwise is unscored (contradicts {rule.criterion})"
        )
    return rules


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
