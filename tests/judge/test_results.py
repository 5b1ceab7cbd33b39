"""The results file keeps exactly one final record per item across interrupted runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from judge.errors import ConfigError
from judge.results import ResultsWriter


def _line(item: str, retryable: bool = False) -> str:
    return json.dumps({"id": item, "judgments": [{"retryable": retryable}]}) + "\n"


def _keep(record: dict[str, Any]) -> bool:
    return not any(j.get("retryable") for j in record["judgments"])


def test_torn_tail_retryable_and_duplicate_lines_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    torn = _line("d")[:-9]  # a SIGKILL mid-write leaves a line without its end
    path.write_text(_line("a") + _line("b", retryable=True) + _line("a") + _line("c") + torn)
    writer = ResultsWriter(path, _keep)
    assert writer.open() == {"a", "c"}
    writer.close()
    assert path.read_text() == _line("a") + _line("c")


def test_clean_file_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(_line("a") + _line("b"))
    before = path.stat().st_ino
    with ResultsWriter(path, _keep) as writer:
        assert writer.kept == {"a", "b"}
    assert path.stat().st_ino == before  # not rewritten


def test_two_writers_on_one_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with ResultsWriter(path, _keep), pytest.raises(ConfigError, match="another run"):
        ResultsWriter(path, _keep).open()
    with ResultsWriter(path, _keep):  # the lock is released on close
        pass
