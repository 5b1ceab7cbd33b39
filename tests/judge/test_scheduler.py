"""The one bounded scheduler: items in flight, tasks held, admission, and leaving early."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest

from judge.judging.scheduler import Scheduler, run_blocking


class _Source:
    """Items 0..n-1, noting how many were taken before how many finished."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.taken = 0
        self.finished = 0
        self.most_ahead = 0

    def __iter__(self) -> Iterator[int]:
        for i in range(self.n):
            self.taken += 1
            self.most_ahead = max(self.most_ahead, self.taken - self.finished)
            yield i

    async def work(self, i: int) -> int:
        await asyncio.sleep(0.001 * (i % 3))
        self.finished += 1
        return i * 10


async def test_a_stream_yields_every_result_with_few_items_taken_ahead() -> None:
    scheduler = Scheduler(limit=3)
    source = _Source(50)
    results = [r async for r in scheduler.stream(source, source.work)]
    assert sorted(results) == [i * 10 for i in range(50)]
    assert scheduler.peak == 3 and scheduler.in_flight == 0
    # A source is read only as there is room: never the whole file at once.
    assert source.most_ahead <= 3 + 1


async def test_streams_share_the_limit() -> None:
    scheduler = Scheduler(limit=4)
    sources = [_Source(30) for _ in range(5)]

    async def drain(source: _Source) -> int:
        return len([r async for r in scheduler.stream(source, source.work)])

    async def single(i: int) -> int:
        async with scheduler.slot():
            await asyncio.sleep(0.001)
            return i

    counts = await asyncio.gather(*(drain(s) for s in sources), *(single(i) for i in range(20)))
    assert counts[:5] == [30] * 5
    assert scheduler.peak == 4


async def test_admission_waits_for_items_in_flight_then_stops() -> None:
    scheduler = Scheduler(limit=4)
    started: list[int] = []
    asked: list[tuple[int, int]] = []

    async def work(i: int) -> int:
        started.append(i)
        await asyncio.sleep(0.005)
        return i

    def admit(i: int) -> bool:
        asked.append((i, scheduler.in_flight))
        return i < 6

    results = [r async for r in scheduler.stream(range(100), work, admit=admit)]
    assert sorted(results) == list(range(6)) and sorted(started) == list(range(6))
    # Item 6 was refused while items were in flight, asked again, and finally refused with
    # none left: the stream stopped there.
    refusals = [in_flight for i, in_flight in asked if i == 6]
    assert len(refusals) >= 2 and refusals[-1] == 0


@pytest.mark.parametrize("detach", [True, False])
async def test_a_consumer_leaving_early_detaches_or_cancels(detach: bool) -> None:
    scheduler = Scheduler(limit=3)
    release = asyncio.Event()
    finished: list[int] = []

    async def work(i: int) -> int:
        if i > 0:
            await release.wait()
        finished.append(i)
        return i

    stream = scheduler.stream(range(10), work, detach=detach)
    async with contextlib.aclosing(stream):
        assert await anext(stream) == 0  # then the consumer leaves, two items in flight
    release.set()
    await asyncio.sleep(0.01)
    # Detached: the two in flight ran to the end (none after them started); else cancelled.
    assert sorted(finished) == ([0, 1, 2] if detach else [0])
    await scheduler.close()


async def test_close_cancels_detached_items() -> None:
    scheduler = Scheduler(limit=2)
    never = asyncio.Event()

    async def work(i: int) -> int:
        await never.wait()
        return i

    stream = scheduler.stream(range(5), work, detach=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(anext(stream), 0.01)
    await stream.aclose()
    assert scheduler.in_flight == 2
    await scheduler.close()
    assert scheduler.in_flight == 0


def test_a_limit_below_one_is_a_bug() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Scheduler(0)
    assert Scheduler.for_calls(1).limit == 4 and Scheduler.for_calls(16).limit == 32


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


async def test_run_blocking_works_inside_a_running_loop() -> None:
    assert run_blocking(_answer()) == 42


def test_run_blocking_works_without_a_loop() -> None:
    assert run_blocking(_answer()) == 42
