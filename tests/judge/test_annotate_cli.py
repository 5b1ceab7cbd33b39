"""The `judge annotate` command: both spellings, option checks, and a real server process
killed with SIGKILL after a submit (nothing submitted is lost, links survive a restart)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from test_annotate_support import RATED, rate, write_predictions

from judge.annotate.assign import assign
from judge.cli.annotate import annotate
from judge.errors import ConfigError, InputError

# Through the `judge` group, whose error boundary sets the exit statuses.
_START = "import sys; from judge.cli import cli; cli(['annotate', *sys.argv[1:]])"


def test_group_help_lists_both_commands() -> None:
    result = CliRunner().invoke(annotate, ["--help"])
    assert result.exit_code == 0
    assert "start" in result.output and "export" in result.output


@pytest.mark.parametrize(
    ("extra", "error", "match"),
    [
        (["--raters", "alice,alice"], ConfigError, "more than once"),
        (["--raters", "alice", "--per-item", "2"], ConfigError, "at least 2 raters"),
        (["--raters", "alice", "--host", "0.0.0.0"], ConfigError, "--allow-remote"),
        (["--raters", "alice", "--rubric", "twi"], ConfigError, "no criteria people rate"),
    ],
)
def test_a_predictions_path_routes_to_start(
    tmp_path: Path, extra: list[str], error: type[Exception], match: str
) -> None:
    predictions = tmp_path / "p.jsonl"
    write_predictions(predictions)
    result = CliRunner().invoke(annotate, [str(predictions), *extra])
    assert isinstance(result.exception, error), result.output
    assert re.search(match, str(result.exception))


def test_queue_names_a_line_of_an_unknown_id(tmp_path: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    ids = write_predictions(predictions)
    queue = tmp_path / "queue.txt"
    queue.write_text(f"# most disagreement first\n{ids[2]}\nno such case\n")
    args = [str(predictions), "--raters", "alice", "--queue", str(queue)]
    result = CliRunner().invoke(annotate, args)
    assert isinstance(result.exception, InputError)
    assert result.exception.line == 3


def test_deeply_nested_json_line_is_a_file_line_error(tmp_path: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    write_predictions(predictions)
    with predictions.open("a") as handle:
        handle.write('{"a": ' + "[" * 10_000 + "]" * 10_000 + "}\n")
    lines = len(predictions.read_text().splitlines())
    result = CliRunner().invoke(annotate, [str(predictions), "--raters", "alice"])
    assert isinstance(result.exception, InputError), result.exception
    assert result.exception.line == lines
    assert result.exception.message == "not valid JSON (nested too deeply)"


def _start(
    args: list[str], cwd: Path, header: list[str] | None = None
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _START, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    links: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if header is not None and line.startswith("judge annotate:"):
            header.append(line)
        found = re.match(r"\s+(\w+)\s+\d+ items\s+(http://\S+)", line)
        if found:
            links[found.group(1)] = found.group(2)
        if line.startswith("Each link is personal"):
            return proc, links
    proc.kill()
    raise AssertionError(f"no links printed: {proc.stderr.read() if proc.stderr else ''}")


def _wait_until_served(url: str) -> None:
    deadline = time.monotonic() + 120  # a loaded 2-core machine starts the app slowly
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=10.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


def test_killed_server_keeps_submitted_scores_and_links(tmp_path: Path) -> None:
    write_predictions(tmp_path / "preds.jsonl")
    queue = tmp_path / "queue.txt"
    queue.write_text("Synthetic case 3\nCavity in a smoker\n")
    args = ["preds.jsonl", "--rubric", "ddx", "--raters", "alice,bob,carol", "--per-item", "2"]
    args += ["--queue", "queue.txt"]
    proc, links = _start(args, tmp_path)
    try:
        assert set(links) == {"alice", "bob", "carol"}
        assert links["alice"].startswith("http://127.0.0.1:")
        _wait_until_served(links["alice"])
        origin = links["alice"].split("/r/")[0]
        with httpx.Client(headers={"Origin": origin}) as client:
            rate(client, links["alice"], 1, dict.fromkeys(RATED[:-1], 4), comment="kept")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (tmp_path / "preds.annotations.sqlite").is_file()

    proc, again = _start(args, tmp_path)
    try:
        tokens = {r: link.split("/r/")[1] for r, link in links.items()}
        assert {r: link.split("/r/")[1] for r, link in again.items()} == tokens
        _wait_until_served(again["alice"])
        page = httpx.get(f"{again['alice']}items/1").text
        assert 'value="4" data-key="4" checked' in page and "kept</textarea>" in page
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: uvicorn shuts down cleanly
        assert proc.wait(timeout=120) == 130  # ExitStatus.INTERRUPTED, as for every command

    out = CliRunner().invoke(annotate, ["export", "--out", str(tmp_path / "human.csv")])
    assert out.exception is not None  # no database in this directory
    done = CliRunner().invoke(
        annotate,
        [
            "export",
            "--out",
            str(tmp_path / "human.csv"),
            "--db",
            str(tmp_path / "preds.annotations.sqlite"),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "5 scores (1 items, 1 raters, 5 criteria)" in done.output


def test_export_finds_the_database_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from judge.annotate.study import open_study

    write_predictions(tmp_path / "preds.jsonl")
    study = open_study(tmp_path / "preds.jsonl", "ddx", ["alice"], 1)
    study.store.save("alice", "Cavity in a smoker", {"coherence": 5}, "")
    study.store.close()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(annotate, ["export", "--out", "human.csv"])
    assert result.exit_code == 0, result.output
    assert (
        (tmp_path / "human.csv")
        .read_text()
        .splitlines()[1]
        .startswith("Cavity in a smoker,coherence,alice,human,5,")
    )


@given(
    n_items=st.integers(0, 40),
    n_raters=st.integers(1, 7),
    data=st.data(),
)
def test_assignment_balanced_and_distinct(n_items: int, n_raters: int, data: st.DataObject) -> None:
    per_item = data.draw(st.integers(1, n_raters))
    items = [f"i{k}" for k in range(n_items)]
    raters = [f"r{k}" for k in range(n_raters)]
    pairs = assign(items, raters, per_item)
    per = Counter(item for item, _ in pairs)
    assert len(set(pairs)) == len(pairs)
    assert all(per[i] == per_item for i in items)
    loads = Counter(rater for _, rater in pairs)
    counts = [loads[r] for r in raters]
    assert max(counts) - min(counts) <= 1


def test_assignment_tops_up_without_moving_work() -> None:
    first = assign(["a", "b", "c"], ["x", "y"], 1)
    existing: dict[str, list[str]] = {}
    for item, rater in first:
        existing.setdefault(item, []).append(rater)
    more = assign(["a", "b", "c", "d"], ["x", "y", "z"], 2, existing)
    assert not set(more) & set(first)
    totals = Counter(r for _, r in [*first, *more])
    assert sum(totals.values()) == 8 and max(totals.values()) - min(totals.values()) <= 1


def test_example_queue_names_example_items() -> None:
    from judge.annotate.study import read_queue
    from judge.load.inputs import read_items

    examples = Path(__file__).parents[2] / "examples"
    known = {item.id for item in read_items(examples / "predictions.jsonl")}
    assert len(read_queue(examples / "annotate_queue.txt", known)) == 3


def test_queue_restricts_and_orders_the_items(tmp_path: Path) -> None:
    from judge.annotate.study import open_study

    ids = write_predictions(tmp_path / "p.jsonl")
    queue = tmp_path / "queue.txt"
    queue.write_text(f"{ids[3]}\n\n{ids[0]}\n")
    study = open_study(tmp_path / "p.jsonl", "ddx", ["alice", "bob"], 2, queue=queue)
    try:
        assert list(study.items) == [ids[3], ids[0]]
        assert study.queues == {"alice": [ids[3], ids[0]], "bob": [ids[3], ids[0]]}
    finally:
        study.store.close()
