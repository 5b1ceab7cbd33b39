"""Property-based: schemathesis generates requests from the service's own /openapi.json
(valid and invalid bodies, paths and queries) and no answer may be a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from judge.scorer import RunOptions
from judge.serve.app import create_app
from judge.serve.server import running
from tests.llm_server import LLMServer


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    # The test LLM server with no latency: every valid prediction is really judged, fast.
    with LLMServer() as llm:
        options = RunOptions(
            judges=["openai/test-judge"], api_base=llm.url, timeout=60.0, attempts=1, cache=False
        )
        with running(create_app(options, max_body=64_000)) as url:
            yield url
        # The schema's examples and served rubric ids let valid requests through: the run
        # exercised the judging path, not only the validation errors.
        assert llm.count > 0


@pytest.fixture(scope="module")
def api_schema(service_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{service_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_request_gets_a_server_error(case: schemathesis.Case) -> None:
    response = case.call(timeout=120)
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, response.text
