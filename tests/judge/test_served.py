"""Serving provenance: each call's record keeps the model the provider said served it and its
system_fingerprint, on both paths (lean, litellm), through the cache and across a resume; the
summary, `judge score` and the report warn when they changed; `judge compare` refuses runs whose
judges were served differently unless --allow-served-change; records of earlier versions load.

The local test server (tests/llm_server.py) plays a provider that answers with a dated snapshot
behind the alias asked for, as OpenAI does.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import judge
from judge.cli.group import cli
from judge.report.html import build_report
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
MODEL = "openai/test-judge"
SNAPSHOT = "test-judge-2026-01-15"


def _score(server: LLMServer, client: str, out: Path, **options: Any) -> judge.run.RunResult:
    base = {"judges": [MODEL], "api_base": server.url, "timeout": 5.0, "client": client}
    return judge.score(PREDICTIONS, "ddx", out=out, **{**base, **options})


def _calls(out: Path) -> list[Any]:
    return [call for record in iter_records(out) for call in record.calls]


def _strip_served(out: Path) -> None:
    """Rewrite a results file as an earlier version wrote it: calls without the new fields."""
    lines = []
    for line in out.read_text().splitlines():
        record = json.loads(line)
        for call in record["calls"]:
            del call["served_model"], call["system_fingerprint"]
        lines.append(json.dumps(record))
    out.write_text("".join(f"{line}\n" for line in lines))


def test_both_paths_record_the_served_model_and_fingerprint(
    llm_server: LLMServer, client: str, tmp_path: Path
) -> None:
    llm_server.served_model, llm_server.system_fingerprint = SNAPSHOT, "fp_one"
    out = tmp_path / "r.jsonl"
    result = _score(llm_server, client, out)
    calls = _calls(out)
    assert len(calls) == 3
    assert {(c.served_model, c.system_fingerprint) for c in calls} == {(SNAPSHOT, "fp_one")}
    assert '"system_fingerprint":"fp_one"' in out.read_text()  # in the file, not only in memory
    assert result.summary.judges[0].served == {SNAPSHOT: 3}
    assert result.summary.serving_changes == []


def test_a_reply_without_a_fingerprint_records_none_and_the_model_echoed(
    llm_server: LLMServer, client: str, tmp_path: Path
) -> None:
    out = tmp_path / "r.jsonl"
    _score(llm_server, client, out)
    # The server echoes the model asked for (litellm and the lean path strip `openai/`).
    assert {(c.served_model, c.system_fingerprint) for c in _calls(out)} == {("test-judge", None)}


def test_a_cache_hit_keeps_what_served_the_call(
    llm_server: LLMServer, client: str, tmp_path: Path, judge_home: Path
) -> None:
    llm_server.served_model, llm_server.system_fingerprint = SNAPSHOT, "fp_one"
    _score(llm_server, client, tmp_path / "first.jsonl")
    llm_server.reset()
    llm_server.system_fingerprint = "fp_two"  # would show if anything were asked again
    again = tmp_path / "again.jsonl"
    result = _score(llm_server, client, again)
    assert llm_server.count == 0 and result.summary.cached_calls == 3
    calls = _calls(again)
    assert all(c.cached for c in calls)
    assert {(c.served_model, c.system_fingerprint) for c in calls} == {(SNAPSHOT, "fp_one")}


def test_an_old_cache_entry_without_them_still_answers(
    llm_server: LLMServer, tmp_path: Path, judge_home: Path
) -> None:
    llm_server.served_model, llm_server.system_fingerprint = SNAPSHOT, "fp_one"
    _score(llm_server, "lean", tmp_path / "first.jsonl")
    with sqlite3.connect(judge_home / "cache.sqlite") as conn:
        for key, text in conn.execute("SELECT key, value FROM calls").fetchall():
            value = json.loads(text)
            del value["usage"]["served_model"], value["usage"]["system_fingerprint"]
            conn.execute("UPDATE calls SET value = ? WHERE key = ?", (json.dumps(value), key))
    llm_server.reset()
    again = tmp_path / "again.jsonl"
    result = _score(llm_server, "lean", again)
    assert llm_server.count == 0 and result.summary.cached_calls == 3
    assert {(c.served_model, c.system_fingerprint) for c in _calls(again)} == {(None, None)}


def test_a_fingerprint_changed_within_a_run_warns(
    llm_server: LLMServer, client: str, tmp_path: Path
) -> None:
    llm_server.system_fingerprint = "fp_one"
    llm_server.script = [Reply.auto(fingerprint="fp_two")]  # the first reply, then fp_one
    result = _score(llm_server, client, tmp_path / "r.jsonl")
    (warning,) = result.summary.serving_changes
    assert "openai/test-judge" in warning
    assert "fp_one ×2" in warning and "fp_two ×1" in warning


def _stopped_after_two(server: LLMServer, out: Path) -> Path:
    """A run served by SNAPSHOT with fp_one, as if stopped after its first two items."""
    server.served_model, server.system_fingerprint = SNAPSHOT, "fp_one"
    assert _score(server, "lean", out).summary.serving_changes == []
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:2]))
    return out


def test_a_resume_served_by_a_new_fingerprint_warns_in_the_output_and_report(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    out = _stopped_after_two(llm_server, tmp_path / "r.jsonl")
    llm_server.served_model, llm_server.system_fingerprint = "test-judge-2026-03-01", "fp_two"
    args = ["score", str(PREDICTIONS), "--rubric", "ddx", "-j", MODEL]
    args += ["--api-base", llm_server.url, "-o", str(out), "--no-cache"]
    resumed = CliRunner().invoke(cli, args)
    assert resumed.exit_code == 0, resumed.output
    assert "kept 2 from before" in resumed.output
    text = " ".join(resumed.output.split())  # rich wraps long lines
    assert "warning:" in text and "more than one backend" in text
    assert f"{SNAPSHOT} ×2" in text and "test-judge-2026-03-01 ×1" in text
    assert "fp_one ×2" in text and "fp_two ×1" in text
    page = build_report(out)
    assert "served-warning" in page and "fp_two ×1" in page


def test_records_of_earlier_versions_load_resume_and_do_not_warn(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    out = _stopped_after_two(llm_server, tmp_path / "r.jsonl")
    _strip_served(out)
    assert {(c.served_model, c.system_fingerprint) for c in _calls(out)} == {(None, None)}
    llm_server.reset()
    result = _score(llm_server, "lean", out, cache=False)
    assert result.resumed == 2 and result.judged == 1 and llm_server.count == 1
    # Calls that did not say are not a change: nothing to warn about.
    assert result.summary.serving_changes == []
    assert result.summary.judges[0].served == {SNAPSHOT: 1}
    assert "served-warning" not in build_report(out)


def _run(server: LLMServer, out: Path, fingerprint: str) -> Path:
    server.served_model, server.system_fingerprint = SNAPSHOT, fingerprint
    _score(server, "lean", out, cache=False)
    return out


def test_compare_refuses_runs_served_differently_unless_allowed(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    a = _run(llm_server, tmp_path / "a.jsonl", "fp_one")
    b = _run(llm_server, tmp_path / "b.jsonl", "fp_two")
    refused = CliRunner().invoke(cli, ["compare", str(a), str(b)])
    assert refused.exit_code == 2  # a user error, as the rubric-hash guard's
    assert "served by different backends" in refused.output
    assert f"{SNAPSHOT} (fp_one)" in refused.output and f"{SNAPSHOT} (fp_two)" in refused.output
    assert "--allow-served-change" in refused.output and "Traceback" not in refused.output
    allowed = CliRunner().invoke(cli, ["compare", str(a), str(b), "--allow-served-change"])
    assert allowed.exit_code == 0, allowed.output
    assert "note: served differently (allowed)" in allowed.output


def test_compare_accepts_runs_served_alike_or_not_saying(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    a = _run(llm_server, tmp_path / "a.jsonl", "fp_one")
    b = _run(llm_server, tmp_path / "b.jsonl", "fp_one")
    same = CliRunner().invoke(cli, ["compare", str(a), str(b)])
    assert same.exit_code == 0, same.output
    assert "served differently" not in same.output
    old = _run(llm_server, tmp_path / "old.jsonl", "fp_two")
    _strip_served(old)  # an earlier version's run: it cannot say, so it is not refused
    unknown = CliRunner().invoke(cli, ["compare", str(a), str(old)])
    assert unknown.exit_code == 0, unknown.output


def test_a_batch_reply_records_what_served_it(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.served_model, llm_server.system_fingerprint = SNAPSHOT, "fp_batch"
    out = tmp_path / "r.jsonl"
    args = ["score", str(PREDICTIONS), "-j", MODEL, "--api-base", llm_server.url]
    done = CliRunner().invoke(cli, [*args, "-o", str(out), "--batch", "--batch-poll", "0.05"])
    assert done.exit_code == 0, done.output
    assert "answered by 1 batch(es)" in done.output and llm_server.count == 0
    calls = _calls(out)
    assert {(c.served_model, c.system_fingerprint) for c in calls} == {(SNAPSHOT, "fp_batch")}
