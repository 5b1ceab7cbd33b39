"""Resuming with more finished ids than an IdSet keeps in memory: the same answers as a set.

The id sets spill to disk every 4 ids here, so 30 finished items cross several spills. The
`twi` rubric needs no judge, and its records are final, so a rerun resumes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.errors import InputError
from judge.run import plan, score
from judge.store import idset


@pytest.fixture(autouse=True)
def _small_idsets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idset, "MEMORY_IDS", 4)


def _rows(ids: range) -> str:
    return "".join(
        json.dumps({"title": f"case {i}", "options": list("VWXYZ"), "correct_answer": "A"}) + "\n"
        for i in ids
    )


def _ids(out: Path) -> list[str]:
    return [json.loads(line)["id"] for line in out.read_text().splitlines()]


def test_rerun_judges_only_what_is_new(tmp_path: Path, judge_home: Path) -> None:
    predictions, out = tmp_path / "preds.jsonl", tmp_path / "results.jsonl"
    predictions.write_text(_rows(range(30)))
    first = score(predictions, "twi", out=out)
    assert (first.judged, first.resumed) == (30, 0)

    # More items, a repeated id far back in the file, and a run killed mid-line.
    predictions.write_text(_rows(range(40)) + _rows(range(2, 3)))
    with out.open("a") as handle:
        handle.write('{"id": "case 35", "rubr')
    with pytest.raises(InputError, match="duplicate id 'case 2'") as problem:
        score(predictions, "twi", out=out)
    assert (problem.value.line, problem.value.field) == (41, "title")

    dry = plan(predictions, "twi", out=out, skip_invalid=True)
    assert (dry.n_items, dry.n_done, dry.invalid) == (40, 30, 1)

    second = score(predictions, "twi", out=out, skip_invalid=True)
    assert (second.judged, second.resumed, len(second.skipped)) == (10, 30, 1)
    assert second.summary.n_records == 40
    # One record each (they are written as they finish), and the torn line is gone.
    assert sorted(_ids(out)) == sorted(f"case {i}" for i in range(40))

    third = score(predictions, "twi", out=out, skip_invalid=True)
    assert (third.judged, third.resumed) == (0, 40)
