"""`judge qualify` on a staged rubric (ddx-steps, ddx-steps-protocol): refused, and the refusal
says why (its criteria are per-step verdicts, a bank compares whole-item scores) and what a
staged bank would need, rather than "no test bank for this rubric"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge.cli import cli
from judge.errors import RubricError
from judge.study.bank import bank_path, load_bank


@pytest.mark.parametrize("rubric", ["ddx-steps", "ddx-steps-protocol"])
def test_qualify_says_why_a_staged_rubric_has_no_bank(rubric: str) -> None:
    done = CliRunner().invoke(
        cli, ["qualify", "--rubric", rubric, "--judge", "openai/j", "--no-save"]
    )
    said = re.sub(r"\s+", " ", done.output)
    assert done.exit_code == 2, said
    assert "is_factual, is_critical" in said and "per step (stage verdicts)" in said
    assert "compares one whole-item score per criterion" in said
    assert "found again on both sides" in said and "expected values per step" in said
    assert "error_types only when is_factual=0" in said
    assert f"judge calibrate --rubric {rubric}" in said
    assert "no test bank for this rubric" not in said


def test_a_bank_file_for_a_staged_rubric_is_refused_at_its_rubric_line(tmp_path: Path) -> None:
    text = bank_path("education").read_text(encoding="utf-8")
    line = 1 + text.splitlines().index("rubric: education")
    bank = tmp_path / "steps.yaml"
    bank.write_text(text.replace("rubric: education", "rubric: ddx-steps", 1), encoding="utf-8")
    with pytest.raises(RubricError, match="per step") as caught:
        load_bank(bank)
    assert caught.value.line == line
