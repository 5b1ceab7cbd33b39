"""The SQLite cache: migrations recorded, JSON values, keys that hash only what matters."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from judge.cache import MIGRATIONS, Cache, cache_key

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
