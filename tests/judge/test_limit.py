"""`--limit N` (#28 §3, the README's demo): a trial run judges the first N valid items of the
file and reads no further; a rerun without it judges the rest, once each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import judge
from judge.cli import cli
from judge.errors import InputError
from judge.store.results import iter_records
from tests.llm_server import LLMServer

MODEL = "openai/test-judge"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "predictions.jsonl"


def _score(llm_server: LLMServer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        ["score", *args, "--rubric", "ddx", "--judge", MODEL, "--api-base", llm_server.url,
         "--no-cache"],
    )  # fmt: skip
    return result.exit_code, result.output


def test_limit_judges_the_first_items_and_a_rerun_the_rest(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    ids = [json.loads(line)["title"] for line in EXAMPLE.read_text().splitlines()]
    out = tmp_path / "r.jsonl"
    code, output = _score(llm_server, str(EXAMPLE), "--limit", "4", "--out", str(out))
    assert code == 0, output
    # Records are written as their items finish, not in file order.
    assert sorted(r.id for r in iter_records(out)) == sorted(ids[:4])
    assert llm_server.count == 4  # one ddx call per item, and none for the others
    assert "--limit 4: only the first 4 valid items are judged" in " ".join(output.split())
    code, output = _score(llm_server, str(EXAMPLE), "--out", str(out))
    assert code == 0, output
    assert sorted(r.id for r in iter_records(out)) == sorted(ids)
    assert llm_server.count == len(ids)  # the first 4 were not judged again


def test_limit_counts_valid_items_and_reads_no_further(tmp_path: Path) -> None:
    lines = EXAMPLE.read_text().splitlines()
    # An invalid line among the first, and one after the limit that would stop the run.
    source = tmp_path / "p.jsonl"
    source.write_text("\n".join([lines[0], "{not json", *lines[1:3], "{not json either"]) + "\n")
    options: dict[str, Any] = {"judges": [MODEL], "api_base": "http://127.0.0.1:9"}
    plan = judge.run.plan(source, "ddx", **options, limit=2, skip_invalid=True)
    assert plan.n_items == 2 and plan.invalid == 1 and plan.estimate.calls == 2
    # Without --skip-invalid the dry run refuses the first invalid line, as the run does.
    with pytest.raises(InputError, match=r":2: not valid JSON .*\(and 1 more; --skip-invalid"):
        judge.run.plan(source, "ddx", judges=[MODEL], api_base="http://127.0.0.1:9")
    assert judge.run.plan(source, "ddx", **options, skip_invalid=True).invalid == 2


def test_limit_is_checked_like_every_option() -> None:
    result = CliRunner().invoke(cli, ["score", str(EXAMPLE), "--limit", "0"])
    assert result.exit_code == 2 and "--limit" in result.output
