"""Project-wide test setup: every test gets its own judge home (cache, state) in tmp_path,
and requests to the servers the tests start wait as long as a loaded machine needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# httpx waits 5 s by default, which a request to a server a test started (the app, a judge
# through litellm) can take on a loaded 2-core machine: the one default every `httpx.get`,
# `post` and client without its own `timeout=` uses, raised for the whole suite. A test that
# means a short timeout gives it.
HTTP_TIMEOUT_S = 120.0
_default = httpx.Timeout(HTTP_TIMEOUT_S)
for _phase in ("connect", "read", "write", "pool"):
    setattr(httpx._config.DEFAULT_TIMEOUT_CONFIG, _phase, getattr(_default, _phase))


_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def nothing_written_to_the_checkout() -> Iterator[None]:
    """Fail a test that leaves a file at the repository's top level (a command run without
    --out writes its default output into the working directory): it would be committed."""
    before = _top_level()
    yield
    new = sorted(_top_level() - before)
    assert not new, f"the test left {new} in {_ROOT}: give the command --out in tmp_path"


def _top_level() -> set[str]:
    # Tools' caches (.hypothesis, .pytest_cache) are hidden and ignored by git.
    return {p.name for p in _ROOT.iterdir() if not p.name.startswith(".")}


@pytest.fixture(autouse=True)
def judge_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point JUDGE_HOME (the call cache lives there) at a fresh directory, and keep real
    provider keys out of every test."""
    home = tmp_path / "judge-home"
    monkeypatch.setenv("JUDGE_HOME", str(home))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    return home
