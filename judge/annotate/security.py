"""The app's guards: who may bind where, who may ask, and what the browser may run.

Every request must carry a rater's token in its path (`/r/<token>/…`); every POST must come
from the app's own origin and carry that rater's CSRF token; every response forbids inline
script, framing and foreign origins. Model text is escaped by the templates (autoescape),
and the CSP is the second wall should an escape ever be missed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

from judge.annotate.store import RaterKeys
from judge.errors import ConfigError
from judge.hosts import allowed_hosts, is_loopback

__all__ = [
    "SECURITY_HEADERS",
    "allowed_hosts",  # judge.hosts.allowed_hosts, re-exported (an import path of this module)
    "check_bind",
    "csrf_ok",
    "is_loopback",  # judge.hosts.is_loopback, re-exported (an import path of this module)
    "rater_for_token",
    "same_origin",
]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin: our own POSTs carry Origin and Referer; no other site sees a token URL.
    "Referrer-Policy": "same-origin",
    # Pages hold medical text and a token: keep them out of shared caches and history.
    "Cache-Control": "no-store",
}


def check_bind(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless the user asked for it explicitly."""
    if not is_loopback(host) and not allow_remote:
        raise ConfigError(
            f"--host {host} would let other machines reach the app (and its medical data); "
            "pass --allow-remote to do that on purpose"
        )


def rater_for_token(token: str, raters: Mapping[str, RaterKeys]) -> str | None:
    """The rater whose token this is, compared in constant time; None when nobody's."""
    found = None
    for name, keys in raters.items():
        if secrets.compare_digest(token.encode(), keys.token.encode()):
            found = name
    return found


def csrf_ok(given: object, keys: RaterKeys) -> bool:
    """Whether a submitted form carries the rater's CSRF token."""
    return isinstance(given, str) and secrets.compare_digest(given.encode(), keys.csrf.encode())


def same_origin(headers: Mapping[str, str], scheme: str) -> bool:
    """Whether a state-changing request comes from a page of this app.

    The Origin header decides when sent; otherwise the Referer's origin; a request with
    neither is refused (browsers send Origin on every form POST).
    """
    host = headers.get("host")
    if not host:
        return False
    expected = f"{scheme}://{host}"
    origin = headers.get("origin")
    if origin is not None:
        return origin == expected
    referer = headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}" == expected
    return False
