"""`judge calibrate` (judge.cli.calibrate.calibrate_command) and the import-cost promises.

The command runs inside the `judge` group, whose error boundary turns calibration's errors
(a `judge.errors.JudgeError`) into one line and exit status 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from judge.cli import cli


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["calibrate", *args])
    return result.exit_code, result.output


def test_table_and_csv_out(results_file: Path, human_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "agreement.csv"
    code, output = _run("--judge", str(results_file), "--human", str(human_file),
                        "--out", str(out), "--n-boot", "100")  # fmt: skip
    assert code == 0, output
    assert "evidence_grounding" in output and "judge-b" in output
    assert "3 unscored judgment(s) skipped" in output
    written = pd.read_csv(out)
    assert len(written) == 4 and {"alpha_humans", "kappa_quadratic", "mcc"} <= set(written.columns)


def test_json_out_with_the_rubric(results_file: Path, human_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("judge.load.rubric")
    out = tmp_path / "agreement.json"
    args = ["--rubric", "ddx", "--out", str(out), "--n-boot", "50", "--seed", "3"]
    code, output = _run("--judge", str(results_file), "--human", str(human_file), *args)
    assert code == 0, output
    rows = {(r["criterion"], r["judge"]): r for r in json.loads(out.read_text())}
    assert rows[("hallucination", "judge-a")]["level"] == "nominal"
    assert rows[("evidence_grounding", "judge-a")]["level"] == "ordinal"


def test_errors_are_one_line_messages(results_file: Path, tmp_path: Path) -> None:
    human = tmp_path / "human.csv"
    human.write_text("item,criterion,rater,score\nx,evidence_grounding,dr,3\n")
    code, output = _run("--judge", str(results_file), "--human", str(human))
    assert code == 2
    assert output.startswith("error: the judge and human files share no item id")
    assert "Traceback" not in output
    code, output = _run("--judge", str(results_file), "--human", str(human),
                        "--out", str(tmp_path / "table.xlsx"))  # fmt: skip
    assert code == 2 and output.startswith("error: --out must end in .csv or .json")
    assert "Judge–human agreement" not in output  # refused before any work


def test_unknown_rubric_is_a_clean_error(results_file: Path, human_file: Path) -> None:
    pytest.importorskip("judge.load.rubric")
    code, output = _run("--judge", str(results_file), "--human", str(human_file),
                        "--rubric", "no-such-rubric")  # fmt: skip
    assert code == 2 and "error: no-such-rubric: no such rubric" in output


def _loaded_after(statement: str) -> set[str]:
    """The top-level packages loaded, and `judge`'s modules by their full name."""
    code = (
        f"import sys; {statement}; "
        "print(' '.join(sorted({m if m.startswith('judge.') else m.split('.')[0] "
        "for m in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def _judge_modules(loaded: set[str]) -> set[str]:
    # Only the error hierarchy (standard library only) is shared with the judge package, and
    # the version its package __init__ names.
    return {m for m in loaded if m.startswith("judge.")} - {"judge.errors", "judge.version"}


def test_imports_stay_cheap() -> None:
    heavy = {"pandas", "scipy", "krippendorff", "sklearn", "pingouin", "statsmodels"}
    loaded = _loaded_after("import judge.cli.calibrate")  # on every start of the `judge` CLI
    assert not loaded & (heavy | {"litellm"})
    loaded = _loaded_after("import calibration.calibrate, calibration.record")
    assert _judge_modules(loaded) <= {"judge.store", "judge.store.sqlite"}
    loaded = _loaded_after("import calibration; calibration.alpha")
    assert "krippendorff" in loaded
    assert "litellm" not in loaded and not _judge_modules(loaded)
    errors = _loaded_after("import judge.errors")
    assert not errors & (heavy | {"litellm", "pydantic", "click"}) and not _judge_modules(errors)


def test_torn_last_line_is_accepted(results_file: Path, human_file: Path) -> None:
    with results_file.open("a") as handle:
        handle.write('{"id": "case-99", "line": 31, "judgments": [{"crit')  # a killed run
    code, output = _run("--judge", str(results_file), "--human", str(human_file),
                        "--n-boot", "0")  # fmt: skip
    assert code == 0, output
    assert "evidence_grounding" in output and "Traceback" not in output
    assert "31: left out a torn last line" in " ".join(output.split())


def test_csv_out_escapes_names_that_would_run_as_formulas(
    results_file: Path, human_file: Path, tmp_path: Path
) -> None:
    hostile = '=HYPERLINK("http://198.51.100.7","x")'
    results_file.write_text(results_file.read_text().replace('"judge-a"', json.dumps(hostile)))
    out = tmp_path / "agreement.csv"
    code, output = _run("--judge", str(results_file), "--human", str(human_file),
                        "--out", str(out), "--n-boot", "0")  # fmt: skip
    assert code == 0, output
    written = pd.read_csv(out, dtype=str)
    assert "'" + hostile in set(written["judge"])
    assert not written.map(lambda v: isinstance(v, str) and v[:1] in ("=", "+", "@")).any().any()
