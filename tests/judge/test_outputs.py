"""Side outputs (the HTML report, annotation exports, agreement and comparison tables) never
replace a file the same command did not write, and are written whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from calibration.tables import is_table, table_text
from judge.annotate.export import COLUMNS, export_scores
from judge.annotate.store import AnnotationStore
from judge.cli import cli
from judge.errors import ConfigError, OutputError
from judge.store.outputs import REPORT_MARK, claim, header_is, is_report, write_atomic

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
    # Files whose first line starts `item,` or `criterion,`, or a JSON list of records, are
    # not tables of ours: the clinicians' ratings (the --human input itself, by any name),
    # an inventory, a JSON list.
    link = tmp_path / "ratings.csv"
    link.symlink_to(human)
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("item,price,qty\nsyringe,0.2,100\n")
    listed = tmp_path / "list.json"
    listed.write_text('[{"item": "syringe", "qty": 100}]')
    criteria = tmp_path / "criteria.csv"
    criteria.write_text("criterion,weight\naccuracy,2\n")
    for user in (human, link, inventory, listed, criteria):
        before = user.read_bytes()
        refused = CliRunner().invoke(cli, ["calibrate", *args, "--out", str(user)])
        assert refused.exit_code == 2 and user.read_bytes() == before, refused.output
        assert "Judge–human agreement" not in refused.output  # refused before any work
    refused = CliRunner().invoke(cli, ["calibrate", *args, "--out", str(link)])
    assert "is the input file" in refused.output
    # compare: its runs and human files are inputs, and never a table of its own.
    refused = CliRunner().invoke(cli, ["compare", str(results), str(results), "--out", str(human)])
    assert refused.exit_code == 2 and "--out" in refused.output
    marked = tmp_path / "agreement.json"
    for _ in range(2):
        done = CliRunner().invoke(cli, ["calibrate", *args, "--out", str(marked)])
        assert done.exit_code == 0, done.output
    assert json.loads(marked.read_text())["judge_table"] == "calibrate"


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
    import pandas as pd

    frame = pd.DataFrame([{"criterion": "x", "judge": "=cmd()", "n": 3}])
    csv_text, json_text = table_text(frame, ".csv", "calibrate"), table_text(frame, ".json", "c")
    assert is_table(csv_text.encode()) and is_table(json_text.encode())
    assert "'=cmd()" in csv_text and json.loads(json_text)["rows"][0]["judge"] == "=cmd()"
    # Only the mark makes a table ours, not a first column named like ours.
    for head in (b"criterion,judge,level\n", b"item,price,qty\n", b'[{"item": 1}]', b"[]"):
        assert not is_table(head)
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


def test_an_atomic_write_never_follows_or_replaces_a_file_at_its_side_files_name(
    tmp_path: Path,
) -> None:
    # A link planted at the name the temporary file once had (`.rep.html.partial`) made the
    # write go to its target, and --out itself became that link; a user's file there was
    # truncated. Neither is touched now, and --out is a file of its own.
    victim = tmp_path / "victim.txt"
    victim.write_text(USERS_OWN)
    out = tmp_path / "rep.html"
    (tmp_path / ".rep.html.partial").symlink_to(victim)
    notes = tmp_path / ".t.csv.partial"
    notes.write_text(USERS_OWN)
    write_atomic(out, "<html>" + REPORT_MARK)
    write_atomic(tmp_path / "t.csv", "a,b\n")
    assert victim.read_text() == USERS_OWN and notes.read_text() == USERS_OWN
    assert not out.is_symlink() and is_report(out.read_bytes())
    assert (tmp_path / ".rep.html.partial").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".rep.html.partial", ".t.csv.partial", "rep.html", "t.csv", "victim.txt"]
    )


def test_an_export_never_follows_a_link_at_its_side_files_name(tmp_path: Path) -> None:
    db = tmp_path / "study.annotations.sqlite"
    AnnotationStore(db).close()
    victim = tmp_path / "victim.txt"
    victim.write_text(USERS_OWN)
    (tmp_path / ".human.csv.partial").symlink_to(victim)
    export_scores(db, tmp_path / "human.csv")
    assert victim.read_text() == USERS_OWN and not (tmp_path / "human.csv").is_symlink()
