"""A real browser (Debian's chromium, driven by Playwright) reviews a case key end to end:
reads the case, edits an item's points, deletes an item, adds one, saves, finishes; an item
carrying a `<script>` payload stays text. The export then holds the review."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_keys_support import PAYLOAD, KeysLive, keys_live

from judge.annotate.key_export import export_keys
from judge.load.keys import load_keys
from tests.browser import CHROMIUM, chromium

__all__ = ["keys_live"]  # the fixture, imported for pytest

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from chromium()


def test_a_clinician_reviews_a_key_in_chromium(
    keys_live: KeysLive, browser: Any, tmp_path: Path
) -> None:
    live = keys_live
    case = live.review.queues["ana"][0]
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(live.links["ana"])
    assert "0 of 1 reviewed" in page.locator(".progress").inner_text()
    page.click("#continue")
    assert page.locator("#progress").inner_text().startswith("Key 1 of 1")
    assert "intimal flap is diagnostic" in page.locator("#discussion").inner_text()
    assert page.locator("fieldset.key-item").count() == 5  # four items and the new row
    # The payload in an item's criterion is text in its textarea, never markup.
    assert PAYLOAD in page.locator('textarea[name="criterion_2"]').input_value()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#pwn-img").count() == 0

    page.fill('input[name="points_0"]', "9")
    page.check('input[name="delete_3"]')
    page.fill('textarea[name="criterion_new"]', "Compares blood pressure in both arms.")
    page.fill('input[name="points_new"]', "3")
    page.select_option('select[name="kind_new"]', "finding")
    page.click("#save")
    page.wait_for_url("**/keys/1?saved=1")
    assert page.locator(".saved").first.inner_text() == "Saved key 1."
    assert page.locator("fieldset.key-item").count() == 5  # one deleted, one added
    assert page.locator('input[name="points_0"]').input_value() == "9"
    assert [e.action for e in live.review.store.key(case).edits] == [
        "edit",
        "accept",
        "accept",
        "delete",
        "add",
    ]

    page.click("#finish")
    page.wait_for_url("**/?saved=1")
    assert "1 of 1 reviewed" in page.locator(".progress").inner_text()
    assert dialogs == [] and errors == []

    out = tmp_path / "reviewed.jsonl"
    export_keys(live.db, out)
    key = load_keys(out).key(case)
    assert key is not None and key.status == "reviewed" and key.review is not None
    assert (key.review.reviewer, key.review.role) == ("ana", "clinician")
    assert [i.points for i in key.items] == [9, 6, 5, 3]
