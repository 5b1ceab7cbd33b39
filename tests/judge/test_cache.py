"""The SQLite cache: migrations recorded, JSON values, keys that hash only what matters."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from judge.store.cache import MIGRATIONS, Cache, cache_key

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
