"""The results file keeps exactly one final record per item across interrupted runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from judge.errors import ConfigError, OutputError
from judge.store import idset
from judge.store.results import ResultsWriter, kept_ids


def _line(item: str, retryable: bool = False, **fields: Any) -> str:
    """A results line with every field a record requires (only `id` and `judgments` matter
    to these keep rules)."""
    record = {
        "id": item,
        "line": 1,
        "status": "scored",
        "scores": {},
        "judgments": [{"retryable": retryable}],
        "rubric": {"id": "r", "version": "1", "hash": "h"},
        "prompt_hash": "p",
        "judge_version": "0",
        "created_at": "2026-01-01T00:00:00+00:00",
        **fields,
    }
    return json.dumps(record) + "\n"


def _keep(record: dict[str, Any]) -> bool:
    return not any(j.get("retryable") for j in record["judgments"])


def test_torn_tail_retryable_and_duplicate_lines_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    torn = _line("d")[:-9]  # a SIGKILL mid-write leaves a line without its end
    path.write_text(_line("a") + _line("b", retryable=True) + _line("a") + _line("c") + torn)
    writer = ResultsWriter(path, _keep)
    done = writer.open()
    assert len(done) == 2 and "a" in done and "c" in done
    assert "b" not in done and "d" not in done
    assert writer.dropped == 3
    writer.close()
    assert path.read_text() == _line("a") + _line("c")


def test_a_deeply_nested_line_is_not_a_record_and_no_recursion_error(tmp_path: Path) -> None:
    # Such a line is not a record of ours, so the file is not a results file: refused, intact.
    path = tmp_path / "r.jsonl"
    path.write_text(_line("a") + '{"id": "x", "j": ' + "[" * 10_000 + "]" * 10_000 + "}\n")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="not a results file"):
        kept_ids(path, _keep).close()
    with pytest.raises(ConfigError, match="not a results file"):
        ResultsWriter(path, _keep).open()
    assert path.read_bytes() == before


def test_clean_file_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(_line("a") + _line("b"))
    before = path.stat().st_ino
    with ResultsWriter(path, _keep) as writer:
        assert len(writer.kept) == 2 and "a" in writer.kept and "b" in writer.kept
    assert path.stat().st_ino == before  # not rewritten


def test_two_writers_on_one_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with ResultsWriter(path, _keep), pytest.raises(ConfigError, match="another run"):
        ResultsWriter(path, _keep).open()
    with ResultsWriter(path, _keep):  # the lock is released on close
        pass


@pytest.fixture
def small_idsets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Id sets spill to disk every 4 ids, so a few dozen records cross many spills."""
    monkeypatch.setattr(idset, "MEMORY_IDS", 4)


@pytest.mark.usefixtures("small_idsets")
def test_many_ids_across_spills_keep_the_first_of_each(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [_line(f"id {i}", retryable=i % 7 == 3) for i in range(40)]
    lines.insert(30, _line("id 2"))  # a second record of an id that went to disk long before
    lines.insert(35, _line("id 3"))  # the first "id 3" was retryable: this one is kept
    path.write_text("".join(lines) + _line("id 99")[:-3])
    expected = [
        line
        for n, line in enumerate(lines)
        if json.loads(line)["judgments"][0]["retryable"] is False and n != 30
    ]
    with ResultsWriter(path, _keep) as writer:
        kept_ids = {json.loads(line)["id"] for line in expected}
        assert writer.kept.spilled and len(writer.kept) == len(kept_ids) == len(expected)
        assert all(i in writer.kept for i in kept_ids)
        assert all(f"id {i}" not in writer.kept for i in (10, 17, 24, 31, 38, 99))
        assert writer.dropped == 6 + 1 + 1  # retryable, duplicate, torn
    assert path.read_text() == "".join(expected)


@pytest.mark.usefixtures("small_idsets")
def test_the_dry_run_reads_the_same_ids_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    text = "".join(_line(f"id {i}", retryable=i % 5 == 0) for i in range(30))
    text += "\n" + _line("id 1") + '{"id": "id 40"}'  # no newline: torn
    path.write_bytes(text.encode())
    with kept_ids(path, _keep) as dry:
        assert dry.spilled and path.read_text() == text
        with ResultsWriter(path, _keep) as writer:
            assert len(dry) == len(writer.kept) == 24
            assert all((f"id {i}" in dry) == (f"id {i}" in writer.kept) for i in range(41))
    with kept_ids(tmp_path / "absent.jsonl", _keep) as none:
        assert len(none) == 0


def test_a_failed_rewrite_leaves_the_file_and_no_side_file(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    text = _line("a") + _line("b", retryable=True) + _line("c") + _line("boom")
    path.write_text(text)

    def keep(record: dict[str, Any]) -> bool:
        if record["id"] == "boom":
            raise OSError("disk gone")
        return _keep(record)

    with pytest.raises(OutputError, match="disk gone"):
        ResultsWriter(path, keep).open()
    assert path.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]
    with ResultsWriter(path, _keep) as writer:  # the lock was released
        assert len(writer.kept) == 3
    assert path.read_text() == _line("a") + _line("c") + _line("boom")
