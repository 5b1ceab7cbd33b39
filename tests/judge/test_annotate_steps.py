"""`judge annotate --rubric ddx-steps` over real HTTP: the rater sees the steps the judges
rated (or a sentence split), rates each one, required answers are enforced, the steps
survive a restart, and the export is matched by `judge calibrate` at item#step level."""

from __future__ import annotations

import csv
import html
import json
import signal
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from test_annotate_cli import _start, _wait_until_served
from test_annotate_support import PAYLOAD, STEP_ANSWERS, StepsLive, csrf_of, steps_live
from test_stages import STEPS

from calibration import load_human_scores
from calibration.data import unit_ids
from judge.annotate.export import STEP_COLUMNS, export_scores
from judge.annotate.server import AnnotationServer, rater_links
from judge.annotate.study import open_study
from judge.cli.calibrate import calibrate_command
from judge.errors import ConfigError
from judge.judging.sentences import fit_units, split_sentences
from judge.load.inputs import read_items

__all__ = ["steps_live"]  # the fixture, imported for pytest

ERRORS = ["Reasoning Err", "Image Understanding Err"]


def _form(csrf: str, steps: dict[int, dict[str, str | list[str]]]) -> list[tuple[str, str]]:
    """The form as a browser sends it: one pair per checked box (a field may repeat)."""
    pairs = [("csrf", csrf), ("comment", ""), ("go", "next")]
    for step, answers in steps.items():
        for criterion, value in answers.items():
            for v in [value] if isinstance(value, str) else value:
                pairs.append((f"step{step}_{criterion}", v))
    return pairs


GOOD: dict[int, dict[str, str | list[str]]] = {
    1: {"verifiable": "1", "is_factual": "1", "is_critical": "1", "options_addressed": ["A", "B"]},
    # Not factual: error types are asked (given in another order than the rubric's).
    2: {
        "verifiable": "1",
        "is_factual": "0",
        "is_critical": "1",
        "options_addressed": ["C"],
        "error_types": ERRORS,
    },
    # Factual: error types sent anyway (a stale box) are not stored.
    3: {
        "verifiable": "1",
        "is_factual": "1",
        "is_critical": "0",
        "options_addressed": [],
        "error_types": ERRORS,
    },
}


def _post(client: httpx.Client, base: str, n: int, steps: dict) -> httpx.Response:
    csrf = csrf_of(client.get(f"{base}items/{n}").text)
    body = httpx.QueryParams(_form(csrf, steps))
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return client.post(f"{base}items/{n}", content=str(body), headers=headers)


def test_the_rater_sees_the_judged_steps_or_a_sentence_split(steps_live: StepsLive) -> None:
    base = steps_live.path("alice")
    with steps_live.client() as client:
        first = client.get(f"{base}items/1").text
        third = client.get(f"{base}items/3").text
    for n, text in enumerate(STEPS, start=1):
        assert f"Step {n}</h3>" in first and html.escape(text) in first
    assert "Step 4</h3>" not in first
    # Item 3 is not in the results: the judge's own fallback split, stored with its source.
    item = next(i for i in read_items(steps_live.predictions) if i.id == steps_live.ids[2])
    text = item.prediction.prediction_rationale or ""
    sentences = fit_units(split_sentences(text), 15)
    assert steps_live.study.units[item.id] == sentences
    assert steps_live.study.store.units()[item.id].source == "sentences"
    assert steps_live.study.store.units()[steps_live.ids[0]].source == "results"
    for sentence in sentences:
        assert html.escape(sentence) in third
    # Error types are asked only of a step that is not factual: hidden until then.
    assert 'id="criterion-step1_error_types" data-when=' in first
    assert "checkbox" in first and 'name="step1_options_addressed"' in first


def test_required_answers_are_enforced_with_a_clear_message(steps_live: StepsLive) -> None:
    base = steps_live.path("alice")
    with steps_live.client() as client:
        no_critical = {**GOOD, 2: {k: v for k, v in GOOD[2].items() if k != "is_critical"}}
        refused = _post(client, base, 1, no_critical)
        assert refused.status_code == 400
        assert "step 2: answer is_critical" in html.unescape(refused.text)
        no_errors = {**GOOD, 2: {k: v for k, v in GOOD[2].items() if k != "error_types"}}
        refused = _post(client, base, 1, no_errors)
        assert refused.status_code == 400
        assert "step 2: error_types needs at least one label" in html.unescape(refused.text)
        bad = {**GOOD, 1: {**GOOD[1], "options_addressed": ["Z"]}}
        assert _post(client, base, 1, bad).status_code == 400
    assert list(steps_live.study.store.score_rows()) == []  # nothing half-saved


def test_steps_are_stored_per_step_survive_a_restart_and_export(
    steps_live: StepsLive, tmp_path: Path
) -> None:
    base = steps_live.path("alice")
    item = steps_live.ids[0]
    with steps_live.client() as client:
        assert _post(client, base, 1, GOOD).status_code == 303
        assert "1 of 3 complete" in client.get(base).text
    answer = steps_live.study.store.answer("alice", item)
    assert answer.steps == STEP_ANSWERS
    units = dict(steps_live.study.units)

    # A restart without --results shows the same steps, and the page is prefilled.
    steps_live.server.stop()
    steps_live.study.store.close()
    again = open_study(steps_live.predictions, "ddx-steps", ["alice"], 1, db=steps_live.db)
    try:
        assert again.units == units
        assert again.store.answer("alice", item).steps == answer.steps
    finally:
        again.store.close()

    out = tmp_path / "human.csv"
    summary = export_scores(steps_live.db, out)
    with out.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == STEP_COLUMNS
        rows = {(r["item"], r["step"], r["criterion"]): r["score"] for r in reader}
    assert (
        summary.rows == len(rows) == 13
    )  # 3 steps x verifiable, is_factual, is_critical, options; 1 error_types
    assert rows[(item, "2", "error_types")] == "Image Understanding Err; Reasoning Err"
    assert rows[(item, "1", "options_addressed")] == "A; B"
    assert rows[(item, "3", "options_addressed")] == "(none)"  # none addressed: an answer
    assert (item, "3", "error_types") not in rows


def test_export_is_calibrated_against_the_judges_step_by_step(
    steps_live: StepsLive, tmp_path: Path
) -> None:
    base = steps_live.path("alice")
    # Alice agrees with the scripted judge on item 1's steps but one: she calls step 3
    # critical (the judge: not critical).
    mine = {**GOOD, 3: {**GOOD[3], "is_critical": "1"}}
    with steps_live.client() as client:
        assert _post(client, base, 1, mine).status_code == 303
    out = tmp_path / "human.csv"
    export_scores(steps_live.db, out)
    human = load_human_scores(out)
    assert set(unit_ids(human)) == {f"{steps_live.ids[0]}#{n}" for n in (1, 2, 3)}

    result = CliRunner().invoke(
        calibrate_command,
        ["--judge", str(steps_live.results), "--human", str(out), "--rubric", "ddx-steps",
         "--n-boot", "0", "--out", str(tmp_path / "agreement.csv")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with (tmp_path / "agreement.csv").open(newline="") as handle:
        handle.readline()  # the mark of a table of ours
        table = {r["criterion"]: r for r in csv.DictReader(handle)}
    assert set(table) >= {"is_factual", "is_critical", "error_types", "options_addressed"}
    # Units are item#step: three steps matched, all agreeing on is_factual; is_critical
    # disagrees on one of the three.
    assert float(table["is_factual"]["n_items"]) == 3
    assert float(table["is_factual"]["exact"]) == 1.0
    assert float(table["is_critical"]["n_items"]) == 3
    assert abs(float(table["is_critical"]["exact"]) - 2 / 3) < 1e-9
    # Step 2's label set equals the judge's: one unit, in agreement. An empty set of options
    # (step 3) is an answer, compared like any other: three steps are matched on
    # options_addressed, and on step 3 alice's none disagrees with the judge's C.
    assert float(table["error_types"]["n_items"]) == 1
    assert float(table["error_types"]["exact"]) == 1.0
    assert float(table["options_addressed"]["n_items"]) == 3
    assert abs(float(table["options_addressed"]["exact"]) - 2 / 3) < 1e-9


def test_results_of_another_rubric_or_no_file_are_refused(
    steps_live: StepsLive, tmp_path: Path
) -> None:
    record = json.loads(steps_live.results.read_text(encoding="utf-8").splitlines()[0])
    record["rubric"]["id"] = "ddx"
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps(record) + "\n", encoding="utf-8")
    db = tmp_path / "fresh.sqlite"
    with pytest.raises(ConfigError, match="judged with rubric ddx, not ddx-steps"):
        open_study(steps_live.predictions, "ddx-steps", ["bob"], 1, db=db, results=other)
    with pytest.raises(ConfigError, match="no such file"):
        open_study(steps_live.predictions, "ddx-steps", ["bob"], 1, db=db, results=tmp_path / "x")


def test_the_command_takes_results_and_says_what_is_rated(
    steps_live: StepsLive, tmp_path: Path
) -> None:
    args = [str(steps_live.predictions), "--rubric", "ddx-steps", "--raters", "alice"]
    args += ["--results", str(steps_live.results), "--db", str(tmp_path / "cli.sqlite")]
    proc, links = _start(args, tmp_path, header := [])
    try:
        # Every item is in the full results: 3 steps each, 4 questions per step.
        assert "5 criteria on each of 9 steps rated by people" in header[0]
        _wait_until_served(links["alice"])
        page = httpx.get(f"{links['alice']}items/1").text
        assert html.escape(STEPS[0]) in page
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 130


def test_a_step_holding_markup_is_shown_as_text(steps_live: StepsLive, tmp_path: Path) -> None:
    records = [json.loads(x) for x in steps_live.results.read_text("utf-8").splitlines()]
    for record in records:
        record["segments"]["steps"]["units"] = [PAYLOAD, "</p><b>bold?</b>"]
    judged = tmp_path / "payload.jsonl"
    judged.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    db = tmp_path / "payload.sqlite"
    study = open_study(steps_live.predictions, "ddx-steps", ["bob"], 1, db=db, results=judged)
    server = AnnotationServer(study).start()
    try:
        link = rater_links(study, server.url)["bob"]
        page = httpx.get(f"{link}items/1").text
    finally:
        server.stop()
        study.store.close()
    assert PAYLOAD not in page and "&lt;script&gt;window.__pwned" in page
    assert "<b>bold?</b>" not in page


def test_a_later_results_segments_unanswered_items_and_says_which_keep_their_steps(
    steps_live: StepsLive, tmp_path: Path
) -> None:
    # The third item was split into sentences (the partial results lack it). Stored steps
    # were never replaced by a later --results, and nothing said so.
    third = steps_live.ids[2]
    assert steps_live.study.units[third] != STEPS
    with steps_live.client() as client:  # alice answers the first item's steps
        assert _post(client, steps_live.path("alice"), 1, GOOD).status_code == 303
    steps_live.server.stop()
    steps_live.study.store.close()
    # A full run, whose segmentation of the first item differs from what alice rated.
    records = [json.loads(x) for x in steps_live.results.read_text("utf-8").splitlines()]
    first = next(r for r in records if r["id"] == steps_live.ids[0])
    first["segments"]["steps"]["units"] = ["One step.", "Another step."]
    full = tmp_path / "full.jsonl"
    full.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    again = open_study(
        steps_live.predictions, "ddx-steps", ["alice"], 1, db=steps_live.db, results=full
    )
    try:
        assert again.units[third] == STEPS  # not rated yet: the run's steps now
        assert again.units[steps_live.ids[0]] == STEPS  # rated by number: kept
        assert len(again.notices) == 1 and steps_live.ids[0] in again.notices[0]
        assert "keep the steps" in again.notices[0]
    finally:
        again.store.close()
