"""How the browser tests start Debian's chromium: Playwright's own browser download does not
work here, and without the background-networking flags chromium's connections are refused by
the machine's closed network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> Iterator[Any]:
    """Debian's chromium, for a module's `browser` fixture to yield from (skips without it)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def open_offline(browser: Any, html: Path, height: int = 1500) -> tuple[Any, list[str]]:
    """A page showing the file `html` that may load nothing else: every other request is
    refused and its URL listed in the second value."""
    page = browser.new_page(viewport={"width": 1200, "height": height})
    attempted: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    return page, attempted
