"""Fixtures for the judge engine's tests: a local OpenAI-compatible server (tests/llm_server.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/judge has no __init__.py, so pytest imports this file as a top-level `conftest` and does
# not put the repository root on sys.path; `tests.llm_server` needs it.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.llm_server import LLMServer  # noqa: E402


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A started in-process server; set `.script`, `.faults`, `.latency` on it as needed."""
    with LLMServer() as server:
        yield server


@pytest.fixture(params=["lean", "litellm"])
def client(request: pytest.FixtureRequest) -> str:
    """The path OpenAI-compatible judge calls take (`--client`): the tests that take this
    fixture run once on each, the lean aiohttp path and litellm with instructor."""
    return str(request.param)
