"""A run keeps the collector off the heap that existed before it, and leaves gc as it was."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import judge
from judge.judging.engine import Completion
from judge.judging.heap import frozen_heap
from judge.load.rubric import load_rubric

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
RUBRIC = load_rubric("ddx")


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_frozen_for_the_run_and_unfrozen_after_nested_runs() -> None:
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        outer = gc.get_freeze_count()
        with frozen_heap():
            assert gc.get_freeze_count() == outer  # no second freeze
        assert gc.get_freeze_count() == outer  # the inner run did not unfreeze the outer's
    assert outer > 0
    assert gc.get_freeze_count() == 0


def test_a_heap_frozen_by_the_host_stays_frozen() -> None:
    gc.freeze()
    frozen = gc.get_freeze_count()
    with frozen_heap():
        pass
    assert gc.get_freeze_count() == frozen


async def test_a_scoring_run_freezes_the_heap_while_judging() -> None:
    seen: list[int] = []

    async def complete(**_: Any) -> Completion:
        seen.append(gc.get_freeze_count())
        await asyncio.sleep(0)
        verdict = {
            c.id: {"score": 1 if c.scale.type == "binary" else 3, "rationale": "r"}
            for c in RUBRIC.llm_criteria
        }
        return Completion(verdict=verdict)

    result = await judge.ascore(PREDICTIONS, RUBRIC, complete=complete, judges=["x/a"])
    assert result.summary.status.get("scored") and seen
    assert min(seen) > 0
    assert gc.get_freeze_count() == 0
