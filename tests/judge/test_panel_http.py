"""Panels, budgets and faults over real HTTP: judge → the lean path, or instructor → litellm
(each test that takes the `client` fixture runs on both) → the local test server.
`openai/gpt-4o-mini` pointed at the test server gets real prices from litellm's bundled price
map, so costs are computed as for the real provider (nothing leaves 127.0.0.1).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import judge
from judge.cli import cli
from judge.run import plan
from judge.store.results import iter_records
from tests.llm_server import Faults, LLMServer

FIXTURES = Path(__file__).parents[1] / "fixtures"
PRICED = "openai/gpt-4o-mini"


def _predictions(tmp_path: Path, n: int) -> Path:
    """n distinct synthetic items: the fixture's cases under new titles and histories (the
    prompt must differ, or the call cache would answer the copies)."""
    lines = (FIXTURES / "predictions.jsonl").read_text().splitlines()
    cases = [json.loads(line) for line in lines]
    path = tmp_path / "predictions.jsonl"
    rows = [
        {
            **(case := cases[i % len(cases)]),
            "title": f"synthetic case {i}",
            "CLINICAL_HISTORY": f"{case['CLINICAL_HISTORY']} (variant {i})",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _chat(server: LLMServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/chat/completions"))


def test_mixed_faults_end_scored_or_unscored_with_bounded_retries(
    llm_server: LLMServer, client: str, tmp_path: Path
) -> None:
    llm_server.faults = Faults(
        rate_429=0.10,
        rate_500=0.05,
        rate_malformed=0.05,
        rate_timeout=0.03,
        retry_after=0.01,
        hang_seconds=30,
        seed=11,
    )
    judges = ["openai/judge-a", "openai/judge-b"]
    n = 30
    out = tmp_path / "r.jsonl"
    result = judge.score(
        _predictions(tmp_path, n),
        "ddx",
        out=out,
        judges=judges,
        api_base=llm_server.url,
        client=client,
        timeout=3.0,  # a normal call fits on a loaded machine; hangs still time out
        attempts=3,
        concurrency=16,
    )
    records = list(iter_records(out))
    assert sorted(r.id for r in records) == sorted(f"synthetic case {i}" for i in range(n))
    llm_ids = {c.id for c in judge.load_rubric("ddx").llm_criteria}
    computed = {c.id for c in judge.load_rubric("ddx").llm_criteria if c.if_correct is not None}
    failed_calls: Counter[str] = Counter()
    for record in records:
        for name in judges:
            mine = [j for j in record.judgments if j.judge == name]
            # miss_harm and miss_closeness are computed, not judged, when the answer is correct.
            asked = llm_ids - (computed if record.scores["final_answer"] == 1 else set())
            assert {j.criterion for j in mine} == asked and len(mine) == len(asked)
            assert all(j.status == "scored" or j.reason for j in mine)
        failed_calls.update(c.judge for c in record.calls if c.error)
    statuses = Counter(r.status for r in llm_server.requests)
    assert statuses[429] >= 3 and statuses[500] >= 1  # the faults really happened
    # Every call: at most 3 transport attempts, each re-asked at most twice when malformed.
    assert _chat(llm_server) <= n * len(judges) * 3 * 3
    assert result.summary.failed_calls == dict(failed_calls)
    assert sum(r.status == "scored" for r in records) >= n // 2


def test_max_cost_stops_before_the_budget_and_a_rerun_finishes(
    llm_server: LLMServer, client: str, tmp_path: Path
) -> None:
    predictions, out = _predictions(tmp_path, 12), tmp_path / "r.jsonl"
    options: dict[str, Any] = {
        "judges": [PRICED],
        "api_base": llm_server.url,
        "client": client,
        "concurrency": 2,
    }
    before = plan(predictions, "ddx", out=out, **options)
    per_call = before.estimate.cost_usd / before.estimate.calls  # type: ignore[operator]
    assert before.estimate.calls == 12 and per_call > 0 and not before.estimate.unpriced

    budget = per_call * 3.5
    first = judge.score(predictions, "ddx", out=out, max_cost=budget, **options)
    assert first.stopped and "--max-cost" in first.stopped
    assert 1 <= first.judged < 12 and first.summary.cost_usd <= budget  # type: ignore[operator]
    assert _chat(llm_server) == first.judged

    second = judge.score(predictions, "ddx", out=out, max_cost=1.0, **options)
    assert second.stopped is None and second.resumed == first.judged
    ids = [r.id for r in iter_records(out)]
    assert len(ids) == len(set(ids)) == 12
    assert _chat(llm_server) == 12  # nothing finished was paid for twice


def test_dry_run_counts_calls_and_cache_hits_and_sends_nothing(
    llm_server: LLMServer, client: str, tmp_path: Path
) -> None:
    predictions = _predictions(tmp_path, 5)
    options: dict[str, Any] = {
        "judges": [PRICED, "openai/unpriced"],
        "api_base": llm_server.url,
        "client": client,
    }
    fresh = plan(predictions, "ddx", samples=2, temperature=0.5, **options)
    assert (fresh.estimate.calls, fresh.estimate.cached) == (20, 0)
    assert fresh.estimate.cost_usd is None and fresh.estimate.unpriced == {"openai/unpriced"}
    assert _chat(llm_server) == 0

    judge.score(predictions, "ddx", out=tmp_path / "a.jsonl", **options)
    again = plan(predictions, "ddx", out=tmp_path / "b.jsonl", **options)
    assert (again.estimate.calls, again.estimate.cached, again.estimate.cost_usd) == (10, 10, 0.0)
    done = plan(predictions, "ddx", out=tmp_path / "a.jsonl", **options)
    assert (done.n_done, done.estimate.calls) == (5, 0)


def test_cli_dry_run_and_budget_stop_exit_status(
    llm_server: LLMServer, client: str, tmp_path: Path
) -> None:
    predictions, out = _predictions(tmp_path, 6), tmp_path / "r.jsonl"
    common = [
        "score",
        str(predictions),
        "--judge",
        PRICED,
        "--api-base",
        llm_server.url,
        "--client",
        client,
    ]
    dry = CliRunner().invoke(cli, [*common, "--out", str(out), "--dry-run"])
    assert dry.exit_code == 0 and "6 calls" in dry.output and not out.exists()
    stop = CliRunner().invoke(cli, [*common, "--out", str(out), "--max-cost", "0.0000001"])
    assert stop.exit_code == 3, stop.output
    assert "--max-cost" in stop.output and _chat(llm_server) == 0
