"""`judge serve` over real HTTP: httpx → uvicorn on 127.0.0.1 → the Scorer → litellm → the
local test LLM server (tests/llm_server.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import judge
from judge.contracts import ResultRecord
from judge.judging.engine import Completion
from judge.load.rubric import load_rubric
from judge.scorer import RunOptions
from judge.serve.app import create_app
from judge.serve.server import running
from judge.store.results import iter_records
from tests.llm_server import LLMServer, Reply

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
ROWS: list[dict[str, Any]] = [json.loads(line) for line in PREDICTIONS.read_text().splitlines()]
MODEL = "openai/test-judge"


def _options(server: LLMServer, **changes: Any) -> RunOptions:
    values: dict[str, Any] = {
        "judges": [MODEL],
        "api_base": server.url,
        "timeout": 60.0,
        "cache": False,
        **changes,
    }
    return RunOptions(**values)


def _distinct(n: int) -> list[dict[str, Any]]:
    """n predictions whose prompts differ (the history is in every prompt)."""
    return [
        {**ROWS[0], "title": f"case {i}", "CLINICAL_HISTORY": f"{ROWS[0]['CLINICAL_HISTORY']} #{i}"}
        for i in range(n)
    ]


def test_score_returns_the_record_the_cli_writes(llm_server: LLMServer, tmp_path: Path) -> None:
    # The same prediction through `judge score` and through the service: same scores, same
    # provenance, the same record schema.
    out = tmp_path / "r.jsonl"
    judge.score(PREDICTIONS, "ddx", out=out, judges=[MODEL], api_base=llm_server.url)
    expected = next(r for r in iter_records(out) if r.id == ROWS[0]["title"])
    with running(create_app(_options(llm_server))) as url:
        response = httpx.post(f"{url}/v1/score", json={"rubric": "ddx", "prediction": ROWS[0]})
    assert response.status_code == 200
    record = ResultRecord.model_validate(response.json())
    assert record.id == ROWS[0]["title"] and record.status == "scored"
    assert record.scores == expected.scores  # the test server's replies are deterministic
    assert record.rubric == expected.rubric and record.prompt_hash == expected.prompt_hash
    assert record.judges == [MODEL] and record.meta == expected.meta
    assert set(response.json()) == set(ResultRecord.model_fields)


def test_item_id_overrides_the_title(llm_server: LLMServer) -> None:
    with running(create_app(_options(llm_server))) as url:
        body = {"rubric": "ddx", "id": "my-7", "prediction": ROWS[1]}
        assert httpx.post(f"{url}/v1/score", json=body).json()["id"] == "my-7"


def test_bad_requests_name_the_field(llm_server: LLMServer) -> None:
    # Options may be absent (a HealthBench row has none), not malformed.
    no_options = {**ROWS[0], "options": 3}
    no_title = {k: v for k, v in ROWS[0].items() if k != "title"}
    with running(create_app(_options(llm_server))) as url:
        post = lambda body: httpx.post(f"{url}/v1/score", json=body)  # noqa: E731
        missing = post({"rubric": "ddx", "prediction": no_options})
        unidentified = post({"rubric": "ddx", "prediction": no_title})
        typo = post({"rubric": "ddx", "prediction": ROWS[0], "rubirc": "ddx"})
        not_json = httpx.post(
            f"{url}/v1/score", content=b"{not json", headers={"content-type": "application/json"}
        )
        unknown = post({"rubric": "nope", "prediction": ROWS[0]})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "prediction", "options"]
    assert unidentified.status_code == 422
    assert unidentified.json()["detail"][0]["loc"] == ["body", "prediction", "title"]
    assert typo.status_code == 422 and typo.json()["detail"][0]["loc"] == ["body", "rubirc"]
    assert not_json.status_code == 422
    assert unknown.status_code == 404
    assert unknown.json()["known"] == [
        "accuracy",
        "ddx",
        "ddx-steps",
        "ddx-steps-protocol",
        "education",
        "healthbench",
        "keys",
        "reference",
        "twi",
    ]
    assert llm_server.count == 0  # nothing invalid reached a judge


def test_rubrics_and_health(llm_server: LLMServer, tmp_path: Path) -> None:
    custom = tmp_path / "custom.yaml"
    text = Path(judge.load.rubric.builtin_rubrics()["ddx"]).read_text()
    custom.write_text(text.replace("id: ddx", "id: my-ddx", 1))
    with running(create_app(_options(llm_server), rubrics=[custom])) as url:
        listed = httpx.get(f"{url}/v1/rubrics").json()
        shown = httpx.get(f"{url}/v1/rubrics/education").json()
        missing = httpx.get(f"{url}/v1/rubrics/nope")
        health = httpx.get(f"{url}/healthz").json()
        scored = httpx.post(f"{url}/v1/score", json={"rubric": "my-ddx", "prediction": ROWS[0]})
    ids = ["accuracy", "ddx-steps-protocol", "ddx-steps", "ddx", "education", "healthbench", "keys"]
    ids += ["reference", "twi", "my-ddx"]
    assert [r["id"] for r in listed] == ids
    assert listed[3]["criteria"] == [c.id for c in load_rubric("ddx").criteria]
    assert shown == load_rubric("education").model_dump(mode="json")
    assert missing.status_code == 404 and "ddx" in missing.json()["known"]
    assert health == {"status": "ok", "version": judge.__version__, "judges": [MODEL]}
    assert scored.json()["rubric"]["id"] == "my-ddx"


def test_rubric_ids_never_read_files(llm_server: LLMServer, tmp_path: Path) -> None:
    # `judge score --rubric` takes a path; a request must not be able to.
    path = str(Path(judge.load.rubric.builtin_rubrics()["ddx"]))
    with running(create_app(_options(llm_server))) as url:
        response = httpx.post(f"{url}/v1/score", json={"rubric": path, "prediction": ROWS[0]})
    assert response.status_code == 404


def test_batch_streams_records_and_error_lines(llm_server: LLMServer) -> None:
    bad = {**ROWS[1], "correct_answer": "Z"}
    items = [{"prediction": ROWS[0]}, {"prediction": bad}, {"id": "third", "prediction": ROWS[2]}]
    # The first item is slow: later items must arrive before it.
    slow = ROWS[0]["CLINICAL_HISTORY"]
    llm_server.script = lambda body, n: Reply.auto(
        latency=1.0 if slow in json.dumps(body["messages"]) else 0.0
    )
    with (
        running(create_app(_options(llm_server))) as url,
        httpx.stream(
            "POST", f"{url}/v1/score/batch", json={"rubric": "ddx", "items": items}, timeout=120
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.iter_lines()]
    assert len(lines) == 3
    error = next(line for line in lines if "error" in line)
    assert error["index"] == 1 and error["line"] == 2
    assert error["field"] == "prediction.correct_answer" and "A-E" in error["error"]
    records = [ResultRecord.model_validate(line) for line in lines if "error" not in line]
    assert [(r.line, r.id) for r in records] == [(3, "third"), (1, ROWS[0]["title"])]
    assert all(r.status == "scored" for r in records)


def test_batch_checks_the_whole_request_first(llm_server: LLMServer) -> None:
    with running(create_app(_options(llm_server))) as url:
        empty = httpx.post(f"{url}/v1/score/batch", json={"rubric": "ddx", "items": []})
        unknown = httpx.post(
            f"{url}/v1/score/batch", json={"rubric": "x", "items": [{"prediction": ROWS[0]}]}
        )
        extra = httpx.post(
            f"{url}/v1/score/batch",
            json={"rubric": "ddx", "items": [{"prediction": ROWS[0], "idd": "x"}]},
        )
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "items"]
    assert unknown.status_code == 404
    assert extra.status_code == 422
    assert extra.json()["detail"][0]["loc"] == ["body", "items", 0, "idd"]


async def _post_all(url: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        return await asyncio.gather(*(client.post("/v1/score", json=b) for b in bodies))


def test_identical_requests_in_flight_are_judged_once(llm_server: LLMServer) -> None:
    # No cache: only the engine's in-flight dedupe can make eight requests one judge call.
    llm_server.latency = 0.5
    with running(create_app(_options(llm_server))) as url:
        responses = asyncio.run(_post_all(url, [{"rubric": "ddx", "prediction": ROWS[0]}] * 8))
    assert [r.status_code for r in responses] == [200] * 8
    assert llm_server.count == 1
    assert len({json.dumps(r.json()["scores"], sort_keys=True) for r in responses}) == 1


def test_all_requests_share_one_bounded_pool(llm_server: LLMServer) -> None:
    llm_server.latency = 0.2
    bodies = [{"rubric": "ddx", "prediction": row} for row in _distinct(6)]
    with running(create_app(_options(llm_server, concurrency=2))) as url:
        responses = asyncio.run(_post_all(url, bodies))
    assert [r.status_code for r in responses] == [200] * 6
    assert llm_server.count == 6
    assert llm_server.peak_in_flight == 2


def test_a_judge_failure_is_a_record_not_an_error(llm_server: LLMServer) -> None:
    llm_server.script = lambda body, n: Reply.error(503)
    with running(create_app(_options(llm_server, attempts=2))) as url:
        response = httpx.post(f"{url}/v1/score", json={"rubric": "ddx", "prediction": ROWS[0]})
    assert response.status_code == 200
    record = response.json()
    assert record["status"] == "partial"  # final_answer needs no judge
    assert record["scores"]["final_answer"] == 1
    unscored = [j for j in record["judgments"] if j["status"] == "unscored"]
    assert unscored and all(j["retryable"] for j in unscored)


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
def test_openapi_is_served(llm_server: LLMServer, path: str) -> None:
    with running(create_app(_options(llm_server))) as url:
        response = httpx.get(f"{url}{path}")
    assert response.status_code == 200
    if path == "/openapi.json":
        paths = response.json()["paths"]
        assert {
            "/v1/score",
            "/v1/score/batch",
            "/v1/rubrics",
            "/v1/rubrics/{rubric_id}",
            "/healthz",
            "/v1/promptfoo/{rubric_id}",
        } <= set(paths)


async def _leave_a_batch_early(url: str) -> httpx.Response:
    """Start a batch, start an identical single request, then drop the batch's connection
    while both wait on the same judge call."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        batch = {"rubric": "ddx", "items": [{"prediction": ROWS[0]}]}
        async with client.stream("POST", "/v1/score/batch", json=batch) as response:
            assert response.status_code == 200
            follower = asyncio.create_task(
                client.post("/v1/score", json={"rubric": "ddx", "prediction": ROWS[0]})
            )
            await asyncio.sleep(0.3)
        return await follower


def test_a_client_leaving_does_not_fail_others_waiting_on_the_same_call(
    llm_server: LLMServer,
) -> None:
    llm_server.latency = 3.0  # the follower joins the call within it, on a loaded machine too
    with running(create_app(_options(llm_server))) as url:
        response = asyncio.run(_leave_a_batch_early(url))
    assert response.status_code == 200 and response.json()["status"] == "scored"
    assert llm_server.count == 1


class _Watching:
    """A scripted judge (no HTTP) that notes how many tasks the server's loop holds whenever
    a call starts: every item in flight or waiting is one."""

    def __init__(self) -> None:
        self.most_tasks = 0
        verdict = {c.id: {"rationale": "r", "score": 2} for c in load_rubric("ddx").llm_criteria}
        verdict["hallucination"] = {"rationale": "r", "score": 0}
        self.verdict = verdict

    async def __call__(self, **_: Any) -> Completion:
        self.most_tasks = max(self.most_tasks, len(asyncio.all_tasks()))
        await asyncio.sleep(0.002)
        return Completion(verdict=self.verdict)


async def _batches_and_singles(url: str, n_batches: int, size: int, n_single: int) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:

        async def batch(b: int) -> int:
            items = [{"prediction": row} for row in _distinct(size * (b + 1))[size * b :]]
            response = await client.post("/v1/score/batch", json={"rubric": "ddx", "items": items})
            return sum(1 for line in response.text.splitlines() if '"scores"' in line)

        singles = [
            client.post("/v1/score", json={"rubric": "ddx", "prediction": row})
            for row in _distinct(n_single)
        ]
        done = await asyncio.gather(*(batch(b) for b in range(n_batches)), *singles)
    return [d if isinstance(d, int) else d.status_code for d in done]


def test_many_requests_and_big_batches_keep_few_items_in_flight() -> None:
    # Before: a batch started a task per item at once (400 here), whatever the concurrency.
    judge_fn = _Watching()
    options = RunOptions(judges=["x/a"], concurrency=1, cache=False)
    app = create_app(options, judge_fn)
    with running(app) as url:
        answers = asyncio.run(_batches_and_singles(url, n_batches=4, size=100, n_single=10))
    assert answers == [100] * 4 + [200] * 10  # every item judged
    # concurrency 1: at most 4 items in flight; four batch streams hold at most 4 tasks
    # each, the rest are the server's own (its requests, uvicorn's).
    assert judge_fn.most_tasks < 4 * 4 + 10 + 20
    scheduler = app.state.scorer.scheduler
    assert scheduler.limit == 4 and 1 <= scheduler.peak <= scheduler.limit
