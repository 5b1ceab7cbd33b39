"""The SQLite cache: migrations recorded, JSON values, keys that hash only what matters."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import judge
from judge.judging.engine import Completion
from judge.load.rubric import load_rubric
from judge.store.cache import MIGRATIONS, Cache, CacheError, cache_key
from judge.store.results import iter_records

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"

MSG = [{"role": "user", "content": "x"}]


def test_migrations_are_recorded_once_and_values_are_json(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    Cache(path).put("k", "m", {"verdict": {"a": 1}})
    cache = Cache(path)  # reopening applies nothing twice
    assert cache.version == len(MIGRATIONS)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        raw = conn.execute("SELECT value FROM calls WHERE key='k'").fetchone()[0]
    assert json.loads(raw) == {"verdict": {"a": 1}}
    assert cache.get("k") == {"verdict": {"a": 1}} and cache.get("absent") is None


def test_key_depends_on_model_params_messages_and_schema_only() -> None:
    base = cache_key("m", {"temperature": 0}, MSG, {"type": "object"})
    assert base == cache_key("m", {"temperature": 0}, [dict(MSG[0])], {"type": "object"})
    assert base != cache_key("m2", {"temperature": 0}, MSG, {"type": "object"})
    assert base != cache_key("m", {"temperature": 1}, MSG, {"type": "object"})
    assert base != cache_key(
        "m", {"temperature": 0}, [{"role": "user", "content": "y"}], {"type": "object"}
    )
    assert base != cache_key("m", {"temperature": 0}, MSG, {"type": "array"})


async def test_store_commits_from_a_writer_thread_and_returns_once_durable(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cache = Cache(path)
    await asyncio.gather(*(cache.store(f"k{i}", "m", {"verdict": {"i": i}}) for i in range(200)))
    with sqlite3.connect(path) as other:  # another connection sees every row already
        assert other.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 200
    assert cache.get("k7") == {"verdict": {"i": 7}}
    cache.close()


async def test_a_row_waiting_for_its_commit_is_already_found(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cache = Cache(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer thread waits for this lock
    stored = asyncio.create_task(cache.store("k", "m", {"verdict": {"a": 1}}))
    await asyncio.sleep(0.05)
    assert not stored.done()
    assert cache.get("k") == {"verdict": {"a": 1}}  # a rerun of the call would not pay again
    blocker.execute("COMMIT")
    await stored
    assert cache.get("k") == {"verdict": {"a": 1}}
    blocker.close()
    cache.close()


async def test_close_commits_rows_whose_callers_were_cancelled(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cache = Cache(path)
    stores = [asyncio.create_task(cache.store(f"k{i}", "m", {"verdict": {}})) for i in range(5)]
    await asyncio.sleep(0)  # queued, not yet committed
    for task in stores:
        task.cancel()
    cache.close()  # a Ctrl-C: the calls had finished, so their rows must be kept
    assert len(Cache(path)) == 5


async def test_closing_twice_and_a_reply_stored_after_close_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cache = Cache(path)
    await cache.store("early", "m", {"verdict": {"a": 1}})
    cache.close()
    cache.close()  # a second Ctrl-C's cleanup: was "cannot schedule new futures after shutdown"
    # A reply that landed as the run shut down was paid for: committed, not dropped.
    await asyncio.wait_for(cache.store("late", "m", {"verdict": {"a": 2}}), 60)
    reopened = Cache(path)
    assert reopened.get("early") == {"verdict": {"a": 1}}
    assert reopened.get("late") == {"verdict": {"a": 2}}
    reopened.close()


def _main_thread_waits_in_close() -> bool:
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    top = frame
    while frame is not None:
        if frame.f_code.co_name == "close" and frame.f_code.co_filename.endswith("cache.py"):
            return top is not None and top.f_code.co_filename.endswith("threading.py")
        frame = frame.f_back
    return False


def test_a_second_ctrl_c_while_closing_waits_for_the_commit(tmp_path: Path) -> None:
    """The impatient second Ctrl-C lands while `close` commits the paid replies: the commit
    finishes first, and then the interrupt goes on (the run exits 130)."""
    path = tmp_path / "c.sqlite"
    cache = Cache(path)
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # the commit waits for this lock
    checked = threading.Event()

    def interrupt_then_unblock() -> None:
        deadline = time.monotonic() + 120  # a loaded machine
        while not _main_thread_waits_in_close() and time.monotonic() < deadline:
            time.sleep(0.005)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        # Still inside close (waiting for the commit) a moment later, or out of it already.
        checked.wait(1.0)
        blocker.execute("ROLLBACK")

    async def queue_rows() -> None:
        for i in range(3):  # the writer takes them on the next loop pass: not yet committed
            asyncio.get_running_loop().create_task(cache.store(f"k{i}", "m", {"verdict": {}}))
        await asyncio.sleep(0)

    asyncio.run(queue_rows())
    helper = threading.Thread(target=interrupt_then_unblock)
    helper.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            cache.close()
        with sqlite3.connect(path) as other:  # committed before the interrupt went on
            assert other.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 3
    finally:
        checked.set()
        helper.join(60)
        blocker.close()


def test_a_corrupt_cache_is_a_one_line_error_naming_it_and_the_way_on(
    tmp_path: Path, judge_home: Path
) -> None:
    cache = judge_home / "cache.sqlite"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"this is not a database, just bytes " * 200)
    env = {**os.environ, "JUDGE_HOME": str(judge_home), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    command = [sys.executable, "-m", "judge", "score", str(PREDICTIONS), "--rubric", "twi"]
    out = ["--out", str(tmp_path / "r.jsonl")]
    proc = subprocess.run(command + out, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert str(cache) in errors[0] and "--no-cache" in errors[0] and "move it aside" in errors[0]
    proc = subprocess.run(
        [*command, *out, "--no-cache"], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr  # the way on works


def test_a_cache_deleted_mid_run_loses_no_record(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    rubric = load_rubric("ddx")
    calls = 0

    async def complete(**_: Any) -> Completion:
        nonlocal calls
        calls += 1
        if calls == 1:  # every call below is paid for after the cache is gone
            for name in ("cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm"):
                (tmp_path / name).unlink(missing_ok=True)
        verdict = {
            c.id: {"score": 1 if c.scale.type == "binary" else 4, "rationale": "r"}
            for c in rubric.llm_criteria
        }
        return Completion(verdict=verdict)

    predictions = tmp_path / "preds.jsonl"
    rows = [json.loads(line) for line in PREDICTIONS.read_text().splitlines()]
    predictions.write_text(
        "".join(
            json.dumps({**rows[i % 3], "title": f"case {i}", "CLINICAL_HISTORY": f"patient {i}"})
            + "\n"
            for i in range(12)
        )
    )
    out = tmp_path / "r.jsonl"
    result = judge.score(
        predictions, rubric, out=out, complete=complete, judges=["x/a"], cache=str(cache)
    )
    assert calls == 12
    assert sorted(r.id for r in iter_records(out)) == sorted(f"case {i}" for i in range(12))
    assert any(str(cache) in n and "--no-cache" in n for n in result.notices), result.notices


def test_a_failed_read_is_a_miss_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    notices: list[str] = []
    cache = Cache(path, notices)
    cache.put("k", "m", {"v": 1})
    cache._conn.execute("DROP TABLE calls")  # as another process damaging the file would
    assert cache.get("k") is None and cache.get("k2") is None
    assert len(notices) == 1 and str(path) in notices[0] and "failed to read" in notices[0]
    with pytest.raises(CacheError, match="--no-cache"):  # a batch's put must not pass silently
        cache.put("k", "m", {"v": 1})
