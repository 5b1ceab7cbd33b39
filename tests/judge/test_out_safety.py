"""`--out` never destroys a file: not the predictions, not someone else's data, not another
run's records, whatever name it is reached by, and a failing disk is a one-line error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from judge.errors import ConfigError
from judge.store.results import ResultsWriter
from tests.llm_server import LLMServer

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _predictions(path: Path, n: int) -> Path:
    """`n` predictions for the twi rubric (computed criteria only: no judge is called)."""
    rows = [json.loads(line) for line in (FIXTURES / "predictions.jsonl").read_text().splitlines()]
    with path.open("w") as handle:
        for i in range(n):
            row = dict(rows[i % len(rows)])
            row["title"] = f"case {i:03d}"
            row["CLINICAL_HISTORY"] = f"Synthetic patient marker-{i:03d}. {row['CLINICAL_HISTORY']}"
            handle.write(json.dumps(row) + "\n")
    return path


def _judge(*args: str | Path, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "JUDGE_HOME": str(home),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "judge", *map(str, args)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def test_the_predictions_file_as_out_is_refused_and_left_intact(
    tmp_path: Path, judge_home: Path
) -> None:
    predictions = _predictions(tmp_path / "preds.jsonl", 3)
    before = predictions.read_bytes()
    proc = _judge("score", predictions, "--rubric", "twi", "--out", predictions, home=judge_home)
    _one_line_error(proc, str(predictions), "predictions file")
    assert predictions.read_bytes() == before
    # Through a symlink too: the same file, another name.
    link = tmp_path / "link.jsonl"
    link.symlink_to(predictions)
    proc = _judge("score", predictions, "--rubric", "twi", "--out", link, home=judge_home)
    _one_line_error(proc, "predictions file")
    assert predictions.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [
        "".join(f"{i}\n" for i in range(1, 14)),  # a 13-line data file
        "a note without a final newline",  # would look like a torn last line
        '{"id": "x", "note": "json, but not a record"}\n',
    ],
)
def test_a_file_that_is_not_a_results_file_is_refused_and_left_intact(
    tmp_path: Path, judge_home: Path, content: str
) -> None:
    predictions = _predictions(tmp_path / "preds.jsonl", 3)
    data = tmp_path / "data.txt"
    data.write_text(content)
    proc = _judge("score", predictions, "--rubric", "twi", "--out", data, home=judge_home)
    _one_line_error(proc, str(data), "not a results file")
    assert data.read_text() == content
    # The dry run says so too, and changes nothing.
    proc = _judge(
        "score", predictions, "--rubric", "twi", "--out", data, "--dry-run", home=judge_home
    )
    _one_line_error(proc, "not a results file")
    assert data.read_text() == content


def _scored(tmp_path: Path, home: Path) -> tuple[Path, Path]:
    """Three predictions scored with twi into a results file."""
    predictions = _predictions(tmp_path / "preds.jsonl", 3)
    out = tmp_path / "r.jsonl"
    proc = _judge("score", predictions, "--rubric", "twi", "--out", out, home=home)
    assert proc.returncode == 0, proc.stderr
    return predictions, out


def test_a_results_file_of_an_earlier_version_resumes(tmp_path: Path, judge_home: Path) -> None:
    predictions, out = _scored(tmp_path, judge_home)
    # Records of earlier versions carry no id_field.
    old = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r.pop("id_field") for r in old} == {"title"}
    out.write_text("".join(json.dumps(r) + "\n" for r in old))
    proc = _judge("score", predictions, "--rubric", "twi", "--out", out, home=judge_home)
    assert proc.returncode == 0 and "kept 3 from before" in proc.stdout, proc.stderr
    assert len(out.read_text().splitlines()) == 3


def test_resuming_with_another_id_field_is_refused(tmp_path: Path, judge_home: Path) -> None:
    predictions, out = _scored(tmp_path, judge_home)
    before = out.read_bytes()
    proc = _judge(
        "score", predictions, "--rubric", "twi", "--out", out, "--id-field",
        "CLINICAL_HISTORY", home=judge_home,
    )  # fmt: skip
    _one_line_error(proc, str(out), "--id-field title")
    assert out.read_bytes() == before  # not 6 records for 3 items


def _record(item: str, rubric_hash: str, retryable: bool = False) -> str:
    record = {
        "id": item,
        "line": 1,
        "status": "unscored" if retryable else "scored",
        "scores": {},
        "judgments": [{"retryable": retryable}],
        "rubric": {"id": "r", "version": "1", "hash": rubric_hash},
        "prompt_hash": "p",
        "judge_version": "0",
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    return json.dumps(record) + "\n"


def _same_run(record: dict[str, Any]) -> bool:
    return bool(record["rubric"]["hash"] == "new")


def _keep(record: dict[str, Any]) -> bool:
    return _same_run(record) and not record["judgments"][0]["retryable"]


def test_dropping_another_rubrics_records_keeps_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    text = _record("a", "old") + _record("b", "old") + _record("c", "new")
    path.write_text(text)
    with ResultsWriter(path, _keep, redo=_same_run) as writer:
        assert len(writer.kept) == 1
    assert path.read_text() == _record("c", "new")
    assert writer.backup == tmp_path / "r.jsonl.bak"
    assert writer.backup.read_text() == text
    assert "2 record(s)" in writer.notices[0] and str(writer.backup) in writer.notices[0]
    # A second such resume never overwrites the first backup.
    path.write_text(_record("d", "old"))
    with ResultsWriter(path, _keep, redo=_same_run) as writer:
        pass
    assert writer.backup == tmp_path / "r.jsonl.bak2"
    assert (tmp_path / "r.jsonl.bak").read_text() == text


def test_redoing_this_runs_retryable_records_needs_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    torn = _record("z", "new")[:-20]
    path.write_text(_record("a", "new", retryable=True) + _record("b", "new") + torn)
    with ResultsWriter(path, _keep, redo=_same_run) as writer:
        assert writer.dropped == 2
    assert path.read_text() == _record("b", "new")
    assert writer.backup is None and writer.notices == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]  # no side file left


def test_a_file_holding_only_a_line_that_starts_like_a_record_is_refused(tmp_path: Path) -> None:
    # A one-line JSON file of someone else's without its final newline (what json.dump
    # writes) holds no complete record: nothing shows it is ours, so it is left alone.
    path = tmp_path / "notes.json"
    text = '{"id": "mine", "notes": "a user\'s own data, not a result record"}'
    path.write_text(text)
    with pytest.raises(ConfigError, match="no complete result record"):
        ResultsWriter(path, _keep, redo=_same_run).open()
    assert path.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.json"]


def test_side_files_never_touch_a_users_file_or_follow_a_planted_link(tmp_path: Path) -> None:
    # A user's notes at the names the lock, the rewrite and the backup once took, and links
    # planted there to a file of theirs: none is written, truncated or followed, and --out
    # stays a file of its own (never the planted link).
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    path = tmp_path / "r.jsonl"
    path.write_text(_record("a", "old") + _record("b", "new", retryable=True))
    notes = tmp_path / "r.jsonl.lock"
    notes.write_text("notes\n")
    planted = [tmp_path / f"r.jsonl.{s}" for s in ("tmp", "bak")]
    for link in planted:
        link.symlink_to(victim)
    with ResultsWriter(path, _keep, redo=_same_run) as writer:
        assert len(writer.kept) == 0
    assert notes.read_text() == "notes\n" and victim.read_text() == "precious\n"
    assert all(link.is_symlink() for link in planted)
    assert not path.is_symlink() and path.read_text() == ""
    assert writer.backup == tmp_path / "r.jsonl.bak2"
    assert writer.backup.read_text() == _record("a", "old") + _record("b", "new", True)


def test_score_leaves_a_users_lock_named_file_alone(tmp_path: Path, judge_home: Path) -> None:
    # The repro: notes at r.jsonl.lock were truncated to 0 bytes by `judge score`.
    predictions = _predictions(tmp_path / "preds.jsonl", 2)
    out = tmp_path / "r.jsonl"
    (tmp_path / "r.jsonl.lock").write_text("notes\n")
    proc = _judge("score", predictions, "--rubric", "twi", "--out", out, home=judge_home)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r.jsonl.lock").read_text() == "notes\n"
    assert len(out.read_text().splitlines()) == 2


def test_a_symlink_or_hard_link_does_not_defeat_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(_record("a", "new"))
    link = tmp_path / "link.jsonl"
    link.symlink_to(path.name)
    hard = tmp_path / "hard.jsonl"
    os.link(path, hard)
    with ResultsWriter(path, _keep):
        for other in (link, hard):
            with pytest.raises(ConfigError, match="another run"):
                ResultsWriter(other, _keep).open()
    with ResultsWriter(link, _keep) as writer:  # released; through the link, the file itself
        assert len(writer.kept) == 1
    assert link.is_symlink() and path.read_text() == _record("a", "new")


def test_two_runs_through_two_names_write_one_record_per_item(
    tmp_path: Path, judge_home: Path
) -> None:
    predictions = _predictions(tmp_path / "preds.jsonl", 12)
    out = tmp_path / "results.jsonl"
    link = tmp_path / "same.jsonl"
    link.symlink_to(out)
    env = {**os.environ, "JUDGE_HOME": str(judge_home), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    # 12 calls one at a time, 3 s each until the second run has ended: the first run holds
    # the file all the while the second starts (up to 36 s on a loaded machine).
    with LLMServer(latency=3.0) as server:

        def start(target: Path) -> subprocess.Popen[str]:
            command = [
                sys.executable, "-m", "judge", "score", str(predictions), "--rubric", "ddx",
                "--judge", "openai/test-judge", "--api-base", server.url, "--out", str(target),
                "--concurrency", "1",
            ]  # fmt: skip
            return subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )

        first = start(out)
        deadline = time.monotonic() + 120
        while server.count == 0:  # the first run holds the file
            assert first.poll() is None and time.monotonic() < deadline, first.stderr
            time.sleep(0.01)
        second = start(link)
        _, second_err = second.communicate(timeout=120)
        assert first.poll() is None, "the first run ended before the second started"
        server.latency = 0.0  # the rest quickly
        _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert second.returncode == 2 and "another run is writing" in second_err, second_err
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == [f"case {i:03d}" for i in range(12)]  # 12 lines, not 24
    assert len([r for r in server.requests if r.path.endswith("/chat/completions")]) == 12


def _in_tmpfs(mount: str, mnt: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Run `script` (sh) with a fresh tmpfs mounted with `mount` options on $MNT, in a private
    mount namespace (a real filesystem that fills up or refuses writes)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) for a private tmpfs")
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip("this machine does not allow a private tmpfs mount")
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o {mount} tmpfs "$MNT" && {script}'],
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "MNT": str(mnt)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _score_in_tmpfs(
    tmp_path: Path, home: Path, n: int, mount: str, out: str, then: str = ""
) -> tuple[Path, str]:
    """`judge score` of `n` items to `out` (under $MNT) on a fresh tmpfs mounted with `mount`
    options, then the shell command `then`; the predictions and the one error line."""
    predictions = _predictions(tmp_path / "preds.jsonl", n)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    run = (
        f'JUDGE_HOME="{home}" "{sys.executable}" -m judge score "{predictions}" '
        f'--rubric twi --out "{out}"; echo "rc=$?"; {then}'
    )
    proc = _in_tmpfs(mount, mnt, run)
    assert "rc=2" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return predictions, errors[0]


def test_a_full_disk_is_a_one_line_error_and_a_rerun_resumes(
    tmp_path: Path, judge_home: Path
) -> None:
    kept = tmp_path / "r.jsonl"
    predictions, error = _score_in_tmpfs(
        tmp_path, judge_home, 40, "size=16k", "$MNT/r.jsonl", f'cp "$MNT/r.jsonl" "{kept}"'
    )
    assert "No space left on device" in error and "rerun" in error
    complete = [json.loads(line) for line in kept.read_text().split("\n")[:-1]]
    assert 0 < len(complete) < 40  # some records made it, all intact
    # The same file on a disk with room: the run resumes where it stopped.
    proc = _judge("score", predictions, "--rubric", "twi", "--out", kept, home=judge_home)
    assert proc.returncode == 0, proc.stderr
    assert f"kept {len(complete)} from before" in proc.stdout
    ids = [json.loads(line)["id"] for line in kept.read_text().splitlines()]
    assert sorted(ids) == [f"case {i:03d}" for i in range(40)]


def test_a_read_only_out_directory_is_a_one_line_error(tmp_path: Path, judge_home: Path) -> None:
    out = f"{tmp_path}/mnt/sub/r.jsonl"
    _, error = _score_in_tmpfs(tmp_path, judge_home, 3, "ro", out)
    assert "Read-only file system" in error and out in error


def test_the_readers_of_results_files_read_records_with_their_id_field(
    tmp_path: Path, judge_home: Path
) -> None:
    import judge
    from calibration.loaders import load_judge_results

    _, out = _scored(tmp_path, judge_home)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["id_field"] == "title" for r in records)
    assert set(judge.load_results(out)["item"]) == {f"case {i:03d}" for i in range(3)}
    scored = {r["id"] for r in records if r["status"] != "unscored"}  # calibration skips those
    assert scored and set(load_judge_results(out)["item"]) == scored
    report = tmp_path / "report.html"
    proc = _judge("report", out, "--out", report, home=judge_home)
    assert proc.returncode == 0 and "case 000" in report.read_text(), proc.stderr


@pytest.mark.parametrize("cut", [1, 3, 6, 40])
def test_a_line_torn_at_any_byte_is_still_recognised_as_ours(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(_record("a", "new") + _record("b", "new").replace(": ", ":")[:cut])
    with ResultsWriter(path, _keep, redo=_same_run) as writer:
        assert len(writer.kept) == 1 and writer.backup is None
    assert path.read_text() == _record("a", "new")


def test_what_recognises_a_record_is_what_every_record_holds() -> None:
    from judge.contracts import ResultRecord
    from judge.store.resultsfile import RECORD_FIELDS

    required = {name for name, f in ResultRecord.model_fields.items() if f.is_required()}
    assert required >= RECORD_FIELDS
