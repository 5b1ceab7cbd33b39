"""`judge serve`: the click command (the service is judge/serve/). Only click and the standard
library at module level, so `judge --help` does not import FastAPI or litellm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from judge.cli.options import options_from, run_options

__all__ = ["serve"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--token",
    envvar="JUDGE_SERVE_TOKEN",
    help="Require `Authorization: Bearer TOKEN` (needed with a non-loopback --host).",
)
@click.option(
    "--rubric",
    "rubric_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also serve this rubric YAML, under its id.",
)
@click.option(
    "--max-body",
    default=1 << 20,
    show_default=True,
    type=click.IntRange(1),
    help="Largest request body in bytes (413 beyond).",
)
@run_options("serve")
def serve(
    host: str,
    port: int,
    token: str | None,
    rubric_files: tuple[Path, ...],
    max_body: int,
    **values: Any,
) -> None:
    """Serve scoring over HTTP (OpenAPI at /openapi.json, docs at /docs)."""
    from judge.serve.server import serve as run_server

    options = options_from(values)
    run_server(options, host=host, port=port, token=token, max_body=max_body, rubrics=rubric_files)
