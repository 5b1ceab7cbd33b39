"""`judge calibrate --out-dir DIR`: every table the command computed, as CSV, and `run.json`
with the inputs (and their hashes), the settings and the package version.

A file already in DIR is replaced only when it is one of ours (a table with our mark,
calibration.tables; a run.json with ours); anything else, or one of the command's inputs,
stops the command before the statistics run. Read a table with `pd.read_csv(path,
skiprows=1)`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

__all__ = ["RUN_MARK", "claim_out_dir", "write_out_dir"]

RUN_MARK = "judge calibrate run"
_NAMES = (
    "agreement", "human_human", "alt_test", "ceiling", "estimate", "plan", "guarantee",
    "latent", "confusion", "error_correlation",
)  # fmt: skip


def _is_run(head: bytes) -> bool:
    return f'"mark": "{RUN_MARK}"'.encode() in head[:200]


def claim_out_dir(out_dir: Path, inputs: tuple[str | None, ...]) -> None:
    """Refuse a DIR that is a file, or that holds, under a name of ours, a file that is not
    ours (a table without our mark) or one of the command's inputs."""
    from calibration.tables import is_table
    from judge.errors import ConfigError
    from judge.store.outputs import claim

    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out-dir {out_dir}: not a folder")
    for name in _NAMES:
        claim(out_dir / f"{name}.csv", is_table, option="--out-dir", inputs=inputs)
    claim(out_dir / "run.json", _is_run, option="--out-dir", inputs=inputs)


def _sha256(path: str | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _settings(settings: Any) -> dict[str, Any]:
    out = {k: v for k, v in asdict(settings).items() if k not in ("weights", "domains")}
    out["levels"] = dict(settings.levels or {})
    out["level"] = list(settings.level)
    return out


def write_out_dir(
    out_dir: Path, tables: dict[str, Any], settings: Any, inputs: dict[str, str | None]
) -> list[str]:
    """Write each computed table and run.json; returns the file names written."""
    from calibration.tables import table_text
    from judge.store.outputs import write_atomic
    from judge.version import __version__

    written = []
    for name in _NAMES:
        table = tables.get(name)
        if table is None:
            continue
        frame = table.drop(columns=[c for c in ("labels", "confusion") if c in table.columns])
        if name == "agreement" and "confusion" in table.columns:
            frame = frame.assign(confusion=table["confusion"].map(json.dumps))
        # Marked as ours (a later run may replace it), cells escaped against formulas.
        write_atomic(out_dir / f"{name}.csv", table_text(frame, ".csv", "calibrate"))
        written.append(f"{name}.csv")
    run = {
        "mark": RUN_MARK,
        "version": __version__,
        "inputs": {k: {"path": v, "sha256": _sha256(v)} for k, v in inputs.items() if v},
        "settings": _settings(settings),
        "tables": written,
        "notes": list(tables["agreement"].attrs.get("notes", [])),
    }
    write_atomic(out_dir / "run.json", json.dumps(run, indent=2, default=str) + "\n")
    return [*written, "run.json"]
