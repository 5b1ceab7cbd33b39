"""`judge keys review` over real HTTP (a live uvicorn on 127.0.0.1, httpx): tokens, CSRF and
origin checks as the rating mode's, each edit action recorded, and the export read back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from test_annotate_support import csrf_of
from test_keys_support import ITEMS, KeysLive, key_form, keys_live, write_inputs

from judge.annotate.key_export import export_keys
from judge.annotate.key_review import open_review, parse_roles
from judge.cli.group import cli
from judge.contracts.case_keys import KeyCheck
from judge.errors import ConfigError, InputError
from judge.load.keys import load_keys

__all__ = ["keys_live"]  # the fixture, imported for pytest


def _page(client: httpx.Client, live: KeysLive, rater: str) -> tuple[str, str]:
    base = live.path(rater)
    html = client.get(f"{base}keys/1").text
    return base, csrf_of(html)


def test_every_request_needs_a_token_and_model_text_stays_text(keys_live: KeysLive) -> None:
    live = keys_live
    with live.client() as client:
        for path in ["/", "/r/", "/r/not-a-token/", "/r/not-a-token/keys/1"]:
            refused = client.get(path)
            assert refused.status_code == 403 and "review case" not in refused.text
        base = live.path("ana")
        page = client.get(f"{base}keys/1")
        assert page.status_code == 200 and "Aortic dissection" in page.text
        assert "intimal flap is diagnostic" in page.text  # the discussion
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "<script>window.__pwned" not in page.text
        assert "&lt;script&gt;window.__pwned" in page.text
        assert client.get(f"{base}keys/9").status_code == 404
        # bob's token opens bob's queue, never ana's key
        assert live.review.queues["ana"] != live.review.queues["bob"]


def test_post_without_csrf_or_from_another_origin_is_refused(keys_live: KeysLive) -> None:
    live = keys_live
    case = live.review.queues["ana"][0]
    with live.client() as client:
        base, csrf = _page(client, live, "ana")
        good = key_form(live.review.store.key(case), csrf, go="finish")
        assert client.post(f"{base}keys/1", data={**good, "csrf": ""}).status_code == 403
        bob = live.review.raters["bob"].csrf
        assert client.post(f"{base}keys/1", data={**good, "csrf": bob}).status_code == 403
        evil = {"Origin": "http://evil.example"}
        assert client.post(f"{base}keys/1", data=good, headers=evil).status_code == 403
    with httpx.Client(base_url=live.url) as bare:  # neither Origin nor Referer
        assert bare.post(f"{base}keys/1", data=good).status_code == 403
    with live.client(Host="attacker.example") as client:
        assert client.get(base).status_code == 403
    assert live.review.store.key(case).edits == [] and live.review.store.finished() == {}


def test_each_edit_action_is_recorded_and_exported(keys_live: KeysLive, tmp_path: Path) -> None:
    live = keys_live
    store = live.review.store
    case = live.review.queues["ana"][0]
    with live.client() as client:
        base, csrf = _page(client, live, "ana")
        # Save: edit item 1's points, delete item 3, add an item; the others are accepted.
        form = key_form(store.key(case), csrf, points_0="9", delete_2="1")
        form |= {"criterion_new": "Measures blood pressure in both arms.", "points_new": "3"}
        saved = client.post(f"{base}keys/1", data=form)
        assert saved.status_code == 303 and saved.headers["location"].endswith("keys/1?saved=1")
        state = store.key(case)
        actions = [(e.action, e.item, e.by) for e in state.edits]
        assert actions == [
            ("edit", 0, "ana"),
            ("accept", 1, "ana"),
            ("delete", 2, "ana"),
            ("accept", 3, "ana"),
            ("add", 3, "ana"),
        ]
        assert state.edits[0].before == ITEMS[0] and state.edits[0].after is not None
        assert state.edits[0].after.points == 9 and state.edits[2].after is None
        assert [i.criterion for i in state.items][-1] == "Measures blood pressure in both arms."
        assert store.finished() == {}
        # A form made before that save is stale: refused, nothing recorded.
        stale = client.post(f"{base}keys/1", data=key_form(store.key(case), csrf, version="0"))
        assert stale.status_code == 409 and len(store.key(case).edits) == 5
        # An item that does not validate: one message naming it, nothing recorded.
        bad = client.post(f"{base}keys/1", data=key_form(store.key(case), csrf, points_1="0"))
        assert bad.status_code == 400 and "item 2" in bad.text
        wrong = key_form(store.key(case), csrf, kind_0="unsafe_action")
        assert client.post(f"{base}keys/1", data=wrong).status_code == 400
        # Finish unchanged: nothing accepted twice, the review is ana's, as a clinician.
        done = client.post(f"{base}keys/1", data=key_form(store.key(case), csrf, go="finish"))
        assert done.status_code == 303
        assert len(store.key(case).edits) == 5 and store.finished() == {case: "ana"}
    out = tmp_path / "reviewed.jsonl"
    summary = export_keys(live.db, out)
    assert (summary.keys, summary.reviewed, summary.edits) == (2, 1, 5)
    keys = load_keys(out)
    key = keys.key(case)
    assert key is not None and key.status == "reviewed" and key.review is not None
    assert (key.review.reviewer, key.review.role) == ("ana", "clinician")
    assert [e.action for e in key.edits] == ["edit", "accept", "delete", "accept", "add"]
    assert key.content_hash == key.key_hash() and len(key.items) == 4
    other = keys.key(live.review.queues["bob"][0])
    assert other is not None and other.status == "draft" and other.items == ITEMS
    # The export is refused over the keys file the review started with, and over other files.
    with pytest.raises(ConfigError):
        export_keys(live.db, live.keys)
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"not": "a key"}\n')
    with pytest.raises(ConfigError):
        export_keys(live.db, mine)
    assert mine.read_text() == '{"not": "a key"}\n'
    export_keys(live.db, out)  # over its own earlier export: fine


def test_a_rating_study_and_a_key_review_never_share_a_database(
    keys_live: KeysLive, tmp_path: Path
) -> None:
    from test_keys_support import review_case

    from judge.annotate.study import open_study

    predictions = tmp_path / "preds.jsonl"
    predictions.write_text(json.dumps(review_case(0) | {"prediction": "A"}) + "\n")
    with pytest.raises(ConfigError, match="review of case keys"):
        open_study(predictions, "ddx", ["alice"], 1, db=keys_live.db)
    rating = tmp_path / "rating.sqlite"
    open_study(predictions, "ddx", ["alice"], 1, db=rating).store.close()
    (tmp_path / "other").mkdir()
    cases, keys = write_inputs(tmp_path / "other")
    with pytest.raises(ConfigError, match="rating study"):
        open_review(keys, "ana:clinician", cases=cases, db=rating)


def test_an_edit_after_finishing_makes_the_key_a_draft_again(keys_live: KeysLive) -> None:
    live = keys_live
    store = live.review.store
    case = live.review.queues["bob"][0]
    with live.client() as client:
        base, csrf = _page(client, live, "bob")
        client.post(f"{base}keys/1", data=key_form(store.key(case), csrf, go="finish"))
        assert store.finished() == {case: "bob"} and store.key(case).review is not None
        assert store.key(case).review.role == "author"  # type: ignore[union-attr]
        client.post(f"{base}keys/1", data=key_form(store.key(case), csrf, criterion_0="Names it."))
    assert store.finished() == {}


def test_roles_the_keys_and_their_cases_are_checked(tmp_path: Path) -> None:
    assert parse_roles("ana:clinician, bob:author") == {"ana": "clinician", "bob": "author"}
    for bad in ("ana", "ana:nurse", "ana:clinician,ana:author", "a b:author"):
        with pytest.raises(ConfigError):
            parse_roles(bad)
    cases, keys = write_inputs(tmp_path)
    lines = cases.read_text().splitlines()
    changed = json.loads(lines[1]) | {"discussion": "Another discussion."}
    cases.write_text(lines[0] + "\n" + json.dumps(changed) + "\n")
    with pytest.raises(InputError, match="changed since its key was built"):
        open_review(keys, "ana:clinician", cases=cases, db=tmp_path / "r.sqlite")
    cases.write_text(lines[0] + "\n")
    with pytest.raises(InputError, match="not a case of this run"):
        open_review(keys, "ana:clinician", cases=cases, db=tmp_path / "r.sqlite")


def test_export_command_and_the_schema_round_trip(keys_live: KeysLive, tmp_path: Path) -> None:
    out = tmp_path / "reviewed.jsonl"
    done = CliRunner().invoke(cli, ["keys", "export", "--db", str(keys_live.db), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert re.search(r"2 keys, 0 reviewed", done.output)
    assert [k.items for k in load_keys(out).by_case.values()] == [ITEMS, ITEMS]
    assert all(isinstance(i, KeyCheck) for i in ITEMS)


def test_the_review_command_prints_each_reviewers_link(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    cases, keys = write_inputs(tmp_path)
    command = [sys.executable, "-m", "judge", "keys", "review", str(keys), "--cases", str(cases)]
    command += ["--raters", "ana:clinician,bob:author"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        links = {}
        assert proc.stdout is not None
        for line in proc.stdout:  # the readiness signal: the links, then this line
            found = re.match(r"\s+(\w+)\s+(\w+)\s+\d+ keys\s+(http://\S+)", line)
            if found:
                links[found.group(1)] = (found.group(2), found.group(3))
            if line.startswith("Each link is personal"):
                break
        assert {name: role for name, (role, _) in links.items()} == {
            "ana": "clinician",
            "bob": "author",
        }
        page = httpx.get(links["ana"][1])
        assert page.status_code == 200 and "reviewer <b>ana</b> (clinician)" in page.text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert (tmp_path / "keys.annotations.sqlite").exists()


def test_annotate_with_keys_shows_each_cases_key_on_the_rating_page(tmp_path: Path) -> None:
    from test_keys_support import review_case

    from judge.annotate.server import AnnotationServer, rater_links
    from judge.annotate.study import open_study

    _, keys = write_inputs(tmp_path)
    predictions = tmp_path / "preds.jsonl"
    lines = [
        review_case(i) | {"prediction": "A", "prediction_rationale": f"Flap seen. Final: A {i}"}
        for i in range(2)
    ]
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    db = tmp_path / "rating.sqlite"
    study = open_study(predictions, "ddx", ["alice"], 1, db=db, keys=keys)
    try:
        with AnnotationServer(study) as server:
            link = rater_links(study, server.url)["alice"]
            page = httpx.get(f"{link}items/2", headers={"Origin": server.url})
    finally:
        study.store.close()
    assert page.status_code == 200
    shown = page.text.split('id="case-key"', 1)[1].split("</details>", 1)[0]
    for item in ITEMS:
        assert f"{item.points:+d}</span> {item.criterion.split('<')[0]}" in shown
    assert "&lt;script&gt;window.__pwned" in shown and "<script>window" not in shown
    # A predictions file with a case the keys file does not key is refused before the app.
    lines.append(review_case(7) | {"prediction": "A"})
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(InputError, match="no key for case 'review case 7'"):
        open_study(predictions, "ddx", ["alice"], 1, db=tmp_path / "other.sqlite", keys=keys)
    result = CliRunner().invoke(
        cli, ["annotate", str(predictions), "--raters", "a", "--keys", str(keys)]
    )
    assert result.exit_code == 2 and "no key for case" in result.output


def test_keys_from_a_predictions_file_each_seen_by_every_reviewer(tmp_path: Path) -> None:
    from test_keys_support import review_case

    _, keys = write_inputs(tmp_path)
    predictions = tmp_path / "preds.jsonl"
    lines = [review_case(i) | {"prediction": "B"} for i in (1, 0, 1)]  # a case twice
    lines[2]["title"] = "review case 1"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    review = open_review(
        keys, "ana:clinician,bob:author", predictions=predictions, db=tmp_path / "r.sqlite",
        per_key=2,
    )  # fmt: skip
    try:
        assert review.queues == {
            "ana": ["review case 0", "review case 1"],
            "bob": ["review case 0", "review case 1"],
        }
        assert review.cases["review case 1"].discussion is not None
    finally:
        review.store.close()
