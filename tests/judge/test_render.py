"""The run summary in a terminal (judge/cli/render.py): in 80 columns (the usual default) no
header cell wraps into fragments, and a column that does not fit is dropped with a word."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

from rich.console import Console

import judge
from judge.aggregate.summary import CriterionSummary, JudgeSummary, Summary
from judge.cli.render import render_run
from judge.run import RunResult

EXAMPLES = Path(__file__).parents[2] / "examples" / "predictions.jsonl"


def _render(result: RunResult, width: int) -> list[str]:
    out = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    err = Console(width=width, file=io.StringIO(), color_system=None)
    render_run(result, out=out, err=err)
    return out.export_text().splitlines()


def _header_lines(lines: list[str], first_border: str = "┏") -> list[list[str]]:
    """The header row(s) of each table: the text lines between its top border and the line
    under its header, split into cells."""
    tables, inside = [], False
    for line in lines:
        if line.startswith(first_border):
            tables.append([])
            inside = True
        elif line.startswith("┡"):
            inside = False
        elif inside:
            tables[-1].append(line)
    return [
        [[cell.strip() for cell in row.strip("┃").split("┃")] for row in rows] for rows in tables
    ]  # type: ignore[misc]


def _no_judge_run() -> RunResult:
    rows = [json.loads(line) for line in EXAMPLES.read_text().splitlines()]
    return judge.score(rows, "ddx")  # no judge: every LLM criterion unscored, with a reason


def test_the_first_runs_summary_fits_80_columns_without_wrapped_headers() -> None:
    lines = _render(_no_judge_run(), width=80)
    assert max(map(len, lines)) <= 80
    [header] = _header_lines(lines)
    assert len(header) == 1, f"the header wrapped onto {len(header)} lines: {header}"
    # Each mean has its interval; the scale and reason columns did not fit beside it: the
    # table says so and the reasons follow it, whole.
    assert header[0] == ["criterion", "mean", "95% CI", "std", "scored", "unscored"]
    text = "\n".join(lines)
    assert "no room at 80 columns for the scale or the reasons: listed below" in text
    # final_answer: 7 of the 12 bundled predictions are right, Wilson's [0.32, 0.81].
    [row] = [line for line in lines if line.startswith("│ final_answer ")]
    assert [c.strip() for c in row.strip("│").split("│")][1:3] == ["0.58", "[0.32, 0.81]"]
    assert "no judge configured: evidence_grounding, distractor_elimination" in text


def test_a_wide_terminal_keeps_the_reason_column_in_the_table() -> None:
    lines = _render(_no_judge_run(), width=120)
    [header] = _header_lines(lines)
    assert len(header) == 1
    assert header[0][-1] == "top unscored reason"
    rows = [line for line in lines if line.startswith("│ evidence_grounding")]
    assert rows and rows[0].rstrip("│ ").endswith("no judge configured")
    assert "listed below" not in "\n".join(lines)


def test_a_panels_summary_with_costs_keeps_whole_headers_in_80_columns() -> None:
    criteria = [
        CriterionSummary(
            id="distractor_elimination",
            scale="ordinal",
            n_scored=10,
            n_unscored=2,
            mean=3.1,
            std=0.9,
            reasons={"invalid reply: schema validation failed": 2},
            alpha=0.41,
            spread=0.3,
        )
    ]
    judges = [
        JudgeSummary("anthropic/claude-3-5-haiku-latest", 36, 0, 1, 40_000, 9_000, 0.0912),
        JudgeSummary("openai/gpt-4o-mini", 36, 12, 0, 38_000, 8_500, 0.0123),
    ]
    summary = Summary("ddx", 12, {"scored": 10, "partial": 2}, criteria, judges=judges)
    result = RunResult(summary=summary, out=None, records=[], skipped=[], notices=[])
    lines = _render(result, width=80)
    assert max(map(len, lines)) <= 80
    criteria_header, judges_header = _header_lines(lines)
    # Too narrow for the scale and the std beside the interval: dropped, and said so.
    assert criteria_header == [["criterion", "mean", "95% CI", "scored", "unscored", "α", "spread"]]
    text = "\n".join(lines)
    assert "(no room at 80 columns for the scale, the std or the reasons: listed below)" in text
    assert judges_header == [
        ["judge", "calls", "cached", "failed", "in tok", "out tok", "cost", "per call"]
    ]
    assert "  invalid reply: schema validation failed: distractor_elimination" in lines


def test_slices_with_long_names_keep_every_mean_readable_in_80_columns() -> None:
    # `--by "ICD Chapter"`: chapter titles run to 99 characters and once squeezed the
    # criteria's columns to nothing at 80 columns.
    rows = [json.loads(line) for line in EXAMPLES.read_text().splitlines()]
    for i, row in enumerate(rows):
        row["chapter"] = f"Chapter {i % 3}: diseases of a long-named system, number {i % 3}"
    result = judge.score(rows, "twi", by="chapter")
    narrow, wide = _render(result, width=80), _render(result, width=300)
    assert max(map(len, narrow)) <= 80
    text = "\n".join(narrow)
    assert "slices numbered below" in text
    for n in range(3):
        assert f"Chapter {n}: diseases of a long-named system, number {n} (n=4)" in text
    [_, slices] = _header_lines(narrow)
    assert slices == [["criterion", "slice", "n", "mean", "95% CI"]]
    below = narrow[next(i for i, line in enumerate(narrow) if "numbered below" in line) :]
    rows = [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in below
        if line.startswith("│")
    ]
    # A row per criterion and slice: its n, mean and interval, all whole, each criterion named
    # on its first row.
    criteria = [c.id for c in result.summary.criteria]
    assert [r[0] for r in rows if r[0]] == criteria
    for criterion, piece in itertools.product(result.summary.criteria, result.summary.slices):
        interval = piece.intervals[criterion.id]
        assert interval is not None and interval.method == "bootstrap"
        assert any(r[3:] == [f"{piece.means[criterion.id]:.2f}", interval.text()] for r in rows)
    assert all(r[4].startswith("[") and r[4].endswith("]") for r in rows), rows
    # A terminal wide enough keeps a slice per row, each mean beside its interval.
    [_, by_slice] = _header_lines(wide)
    assert by_slice[0][:2] == ["chapter", "n"]
    assert any(" [" in line and "Chapter 0" in line for line in wide)


def test_a_narrow_table_with_nothing_unscored_lists_no_reasons() -> None:
    # Everything scored (answer accuracy needs no judge), and too narrow for the scale: the
    # caption names the scale only, and no empty "top unscored reason:" heading follows.
    rows = [json.loads(line) for line in EXAMPLES.read_text().splitlines()]
    lines = _render(judge.score(rows, "accuracy"), width=70)
    text = "\n".join(lines)
    assert "(no room at 70 columns for the scale)" in text
    assert "top unscored reason" not in text
