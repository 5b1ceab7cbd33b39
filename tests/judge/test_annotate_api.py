"""`judge annotate` over real HTTP: a live uvicorn on 127.0.0.1 (fixture `live`), httpx."""

from __future__ import annotations

import csv
import re
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from test_annotate_support import (
    PAYLOAD,
    RATED,
    Live,
    csrf_of,
    form_for,
    live,
    rate,
)

from judge.annotate.export import COLUMNS, export_scores
from judge.annotate.security import check_bind
from judge.annotate.store import MIGRATIONS, AnnotationStore
from judge.errors import ConfigError
from judge.store import sqlite

__all__ = ["live"]  # the fixture, imported for pytest

ALL_FIVE = dict.fromkeys(RATED[:-1], 5) | {"hallucination": 0}


def _queue_titles(client: httpx.Client, base: str) -> list[str]:
    html = client.get(base).text
    return re.findall(r'/items/\d+">([^<]+)</a></td>', html)


def test_every_request_needs_a_token(live: Live) -> None:
    base = live.path("alice")
    with live.client() as client:
        for path in ["/", "/r/", "/r/not-a-token/", "/r/not-a-token/items/1", "/docs"]:
            refused = client.get(path)
            assert refused.status_code == 403, path
            assert "ddx" not in refused.text  # nothing about the study without a token
        assert client.get(f"{base}static/annotate.js").status_code == 200
        wrong = base.replace(live.study.raters["alice"].token, "x" * 32)
        assert client.get(f"{wrong}static/annotate.js").status_code == 403
        csrf = csrf_of(client.get(f"{base}items/1").text)
        posted = client.post("/r/nobody/items/1", data=form_for(ALL_FIVE, csrf))
        assert posted.status_code == 403
    assert list(live.study.store.score_rows()) == []


def test_security_headers_and_escaped_model_text(live: Live) -> None:
    with live.client() as client:
        base = live.path(_rater_of(live, live.ids[1]))
        n = _position(live, _rater_of(live, live.ids[1]), live.ids[1])
        page = client.get(f"{base}items/{n}")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>window.__pwned" not in page.text
    assert "&lt;script&gt;window.__pwned" in page.text
    assert "<b>bold?</b>" not in page.text
    # The only script element is the app's own file.
    assert re.findall(r"<script[^>]*>", page.text) == [
        f'<script src="{base}static/annotate.js" defer>'
    ]


def test_post_without_csrf_or_from_another_origin_is_refused(live: Live) -> None:
    base = live.path("alice")
    with live.client() as client:
        csrf = csrf_of(client.get(f"{base}items/1").text)
        good = form_for(ALL_FIVE, csrf)
        assert client.post(f"{base}items/1", data={**good, "csrf": ""}).status_code == 403
        bob_csrf = live.study.raters["bob"].csrf
        assert client.post(f"{base}items/1", data={**good, "csrf": bob_csrf}).status_code == 403
        evil = {"Origin": "http://evil.example"}
        assert client.post(f"{base}items/1", data=good, headers=evil).status_code == 403
    with httpx.Client(base_url=live.url) as bare:  # neither Origin nor Referer
        assert bare.post(f"{base}items/1", data=good).status_code == 403
        same = {"Referer": f"{live.url}{base}items/1"}
        assert bare.post(f"{base}items/1", data=good, headers=same).status_code == 303
    assert len(list(live.study.store.score_rows())) == len(RATED)


def test_rebinding_host_is_refused(live: Live) -> None:
    with live.client(Host="attacker.example") as client:
        assert client.get(live.path("alice")).status_code == 403


def test_a_level_the_scale_lacks_is_rejected(live: Live) -> None:
    base = live.path("alice")
    with live.client() as client:
        csrf = csrf_of(client.get(f"{base}items/1").text)
        response = client.post(f"{base}items/1", data=form_for({"coherence": 9}, csrf))
    assert response.status_code == 400
    assert list(live.study.store.score_rows()) == []


def test_assignment_is_balanced(live: Live) -> None:
    # 4 items x 2 raters over 3 raters: loads 3, 3, 2; each item twice, never twice to one.
    seen: Counter[str] = Counter()
    loads = []
    with live.client() as client:
        for rater in live.links:
            titles = _queue_titles(client, live.path(rater))
            assert len(titles) == len(set(titles))
            loads.append(len(titles))
            seen.update(titles)
    assert sorted(loads) == [2, 3, 3]
    assert len(seen) == len(live.ids) and set(seen.values()) == {2}


def test_revise_prefills_and_replaces_only_own_scores(live: Live) -> None:
    base = live.path("alice")
    with live.client() as client:
        rate(client, base, 1, ALL_FIVE, comment="first pass")
        rate(client, base, 1, {"coherence": 2}, comment="on reflection")
        page = client.get(f"{base}items/1").text
    assert re.search(r'name="score_coherence" value="2" data-key="2" checked', page)
    assert re.search(r'name="score_evidence_grounding" value="5" data-key="5" checked', page)
    assert "on reflection</textarea>" in page
    answer = live.study.store.answer("alice", live.study.queues["alice"][0])
    assert answer.scores["coherence"] == 2 and answer.scores["medical_accuracy"] == 5


def test_two_raters_at_once_never_overwrite_each_other(live: Live) -> None:
    shared = next(i for i in live.ids if _raters_of(live, i) >= {"alice", "bob"})
    errors: list[BaseException] = []

    def work(rater: str, level: int) -> None:
        try:
            with live.client() as client:
                n = _position(live, rater, shared)
                for _ in range(15):
                    rate(client, live.path(rater), n, dict.fromkeys(RATED[:-1], level))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r, v)) for r, v in (("alice", 1), ("bob", 4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(live.study.store.answer("alice", shared).scores.values()) == {1}
    assert set(live.study.store.answer("bob", shared).scores.values()) == {4}


def test_export_columns_and_rows(live: Live, tmp_path: Path) -> None:
    with live.client() as client:
        rate(client, live.path("alice"), 1, ALL_FIVE, comment='says "fine", really')
        rate(client, live.path("bob"), 1, {"coherence": 3})
    summary = export_scores(live.db, tmp_path / "human.csv")
    with (tmp_path / "human.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == COLUMNS
    assert summary.rows == len(rows) == len(RATED) + 1
    alice = [r for r in rows if r["rater"] == "alice"]
    assert {r["comment"] for r in alice} == {'says "fine", really'}
    assert {r["rater_kind"] for r in rows} == {"human"}
    bob = [r for r in rows if r["rater"] == "bob"]
    assert [(r["criterion"], r["score"], r["comment"]) for r in bob] == [("coherence", "3", "")]


def test_non_loopback_host_needs_allow_remote() -> None:
    with pytest.raises(ConfigError, match="--allow-remote"):
        check_bind("0.0.0.0", allow_remote=False)
    check_bind("0.0.0.0", allow_remote=True)
    check_bind("127.0.0.1", allow_remote=False)
    check_bind("::1", allow_remote=False)


def test_store_records_its_migrations(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path / "a.sqlite")
    assert store.version == len(MIGRATIONS) == 3
    store.close()
    again = AnnotationStore(tmp_path / "a.sqlite")  # reopening applies nothing twice
    assert again.version == 3
    again.close()


def test_a_database_of_the_first_schema_opens_and_keeps_its_scores(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite.open_migrated(path, MIGRATIONS[:1])  # a study saved before step ratings
    conn.execute("INSERT INTO scores VALUES ('alice', 'case', 'coherence', '4', 'then')")
    conn.close()
    store = AnnotationStore(path)
    assert store.version == 3
    assert store.answer("alice", "case").scores == {"coherence": 4}
    assert store.units() == {} and not store.has_steps()
    store.close()


def test_payload_item_is_assigned_and_rated_as_text(live: Live) -> None:
    rater = _rater_of(live, live.ids[1])
    with live.client() as client:
        rate(client, live.path(rater), _position(live, rater, live.ids[1]), ALL_FIVE, PAYLOAD)
    answer = live.study.store.answer(rater, live.ids[1])
    assert answer.comment == PAYLOAD  # stored verbatim; escaped only when shown


def _raters_of(live: Live, item: str) -> set[str]:
    return {r for r, queue in live.study.queues.items() if item in queue}


def _rater_of(live: Live, item: str) -> str:
    return sorted(_raters_of(live, item))[0]


def _position(live: Live, rater: str, item: str) -> int:
    return live.study.queues[rater].index(item) + 1
