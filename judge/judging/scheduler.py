"""Scheduling items: the one bounded scheduler every front end runs items through, and running
a coroutine to completion from blocking code.

The engine bounds the judge calls in flight; the scheduler bounds the items in flight (each
holding its prediction, prompts and judgments) and the tasks waiting, so memory stays flat
however many items a file, a frame or the requests to `judge serve` bring.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import signal
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

__all__ = ["Scheduler", "run_blocking"]

T = TypeVar("T")
R = TypeVar("R")


class Scheduler:
    """At most `limit` items in flight over all callers, and at most `limit` tasks per stream.

    `slot()` holds one of the `limit` places for one item; `stream()` runs many items, each
    in a slot, yielding results as they finish. `in_flight` and `peak` count items in slots.
    """

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError(f"a scheduler needs a limit of at least 1, not {limit}")
        self.limit = limit
        self.in_flight = 0
        self.peak = 0
        self._slots = asyncio.Semaphore(limit)
        # Tasks a stream left running when its consumer went away (see `stream(detach=)`).
        self._detached: set[asyncio.Task[Any]] = set()

    @classmethod
    def for_calls(cls, concurrency: int) -> Scheduler:
        """Enough items to keep `concurrency` judge calls busy (an item waits on its calls, and
        a finished one is being written while the next starts), and no more."""
        return cls(max(concurrency * 2, 4))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one item's place for the block."""
        async with self._slots:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1

    async def stream(
        self,
        items: Iterable[T],
        work: Callable[[T], Awaitable[R]],
        *,
        admit: Callable[[T], bool] | None = None,
        detach: bool = False,
    ) -> AsyncGenerator[R, None]:
        """`work(item)` for each item, each in a slot; yields each result as it finishes.

        Items are taken from `items` only when there is room, so a large source is never held
        at once. `admit(item)` False: wait for this stream's items in flight (what they turn out
        to cost may leave room) and ask again; still False with none in flight: stop. With
        `detach`, a consumer that stops early leaves the items in flight running to the end
        (another request may wait on their calls, and their replies land in the cache);
        otherwise they are cancelled.
        """
        pending: set[asyncio.Task[R]] = set()
        # A bug (an exception that is not a judge's failure, which the engine returns as data)
        # stops the stream: no new item starts, the items in flight finish and are yielded
        # (their replies are paid for, and a file run writes them), then the bug propagates.
        bug: BaseException | None = None

        async def finished() -> list[R]:
            nonlocal pending, bug
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            results = []
            for task in done:
                if (error := task.exception()) is None:
                    results.append(task.result())
                elif bug is None:
                    bug = error
            return results

        try:
            for item in items:
                if bug is not None:
                    break
                while len(pending) >= self.limit:
                    for result in await finished():
                        yield result
                if admit is not None:
                    while not (admitted := admit(item)) and pending:
                        for result in await finished():
                            yield result
                    if not admitted:
                        break
                pending.add(asyncio.ensure_future(self._in_slot(work, item)))
            while pending:
                for result in await finished():
                    yield result
            if bug is not None:
                raise bug
        finally:
            for task in pending:
                if detach:
                    self._detached.add(task)
                    task.add_done_callback(self._detached.discard)
                else:
                    task.cancel()

    async def _in_slot(self, work: Callable[[T], Awaitable[R]], item: T) -> R:
        async with self.slot():
            return await work(item)

    async def close(self) -> None:
        """Cancel the detached items still running (at shutdown) and wait for them."""
        tasks = list(self._detached)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from blocking code, even when this thread already runs
    an event loop (a notebook's): then on a fresh loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_interruptible(coro))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _interruptible(coro: Coroutine[Any, Any, T]) -> T:
    """`coro`, which a Ctrl-C cancels (its cleanup runs: the records written, the paid replies
    committed to the cache), then KeyboardInterrupt. asyncio's own handler raises a second
    Ctrl-C at whatever line runs, midway through that cleanup; here it waits for it."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        if not interrupted and task is not None:
            interrupted = True
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
        return await coro
    try:
        return await coro
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGINT)
