"""What served a reply: the model name the provider returned (its `model` field, which can name
a dated snapshot behind the alias asked for) and its `system_fingerprint` (the backend
configuration, where the provider gives one).

One reader for both paths: the lean path's replies are dicts, litellm's are objects.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["Served", "served_by"]


class Served(TypedDict):
    """What served a reply, by the names a call's record keeps them under."""

    served_model: str | None
    system_fingerprint: str | None


# A provider's strings are untrusted text: a long one is cut, not carried into every record.
MAX_LENGTH = 200


def served_by(reply: Any) -> Served:
    """The reply's served model and system fingerprint, each None when not given, by the
    names a call's record keeps them under (`served_model`, `system_fingerprint`)."""
    return {
        "served_model": _text(reply, "model"),
        "system_fingerprint": _text(reply, "system_fingerprint"),
    }


def _text(reply: Any, name: str) -> str | None:
    value = reply.get(name) if isinstance(reply, dict) else getattr(reply, name, None)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:MAX_LENGTH]
