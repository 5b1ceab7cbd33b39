"""`judge serve` security: loopback by default, a bearer token for anything else, a body
limit on the raw stream, and provider keys that never leave the server's environment."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from judge.cli.serve import serve as serve_command
from judge.errors import ConfigError
from judge.scorer import RunOptions
from judge.serve.app import create_app
from judge.serve.server import check_exposure, is_loopback, running
from tests.llm_server import LLMServer, Reply

PREDICTIONS = Path(__file__).parents[1] / "fixtures" / "predictions.jsonl"
ROW: dict[str, Any] = json.loads(PREDICTIONS.read_text().splitlines()[0])
MODEL = "openai/test-judge"
FAKE_KEY = "sk-test-0123456789abcdefSECRET"


def _options(server: LLMServer, **changes: Any) -> RunOptions:
    return RunOptions(
        judges=[MODEL], api_base=server.url, timeout=60.0, cache=False, attempts=1, **changes
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_only_loopback_hosts_go_without_a_token(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    if loopback:
        check_exposure(host, None)
    else:
        with pytest.raises(ConfigError, match="--token"):
            check_exposure(host, None)
        check_exposure(host, "a-token")


def test_the_command_refuses_an_open_host_without_a_token() -> None:
    result = CliRunner().invoke(serve_command, ["--host", "0.0.0.0", "--port", "0"])
    assert isinstance(result.exception, ConfigError)
    assert "--token" in str(result.exception)


@pytest.mark.parametrize("token", ["", " ", "   \t", " a-token", "a-token\n"])
@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])
def test_a_blank_or_padded_token_is_refused(host: str, token: str) -> None:
    # Before: a whitespace-only token off loopback passed as a token. HTTP strips a header
    # value's surrounding whitespace, so such a token guards nothing or never matches.
    with pytest.raises(ConfigError, match="--token must be non-empty"):
        check_exposure(host, token)
    result = CliRunner().invoke(serve_command, ["--host", host, "--port", "0", "--token", token])
    assert isinstance(result.exception, ConfigError)
    assert "--token must be non-empty" in str(result.exception)
    with pytest.raises(ConfigError, match="--token must be non-empty"):
        create_app(RunOptions(cache=False), token=token)


def test_a_token_guards_every_route_but_health(llm_server: LLMServer) -> None:
    app = create_app(_options(llm_server), token="correct-horse-battery")
    with running(app) as url:
        body = {"rubric": "ddx", "prediction": ROW}
        none = httpx.post(f"{url}/v1/score", json=body)
        wrong = httpx.post(
            f"{url}/v1/score", json=body, headers={"Authorization": "Bearer correct-horse"}
        )
        schema = httpx.get(f"{url}/openapi.json")
        right = httpx.post(
            f"{url}/v1/score", json=body, headers={"Authorization": "Bearer correct-horse-battery"}
        )
        health = httpx.get(f"{url}/healthz")
    assert none.status_code == wrong.status_code == schema.status_code == 401
    assert none.headers["www-authenticate"] == "Bearer"
    assert right.status_code == 200 and right.json()["status"] == "scored"
    assert health.status_code == 200
    assert llm_server.count == 1  # refused requests reached no judge


def _chunks(total: int, size: int = 4096) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def test_body_limit_applies_to_the_stream_not_only_content_length(
    llm_server: LLMServer,
) -> None:
    app = create_app(_options(llm_server), max_body=20_000)
    headers = {"content-type": "application/json"}
    with running(app) as url:
        declared = httpx.post(f"{url}/v1/score", content=b" " * 30_000, headers=headers)
        # A generator body goes out chunked: no Content-Length for the server to check.
        chunked = httpx.post(f"{url}/v1/score", content=_chunks(30_000), headers=headers)
        small = httpx.post(f"{url}/v1/score", json={"rubric": "ddx", "prediction": ROW})
        small_chunked = httpx.post(
            f"{url}/v1/score",
            content=iter([json.dumps({"rubric": "ddx", "prediction": ROW}).encode()]),
            headers=headers,
        )
    assert declared.status_code == 413 and "20000 bytes" in declared.json()["detail"]
    assert chunked.status_code == 413
    assert "content-length" not in chunked.request.headers
    assert small.status_code == 200 and small_chunked.status_code == 200


def _echo_the_key(body: dict[str, Any], n: int) -> Reply:
    # A gateway that repeats the caller's key in its error (some do).
    message = f"Incorrect API key provided: {FAKE_KEY}. Authorization: Bearer {FAKE_KEY}"
    return Reply.error(401, body={"error": {"message": message, "type": "invalid_request_error"}})


def test_a_key_echoed_upstream_never_reaches_a_response(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    llm_server.script = _echo_the_key
    promptfoo_body = {"output": "x", "context": {"vars": {k: v for k, v in ROW.items()}}}
    with running(create_app(_options(llm_server))) as url:
        single = httpx.post(f"{url}/v1/score", json={"rubric": "ddx", "prediction": ROW})
        batch = httpx.post(
            f"{url}/v1/score/batch", json={"rubric": "ddx", "items": [{"prediction": ROW}]}
        )
        graded = httpx.post(f"{url}/v1/promptfoo/ddx", json=promptfoo_body)
    assert all(r.authorized for r in llm_server.requests)  # the key was really sent upstream
    for response in (single, batch, graded):
        assert response.status_code == 200
        assert FAKE_KEY not in response.text
        assert "0123456789abcdef" not in response.text
    # The error itself is kept, with the key replaced by the variable's name.
    unscored = [j for j in single.json()["judgments"] if j["status"] == "unscored"]
    assert unscored and "<OPENAI_API_KEY>" in unscored[0]["reason"]


def _read_port(stream: Any, found: list[int], lines: list[str], ready: threading.Event) -> None:
    for line in stream:
        lines.append(line)
        match = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line)
        if match:
            found.append(int(match.group(1)))
            ready.set()
    ready.set()


# Sized for a loaded 2-core machine: the process imports FastAPI and uvicorn before it says
# it listens, and litellm on its first call.
STARTUP_S = 120.0
CLIENT = httpx.Timeout(120.0)


@contextmanager
def _serve_process(llm_server: LLMServer, env: dict[str, str]) -> Iterator[tuple[str, list[str]]]:
    """`judge serve --port 0` as a process: its URL once it says it listens, and its log
    (complete after the block)."""
    command = "from judge.cli.serve import serve; serve()"
    args = ["--judge", MODEL, "--api-base", llm_server.url, "--port", "0", "--attempts", "1"]
    process = subprocess.Popen(
        [sys.executable, "-c", command, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found: list[int] = []
    lines: list[str] = []
    ready = threading.Event()
    reader = threading.Thread(target=_read_port, args=(process.stdout, found, lines, ready))
    reader.start()
    try:
        assert ready.wait(STARTUP_S) and found, "".join(lines)
        yield f"http://127.0.0.1:{found[0]}", lines
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            reader.join(60)


def test_the_command_logs_no_key(llm_server: LLMServer, tmp_path: Path) -> None:
    """`judge serve` as a process, with the key in its environment only: its whole log
    (uvicorn's and ours) and its answers hold no trace of the key."""
    llm_server.script = _echo_the_key
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "JUDGE_HOME": str(tmp_path / "home")}
    with _serve_process(llm_server, env) as (url, lines):
        answers = [
            httpx.post(
                f"{url}/v1/score", json={"rubric": "ddx", "prediction": ROW}, timeout=CLIENT
            ),
            httpx.post(
                f"{url}/v1/score", json={"rubric": "nope", "prediction": ROW}, timeout=CLIENT
            ),
            httpx.get(f"{url}/healthz", timeout=CLIENT),
        ]
    assert [a.status_code for a in answers] == [200, 404, 200]
    log = "".join(lines)
    assert "POST /v1/score" in log  # the access log was captured
    # The upstream error that echoed the key reaches the answer, redacted.
    assert any("<OPENAI_API_KEY>" in a.text for a in answers)
    assert llm_server.count >= 1 and all(r.authorized for r in llm_server.requests)
    for text in (log, *(a.text for a in answers)):
        assert FAKE_KEY not in text and "0123456789abcdef" not in text


def test_the_command_on_loopback_refuses_a_foreign_host(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    """DNS rebinding: a page at evil.example that rebinds its name to 127.0.0.1 sends its own
    name as Host. Without --token, serve answered it (and would spend the operator's key)."""
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "JUDGE_HOME": str(tmp_path / "home")}
    body = {"rubric": "ddx", "prediction": ROW}
    with _serve_process(llm_server, env) as (url, _):
        port = url.rsplit(":", 1)[1]
        foreign = [
            httpx.post(f"{url}/v1/score", json=body, headers={"Host": host}, timeout=CLIENT)
            for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}")
        ]
        assert llm_server.count == 0  # refused before any judge was asked
        own = [
            httpx.get(
                f"http://{host}:{port}/healthz", headers={"Host": f"{host}:{port}"}, timeout=CLIENT
            )
            for host in ("127.0.0.1", "localhost")
        ]
    assert [a.status_code for a in foreign] == [403, 403, 403]
    assert [a.status_code for a in own] == [200, 200]


def test_the_app_answers_only_the_hosts_it_is_given(llm_server: LLMServer) -> None:
    app = create_app(_options(llm_server), hosts={"127.0.0.1:8000"})
    with running(app) as url:
        good = httpx.get(f"{url}/healthz", headers={"Host": "127.0.0.1:8000"}, timeout=CLIENT)
        bad = httpx.get(f"{url}/healthz", headers={"Host": "evil.example:8000"}, timeout=CLIENT)
    assert good.status_code == 200 and bad.status_code == 403
