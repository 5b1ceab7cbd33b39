"""`judge keys build` and `judge keys schema` end to end on the local test server: the key
writer sees the case material and never a candidate's text, its reply is the key's items,
the keys file resumes after a SIGKILL without a call or a key twice, and --max-cost stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from judge.cli.group import cli
from judge.contracts.case_keys import CaseKey, case_material_hash
from judge.contracts.cases import Case
from judge.errors import ConfigError
from judge.load.keys import load_keys
from judge.study.key_writer import build_keys
from tests.llm_server import LLMServer, Reply, messages_key

CANDIDATE = "ZEBRA-CANDIDATE-RATIONALE"
ANSWER = "QUOKKA-CANDIDATE-ANSWER"


def _case(i: int) -> dict[str, Any]:
    return {
        "title": f"key case {i:02d}",
        "CLINICAL_HISTORY": f"Synthetic patient marker-{i:02d}, 60, with fever and cough.",
        "IMAGING_FINDINGS": "Right lower lobe consolidation with air bronchograms.",
        "image_01_caption": f"Chest film marker-{i:02d}.",
        "image_01_modality": "CR",
        "options": {"A": "Pneumonia", "B": "Pulmonary oedema", "C": "Lung cancer"},
        "correct_answer": "A",
        "discussion": "Lobar consolidation with fever is pneumonia; a mass must be excluded.",
    }


def _write_predictions(path: Path, n: int) -> None:
    with path.open("w") as handle:
        for i in range(n):
            line = {
                **_case(i),
                "prediction": f"B {ANSWER}",
                "prediction_rationale": f"{CANDIDATE}-{i:02d}: the heart is big. Final: B",
            }
            handle.write(json.dumps(line) + "\n")


ITEMS = [
    {"criterion": "Names pneumonia as the diagnosis.", "points": 8, "kind": "finding"},
    {
        "criterion": "Cites the air bronchograms as favouring pneumonia.",
        "points": 5,
        "kind": "discriminator",
        "option": "A",
        "stance": "for",
    },
    {
        "criterion": "Mentions that a mass must be excluded on follow-up.",
        "points": 4,
        "kind": "must_not_miss",
        "option": "C",
    },
    {"criterion": "Starts antibiotics.", "points": 6, "kind": "urgent_action"},
    {"criterion": "Recommends diuretics only.", "points": -6, "kind": "unsafe_action"},
]


def _reply(body: dict[str, Any], n: int) -> Reply:
    return Reply.json({"items": ITEMS})


def _options(server: LLMServer, **more: Any) -> dict[str, Any]:
    from judge.options import RunOptions

    return {"options": RunOptions(judges=["openai/test-judge"], api_base=server.url, **more)}


def test_the_writer_sees_the_case_material_never_the_candidate(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    predictions, out = tmp_path / "preds.jsonl", tmp_path / "keys.jsonl"
    _write_predictions(predictions, 3)
    llm_server.script = _reply
    result = build_keys(predictions, out, **_options(llm_server))
    assert (result.drafted, result.kept, result.failed) == (3, 0, [])
    sent = [json.dumps(r.body) for r in llm_server.requests]
    assert len(sent) == 3
    assert not any(CANDIDATE in body or ANSWER in body for body in sent)
    # What it does see: the history, the findings, the captions, the answer, the discussion.
    for needle in ("marker-00, 60", "air bronchograms", "Chest film marker-00", "a mass must"):
        assert any(needle in body for body in sent), needle
    keys = load_keys(out)
    assert len(keys) == 3
    key = keys.key("key case 01")
    assert key is not None and key.status == "draft" and key.review is None
    assert key.drafted.by == "openai/test-judge" and key.drafted.prompt_hash
    assert key.case_hash == case_material_hash(Case.model_validate(_case(1)))
    assert key.content_hash == key.key_hash()  # stamped
    assert [i.model_dump(exclude_none=True) for i in key.items] == ITEMS


def test_a_reply_that_is_not_the_items_is_no_key_and_is_retried(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    predictions, out = tmp_path / "preds.jsonl", tmp_path / "keys.jsonl"
    _write_predictions(predictions, 1)
    # An unsafe action with positive points does not validate as a key's item, every time.
    bad = [{"criterion": "Discharges home.", "points": 5, "kind": "unsafe_action"}]
    llm_server.script = lambda body, n: Reply.json({"items": bad})
    first = build_keys(predictions, out, **_options(llm_server, validation_retries=1))
    assert first.failed == ["key case 00"] and first.drafted == 0
    assert not out.read_text().strip()
    llm_server.script = _reply
    second = build_keys(predictions, out, **_options(llm_server))
    assert second.drafted == 1 and len(load_keys(out)) == 1


def test_the_cases_file_alone_and_the_out_guards(tmp_path: Path, llm_server: LLMServer) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(_case(i)) + "\n" for i in range(2)))
    out = tmp_path / "keys.jsonl"
    llm_server.script = _reply
    result = build_keys(None, out, **_options(llm_server, cases=cases))
    assert result.drafted == 2
    again = build_keys(None, out, **_options(llm_server, cases=cases))
    assert (again.drafted, again.kept) == (0, 2) and llm_server.count == 2
    # --out is the input: refused before anything is written.
    with pytest.raises(ConfigError, match="cases file"):
        build_keys(None, cases, **_options(llm_server, cases=cases))
    # --out holds someone else's file: refused, left as it was.
    theirs = tmp_path / "notes.jsonl"
    theirs.write_text('{"my": "notes"}\n')
    with pytest.raises(ConfigError, match="not a keys file"):
        build_keys(None, theirs, **_options(llm_server, cases=cases))
    assert theirs.read_text() == '{"my": "notes"}\n'
    # A planted link at --out is never followed to a file of someone else's.
    target = tmp_path / "target.txt"
    target.write_text("precious\n")
    (tmp_path / "link.jsonl").symlink_to(target)
    with pytest.raises(ConfigError):
        build_keys(None, tmp_path / "link.jsonl", **_options(llm_server, cases=cases))
    assert target.read_text() == "precious\n"


def test_a_case_changed_since_is_drafted_again_and_the_old_key_kept_aside(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(_case(0)) + "\n")
    out = tmp_path / "keys.jsonl"
    llm_server.script = _reply
    build_keys(None, out, **_options(llm_server, cases=cases))
    changed = {**_case(0), "discussion": "A new discussion."}
    cases.write_text(json.dumps(changed) + "\n")
    result = build_keys(None, out, **_options(llm_server, cases=cases))
    assert result.drafted == 1 and result.notices and "bak" in result.notices[0]
    key = load_keys(out).key("key case 00")
    assert key is not None and key.case_hash == case_material_hash(Case.model_validate(changed))


def test_max_cost_is_estimated_before_any_call_and_stops_the_build(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    predictions, out = tmp_path / "preds.jsonl", tmp_path / "keys.jsonl"
    _write_predictions(predictions, 3)
    llm_server.script = _reply
    common = ["keys", "build", str(predictions), "--judge", "openai/gpt-4o-mini"]
    common += ["--api-base", llm_server.url, "--out", str(out)]
    dry = CliRunner().invoke(cli, [*common, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 to draft" in dry.output and "estimated cost $0.0" in dry.output
    assert llm_server.count == 0 and not out.exists()
    stop = CliRunner().invoke(cli, [*common, "--max-cost", "0.0000001"])
    assert stop.exit_code == 3, stop.output
    assert "--max-cost" in stop.output and llm_server.count == 0
    done = CliRunner().invoke(cli, [*common, "--max-cost", "1"])
    assert done.exit_code == 0, done.output
    assert len(load_keys(out)) == 3 and llm_server.count == 3


def test_the_schema_command_validates_a_real_key(tmp_path: Path, llm_server: LLMServer) -> None:
    predictions, out = tmp_path / "preds.jsonl", tmp_path / "keys.jsonl"
    _write_predictions(predictions, 1)
    llm_server.script = _reply
    build_keys(predictions, out, **_options(llm_server))
    shown = CliRunner().invoke(cli, ["keys", "schema"])
    assert shown.exit_code == 0, shown.output
    schema = json.loads(shown.output)
    key = json.loads(out.read_text().splitlines()[0])
    jsonschema.validate(key, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**key, "status": "approved"}, schema)
    assert CaseKey.model_validate(key).key_hash() == key["content_hash"]


def _start(predictions: Path, out: Path, server: LLMServer, home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "JUDGE_HOME": str(home), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    command = [sys.executable, "-m", "judge", "keys", "build", str(predictions)]
    command += ["--judge", "openai/test-judge", "--api-base", server.url, "--out", str(out)]
    command += ["--concurrency", "1"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _lines(out: Path) -> list[str]:
    if not out.exists():
        return []
    return [line for line in out.read_text().split("\n")[:-1] if line]  # complete lines only


@pytest.mark.slow
def test_a_build_killed_midway_resumes_without_a_call_or_a_key_twice(
    tmp_path: Path, judge_home: Path
) -> None:
    n = 8
    predictions, out = tmp_path / "preds.jsonl", tmp_path / "keys.jsonl"
    _write_predictions(predictions, n)
    with LLMServer(_reply, latency=0.1) as server:
        proc = _start(predictions, out, server, judge_home)
        deadline = time.monotonic() + 120  # a loaded machine imports litellm first
        while len(_lines(out)) < 3:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the build made no progress"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        written = _lines(out)
        first = [messages_key(r.body) for r in server.requests if r.status == 200]
        since = server.count
        proc = _start(predictions, out, server, judge_home)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr.decode()
        again = [messages_key(r.body) for r in server.requests[since:]]
        # Only the call in flight at the kill (--concurrency 1) may be asked again.
        assert len(set(first) & set(again)) <= 1
        lines = _lines(out)
        assert lines[: len(written)] == written  # what was written stays as it was
        cases = [json.loads(line)["case"] for line in lines]
        assert sorted(cases) == [f"key case {i:02d}" for i in range(n)]  # once each
        assert len(load_keys(out)) == n
        before = server.count
        proc = _start(predictions, out, server, judge_home)
        proc.communicate(timeout=120)
        assert proc.returncode == 0 and server.count == before
        assert _lines(out) == lines


def test_the_docs_example_key_is_a_valid_key_of_its_case() -> None:
    import re

    from judge.judging.prompts import template_hash

    doc = (Path(__file__).resolve().parents[2] / "docs" / "keys.md").read_text()
    example = doc.split("### An example", 1)[1]
    case, key = (json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", example, re.S)[:2])
    parsed = CaseKey.model_validate(key)  # content_hash included: the items are as stamped
    assert parsed.case_hash == case_material_hash(Case.model_validate(case))
    assert parsed.drafted.prompt_hash == template_hash(("key_writer.txt",))
    shown = CliRunner().invoke(cli, ["keys", "schema"])
    jsonschema.validate(key, json.loads(shown.output))
