"""Scoring with case keys (#25), end to end over real HTTP to the local test server:
`--keys` shown to ddx and education, the `keys` rubric's points score, the key hash per
record and the resume that re-judges only an edited key's case, the review counts in the
summary and the report, and bad keys files refused before any call."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import judge
from judge.aggregate.key_counts import keys_sentence
from judge.cli import cli
from judge.contracts import Prediction
from judge.contracts.case_keys import KEY_FORMAT, CaseKey, case_material_hash
from judge.errors import ConfigError
from judge.judging.key_prompt import KEY_TITLE
from judge.judging.prompts import rubric_templates, template_hash
from judge.load.rubric import load_rubric
from judge.options import RunOptions
from judge.report.html import build_report
from judge.serve.app import create_app
from judge.serve.server import running
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply

MODEL = "openai/test-judge"
OPTIONS = {"A": "Alpha disease", "B": "Beta disease", "C": "Gamma disease"}
OPTIONS |= {"D": "Delta disease", "E": "Epsilon disease"}


def _case(n: int) -> dict[str, Any]:
    """A synthetic case with a prediction (rationale, step 3 and a discussion)."""
    return {
        "title": f"Synthetic key case {n}",
        "CLINICAL_HISTORY": f"A {20 + n}-year-old with a made-up complaint number {n}.",
        "IMAGING_FINDINGS": f"Invented finding {n} in the left upper zone.",
        "image_01_caption": f"Synthetic image {n}",
        "options": OPTIONS,
        "correct_answer": "A",
        "discussion": f"Alpha disease shows invented finding {n}; Beta disease does not.",
        "prediction": "A",
        "prediction_rationale": f"Finding {n} argues for Alpha disease, not Beta. Final: A",
        "prediction_discussion": f"Alpha disease is taught by finding {n}; Beta lacks it.",
    }


CASES = [_case(n) for n in (1, 2, 3)]


def _key(row: dict[str, Any], role: str | None = "author", word: str = "") -> dict[str, Any]:
    """A key for `row` (reviewed in `role`, or a draft when None)."""
    n = row["title"].rsplit(" ", 1)[1]
    key: dict[str, Any] = {
        "format": KEY_FORMAT,
        "case": row["title"],
        "case_hash": case_material_hash(Prediction.model_validate(row)),
        "items": [
            {
                "criterion": f"Cites invented finding {n} against Beta disease{word}",
                "points": 5,
                "kind": "discriminator",
                "option": "B",
                "stance": "against",
            },
            {"criterion": f"Teaches the sign of case {n}", "points": 3, "kind": "teaching_point"},
            {"criterion": f"Advises discharge in case {n}", "points": -8, "kind": "unsafe_action"},
        ],
        "drafted": {"by": "hand:author", "at": "2026-12-07T21:00:00+00:00"},
        "status": "draft" if role is None else "reviewed",
    }
    if role is not None:
        key["review"] = {"reviewer": "author", "role": role, "at": "2026-12-07T21:05:00+00:00"}
    return key


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    preds = _write(tmp_path / "preds.jsonl", CASES)
    keys = _write(tmp_path / "keys.jsonl", [_key(row) for row in CASES])
    return preds, keys


def _users(server: LLMServer) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in server.requests]


def test_ddx_with_keys_shows_each_case_its_own_key_and_records_its_hash(
    llm_server: LLMServer, files: tuple[Path, Path], tmp_path: Path
) -> None:
    preds, keys = files
    out = tmp_path / "r.jsonl"
    result = judge.score(
        preds, "ddx", keys=keys, judges=[MODEL], api_base=llm_server.url, out=out, cache=False
    )
    users = _users(llm_server)
    assert len(users) == 3
    for row in CASES:
        mine = [u for u in users if row["CLINICAL_HISTORY"] in u]
        assert len(mine) == 1
        n = row["title"].rsplit(" ", 1)[1]
        # Its own key's items, labelled as the judge lists them, and no other case's.
        assert f"## {KEY_TITLE}" in mine[0]
        assert f"1. [discriminator, option B, against] Cites invented finding {n}" in mine[0]
        assert f"2. [teaching_point] Teaches the sign of case {n}" in mine[0]
        # The unsafe action is shown apart, not as an item to list.
        assert f"- Advises discharge in case {n}" in mine[0]
        others = [c["title"].rsplit(" ", 1)[1] for c in CASES if c is not row]
        assert not any(f"Teaches the sign of case {m}" in mine[0] for m in others)
    records = {r.id: r for r in iter_records(out)}
    for row in CASES:
        expected = CaseKey.model_validate(_key(row)).key_hash()
        assert records[row["title"]].key_hash == expected
        assert records[row["title"]].key_review == "author"
    assert result.summary.keys == {
        "file": str(keys),
        "keys": 3,
        "reviewed_by_clinician": 0,
        "reviewed_by_author": 3,
        "draft": 0,
    }
    assert result.summary.on_draft_keys == 0
    # The key section is part of the prompt: its hash differs from a run without keys.
    plain = template_hash(rubric_templates(load_rubric("ddx")))
    assert result.prompt_hash != plain
    assert all(r.prompt_hash == result.prompt_hash for r in records.values())


def test_without_keys_the_prompt_and_records_are_as_before(
    llm_server: LLMServer, files: tuple[Path, Path]
) -> None:
    preds, _ = files
    result = judge.score(preds, "ddx", judges=[MODEL], api_base=llm_server.url, cache=False)
    assert not any(KEY_TITLE in u for u in _users(llm_server))
    assert all(r.key_hash is None and r.key_review is None for r in result.records)
    assert result.summary.keys is None
    assert result.prompt_hash == template_hash(rubric_templates(load_rubric("ddx")))


def test_the_judge_names_the_key_items_it_found_in_details(
    llm_server: LLMServer, files: tuple[Path, Path]
) -> None:
    """education with a key: the key is shown, and the judge's list (the key's items, each
    met or not) is stored in each judgment's details."""
    preds, keys = files
    listed = [
        {"kind": "discriminator", "text": "Cites the finding", "option": "B", "met": True},
        {"kind": "teaching_point", "text": "Teaches the sign", "option": None, "met": False},
    ]
    verdict: dict[str, Any] = {"key_items": listed}
    for criterion in load_rubric("education").llm_criteria:
        level = criterion.scale.levels[0]  # type: ignore[union-attr]
        verdict[criterion.id] = {"rationale": "r", "score": level}
    llm_server.script = lambda body, n: Reply.json(verdict)
    result = judge.score(
        preds, "education", keys=keys, judges=[MODEL], api_base=llm_server.url, cache=False
    )
    users = _users(llm_server)
    assert len(users) == 3 and all(f"## {KEY_TITLE}" in u for u in users)
    assert all("Alpha disease is taught by finding" in u for u in users)  # the discussion
    for record in result.records:
        judged = [j for j in record.judgments if j.judge == MODEL and j.status == "scored"]
        assert judged and all(j.details == {"key_items": listed} for j in judged)


def _met_by_item(body: dict[str, Any], n: int) -> Reply:
    """The keys rubric's grader: the discriminator and the unsafe action are met, the
    teaching point is not."""
    prompt = body["messages"][-1]["content"]
    item = prompt.split("# Rubric item", 1)[1]
    met = "Teaches the sign" not in item
    return Reply.json({"explanation": "scripted", "criteria_met": met})


def test_the_keys_rubric_judges_every_item_into_healthbenchs_points_score(
    llm_server: LLMServer, files: tuple[Path, Path]
) -> None:
    preds, keys = files
    llm_server.script = _met_by_item
    result = judge.score(
        preds, "keys", keys=keys, judges=[MODEL], api_base=llm_server.url, cache=False
    )
    users = _users(llm_server)
    assert len(users) == 9  # 3 items of 3 cases, one call each
    assert sum("[-8] Advises discharge in case 2" in u for u in users) == 1
    assert sum("[5] Cites invented finding 1 against Beta disease" in u for u in users) == 1
    for record in result.records:
        # healthbench_eval.calculate_score: met points (5 - 8) over positive points (5 + 3).
        assert record.scores["overall"] == pytest.approx(-3 / 8)
        assert record.scores["kind:discriminator"] == 1.0
        assert record.scores["kind:teaching_point"] == 0.0
        assert "kind:unsafe_action" not in record.scores  # no positive points: left out
        assert record.key_review == "author" and record.key_hash is not None
    # The run's score: the mean clipped to [0, 1], as HealthBench's.
    overall = next(c for c in result.summary.clipped if c.key == "overall")
    assert overall.mean == 0.0 and overall.n == 3


def test_the_keys_rubric_needs_keys_and_a_rubric_without_keys_refuses_them(
    llm_server: LLMServer, files: tuple[Path, Path], tmp_path: Path
) -> None:
    preds, keys = files
    with pytest.raises(ConfigError, match="rubric keys judges each case's key: give --keys"):
        judge.score(preds, "keys", judges=[MODEL], api_base=llm_server.url)
    with pytest.raises(ConfigError, match="rubric accuracy uses no case key"):
        judge.score(preds, "accuracy", keys=keys)
    out = str(tmp_path / "r.jsonl")
    code, output = _run("score", str(preds), "--rubric", "keys", "--judge", MODEL,
                        "--api-base", llm_server.url, "--out", out)  # fmt: skip
    assert code == 2 and "give --keys FILE" in output
    assert llm_server.count == 0


def test_an_edited_key_rejudges_only_its_own_case_on_resume(
    llm_server: LLMServer, files: tuple[Path, Path], tmp_path: Path
) -> None:
    preds, keys = files
    out = tmp_path / "r.jsonl"
    run = dict(keys=keys, judges=[MODEL], api_base=llm_server.url, out=out, cache=False)
    judge.score(preds, "ddx", **run)
    assert llm_server.count == 3
    llm_server.reset()
    judge.score(preds, "ddx", **run)
    assert llm_server.count == 0  # nothing changed: everything kept
    edited = [_key(CASES[0]), _key(CASES[1], word=" (edited)"), _key(CASES[2])]
    _write(keys, edited)
    result = judge.score(preds, "ddx", **run)
    users = _users(llm_server)
    assert len(users) == 1 and CASES[1]["CLINICAL_HISTORY"] in users[0]
    assert "Cites invented finding 2 against Beta disease (edited)" in users[0]
    assert result.judged == 1 and result.resumed == 2
    assert any("case key" in notice for notice in result.notices)  # the old line is in .bak
    lines = out.read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert sorted(ids) == sorted(row["title"] for row in CASES)  # one each, no duplicate
    records = {r.id: r for r in iter_records(out)}
    assert records[CASES[1]["title"]].key_hash == CaseKey.model_validate(edited[1]).key_hash()
    assert records[CASES[0]["title"]].key_hash == CaseKey.model_validate(edited[0]).key_hash()


def test_a_run_without_keys_rejudges_records_judged_with_keys(
    llm_server: LLMServer, files: tuple[Path, Path], tmp_path: Path
) -> None:
    preds, keys = files
    out = tmp_path / "r.jsonl"
    run = dict(judges=[MODEL], api_base=llm_server.url, out=out, cache=False)
    judge.score(preds, "ddx", keys=keys, **run)
    llm_server.reset()
    judge.score(preds, "ddx", **run)
    assert llm_server.count == 3
    assert all(r.key_hash is None for r in iter_records(out))


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_summary_and_report_say_how_many_keys_are_reviewed_and_flag_drafts(
    llm_server: LLMServer, files: tuple[Path, Path], tmp_path: Path
) -> None:
    preds, keys = files
    _write(keys, [_key(CASES[0], "clinician"), _key(CASES[1], "author"), _key(CASES[2], None)])
    out = tmp_path / "r.jsonl"
    code, output = _run("score", str(preds), "--keys", str(keys), "--judge", MODEL,
                        "--api-base", llm_server.url, "--out", str(out), "--no-cache")  # fmt: skip
    assert code == 0, output
    flat = " ".join(output.split())
    assert "2 of 3 keys reviewed: 1 by a clinician, 1 by their author" in flat
    assert "warning: 1 result rests on draft keys, not reviewed" in flat
    html = build_report(out)
    assert "Case keys: 2 of 3 keys reviewed: 1 by a clinician, 1 by their author" in html
    assert "1 result rests on draft keys" in html
    assert (
        keys_sentence({"keys": 12, "reviewed_by_clinician": 0, "reviewed_by_author": 9, "draft": 3})
        == "9 of 12 keys reviewed: 0 by a clinician, 9 by their author"
    )


def _bad_cases(preds: Path, keys: Path) -> list[tuple[list[Any], str]]:
    """Keys files, each with the one-line error it gets."""
    good = [_key(row) for row in CASES]
    changed = {**good[1], "case_hash": "0" * 64}
    ninth = {**good[2], "items": [{**good[2]["items"][0], "points": 11}]}
    stranger = _key({**CASES[0], "title": "Nobody's case"})
    case = "case 'Synthetic key case"
    return [
        (good[:2], f"{preds}:3: field 'case': no key for {case} 3' in {keys}"),
        ([*good, stranger], f"{keys}:4: field 'case': case \"Nobody's case\" is not a case"),
        ([good[0], changed, good[2]], f"{keys}:2: field 'case_hash': {case} 2' changed"),
        ([good[0], good[1], ninth], f"{keys}:3: field 'items.0.points'"),
        ([good[0], good[0]], f"{keys}:2: field 'case': {case} 1' already has a key"),
        (["{not json\n"], f"{keys}:1:"),
    ]


def test_bad_keys_files_are_file_line_field_errors_before_any_call(
    llm_server: LLMServer, files: tuple[Path, Path], tmp_path: Path
) -> None:
    preds, keys = files
    out = tmp_path / "r.jsonl"
    for rows, expected in _bad_cases(preds, keys):
        _write(keys, rows)
        code, output = _run("score", str(preds), "--keys", str(keys), "--judge", MODEL,
                            "--api-base", llm_server.url, "--out", str(out))  # fmt: skip
        assert code == 2, output
        assert len(output.strip().splitlines()) == 1, output
        assert output.strip().startswith(f"error: {expected}"), output
        assert llm_server.count == 0 and not out.exists()
        # The dry run checks them too.
        code, output = _run("score", str(preds), "--keys", str(keys), "--dry-run")
        assert code == 2 and output.strip().startswith(f"error: {expected}"), output


def test_serve_with_keys_shows_the_key_and_refuses_a_case_without_one(
    llm_server: LLMServer, files: tuple[Path, Path]
) -> None:
    _, keys = files
    options = RunOptions(
        judges=[MODEL], api_base=llm_server.url, timeout=60.0, cache=False, keys=str(keys)
    )
    stranger = {**CASES[0], "title": "Nobody's case"}
    changed = {**CASES[1], "discussion": "Another discussion."}
    with running(create_app(options)) as url:
        one = httpx.post(f"{url}/v1/score", json={"rubric": "ddx", "prediction": CASES[0]})
        keyless = httpx.post(f"{url}/v1/score", json={"rubric": "ddx", "prediction": stranger})
        moved = httpx.post(f"{url}/v1/score", json={"rubric": "ddx", "prediction": changed})
        # A rubric that uses no key is served as before.
        plain = httpx.post(f"{url}/v1/score", json={"rubric": "accuracy", "prediction": stranger})
    assert one.status_code == 200, one.text
    assert one.json()["key_hash"] == CaseKey.model_validate(_key(CASES[0])).key_hash()
    assert llm_server.count == 1 and KEY_TITLE in _users(llm_server)[0]
    assert keyless.status_code == 422 and "no key for case" in keyless.text
    assert moved.status_code == 422 and "changed since its key was built" in moved.text
    assert plain.status_code == 200 and plain.json()["key_hash"] is None


def test_serve_refuses_a_bad_keys_file_at_start(tmp_path: Path) -> None:
    bad = _write(tmp_path / "keys.jsonl", ['{"case": 1}\n'])
    code, output = _run("serve", "--keys", str(bad), "--judge", MODEL, "--port", "0")
    assert code == 2 and re.match(rf"error: {re.escape(str(bad))}:1: field '\w+'", output), output


def test_serve_without_keys_refuses_the_keys_rubric_and_judges_ddx_as_before(
    llm_server: LLMServer,
) -> None:
    options = RunOptions(judges=[MODEL], api_base=llm_server.url, timeout=60.0, cache=False)
    with running(create_app(options)) as url:
        keyed = httpx.post(f"{url}/v1/score", json={"rubric": "keys", "prediction": CASES[0]})
        ddx = httpx.post(f"{url}/v1/score", json={"rubric": "ddx", "prediction": CASES[0]})
    assert keyed.status_code == 400 and "give --keys FILE" in keyed.text
    assert ddx.status_code == 200 and ddx.json()["key_hash"] is None
    assert llm_server.count == 1 and KEY_TITLE not in _users(llm_server)[0]


def test_skip_invalid_scores_the_rest_without_refusing_the_skipped_lines_keys(
    llm_server: LLMServer, files: tuple[Path, Path]
) -> None:
    preds, keys = files
    _write(preds, [CASES[0], {**CASES[1], "correct_answer": "Z"}, CASES[2]])
    run = dict(keys=keys, judges=[MODEL], api_base=llm_server.url, cache=False)
    with pytest.raises(judge.errors.InputError, match=f"{preds}:2: field 'correct_answer'"):
        judge.score(preds, "ddx", **run)
    result = judge.score(preds, "ddx", skip_invalid=True, **run)
    assert sorted(r.id for r in result.records) == [CASES[0]["title"], CASES[2]["title"]]
    assert len(result.skipped) == 1 and llm_server.count == 2


def test_score_frame_takes_keys_and_checks_them_before_any_call(
    llm_server: LLMServer, files: tuple[Path, Path]
) -> None:
    import pandas as pd

    _, keys = files
    llm_server.script = _met_by_item
    run = dict(keys=keys, judges=[MODEL], api_base=llm_server.url, cache=False)
    frame = judge.score_frame(pd.DataFrame(CASES), "keys", **run)
    assert list(frame["overall"]) == [pytest.approx(-3 / 8)] * 3
    assert llm_server.count == 9
    llm_server.reset()
    stranger = pd.DataFrame([{**CASES[0], "title": "Nobody's case"}])
    with pytest.raises(judge.errors.InputError, match='no key for case "Nobody\'s case"'):
        judge.score_frame(stranger, "ddx", **run)
    assert llm_server.count == 0


def test_a_limited_run_counts_the_keys_it_judged_with(llm_server: LLMServer) -> None:
    # The bundled example and its 12 keys, judged on its first 2 items (--limit 2): the summary
    # says 2 keys, as the report and `judge methods` count them from the records.
    root = Path(__file__).resolve().parents[2] / "examples"
    result = judge.score(
        root / "predictions.jsonl", "ddx", keys=root / "keys.jsonl", limit=2, judges=[MODEL],
        api_base=llm_server.url, cache=False,
    )  # fmt: skip
    assert result.summary.keys is not None
    assert (result.summary.keys["keys"], result.summary.keys["reviewed_by_author"]) == (2, 2)
    assert result.summary.keys["file"] == str(root / "keys.jsonl")
