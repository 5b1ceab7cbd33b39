"""Whether an earlier run's record was sent the sampling parameters this run sends.

Each call of a record keeps the parameters its request carried (`CallUsage.params`). A resume
re-judges a record sent others (another --temperature, --max-tokens or --seed), as it does a
record of another prompt, so one results file never mixes settings. A call recorded without
them (an earlier version wrote `null`) is not compared: what it was sent cannot be known, and
a resume never pays again for what it has. Nor is a call of a judge not in this run's panel
(the panel check drops its record).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["params_changed"]


class _Judge(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]: ...


def params_changed(record: dict[str, Any], judges: Iterable[_Judge]) -> str | None:
    """None when every call of `record` (a results line as read back) was sent the params its
    judge sends now (or recorded none); else why not, in words for a notice: "sent other
    sampling parameters (temperature 0.7, now 0.0)"."""
    sends = {judge.name: judge.params for judge in judges}
    for call in record.get("calls") or []:
        sent, now = call.get("params"), sends.get(call.get("judge"))
        if sent is None or now is None or sent == now:
            continue
        changes = "; ".join(
            f"{name} {_shown(sent.get(name))}, now {_shown(now.get(name))}"
            for name in sorted({*sent, *now})
            if sent.get(name) != now.get(name)
        )
        return f"sent other sampling parameters ({changes})"
    return None


def _shown(value: Any) -> str:
    # A parameter not sent was left to the provider.
    return "the provider's default" if value is None else str(value)
