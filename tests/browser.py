"""How the browser tests start Debian's chromium: Playwright's own browser download does not
work here, and without the background-networking flags chromium's connections are refused by
the machine's closed network."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
