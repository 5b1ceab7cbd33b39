"""A real browser (Debian's chromium, driven by Playwright) scores two items end to end —
one with keyboard shortcuts, one carrying a `<script>` payload that must stay text — then
checks the export. Also: the form works with JavaScript off, and the steps of a
`ddx-steps` item are rated by keyboard.

With ANNOTATE_SCREENSHOT=docs/annotate.png the rating page is saved there (the README's
screenshot); it is always saved under tmp_path and checked to be a PNG.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from test_annotate_support import PAYLOAD, RATED, STEP_ANSWERS, Live, StepsLive, live, steps_live

from judge.annotate.export import export_scores
from tests.browser import ARGS, CHROMIUM

__all__ = ["live", "steps_live"]  # the fixtures, imported for pytest


pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


# ddx 1.0's and 1.1's criteria after the six of 0.1, in rubric order, and the keys that rate them.
NEW = ["unsupported_fact", "unsafe_advice", "miss_harm", "miss_closeness"]
NEW_KEYS = ["0", "1", "3", "4"]


def _checked(page: Page, criterion: str) -> str | None:
    checked = page.locator(f'input[name="score_{criterion}"]:checked')
    return checked.get_attribute("value") if checked.count() else None


def test_rater_scores_two_items_in_chromium(live: Live, browser: Browser, tmp_path: Path) -> None:
    rater = "alice"
    queue = live.study.queues[rater]
    assert queue[:2] == live.ids[:2]  # balanced round robin: the payload item is alice's 2nd
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(live.links[rater])
    page.click("#continue")
    assert page.locator("#progress").inner_text().startswith("Item 1 of 3")
    assert page.locator("fieldset.criterion").count() == len(RATED) + len(NEW)
    # Every level's anchor is on the page.
    assert page.get_by_text("all relevant clinical elements the case offers").count() == 1
    # Keyboard only: the first criterion has focus; each digit picks a level and moves on.
    # Wait until the app's script has run (it sets that focus): keys pressed before are lost.
    page.wait_for_load_state("load")
    page.wait_for_function(
        "document.activeElement && document.activeElement.closest('fieldset.criterion')"
    )
    for key in ["4", "3"]:
        page.keyboard.press(key)
    page.evaluate("window.scrollTo(0, 0)")
    shot = tmp_path / "annotate.png"
    page.screenshot(path=str(shot))
    for key in ["5", "4", "2", "0", *NEW_KEYS]:
        page.keyboard.press(key)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("ANNOTATE_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["ANNOTATE_SCREENSHOT"])
    page.fill("textarea[name=comment]", "Keyboard only.")
    page.click("#save-next")

    # Item 2 carries the payload in the text the rubric judges.
    page.wait_for_url("**/items/2?saved=1")
    assert page.locator(".saved").inner_text() == "Saved item 1."
    shown = page.locator("#prediction-text").inner_text()
    assert PAYLOAD in shown  # the literal markup, as text
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#pwn-img").count() == 0
    assert page.locator("#prediction-text *").count() == 0  # no element made from model text
    assert page.locator("script").count() == 1  # only the app's own script file
    assert "<b>bold?</b>" in page.locator("h1").inner_text()
    for criterion in RATED[:-1]:
        page.locator(f'input[name="score_{criterion}"][value="2"]').check()  # by mouse
    page.locator("fieldset#criterion-hallucination").locator("input").first.focus()
    page.keyboard.press("1")  # a shortcut on the binary criterion
    for key in NEW_KEYS:  # focus moved on to ddx 1.0's next criteria
        page.keyboard.press(key)
    page.fill("textarea[name=comment]", PAYLOAD)
    page.click("#save-next")
    page.wait_for_url("**/items/3?saved=2")

    # Revisit item 1: the form is prefilled with what was given.
    page.goto(f"{live.links[rater]}items/1")
    assert [_checked(page, c) for c in RATED] == ["4", "3", "5", "4", "2", "0"]
    page.goto(live.links[rater])
    assert "2 of 3 complete" in page.locator(".progress").inner_text()
    assert dialogs == [] and errors == []

    out = tmp_path / "human.csv"
    export_scores(live.db, out)
    with out.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["rater"] == rater]
    first = {r["criterion"]: r["score"] for r in rows if r["item"] == live.ids[0]}
    second = {r["criterion"]: r["score"] for r in rows if r["item"] == live.ids[1]}
    new = dict(zip(NEW, NEW_KEYS, strict=True))
    assert first == dict(zip(RATED, ["4", "3", "5", "4", "2", "0"], strict=True)) | new
    assert second == dict.fromkeys(RATED[:-1], "2") | {"hallucination": "1"} | new
    assert {r["comment"] for r in rows if r["item"] == live.ids[1]} == {PAYLOAD}


def test_form_works_without_javascript(live: Live, browser: Browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live.links['bob']}items/1")
    for criterion in RATED:
        page.locator(f'input[name="score_{criterion}"]').first.check()
    page.click("#save-next")
    page.wait_for_url("**/items/2?saved=1")
    item = live.study.queues["bob"][0]
    answer = live.study.store.answer("bob", item)
    assert answer.scores == dict.fromkeys(RATED[:-1], 1) | {"hallucination": 0}
    context.close()


def test_rater_rates_the_steps_of_an_item_by_keyboard(
    steps_live: StepsLive, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{steps_live.links['alice']}items/1")
    page.wait_for_load_state("load")
    page.wait_for_function(
        "document.activeElement && document.activeElement.name === 'step1_verifiable'"
    )
    assert page.locator("section.step").count() == 3
    assert page.locator(".step-text *").count() == 0  # model text shown as text
    error_types = page.locator("#criterion-step2_error_types")
    assert not error_types.is_visible()  # asked only of a step that is not factual
    # Step 1: verifiable, factual, critical; options A and B ticked (1, 2), Enter moves on.
    for key in ["1", "1", "1", "1", "2", "Enter"]:
        page.keyboard.press(key)
    # Step 2: verifiable, not factual, so its error types appear next: Reasoning and Image
    # Understanding Err (1, 2); then option C (3).
    page.keyboard.press("1")
    page.keyboard.press("0")
    assert error_types.is_visible()
    for key in ["1", "1", "2", "Enter", "3", "Enter"]:
        page.keyboard.press(key)
    # Step 3: verifiable, factual, not critical, no option; Enter on the focused Save button
    # submits.
    for key in ["1", "1", "0", "Enter"]:
        page.keyboard.press(key)
    assert page.evaluate("document.activeElement.id") == "save-next"
    page.keyboard.press("Enter")
    page.wait_for_url("**/items/2?saved=1")
    assert errors == []
    answer = steps_live.study.store.answer("alice", steps_live.ids[0])
    assert answer.steps == STEP_ANSWERS
    # Revisiting shows the answers and step 2's error types.
    page.goto(f"{steps_live.links['alice']}items/1")
    assert page.locator("#criterion-step2_error_types").is_visible()
    assert not page.locator("#criterion-step1_error_types").is_visible()
    assert page.locator('input[name="step2_error_types"]:checked').count() == 2


def test_steps_can_be_rated_without_javascript(steps_live: StepsLive, browser: Browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{steps_live.links['alice']}items/1")
    # Without the script every question shows; the server keeps what applies.
    assert page.locator("#criterion-step1_error_types").is_visible()
    for step in (1, 2, 3):
        page.locator(f'input[name="step{step}_verifiable"][value="1"]').check()
        page.locator(f'input[name="step{step}_is_factual"][value="{int(step != 2)}"]').check()
        page.locator(f'input[name="step{step}_is_critical"][value="1"]').check()
        page.locator(f'input[name="step{step}_error_types"][value="Reasoning Err"]').check()
    page.click("#save-next")
    page.wait_for_url("**/items/2?saved=1")
    steps = steps_live.study.store.answer("alice", steps_live.ids[0]).steps
    assert steps[2]["error_types"] == ["Reasoning Err"]
    assert "error_types" not in steps[1] and "error_types" not in steps[3]
    context.close()
