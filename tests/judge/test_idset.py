"""IdSet answers like a set of strings before and after it spills to disk, and leaves no file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from judge.store.idset import IdSet

ROOT = Path(__file__).resolve().parents[2]


def test_add_in_and_len_across_the_spill() -> None:
    ids = IdSet(memory_ids=4)
    added = [ids.add(f"case {i}") for i in range(23)]
    assert all(added) and len(ids) == 23 and ids.spilled
    # Ids from the first batches (on disk) and from the last (in memory) are both found.
    assert all(f"case {i}" in ids for i in range(23))
    assert "case 23" not in ids and "case" not in ids and 7 not in ids
    assert not ids.add("case 0") and not ids.add("case 22")  # already there: not counted again
    assert len(ids) == 23
    ids.close()


def test_a_small_set_stays_in_memory() -> None:
    with IdSet(memory_ids=4) as ids:
        assert ids.add("a") and ids.add("b") and not ids.add("a")
        assert len(ids) == 2 and not ids.spilled


def test_any_string_is_an_id() -> None:
    odd = ["", " ", "é", "\ud800", "a\x00b", "x" * 10_000, "1", "01"]
    with IdSet(memory_ids=2) as ids:
        assert all(ids.add(i) for i in odd)
        assert all(i in ids for i in odd) and len(ids) == len(odd)
        assert "\udc00" not in ids and "a" not in ids


def test_closed_set_keeps_its_length_and_refuses_lookups() -> None:
    ids = IdSet(memory_ids=2)
    for i in range(5):
        ids.add(str(i))
    ids.close()
    assert len(ids) == 5
    with pytest.raises(ValueError, match="closed"):
        _ = "1" in ids
    with pytest.raises(ValueError, match="closed"):
        ids.add("9")
    ids.close()  # twice is harmless


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        IdSet(memory_ids=0)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_the_database_file_has_no_name_even_while_open(tmp_path: Path) -> None:
    """SQLite's temporary database is unlinked as soon as it is opened: a killed process leaves
    nothing behind. SQLITE_TMPDIR is read once per process, hence the child process."""
    script = textwrap.dedent(
        """
        import json, os
        from judge.store.idset import IdSet

        def open_files():
            found = []
            for fd in os.listdir("/proc/self/fd"):
                try:
                    found.append(os.readlink(f"/proc/self/fd/{fd}"))
                except FileNotFoundError:  # the listing's own descriptor
                    pass
            return [f for f in found if f.startswith(os.environ["SQLITE_TMPDIR"])]

        ids = IdSet(memory_ids=1000, cache_kib=64)
        for i in range(50_000):
            ids.add(str(i))
        assert all(str(i) in ids for i in range(0, 50_000, 101))
        print(json.dumps(open_files()))
        print(json.dumps(os.listdir(os.environ["SQLITE_TMPDIR"])))
        ids.close()
        print(json.dumps(open_files()))
        """
    )
    env = {**os.environ, "SQLITE_TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    open_files, listed, after_close = (json.loads(line) for line in out)
    assert len(open_files) == 1  # the set did go to disk, in SQLITE_TMPDIR ...
    assert open_files[0].startswith(str(tmp_path)) and open_files[0].endswith("(deleted)")
    assert listed == []  # ... under no name
    assert after_close == []  # close() let go of it
