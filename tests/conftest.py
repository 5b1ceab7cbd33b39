"""Project-wide test setup: every test gets its own judge home (cache, state) in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest


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
