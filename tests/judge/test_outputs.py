"""Side outputs (the HTML report, annotation exports, agreement and comparison tables) never
replace a file the same command did not write, and are written whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge.annotate.export import COLUMNS, export_scores
from judge.annotate.store import AnnotationStore
from judge.cli import cli
from judge.errors import ConfigError, OutputError
from judge.store.outputs import claim, header_is, is_report, is_table, write_atomic

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "predictions.jsonl"
USERS_OWN = "my notes\nabout the study\n"


def _results(tmp_path: Path) -> Path:
    out = tmp_path / "twi.jsonl"
    result = CliRunner().invoke(cli, ["score", str(EXAMPLE), "--rubric", "twi", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_report_never_replaces_a_file_that_is_not_a_report(tmp_path: Path) -> None:
    results = _results(tmp_path)
    for victim in (tmp_path / "notes.html", results):  # a user's page; the results themselves
        before = victim.read_bytes() if victim.exists() else None
        if before is None:
            victim.write_text(USERS_OWN)
            before = victim.read_bytes()
        refused = CliRunner().invoke(cli, ["report", str(results), "--out", str(victim)])
        assert refused.exit_code == 2 and "not one this command writes" in refused.output
        assert victim.read_bytes() == before
    out = tmp_path / "report.html"
    for _ in range(2):  # a report replaces an earlier report
        done = CliRunner().invoke(cli, ["report", str(results), "--out", str(out)])
        assert done.exit_code == 0, done.output
        assert is_report(out.read_bytes())


def test_a_calibrate_or_compare_table_never_replaces_a_users_file(tmp_path: Path) -> None:
    results = _results(tmp_path)
    ids = [json.loads(line)["id"] for line in results.read_text().splitlines()]
    human = tmp_path / "human.csv"
    human.write_text(
        "item,criterion,rater,score\n"
        + "".join(
            f"{i},step1_rougel,r{k},{(n * k % 7) / 10}\n" for n, i in enumerate(ids) for k in (1, 2)
        )
    )
    victim = tmp_path / "draft.csv"
    victim.write_text("id,notes\n1,keep me\n")
    args = ["--judge", str(results), "--human", str(human), "--n-boot", "0"]
    refused = CliRunner().invoke(cli, ["calibrate", *args, "--out", str(victim)])
    assert refused.exit_code == 2 and victim.read_text() == "id,notes\n1,keep me\n"
    table = tmp_path / "agreement.csv"
    for _ in range(2):
        done = CliRunner().invoke(cli, ["calibrate", *args, "--out", str(table)])
        assert done.exit_code == 0, done.output
    refused = CliRunner().invoke(cli, ["compare", str(results), str(results), "--out", str(victim)])
    assert refused.exit_code == 2 and victim.read_text() == "id,notes\n1,keep me\n"


def test_an_annotation_export_replaces_only_an_earlier_export(tmp_path: Path) -> None:
    db = tmp_path / "study.annotations.sqlite"
    AnnotationStore(db).close()
    victim = tmp_path / "human.csv"
    victim.write_text(USERS_OWN)
    with pytest.raises(ConfigError, match="not one this command writes"):
        export_scores(db, victim)
    assert victim.read_text() == USERS_OWN
    for suffix in (".csv", ".tsv", ".jsonl"):
        out = tmp_path / f"export{suffix}"
        export_scores(db, out)
        export_scores(db, out)  # its own earlier export is replaced
    lines = ['{"' + '": 1, "'.join(COLUMNS) + '": 1}', "\t".join(COLUMNS), ",".join(COLUMNS)]
    assert all(header_is(COLUMNS)(line.encode() + b"\n") for line in lines)
    assert not header_is(COLUMNS)(b"item,criterion\n")


def test_recognisers_and_atomic_writes(tmp_path: Path) -> None:
    assert is_table(b"criterion,judge,level\n") and is_table(b'[\n  {\n    "criterion": "x"')
    assert is_table(b"[]") and not is_table(b"id,notes\n") and not is_table(b'[{"id": 1}]')
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    claim(empty, is_table)  # an empty file holds nothing to lose
    with pytest.raises(ConfigError, match="not a regular file"):
        claim(tmp_path, is_table)
    out = tmp_path / "t.csv"
    write_atomic(out, "criterion,x\n")
    assert out.read_text() == "criterion,x\n" and not list(tmp_path.glob(".*.partial"))
    with pytest.raises(OutputError, match="cannot write"):
        write_atomic(Path("/proc/self/no/such/dir/t.csv"), "x")
