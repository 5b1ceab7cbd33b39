"""One loopback check for both servers: `judge serve` and `judge annotate` refuse and accept the
same listen addresses (they disagreed on `[::1]`), and both really serve on `::1`."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from test_annotate_support import write_predictions

from judge.annotate.security import check_bind
from judge.annotate.server import AnnotationServer
from judge.annotate.study import open_study
from judge.errors import ConfigError
from judge.hosts import bind_address, is_loopback, url_host
from judge.scorer import RunOptions
from judge.serve.app import create_app
from judge.serve.server import check_exposure, running

LOOPBACK = ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST", " 127.0.0.1 "]
REMOTE = ["0.0.0.0", "::", "[::]", "10.1.2.3", "192.168.0.7", "example.org", "localhost.evil.net"]


@pytest.mark.parametrize("host", LOOPBACK)
def test_both_servers_accept_a_loopback_host_without_their_flag(host: str) -> None:
    assert is_loopback(host)
    check_exposure(host, token=None)  # judge serve: no --token needed
    check_bind(host, allow_remote=False)  # judge annotate: no --allow-remote needed


@pytest.mark.parametrize("host", REMOTE)
def test_both_servers_refuse_another_host_without_their_flag(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match="--token"):
        check_exposure(host, token=None)
    with pytest.raises(ConfigError, match="--allow-remote"):
        check_bind(host, allow_remote=False)
    check_exposure(host, token="a-real-token")
    check_bind(host, allow_remote=True)


def test_addresses_for_sockets_and_urls() -> None:
    assert [bind_address(h) for h in ("[::1]", "::1", "localhost", "127.0.0.1")] == [
        "::1",
        "::1",
        "127.0.0.1",
        "127.0.0.1",
    ]
    assert [url_host(h) for h in ("::1", "[::1]", "127.0.0.1")] == ["[::1]", "[::1]", "127.0.0.1"]


@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_serve_answers_on_ipv6_loopback(host: str) -> None:
    check_exposure(host, token=None)
    with running(create_app(RunOptions(judges=["openai/x"], cache=False)), host=host) as url:
        assert url.startswith("http://[::1]:")
        assert httpx.get(f"{url}/healthz", timeout=120).status_code == 200


@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_annotate_answers_on_ipv6_loopback(tmp_path: Path, host: str) -> None:
    check_bind(host, allow_remote=False)
    predictions = tmp_path / "preds.jsonl"
    write_predictions(predictions)
    study = open_study(predictions, "ddx", ["alice"], 1, db=tmp_path / "a.sqlite")
    try:
        with AnnotationServer(study, host) as server:
            assert server.url.startswith("http://[::1]:")
            link = f"{server.url}/r/{study.raters['alice'].token}/"
            assert httpx.get(link, timeout=120).status_code == 200
    finally:
        study.store.close()


def test_a_port_in_use_is_a_user_error_for_both_servers(tmp_path: Path) -> None:
    """`judge serve` exited with uvicorn's status 3 (the status of a run stopped early)."""
    from click.testing import CliRunner

    from judge.cli import cli

    predictions = tmp_path / "preds.jsonl"
    write_predictions(predictions)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        runs = {
            "serve": ["serve", "--port", port, "--judge", "openai/x"],
            "annotate": [
                *("annotate", str(predictions), "--raters", "a", "--port", port),
                *("--db", str(tmp_path / "a.sqlite")),
            ],
        }
        for name, args in runs.items():
            done = CliRunner().invoke(cli, args)
            assert done.exit_code == 2, (name, done.output)
            assert f"error: cannot listen on 127.0.0.1:{port}: " in done.output, name
