"""One home for SQLite plumbing: numbered migrations run once each, in a transaction, and
databases written before it (the cache, batch state, annotation studies) keep opening."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from judge.annotate.store import MIGRATIONS as ANNOTATE_MIGRATIONS
from judge.annotate.store import AnnotationStore
from judge.errors import ConfigError
from judge.store import sqlite
from judge.store.cache import MIGRATIONS as CACHE_MIGRATIONS
from judge.store.cache import Cache, CacheError

ROOT = Path(__file__).parents[2]


def _table(name: str) -> sqlite.Migration:
    def migration(conn: sqlite3.Connection) -> None:
        conn.execute(f"CREATE TABLE {name} (x)")

    return migration


def test_migrations_run_once_in_order_and_a_failed_one_leaves_nothing(tmp_path: Path) -> None:
    conn = sqlite.connect(tmp_path / "db.sqlite")
    sqlite.migrate(conn, [_table("a")])
    sqlite.migrate(conn, [_table("a"), _table("b")])  # only the new one runs
    assert sqlite.applied_version(conn) == 2

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE c (x)")
        raise sqlite3.OperationalError("boom")

    with pytest.raises(sqlite3.OperationalError, match="boom"):
        sqlite.migrate(conn, [_table("a"), _table("b"), broken])
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"migrations", "a", "b"} and sqlite.applied_version(conn) == 2


def test_databases_of_earlier_versions_keep_opening(tmp_path: Path) -> None:
    """Written the way the copies before this module wrote them: `migrations` with one row
    per applied version, the same numbers."""
    for path, migrations in (
        (tmp_path / "cache.sqlite", CACHE_MIGRATIONS),
        (tmp_path / "study.sqlite", ANNOTATE_MIGRATIONS),
    ):
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("CREATE TABLE migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
        for version, migration in enumerate(migrations, start=1):
            migration(conn)
            conn.execute(
                "INSERT INTO migrations VALUES (?, '2026-01-01T00:00:00+00:00')", (version,)
            )
        conn.close()
    cache = Cache(tmp_path / "cache.sqlite")
    assert cache.version == len(CACHE_MIGRATIONS) and len(cache) == 0
    cache.close()
    store = AnnotationStore(tmp_path / "study.sqlite")
    assert store.version == len(ANNOTATE_MIGRATIONS) and store.raters() == {}
    store.close()


def test_no_other_module_runs_its_own_migrations_or_transactions() -> None:
    found = subprocess.run(
        ["grep", "-rlE", r"BEGIN IMMEDIATE|CREATE TABLE IF NOT EXISTS migrations|datetime\.now",
         "judge", "calibration"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    # records.py stamps a record's created_at, not a database row.
    assert sorted(found.stdout.split()) == ["judge/aggregate/records.py", "judge/store/sqlite.py"]


def test_a_corrupt_annotation_database_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "study.annotations.sqlite"
    path.write_bytes(b"not a database " * 100)
    with pytest.raises(ConfigError, match=f"{path}.*--db"):
        AnnotationStore(path)
    assert path.read_bytes() == b"not a database " * 100


@pytest.mark.parametrize(
    "schema",
    [
        "CREATE TABLE inventory (item TEXT, qty INTEGER)",
        # A migrations table of another tool (Laravel's) is not ours either.
        "CREATE TABLE migrations (id INTEGER PRIMARY KEY, migration TEXT, batch INTEGER)",
    ],
)
def test_a_users_database_is_refused_and_left_as_it_is(tmp_path: Path, schema: str) -> None:
    # `annotate --db` or the cache on a user's SQLite file added our tables to it (and turned
    # on WAL mode in its header).
    path = tmp_path / "mine.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(schema)
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="not a database of judge's"):
        AnnotationStore(path)
    with pytest.raises(CacheError, match="not a database of judge's"):
        Cache(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.sqlite"]
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")  # an empty file holds nothing to lose: ours to use
    AnnotationStore(empty).close()
