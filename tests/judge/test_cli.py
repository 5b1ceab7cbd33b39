"""The command line: one-line errors with non-zero exits, summaries, rubric commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from judge.cli import cli
from tests.llm_server import LLMServer

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_score_prints_a_summary_per_criterion(llm_server: LLMServer, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    code, output = _run(
        "score",
        str(FIXTURES / "predictions.jsonl"),
        "--judge",
        "openai/test-judge",
        "--api-base",
        llm_server.url,
        "--out",
        str(out),
    )
    assert code == 0, output
    for criterion in ("final_answer", "evidence_grounding", "hallucination"):
        assert criterion in output
    assert "3 scored" in output and len(out.read_text().splitlines()) == 3


def test_bad_input_is_one_line_naming_file_line_field(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    good = (FIXTURES / "predictions.jsonl").read_text().splitlines()
    broken = json.loads(good[1])
    broken["correct_answer"] = "F"
    path.write_text("\n".join([good[0], json.dumps(broken), good[2]]) + "\n")
    code, output = _run("score", str(path), "--out", str(tmp_path / "r.jsonl"))
    assert code == 2
    assert output.strip() == output.strip().splitlines()[0]  # one line
    assert f"{path}:2: field 'correct_answer'" in output
    assert not (tmp_path / "r.jsonl").exists()  # nothing judged before the input is valid

    code, output = _run("score", str(path), "--skip-invalid", "--out", str(tmp_path / "r.jsonl"))
    assert code == 0
    assert "skipped 1 invalid" in output and f"{path}:2" in output
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 2


def test_deeply_nested_line_is_one_line_error_and_skipped_with_skip_invalid(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.jsonl"
    good = (FIXTURES / "predictions.jsonl").read_text().splitlines()
    deep = '{"a": ' + "[" * 10_000 + "]" * 10_000 + "}"
    path.write_text("\n".join([good[0], deep, good[2]]) + "\n")
    code, output = _run("score", str(path), "--out", str(tmp_path / "r.jsonl"))
    assert (code, output.strip()) == (2, f"error: {path}:2: not valid JSON (nested too deeply)")
    code, output = _run("score", str(path), "--skip-invalid", "--out", str(tmp_path / "r.jsonl"))
    assert code == 0 and "Traceback" not in output
    assert "skipped 1 invalid" in output and f"{path}:2:" in output
    assert "nested too deeply" in " ".join(output.split())  # the terminal may wrap it
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 2


def test_unknown_rubric_and_invalid_rubric_file(tmp_path: Path) -> None:
    code, output = _run("score", str(FIXTURES / "predictions.jsonl"), "--rubric", "nope")
    assert code == 2 and "no such rubric" in output and "ddx" in output
    bad = tmp_path / "r.yaml"
    bad.write_text(
        "id: r\nversion: 1\ndescription: d\ntarget: [prediction_rationale]\n"
        "criteria:\n  - id: c\n    question: q\n    scale: {type: binary}\n"
    )
    code, output = _run("rubrics", "validate", str(bad))
    assert code == 2 and f"{bad}:8" in output and "criteria.0.scale.anchors" in output


def test_rubrics_list_and_show() -> None:
    code, output = _run("rubrics", "list")
    assert code == 0 and "ddx" in output
    code, output = _run("rubrics", "show", "ddx")
    assert code == 0 and "distractor_elimination" in output and "5:" in output


def test_help_does_not_import_litellm() -> None:
    probe = (
        "import sys; from judge.cli import cli\n"
        "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('litellm', 'instructor', 'sqlite3', 'pandas') if m in sys.modules]\n"
        "print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
